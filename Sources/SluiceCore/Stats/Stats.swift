// Shared counters read by `show`, metrics and leastconn. Workers update them with relaxed
// atomics (never a lock); readers get a consistent-enough snapshot per counter.
import Synchronization

package enum RejectReason: Int, CaseIterable, Sendable {
    case maxconn = 0, queueTimeout, noServer, connectFailed

    package var label: String {
        switch self {
        case .maxconn: "maxconn"
        case .queueTimeout: "queue-timeout"
        case .noServer: "no-server"
        case .connectFailed: "connect-failed"
        }
    }
}

extension Atomic where Value == Int {
    /// Counts one more unless the count is already at `cap`. One compare-and-swap, never an
    /// add undone after the check: readers (`show info`, metrics, another worker's check)
    /// would see the count past the cap for that instant, and a client could be refused
    /// while a slot was free.
    package func increment(upTo cap: Int) -> Bool {
        var current = load(ordering: .relaxed)
        while current < cap {
            let (exchanged, original) = compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }
}

package final class PoolStats: Sendable {
    package let current = Atomic<Int>(0)
    package let total = Atomic<UInt64>(0)
    /// Client -> server bytes.
    package let bytesIn = Atomic<UInt64>(0)
    /// Server -> client bytes.
    package let bytesOut = Atomic<UInt64>(0)
    package let queued = Atomic<Int>(0)
    /// `mode udp` flows (also counted in `current`).
    package let flows = Atomic<Int>(0)
    private let rejectedMaxconn = Atomic<UInt64>(0)
    private let rejectedQueue = Atomic<UInt64>(0)
    private let rejectedNoServer = Atomic<UInt64>(0)
    private let rejectedConnect = Atomic<UInt64>(0)

    package init() {}

    package func reject(_ reason: RejectReason) {
        switch reason {
        case .maxconn: rejectedMaxconn.add(1, ordering: .relaxed)
        case .queueTimeout: rejectedQueue.add(1, ordering: .relaxed)
        case .noServer: rejectedNoServer.add(1, ordering: .relaxed)
        case .connectFailed: rejectedConnect.add(1, ordering: .relaxed)
        }
    }

    package func rejected(_ reason: RejectReason) -> UInt64 {
        switch reason {
        case .maxconn: rejectedMaxconn.load(ordering: .relaxed)
        case .queueTimeout: rejectedQueue.load(ordering: .relaxed)
        case .noServer: rejectedNoServer.load(ordering: .relaxed)
        case .connectFailed: rejectedConnect.load(ordering: .relaxed)
        }
    }
}

package final class ServerStats: Sendable {
    /// Counts one more session unless `cap` (> 0) is reached; workers race here, so the
    /// check and the increment are one compare-and-swap. Sequentially consistent: a pick
    /// reads the server's removal after it (the runtime's reclaim, PoolView.pick); on x86 a
    /// locked add costs the same either way.
    package func reserveSlot(cap: Int) -> Bool {
        if cap <= 0 {
            active.add(1, ordering: .sequentiallyConsistent)
            return true
        }
        var current = active.load(ordering: .relaxed)
        while current < cap {
            let (exchanged, original) = active.compareExchange(
                expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Sessions running on this server now; leastconn reads it from every worker.
    package let active = Atomic<Int>(0)
    package let total = Atomic<UInt64>(0)
    package let connectFailures = Atomic<UInt64>(0)
    package let bytesIn = Atomic<UInt64>(0)
    package let bytesOut = Atomic<UInt64>(0)
    /// Time from connect() to an established backend connection (sluice_server_connect_seconds).
    package let connectSeconds = Histogram()
    /// Duration of each health check (sluice_server_check_seconds).
    package let checkSeconds = Histogram()

    package init() {}
}
