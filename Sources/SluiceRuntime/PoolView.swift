// A worker's own copy of one pool's server table and its balancer, refreshed when the
// pool's version moves (a state, weight, membership or settings change, or a slow-start
// step), so picks read no lock. With `all-down any` a second balancer that ignores health
// is tried when no server is up.
import SluiceCore
import SluiceSys
import Synchronization

struct PoolView {
    let pool: PoolRuntime
    /// The pool's settings as of the last refresh (a reload changes them for new sessions).
    private(set) var settings: PoolSettings
    private(set) var servers: [ServerRuntime]
    private(set) var balancer: PoolBalancer
    private var fallback: PoolBalancer?
    private var version: UInt64

    init(_ pool: PoolRuntime) {
        self.pool = pool
        version = pool.version.load(ordering: .acquiring)
        settings = pool.settings
        servers = pool.allServers
        balancer = PoolBalancer(.roundrobin, [])
        rebuild()
    }

    private mutating func rebuild() {
        let now = Instant.now()
        let slowstart = settings.slowstart
        balancer = PoolBalancer(
            settings.balance, servers.map { $0.balancerView(now: now, slowstart: slowstart) }, hashKey: settings.hashKey)
        fallback = settings.allDown == .any
            ? PoolBalancer(
                settings.balance, servers.map { $0.balancerView(now: now, slowstart: slowstart, ignoringHealth: true) },
                hashKey: settings.hashKey)
            : nil
    }

    /// Brings servers and balancer up to date; one atomic load when nothing changed.
    @inline(__always)
    mutating func refresh() {
        let current = pool.version.load(ordering: .acquiring)
        if current != version { reload(current) }
    }

    private mutating func reload(_ current: UInt64) {
        version = current
        let before = settings
        settings = pool.settings
        let latest = pool.allServers
        if latest.count != servers.count || settings.balance != before.balance || settings.allDown != before.allDown
            || settings.hashKey != before.hashKey {
            servers = latest
            rebuild()
            return
        }
        let now = Instant.now()
        for (id, server) in servers.enumerated() {
            let view = server.balancerView(now: now, slowstart: settings.slowstart)
            balancer.setUsable(id, view.usable)
            balancer.setWeight(id, view.weight)
            if fallback != nil {
                fallback?.setUsable(id, server.balancerView(now: now, slowstart: .zero, ignoringHealth: true).usable)
                fallback?.setWeight(id, view.weight)
            }
        }
    }

    enum Pick {
        /// A server, with its session count already raised (its `maxconn` slot is reserved).
        case server(ServerID)
        /// Servers are usable but all at their `maxconn`: the client may wait in the queue.
        case full
        case none
    }

    /// Picks a server and reserves a session slot on it. A server at its `maxconn` is set
    /// aside for this pick only (the slow path, taken only when servers are full).
    mutating func pick(_ key: FlowKey, avoiding: ServerID?) -> Pick {
        let counts = ServerActiveCounts(servers: servers)
        var setAside: [ServerID] = []
        defer { if !setAside.isEmpty { restore(setAside) } }
        while true {
            guard let id = balancer.pick(key, avoiding: avoiding, counts: counts)
                ?? fallback?.pick(key, avoiding: avoiding, counts: counts) ?? nil
            else { return setAside.isEmpty ? .none : .full }
            if servers[id].stats.reserveSlot(cap: servers[id].config.maxconn) { return .server(id) }
            setAside.append(id)
            balancer.setUsable(id, false)
            fallback?.setUsable(id, false)
        }
    }

    private mutating func restore(_ ids: [ServerID]) {
        let now = Instant.now()
        for id in ids {
            balancer.setUsable(id, servers[id].balancerView(now: now, slowstart: .zero).usable)
            fallback?.setUsable(id, servers[id].balancerView(now: now, slowstart: .zero, ignoringHealth: true).usable)
        }
    }
}
