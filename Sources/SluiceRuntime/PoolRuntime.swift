// The live, shared view of pools and servers. The control plane (admin socket, checks,
// reload) changes server states through atomics and bumps the pool's `version`; workers see
// the bump on their next pick and refresh their own copy of the server table and balancer.
// The table is append-only while running, so a worker's server index never changes meaning.
import SluiceCore
import SluiceSys
import Synchronization

package final class ServerRuntime: Sendable {
    package let config: ServerConfig
    package let stats = ServerStats()
    private let admin: Atomic<Int>
    package let weight: Atomic<Int>
    /// Up by health checks (always up until checks exist).
    package let healthy = Atomic<Bool>(true)
    /// Deleted (`del server`, reload): drains, then leaves the table's visible part.
    package let removing = Atomic<Bool>(false)
    /// When the server stopped taking new sessions (drain, maint, removal); 0 while ready.
    package let drainingSince = Atomic<UInt64>(0)
    /// Its remaining sessions were closed because `timeout drain` expired.
    package let drainExpired = Atomic<Bool>(false)
    package let lastChange: Atomic<UInt64>

    package init(_ config: ServerConfig) {
        self.config = config
        let now = Instant.now().nanoseconds
        admin = Atomic(config.disabled ? ServerRuntime.code(.maint) : ServerRuntime.code(.ready))
        weight = Atomic(config.weight)
        lastChange = Atomic(now)
        if config.disabled { drainingSince.store(now, ordering: .relaxed) }
    }

    package var name: String { config.name }
    package var endpoint: IPEndpoint { config.address.endpoint }

    package var adminState: AdminState { AdminState.allCases[admin.load(ordering: .relaxed)] }

    /// Takes new sessions: healthy, `ready` and not being removed.
    package var usable: Bool {
        healthy.load(ordering: .relaxed) && adminState == .ready && !removing.load(ordering: .relaxed)
    }

    package var effectiveWeight: Int { usable ? weight.load(ordering: .relaxed) : 0 }

    /// Removed and drained: no longer shown nor found by name.
    package var gone: Bool {
        removing.load(ordering: .relaxed)
            && (stats.active.load(ordering: .relaxed) == 0 || drainExpired.load(ordering: .relaxed))
    }

    package var balancerView: BalancerServer {
        BalancerServer(name: config.name, weight: weight.load(ordering: .relaxed), backup: config.backup, usable: usable)
    }

    /// Sets the admin state; leaving `ready` starts the drain clock, returning to it stops it.
    package func setAdminState(_ state: AdminState) {
        let now = Instant.now().nanoseconds
        admin.store(ServerRuntime.code(state), ordering: .relaxed)
        if state == .ready && !removing.load(ordering: .relaxed) {
            drainingSince.store(0, ordering: .relaxed)
            drainExpired.store(false, ordering: .relaxed)
        } else if drainingSince.load(ordering: .relaxed) == 0 {
            drainingSince.store(now, ordering: .relaxed)
        }
        lastChange.store(now, ordering: .relaxed)
    }

    package func markRemoving() {
        let now = Instant.now().nanoseconds
        removing.store(true, ordering: .relaxed)
        if drainingSince.load(ordering: .relaxed) == 0 { drainingSince.store(now, ordering: .relaxed) }
        lastChange.store(now, ordering: .relaxed)
    }

    private static func code(_ state: AdminState) -> Int { AdminState.allCases.firstIndex(of: state)! }
}

package final class PoolRuntime: Sendable {
    package let index: Int
    package let config: PoolConfig
    package let stats = PoolStats()
    /// Bumped after every change of a server's state, weight or membership.
    package let version = Atomic<UInt64>(0)
    private let table: Mutex<[ServerRuntime]>

    package init(index: Int, _ config: PoolConfig) {
        self.index = index
        self.config = config
        self.table = Mutex(config.servers.map(ServerRuntime.init))
    }

    package var name: String { config.name }
    package var settings: PoolSettings { config.settings }

    /// Every server ever in the table, removed ones included (indices are stable).
    package var allServers: [ServerRuntime] { table.withLock { $0 } }

    /// The servers `show servers` lists: all but the removed ones that finished draining.
    package var servers: [ServerRuntime] { allServers.filter { !$0.gone } }

    package func server(named name: String) -> ServerRuntime? {
        servers.last { $0.name == name }
    }

    /// Appends a server; nil when a server of that name is still in the pool.
    package func add(_ config: ServerConfig) -> ServerRuntime? {
        let added: ServerRuntime? = table.withLock { list in
            guard !list.contains(where: { $0.name == config.name && !$0.gone }) else { return nil }
            let server = ServerRuntime(config)
            list.append(server)
            return server
        }
        if added != nil { changed() }
        return added
    }

    /// Tells the workers to refresh their view on their next pick.
    package func changed() {
        version.add(1, ordering: .releasing)
    }
}

/// Live session counts of one pool's servers, as leastconn sees them.
struct ServerActiveCounts: ActiveCounts {
    let servers: [ServerRuntime]

    @inline(__always)
    func active(_ id: ServerID) -> Int { servers[id].stats.active.load(ordering: .relaxed) }
}

/// Everything the workers share: pools, global caps and counters, the logger.
package final class SharedState: Sendable {
    package let pools: [PoolRuntime]
    package let logger: Logger
    package let maxconn: Int
    package let pipeSize: Int
    package let active = Atomic<Int>(0)
    package let totalSessions = Atomic<UInt64>(0)
    package let nextSessionID = Atomic<UInt64>(1)
    package let started = Instant.now()

    package init(config: Config, logger: Logger) {
        self.pools = config.pools.enumerated().map { PoolRuntime(index: $0.offset, $0.element) }
        self.logger = logger
        self.maxconn = config.global.maxconn
        self.pipeSize = config.global.pipeSize
    }
}
