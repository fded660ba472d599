// `single-primary on`, on the checker thread: each pool's PrimaryElection is fed the servers'
// role-check state and offsets, its choice is published as the pool's PrimaryGate, and its
// events are logged. Runs before every result of such a pool is applied, after a wake
// (admin state, reload, added server) and at each rescan (about every second).
//
// Start-up (no history): the first choice waits until every checked server of the pool is
// decided (its last result failed, or it passed and is up), or `interval` x `rise` + `timeout`
// has passed, whichever comes first. A single-primary pool's first checks all start at once,
// so with the default `init-state up` this is about one probe. Then the eligible server that
// is ahead wins; from there on the primary is kept while it passes. A reload that turns
// single-primary on for a running pool chooses at once among the servers passing then.
import SluiceCore
import SluiceSys

struct PoolElection {
    let pool: PoolRuntime
    var election = PrimaryElection()
    /// The primary's `serial`: the election's index moves when a removed server leaves the table.
    var primarySerial: Int?
    /// The first choice is made by then even if some first result is still missing.
    let deadline: Instant
}

extension CheckLoop {
    /// The earliest deadline of a first choice still waiting.
    var nextElectionDeadline: Instant? {
        var next: Instant?
        for state in elections.values where !state.election.settled {
            next = min(next ?? state.deadline, state.deadline)
        }
        return next
    }

    /// Every watched pool chooses again (after a wake or at a rescan).
    func electAll() {
        for pool in checker.registry.withLock({ $0.pools }) { elect(pool) }
    }

    /// Pools whose first choice waited long enough.
    func electOverdue(_ now: Instant) {
        for state in elections.values where !state.election.settled && state.deadline <= now { elect(state.pool) }
    }

    /// Makes `pool`'s choice and publishes it. `reporting`: a result about to be applied (the
    /// server's health as it will be, not as it is).
    func elect(_ pool: PoolRuntime, reporting: (server: ServerRuntime, up: Bool)? = nil) {
        let key = ObjectIdentifier(pool)
        let settings = pool.settings
        guard settings.singlePrimary, settings.check.kind.isRoleCheck, !pool.removed.load(ordering: .relaxed) else {
            if elections.removeValue(forKey: key) != nil, !pool.removed.load(ordering: .relaxed) {
                checker.logger.info(
                    "single-primary off: every server passing the check takes new sessions", ["pool": pool.name])
            }
            pool.publish(.off)
            return
        }
        let now = Instant.now()
        let check = settings.check
        var state =
            elections[key]
            ?? PoolElection(pool: pool, deadline: now + check.interval * max(1, check.rise) + check.timeout)
        let servers = pool.allServers
        if let serial = state.primarySerial {
            state.election.renumber(primary: servers.firstIndex { $0.serial == serial })
        }
        var order: [String: Int] = [:]
        for (i, server) in pool.config.servers.enumerated() where order[server.name] == nil { order[server.name] = i }
        var waiting = false
        var candidates: [PrimaryCandidate] = []
        candidates.reserveCapacity(servers.count)
        for (i, server) in servers.enumerated() {
            let target = slots[ObjectIdentifier(server)].flatMap { targets[$0] }
            let checked = server.adminState != .maint && !server.removing.load(ordering: .relaxed)
            let passing: Bool
            if let reporting, reporting.server === server {
                passing = reporting.up && server.checkPassed.load(ordering: .relaxed) && checked
            } else {
                passing = server.passesCheck
            }
            // Undecided: no result yet, or passing but still rising (`init-state down`).
            if let target, checked, !target.reported || (target.lastSuccess && !target.health.isUp) { waiting = true }
            candidates.append(
                PrimaryCandidate(
                    passing: passing, ready: server.adminState == .ready, backup: server.config.backup,
                    offset: target?.offset, order: order[server.name] ?? servers.count + i))
        }
        // Gate still `off`: a reload just turned single-primary on for a pool that serves; its
        // servers' results are known, and waiting would leave every passing server serving.
        let settled = !waiting || now >= state.deadline || pool.primaryGate == .off
        let events = state.election.update(candidates, settled: settled)
        state.primarySerial = state.election.primary.map { servers[$0].serial }
        elections[key] = state
        if state.election.settled { pool.publish(state.primarySerial.map { .only($0) } ?? .noPrimary) }
        for event in events { log(event, pool, servers, candidates) }
    }

    private func log(
        _ event: PrimaryEvent, _ pool: PoolRuntime, _ servers: [ServerRuntime], _ candidates: [PrimaryCandidate]
    ) {
        let logger = checker.logger
        func name(_ i: Int?) -> String { i.map { servers[$0].name } ?? "none" }
        func names(_ list: [Int]) -> String { list.map { servers[$0].name }.joined(separator: ",") }
        func offset(_ i: Int) -> String { candidates[i].offset.map { "\($0)" } ?? "unknown" }
        switch event {
        case .chosen(let i, nil):
            logger.info("primary chosen", ["pool": pool.name, "server": name(i), "offset": offset(i)])
        case .chosen(let i, let previous?):
            logger.warn(
                "primary changed",
                ["pool": pool.name, "server": name(i), "previous": name(previous), "offset": offset(i)])
        case .lost(let previous):
            logger.warn(
                "no primary: no ready server passes the role check", ["pool": pool.name, "previous": name(previous)])
        case .conflictStarted(let passing, let kept):
            logger.warn(
                "more than one server passes the role check: new sessions stay on one primary",
                ["pool": pool.name, "servers": names(passing), "primary": name(kept)])
        case .conflictEnded(let passing):
            logger.info(
                "role check conflict over", ["pool": pool.name, "servers": passing.isEmpty ? "none" : names(passing)])
        }
    }
}
