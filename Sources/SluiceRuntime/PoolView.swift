// A worker's own copy of one pool's server table and its balancer, refreshed when the
// pool's version moves (a state, weight or membership change), so picks read no lock.
import SluiceCore
import Synchronization

struct PoolView {
    let pool: PoolRuntime
    /// The pool's settings as of the last refresh (a reload changes them for new sessions).
    private(set) var settings: PoolSettings
    private(set) var servers: [ServerRuntime]
    private(set) var balancer: PoolBalancer
    private var version: UInt64

    init(_ pool: PoolRuntime) {
        self.pool = pool
        version = pool.version.load(ordering: .acquiring)
        settings = pool.settings
        servers = pool.allServers
        balancer = PoolBalancer(pool.settings.balance, servers.map(\.balancerView))
    }

    /// Brings servers and balancer up to date; one atomic load when nothing changed.
    @inline(__always)
    mutating func refresh() {
        let current = pool.version.load(ordering: .acquiring)
        if current != version { reload(current) }
    }

    private mutating func reload(_ current: UInt64) {
        version = current
        let balanceBefore = settings.balance
        settings = pool.settings
        let latest = pool.allServers
        if latest.count != servers.count || settings.balance != balanceBefore {
            servers = latest
            balancer = PoolBalancer(pool.settings.balance, servers.map(\.balancerView))
            return
        }
        for (id, server) in servers.enumerated() {
            balancer.setUsable(id, server.usable)
            balancer.setWeight(id, server.weight.load(ordering: .relaxed))
        }
    }

    mutating func pick(_ key: FlowKey, avoiding: ServerID?) -> ServerID? {
        balancer.pick(key, avoiding: avoiding, counts: ServerActiveCounts(servers: servers))
    }
}
