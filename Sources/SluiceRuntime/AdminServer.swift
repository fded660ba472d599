// The admin socket (SPEC "Admin socket"): a Unix stream socket served on its own thread.
// Each client sends one line (<= 4096 bytes, within `readTimeout`), gets one reply, and is
// closed. Peers other than root, our own uid and `allowedUIDs` get `ERR permission denied`.
import SluiceCore
import SluiceSys

/// Answers one parsed admin command. Called on the admin thread, one command at a time;
/// a slow handler delays other admin clients but never the data plane.
package protocol AdminHandler: Sendable {
    func handle(_ request: AdminRequest, peer: PeerCredentials) -> AdminReplyText
    /// A reply made later on another thread (`reload`), so other admin clients are served
    /// meanwhile; nil to answer with `handle` now.
    func handleLater(_ request: AdminRequest, peer: PeerCredentials) -> DeferredReply?
}

extension AdminHandler {
    package func handleLater(_ request: AdminRequest, peer: PeerCredentials) -> DeferredReply? { nil }
}

/// An `AdminHandler` made from a closure.
package struct AdminClosureHandler: AdminHandler {
    private let body: @Sendable (AdminRequest, PeerCredentials) -> AdminReplyText
    package init(_ body: @escaping @Sendable (AdminRequest, PeerCredentials) -> AdminReplyText) { self.body = body }
    package func handle(_ request: AdminRequest, peer: PeerCredentials) -> AdminReplyText { body(request, peer) }
}

package final class AdminServer: Sendable {
    package struct Options: Sendable {
        package var path: String
        /// Permissions of the socket file (`admin-socket PATH mode 0600`).
        package var mode: UInt32 = 0o600
        /// chown the socket file (e.g. to the `user`/`group` sluice drops to), nil to leave it.
        package var owner: (uid: UInt32, gid: UInt32)? = nil
        /// `admin-allow-uid`: peers allowed besides root and our own uid.
        package var allowedUIDs: Set<UInt32> = []
        /// The whole line must arrive within this time.
        package var readTimeout: Duration = .seconds(1)
        package var writeTimeout: Duration = .seconds(5)
        /// Slots; when all are taken a newcomer evicts the oldest idle client (OneShotLimits).
        package var maxConnections = 256

        package init(path: String) { self.path = path }
    }

    private let server: OneShotServer<AdminService>
    package let path: String

    /// Binds the socket now (so start-up errors are reported at once: a live sluice already
    /// owning the path, a non-socket file there, permissions). Call `start()` to serve.
    package init(_ options: Options, handler: some AdminHandler) throws(UnixSocketError) {
        let fd = try UnixSocket.listen(
            path: options.path, mode: options.mode, owner: options.owner, backlog: Self.backlog)
        let service = AdminService(
            handler: handler, ownUID: SystemInfo.uid, allowedUIDs: options.allowedUIDs)
        var limits = OneShotLimits()
        limits.readTimeout = options.readTimeout
        limits.writeTimeout = options.writeTimeout
        limits.maxConnections = options.maxConnections
        do {
            server = try OneShotServer(listener: fd, service: service, limits: limits, name: "sluice-admin")
        } catch {
            fd.close()
            UnixSocket.remove(path: options.path)
            throw .system(operation: "eventfd", path: options.path, error)
        }
        path = options.path
    }

    /// Room for a burst of connections; while the backlog is full a client's connect() waits
    /// (or fails with EAGAIN when non-blocking).
    static let backlog: CInt = 1024

    /// Starts the admin thread.
    package func start() { server.start() }

    /// Stops the thread, closes the socket and removes its file. Idempotent.
    package func stop() {
        server.stop()
        UnixSocket.remove(path: path)
    }
}

/// Line framing, peer check and parsing; the reply comes from the handler.
struct AdminService: OneShotService {
    let handler: any AdminHandler
    let ownUID: UInt32
    let allowedUIDs: Set<UInt32>

    struct Pending {
        var line: [UInt8] = []
        /// More than maxLineBytes arrived without a newline.
        var overflow = false
        var peer: PeerCredentials?
    }

    static let tooLong = AdminReplyText.error("line too long (max \(AdminRequest.maxLineBytes) bytes)")

    func accepted(_ fd: FD) -> Pending {
        Pending(peer: try? UnixSocket.peerCredentials(fd))
    }

    func received(_ pending: inout Pending, _ bytes: [UInt8], eof: Bool) -> OneShotStep {
        if pending.overflow { return .reply(OneShotReply(Self.tooLong.text)) }
        if let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            pending.line += bytes[..<newline]
            return answer(pending)
        }
        pending.line += bytes
        if pending.line.count > AdminRequest.maxLineBytes {
            pending.overflow = true
            pending.line = []
            return .reply(OneShotReply(Self.tooLong.text))
        }
        if eof {
            // A client that half-closes without a newline still gets an answer.
            return pending.line.isEmpty ? .close : answer(pending)
        }
        return .needMore
    }

    func timedOut(_ pending: Pending) -> OneShotReply? {
        OneShotReply(AdminReplyText.error("timed out waiting for a command line").text)
    }

    func allows(_ peer: PeerCredentials?) -> Bool {
        guard let uid = peer?.uid else { return false }
        return uid == 0 || uid == ownUID || allowedUIDs.contains(uid)
    }

    func answer(_ pending: Pending) -> OneShotStep {
        guard let peer = pending.peer, allows(peer) else {
            return .reply(OneShotReply(AdminReplyText.error("permission denied").text))
        }
        switch AdminRequest.parse(bytes: pending.line) {
        case .failure(let error): return .reply(OneShotReply(AdminReplyText.error(error).text))
        case .success(let request):
            if let later = handler.handleLater(request, peer: peer) { return .later(later) }
            return .reply(OneShotReply(handler.handle(request, peer: peer).text))
        }
    }
}
