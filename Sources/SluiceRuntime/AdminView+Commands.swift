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
        shared.logger.info(
            "server state changed",
            [
                "pool": pool.name, "server": server.name,
                "from": before.rawValue, "to": state.rawValue,
            ])
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
        shared.logger.info(
            "server removed: draining",
            [
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
            guard let pool = shared.pools.first(where: { $0.name == name }) else {
                return .error("no such pool '\(name)'")
            }
            poolIndex = pool.index
        }
        let report = SessionReport(workers: channels.count, limit: 1000)
        for channel in channels { channel.send(.reportSessions(report, pool: poolIndex)) }
        return .sessions(report.collect(timeoutMillis: 1000), json: json)
    }
}
