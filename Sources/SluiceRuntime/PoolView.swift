// A worker's own copy of one pool's server table and its balancer, refreshed when the
// pool's version moves (a state, weight, membership or settings change, a slow-start step or
// a new `single-primary` choice), so picks read no lock. With `all-down any` a second
// balancer that ignores health is tried when no server is up.
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
    /// `single-primary`: the servers allowed new sessions, as of the last refresh.
    private var gate: PrimaryGate

    init(_ pool: PoolRuntime) {
        self.pool = pool
        version = pool.version.load(ordering: .acquiring)
        settings = pool.settings
        servers = pool.allServers
        gate = pool.primaryGate
        balancer = PoolBalancer(.roundrobin, [])
        rebuild()
    }

    /// Server `id` as the balancer (or, `fallback`, the `all-down any` one) sees it now.
    private func view(_ id: ServerID, now: Instant, slowstart: Duration, fallback: Bool = false) -> BalancerServer {
        var view = servers[id].balancerView(now: now, slowstart: slowstart, ignoringHealth: fallback)
        if !gate.admits(id, fallback: fallback) { view.usable = false }
        return view
    }

    private mutating func rebuild() {
        let now = Instant.now()
        let slowstart = settings.slowstart
        balancer = PoolBalancer(
            settings.balance, servers.indices.map { view($0, now: now, slowstart: slowstart) }, hashKey: settings.hashKey)
        fallback = settings.allDown == .any
            ? PoolBalancer(
                settings.balance, servers.indices.map { view($0, now: now, slowstart: slowstart, fallback: true) },
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
        gate = pool.primaryGate
        let latest = pool.allServers
        if latest.count != servers.count || settings.balance != before.balance || settings.allDown != before.allDown
            || settings.hashKey != before.hashKey {
            servers = latest
            rebuild()
            return
        }
        let now = Instant.now()
        for id in servers.indices {
            let main = view(id, now: now, slowstart: settings.slowstart)
            balancer.setUsable(id, main.usable)
            balancer.setWeight(id, main.weight)
            if fallback != nil {
                let usable = view(id, now: now, slowstart: .zero, fallback: true).usable
                fallback?.setUsable(id, usable)
                fallback?.setWeight(id, main.weight)
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
            balancer.setUsable(id, view(id, now: now, slowstart: .zero).usable)
            let usable = view(id, now: now, slowstart: .zero, fallback: true).usable
            fallback?.setUsable(id, usable)
        }
    }
}
