// The server table shared by the weighted balancers, plus the two rules every pick obeys:
// backups only while no non-backup is eligible, and `avoiding` is skipped unless it is the
// only eligible server of that tier. Invariant: the eligible counts always match `servers`.

/// Which servers one pick may consider. Computed in O(1) from the table's counts.
struct PickScope {
    /// Consider backups (true) or non-backups (false).
    let backup: Bool
    /// The server to leave out, or nil.
    let skip: ServerID?

    @inline(__always)
    func admits(_ server: BalancerServer, _ id: ServerID) -> Bool {
        server.eligible && server.backup == backup && id != skip
    }
}

/// `[BalancerServer]` with running counts of eligible primaries and backups.
struct BalancerTable {
    private(set) var servers: [BalancerServer]
    private var eligiblePrimaries = 0
    private var eligibleBackups = 0

    init(_ servers: [BalancerServer]) {
        self.servers = servers
        for server in servers { count(server, +1) }
    }

    var count: Int { servers.count }

    /// Sets `usable` in place; returns whether the server's eligibility changed.
    @discardableResult
    mutating func setUsable(_ id: ServerID, _ usable: Bool) -> Bool {
        let wasEligible = servers[id].eligible
        count(servers[id], -1)
        servers[id].usable = usable
        count(servers[id], +1)
        return wasEligible != servers[id].eligible
    }

    /// Sets the weight in place; returns whether it changed.
    @discardableResult
    mutating func setWeight(_ id: ServerID, _ weight: Int) -> Bool {
        let oldWeight = servers[id].weight
        count(servers[id], -1)
        servers[id].weight = weight
        count(servers[id], +1)
        return oldWeight != weight
    }

    /// The scope for a pick, or nil when no server is eligible.
    func scope(avoiding: ServerID?) -> PickScope? {
        let backup = eligiblePrimaries == 0
        let inTier = backup ? eligibleBackups : eligiblePrimaries
        guard inTier > 0 else { return nil }
        guard let avoided = avoiding, servers.indices.contains(avoided) else {
            return PickScope(backup: backup, skip: nil)
        }
        let server = servers[avoided]
        let avoidedInTier = server.eligible && server.backup == backup
        // The only eligible server of the tier may be returned again.
        if avoidedInTier && inTier == 1 { return PickScope(backup: backup, skip: nil) }
        return PickScope(backup: backup, skip: avoided)
    }

    private mutating func count(_ server: BalancerServer, _ delta: Int) {
        guard server.eligible else { return }
        if server.backup { eligibleBackups += delta } else { eligiblePrimaries += delta }
    }
}
