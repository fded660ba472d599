// Replies of the one-shot servers as immutable shared buffers, and the count of the bytes they
// hold. Clients served the same rendering (the metrics exposition within its sharing window)
// hold one buffer between them, so the ledger counts each distinct buffer once: that sum is
// the memory unread replies really pin, and what `OneShotLimits.maxReplyBytes` bounds.

/// One reply, shared by every client it is sent to.
final class OneShotReply: Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    convenience init(_ text: String) { self.init(Array(text.utf8)) }

    var count: Int { bytes.count }
}

/// Which distinct replies clients still hold, and their total size. Runs on the server thread.
struct OneShotReplyLedger {
    private var holders: [ObjectIdentifier: Int] = [:]
    private(set) var bytes = 0
    /// Bytes of replies let go since the last `takeLargeRelease()`: many replies just under
    /// `largeReply` (40 unread `show metrics` of 850 KiB) pin as much heap as one large one.
    private var releasedSinceTrim = 0

    /// Freed replies adding up to this much are worth giving back to the kernel.
    static var largeReply: Int { 1 << 20 }

    mutating func hold(_ reply: OneShotReply) {
        let id = ObjectIdentifier(reply)
        let count = holders[id, default: 0]
        if count == 0 { bytes += reply.count }
        holders[id] = count + 1
    }

    /// Call while the client still references `reply`, so its identity cannot be reused yet.
    mutating func release(_ reply: OneShotReply) {
        let id = ObjectIdentifier(reply)
        guard let count = holders[id] else { return }
        if count > 1 {
            holders[id] = count - 1
            return
        }
        holders[id] = nil
        bytes -= reply.count
        releasedSinceTrim += reply.count
        // A dictionary keeps its peak capacity after removals; start over once it is empty.
        if holders.isEmpty { holders = [:] }
    }

    /// True once after replies adding up to `largeReply` were released and nothing is held
    /// any more.
    mutating func takeLargeRelease() -> Bool {
        guard releasedSinceTrim >= Self.largeReply, holders.isEmpty else { return false }
        releasedSinceTrim = 0
        return true
    }
}
