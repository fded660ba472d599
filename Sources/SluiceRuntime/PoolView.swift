// A worker's own copy of one pool's members and its balancer, refreshed when the pool's
// version moves (a state, weight, membership or settings change, a slow-start step or a new
// `single-primary` choice), so picks read no lock. Removed servers are not members: the
// balancer only ever sees servers in the pool, and a session holds its server, not an index
// here. With `all-down any` a second balancer that ignores health is tried when no server is up.
import SluiceCore
import SluiceSys
import Synchronization

struct PoolView {
    let pool: PoolRuntime
    /// The pool's settings as of the last refresh (a reload changes them for new sessions).
    private(set) var settings: PoolSettings
    /// The members as of the last refresh; the balancers' ServerIDs index this.
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
        servers = pool.members
        gate = pool.primaryGate
        balancer = PoolBalancer(.roundrobin, [])
        rebuild()
    }

    /// Server `id` as the balancer (or, `fallback`, the `all-down any` one) sees it now.
    private func view(_ id: ServerID, now: Instant, slowstart: Duration, fallback: Bool = false) -> BalancerServer {
        var view = servers[id].balancerView(now: now, slowstart: slowstart, ignoringHealth: fallback)
        if !gate.admits(servers[id].serial, fallback: fallback) { view.usable = false }
        return view
    }

    private mutating func rebuild() {
        let now = Instant.now()
        let slowstart = settings.slowstart
        balancer = PoolBalancer(
            settings.balance, servers.indices.map { view($0, now: now, slowstart: slowstart) },
            hashKey: settings.hashKey)
        fallback =
            settings.allDown == .any
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

    /// Refreshes when the pool changed since the last refresh; true when it did.
    mutating func refreshIfStale() -> Bool {
        let current = pool.version.load(ordering: .acquiring)
        guard current != version else { return false }
        reload(current)
        return true
    }

    private mutating func reload(_ current: UInt64) {
        version = current
        let before = settings
        settings = pool.settings
        gate = pool.primaryGate
        let latest = pool.members
        if !Self.same(latest, servers) || settings.balance != before.balance || settings.allDown != before.allDown
            || settings.hashKey != before.hashKey
        {
            // Membership changed: a new balancer over the members only (the old array, and
            // with it this worker's hold on removed servers, goes).
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

    /// The same servers in the same order.
    private static func same(_ a: [ServerRuntime], _ b: [ServerRuntime]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0 === $1 }
    }

    enum Pick {
        /// A server, with its session count already raised (its `maxconn` slot is reserved).
        case server(ServerRuntime)
        /// Servers are usable but all at their `maxconn`: the client may wait in the queue.
        case full
        case none
    }

    /// Picks a server and reserves a session slot on it. A server at its `maxconn` is set
    /// aside for this pick only (the slow path, taken only when servers are full).
    /// `avoiding`: the server whose connect just failed, tried again only when it is the
    /// only one left.
    ///
    /// No server from a view that went stale since the refresh (a reload added servers, then
    /// marked the old ones removing, between this worker's refresh and its pick): refresh and
    /// pick once more, so a reload that swaps every member never refuses a client. Seeing
    /// `removing` (sequentially consistent) also makes the version bump of the servers that
    /// joined before it visible (`updateServers` adds, then marks). Off the fast path: only
    /// after a pick found nothing.
    mutating func pick(_ key: FlowKey, avoiding: ServerRuntime?) -> Pick {
        let first = pickOnce(key, avoiding: avoiding)
        guard case .none = first else { return first }
        let current = pool.version.load(ordering: .acquiring)
        guard current != version else { return first }
        reload(current)
        return pickOnce(key, avoiding: avoiding)
    }

    private mutating func pickOnce(_ key: FlowKey, avoiding: ServerRuntime?) -> Pick {
        let counts = ServerActiveCounts(servers: servers)
        let avoid: ServerID? = avoiding.flatMap { failed in servers.firstIndex { $0 === failed } }
        var setAside: [ServerID] = []
        var full = false
        defer { if !setAside.isEmpty { restore(setAside) } }
        while true {
            guard
                let id = balancer.pick(key, avoiding: avoid, counts: counts)
                    ?? fallback?.pick(key, avoiding: avoid, counts: counts) ?? nil
            else { return full ? .full : .none }
            let server = servers[id]
            if server.stats.reserveSlot(cap: server.config.maxconn) {
                // The control thread may have removed it since the last refresh and, seeing no
                // session, dropped it from the pool (PoolRuntime+Reclaim). Both sides are
                // sequentially consistent (reservation, then `removing`; `removing`, then the
                // count), so one of them sees the other: a dropped server never gains a session.
                if !server.removing.load(ordering: .sequentiallyConsistent) { return .server(server) }
                server.stats.active.wrappingSubtract(1, ordering: .relaxed)
            } else {
                full = true
            }
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
