// Admin commands that change servers (SPEC "Server states"): admin state, weight, add, del
// (drain-on-remove), kill sessions, and `show sessions`, which asks every worker.
import SluiceCore
import SluiceSys
import Synchronization

extension AdminView {
    private func find(_ ref: ServerRef) -> (PoolRuntime, ServerRuntime)? {
        guard let pool = shared.pools.first(where: { $0.name == ref.pool }),
            let server = pool.server(named: ref.server)
        else { return nil }
        return (pool, server)
    }

    private func missing(_ ref: ServerRef) -> AdminReplyText {
        guard shared.pools.contains(where: { $0.name == ref.pool }) else { return .error("no such pool '\(ref.pool)'") }
        return .error("no such server '\(ref.server)' in pool '\(ref.pool)'")
    }

    func setState(_ ref: ServerRef, _ state: AdminState) -> AdminReplyText {
        guard let (pool, server) = find(ref) else { return missing(ref) }
        if server.removing.load(ordering: .relaxed) { return .error("server \(ref) is being removed") }
        let before = server.adminState
        pool.apply(.adminState(state, byOperator: true), to: server)
        shared.health?.reconsider()  // a single-primary pool may need another primary
        stopAwaiting(server, pool)
        shared.logger.info("server state changed", ["pool": pool.name, "server": server.name,
                                                     "from": before.rawValue, "to": state.rawValue])
        return .ok
    }

    func setWeight(_ ref: ServerRef, _ weight: Int) -> AdminReplyText {
        guard let (pool, server) = find(ref) else { return missing(ref) }
        pool.apply(.weight(weight, byOperator: true), to: server)
        shared.logger.info("server weight changed", ["pool": pool.name, "server": server.name, "weight": "\(weight)"])
        return .ok
    }

    func addServer(_ request: AddServerRequest) -> AdminReplyText {
        guard let pool = shared.pools.first(where: { $0.name == request.ref.pool }) else {
            return .error("no such pool '\(request.ref.pool)'")
        }
        var config = ServerConfig(
            name: request.ref.server,
            address: ServerAddress(host: "\(request.endpoint.address)", endpoint: request.endpoint))
        config.weight = request.weight
        config.maxconn = request.maxconn
        config.backup = request.backup
        guard let server = pool.add(config) else {
            return .error("server '\(request.ref.server)' already exists in pool '\(pool.name)'")
        }
        shared.health?.watch(pool: pool)
        shared.logger.info("server added", ["pool": pool.name, "server": server.name, "addr": "\(server.endpoint)"])
        return .ok
    }

    func delServer(_ ref: ServerRef) -> AdminReplyText {
        guard let (pool, server) = find(ref) else { return missing(ref) }
        pool.apply(.removing, to: server)
        shared.health?.reconsider()
        stopAwaiting(server, pool)
        shared.logger.info("server removed: draining", [
            "pool": pool.name, "server": server.name,
            "sessions": "\(server.stats.active.load(ordering: .relaxed))",
            "timeout_ms": "\(pool.settings.timeoutDrain.milliseconds)",
        ])
        return .ok
    }

    /// Clients queued for this server's first role-check result have one server less to
    /// wait for: they try again now (and are refused if nothing is left to wait for) rather
    /// than at `timeout queue`.
    private func stopAwaiting(_ server: ServerRuntime, _ pool: PoolRuntime) {
        guard server.firstResultDue.load(ordering: .relaxed) != 0 else { return }
        pool.wakeWaiters(channels)
    }

    func killSessions(_ ref: ServerRef) -> AdminReplyText {
        guard let (pool, server) = find(ref) else { return missing(ref) }
        for channel in channels {
            channel.send(.closeSessions(pool: pool.index, server: server, reason: "killed by admin"))
        }
        return .ok
    }

    func showSessions(pool name: String?, json: Bool) -> AdminReplyText {
        var poolIndex: Int? = nil
        if let name {
            guard let pool = shared.pools.first(where: { $0.name == name }) else { return .error("no such pool '\(name)'") }
            poolIndex = pool.index
        }
        let report = SessionReport(workers: channels.count, limit: 1000)
        for channel in channels { channel.send(.reportSessions(report, pool: poolIndex)) }
        return .sessions(report.collect(timeoutMillis: 1000), json: json)
    }

    /// Runs about once a second on the control thread: sessions of servers whose
    /// `timeout drain` expired are closed, pools with a server in its slow-start ramp
    /// are bumped so workers pick up the next weight step, and removed servers whose last
    /// session ended are freed.
    func housekeeping() {
        shared.reclaimServers()
        let now = Instant.now()
        for pool in shared.pools where pool.settings.slowstart != .zero {
            let ramp = pool.settings.slowstart + .seconds(1)
            if pool.allServers.contains(where: {
                let since = $0.upSince.load(ordering: .relaxed)
                return since != 0 && now < Instant(nanoseconds: since) + ramp
            }) {
                pool.slowStartStep()
            }
        }
        for pool in shared.allPools {
            let timeout = pool.settings.timeoutDrain
            guard timeout != .zero else { continue }
            for server in pool.allServers {
                let since = server.drainingSince.load(ordering: .relaxed)
                guard since != 0, !server.drainExpired.load(ordering: .relaxed),
                    Instant(nanoseconds: since) + timeout <= now
                else { continue }
                server.drainExpired.store(true, ordering: .relaxed)
                let left = server.stats.active.load(ordering: .relaxed)
                guard left > 0 else { continue }
                shared.logger.info("drain timeout: closing remaining sessions", [
                    "pool": pool.name, "server": server.name, "sessions": "\(left)",
                ])
                for channel in channels {
                    channel.send(.closeSessions(pool: pool.index, server: server, reason: "drain timeout"))
                }
            }
        }
    }
}
