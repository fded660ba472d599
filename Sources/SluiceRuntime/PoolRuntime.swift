// The live, shared view of pools and servers that workers read: built once from a Config,
// immutable except for its atomic counters and states.
import SluiceCore
import SluiceSys
import Synchronization

package final class ServerRuntime: Sendable {
    package let config: ServerConfig
    package let stats = ServerStats()

    package init(_ config: ServerConfig) { self.config = config }

    package var name: String { config.name }
    package var endpoint: IPEndpoint { config.address.endpoint }

    /// What a worker's balancer starts with (health checks and admin state come later).
    package var balancerView: BalancerServer {
        BalancerServer(name: config.name, weight: config.weight, backup: config.backup, usable: !config.disabled)
    }
}

package final class PoolRuntime: Sendable {
    package let index: Int
    package let config: PoolConfig
    package let servers: [ServerRuntime]
    package let stats = PoolStats()

    package init(index: Int, _ config: PoolConfig) {
        self.index = index
        self.config = config
        self.servers = config.servers.map(ServerRuntime.init)
    }

    package var name: String { config.name }
    package var settings: PoolSettings { config.settings }
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
