// What the admin socket and the metrics endpoint show: snapshots built from the shared
// counters on the admin/metrics threads, never on a worker. Commands that change state
// answer that they are not there yet rather than pretend.
import SluiceCore
import SluiceSys

package final class AdminView: AdminHandler {
    let shared: SharedState
    let workers: Int

    package init(shared: SharedState, workers: Int) {
        self.shared = shared
        self.workers = workers
    }

    package func handle(_ request: AdminRequest, peer: PeerCredentials) -> AdminReplyText {
        let json = request.json
        switch request.command {
        case .help:
            return .help
        case .show(.info):
            return .info(info(), json: json)
        case .show(.pools):
            return .pools(shared.pools.map(poolSnapshot), json: json)
        case .show(.servers(let name)):
            guard let pools = select(name) else { return .error("no such pool '\(name ?? "")'") }
            return .servers(pools.flatMap(serverSnapshots), json: json)
        case .show(.metrics):
            return AdminReplyText(metrics())
        case .show(.sessions):
            return .error("show sessions is not implemented yet")
        case .setState, .setWeight, .addServer, .delServer, .killSessions:
            return .error("changing servers at run time is not implemented yet")
        case .reload:
            return .error("reload is not implemented yet")
        }
    }

    /// The Prometheus exposition, as served by `metrics` and `show metrics`.
    package func metrics() -> String {
        let pools = shared.pools
        return Prometheus.render(MetricsSnapshot(
            info: info(), pools: pools.map(poolSnapshot), servers: pools.flatMap(serverSnapshots)))
    }

    private func select(_ name: String?) -> [PoolRuntime]? {
        guard let name else { return shared.pools }
        let found = shared.pools.filter { $0.name == name }
        return found.isEmpty ? nil : found
    }

    private func info() -> InfoSnapshot {
        var bytesIn: UInt64 = 0
        var bytesOut: UInt64 = 0
        for pool in shared.pools {
            bytesIn &+= pool.stats.bytesIn.load(ordering: .relaxed)
            bytesOut &+= pool.stats.bytesOut.load(ordering: .relaxed)
        }
        return InfoSnapshot(
            version: SluiceVersion.string, pid: Int(SystemInfo.pid), uptimeSeconds: uptime(), workers: workers,
            sessionsCurrent: shared.active.load(ordering: .relaxed),
            sessionsTotal: shared.totalSessions.load(ordering: .relaxed), bytesIn: bytesIn, bytesOut: bytesOut)
    }

    private func uptime() -> Int { Instant.now().millis(since: shared.started) / 1000 }

    private func poolSnapshot(_ pool: PoolRuntime) -> PoolSnapshot {
        let up = pool.servers.filter { !$0.config.disabled }.count
        var snapshot = PoolSnapshot(
            name: pool.name, mode: pool.settings.mode.rawValue, balance: pool.settings.balance.rawValue,
            binds: pool.config.binds.map(\.description), serversUp: up, serversTotal: pool.servers.count)
        snapshot.fill(from: pool.stats)
        return snapshot
    }

    private func serverSnapshots(_ pool: PoolRuntime) -> [ServerSnapshot] {
        pool.servers.map { server in
            let config = server.config
            let address = config.address.host == "\(config.address.endpoint.address)"
                ? "\(config.address.endpoint)" : "\(config.address.host)(\(config.address.endpoint))"
            // No health checks yet: a server counts as up unless it is `disabled` (maint).
            var snapshot = ServerSnapshot(
                pool: pool.name, name: server.name, address: address, health: .up,
                state: config.disabled ? .maint : .ready, weight: config.weight,
                effectiveWeight: config.disabled ? 0 : config.weight, lastCheck: "none",
                secondsSinceChange: uptime())
            snapshot.fill(from: server.stats)
            return snapshot
        }
    }
}
