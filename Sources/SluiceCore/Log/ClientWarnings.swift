// Warnings about single clients (refused, connect failed) are summarised: the first of a kind
// per pool (and server) is logged in full, the ones after it within a second are only counted,
// and the count is logged as one line once the second is over. A flood of clients therefore
// costs one line a second per pool and kind, never one line per client. Pure: time is given.

/// A warning that one client's session can cause; each kind is summarised on its own.
package enum ClientWarning: Int, Sendable, Hashable, CaseIterable {
    case noServer, connectFailed, queueTimeout, proxyHeader

    /// The message of the line logged in full.
    package var message: String {
        switch self {
        case .noServer: "no server available"
        case .connectFailed: "connect failed"
        case .queueTimeout: "queue timeout"
        case .proxyHeader: "cannot send the PROXY header"
        }
    }

    /// The field that carries the count in a summary line.
    package var countField: String { self == .connectFailed ? "attempts" : "clients" }

    /// The message of a summary line for `count` warnings not logged one by one.
    package func summary(_ count: Int) -> String {
        switch self {
        case .connectFailed: "\(count) connect attempts failed"
        default: "\(count) clients refused: \(message)"
        }
    }
}

package struct ClientWarningSummaries: Sendable {
    package struct Key: Hashable, Sendable {
        package var warning: ClientWarning
        package var pool: String
        /// Empty when the warning names no server.
        package var server: String
        package init(_ warning: ClientWarning, pool: String, server: String = "") {
            self.warning = warning
            self.pool = pool
            self.server = server
        }
    }

    struct Entry {
        /// When a line (in full or a summary) was last logged for this key.
        var lastLogged: UInt64
        /// Warnings counted since then and not logged yet.
        var pending: Int
    }

    /// At most one line per key in this many nanoseconds.
    package static let period: UInt64 = 1_000_000_000
    /// A key quiet this long is forgotten (pools and servers a reload removed).
    static let forgetAfter: UInt64 = 60 * period

    private var entries: [Key: Entry] = [:]

    package init() {}

    /// Counts one warning; true when it is to be logged in full now (nothing logged for its
    /// key within the last period), false when it only joins the next summary.
    package mutating func record(_ key: Key, now: UInt64) -> Bool {
        guard var entry = entries[key] else {
            entries[key] = Entry(lastLogged: now, pending: 0)
            return true
        }
        if entry.pending == 0 && Self.elapsed(since: entry.lastLogged, now) >= Self.period {
            entry.lastLogged = now
            entries[key] = entry
            return true
        }
        entry.pending += 1
        entries[key] = entry
        return false
    }

    /// The summaries due at `now` (a period after the key's last line), or every pending one
    /// when `all` (at shutdown); each is taken once. Keys quiet for a minute are forgotten.
    package mutating func takeDue(now: UInt64, all: Bool = false) -> [(key: Key, count: Int)] {
        var due: [(key: Key, count: Int)] = []
        var forgotten: [Key] = []
        for (key, entry) in entries {
            let elapsed = Self.elapsed(since: entry.lastLogged, now)
            if entry.pending > 0 && (all || elapsed >= Self.period) {
                due.append((key, entry.pending))
                entries[key] = Entry(lastLogged: now, pending: 0)
            } else if entry.pending == 0 && elapsed >= Self.forgetAfter {
                forgotten.append(key)
            }
        }
        for key in forgotten { entries[key] = nil }
        // Stable order for the log (and the tests): by pool, server, then kind.
        return due.sorted { a, b in
            (a.key.pool, a.key.server, a.key.warning.rawValue) < (b.key.pool, b.key.server, b.key.warning.rawValue)
        }
    }

    /// When the next summary falls due; nil while none is pending.
    package var nextDue: UInt64? {
        entries.values.filter { $0.pending > 0 }.map { $0.lastLogged &+ Self.period }.min()
    }

    /// Keys remembered (pending or logged within the last minute).
    package var count: Int { entries.count }

    /// Threads read the clock before taking the lock, so `now` may be a little behind the
    /// last line's time: that counts as no time at all, not as a wrapped huge interval.
    private static func elapsed(since earlier: UInt64, _ now: UInt64) -> UInt64 {
        now > earlier ? now - earlier : 0
    }
}
