// What the admin socket and the metrics endpoint show: snapshots built from the shared
// counters on the admin/metrics threads, never on a worker. Commands that change servers
// are in AdminView+Commands.swift.
import SluiceCore
import SluiceSys

package final class AdminView: AdminHandler {
    let shared: SharedState
    let channels: [WorkerChannel]
    /// Asks the control thread for a reload; the ticket gets its reply.
    let reload: @Sendable () -> DeferredReply
    /// `state-file`: where changes to servers are saved; nil when not configured.
    let stateFile: StateStore?
    var workers: Int { channels.count }

    init(
        shared: SharedState, channels: [WorkerChannel], stateFile: StateStore? = nil,
        reload: @escaping @Sendable () -> DeferredReply
    ) {
        self.shared = shared
        self.channels = channels
        self.stateFile = stateFile
        self.reload = reload
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
        case .show(.sessions(let name)):
            return showSessions(pool: name, json: json)
        case .setState(let ref, let state):
            return saved(request.command, setState(ref, state))
        case .setWeight(let ref, let weight):
            return saved(request.command, setWeight(ref, weight))
        case .addServer(let add):
            return saved(request.command, addServer(add))
        case .delServer(let ref):
            return saved(request.command, delServer(ref))
        case .killSessions(let ref):
            return killSessions(ref)
        case .reload:
            return AdminReplyText(String(decoding: reload().wait(), as: UTF8.self))
        }
    }

    /// `reload` is answered by the control thread once it is done: the admin thread serves
    /// other clients meanwhile.
    package func handleLater(_ request: AdminRequest, peer: PeerCredentials) -> DeferredReply? {
        request.command == .reload ? reload() : nil
    }

    /// A change that succeeded goes to the state file; the reply stays as it was (SPEC: `OK`),
    /// a failed write is only logged.
    private func saved(_ command: AdminCommand, _ reply: AdminReplyText) -> AdminReplyText {
        if !reply.isError { stateFile?.record(command) }
        return reply
    }

    /// The Prometheus exposition, as served by `metrics` and `show metrics`.
    package func metrics() -> String {
        let pools = shared.pools
        return Prometheus.render(
            MetricsSnapshot(
                info: info(), pools: pools.map(poolSnapshot),
                servers: ServerSnapshot.mergedByName(pools.flatMap(serverSnapshots))))
    }

    func select(_ name: String?) -> [PoolRuntime]? {
        guard let name else { return shared.pools }
        let found = shared.pools.filter { $0.name == name }
        return found.isEmpty ? nil : found
    }

    private func info() -> InfoSnapshot {
        var bytesIn: UInt64 = 0
        var bytesOut: UInt64 = 0
        // UDP flows are outside the global (TCP) count but are sessions too.
        var flows = 0
        for pool in shared.pools {
            bytesIn &+= pool.stats.bytesIn.load(ordering: .relaxed)
            bytesOut &+= pool.stats.bytesOut.load(ordering: .relaxed)
            flows &+= pool.stats.flows.load(ordering: .relaxed)
        }
        return InfoSnapshot(
            version: SluiceVersion.string, pid: Int(SystemInfo.pid), uptimeSeconds: uptime(), workers: workers,
            sessionsCurrent: shared.active.load(ordering: .relaxed) &+ flows,
            sessionsTotal: shared.totalSessions.load(ordering: .relaxed), bytesIn: bytesIn, bytesOut: bytesOut,
            logDropped: shared.logger.droppedLines)
    }

    private func uptime() -> Int { Instant.now().millis(since: shared.started) / 1000 }

    private func poolSnapshot(_ pool: PoolRuntime) -> PoolSnapshot {
        let servers = pool.servers
        let up = servers.filter { $0.healthy.load(ordering: .relaxed) && !$0.removing.load(ordering: .relaxed) }.count
        let settings = pool.settings
        var snapshot = PoolSnapshot(
            name: pool.name, mode: settings.mode.rawValue, balance: settings.balance.rawValue,
            binds: pool.config.binds.map(\.description), serversUp: up, serversTotal: servers.count)
        snapshot.fill(from: pool.stats)
        if settings.check.kind.isRoleCheck { snapshot.primaries = servers.filter(\.passesCheck).count }
        snapshot.singlePrimary = settings.singlePrimary
        if case .only(let k) = pool.primaryGate, let primary = pool.allServers.first(where: { $0.serial == k }) {
            snapshot.primary = primary.name
        }
        return snapshot
    }

    /// A note after the last check of a server in a `single-primary` pool: `(primary)` for
    /// the one taking new sessions, `(standby: single-primary)` for others passing the check.
    private func primaryNote(_ gate: PrimaryGate, _ server: ServerRuntime) -> String {
        switch gate {
        case .off: ""
        case .only(let k) where k == server.serial: " (primary)"
        case .noPrimary, .only: server.passesCheck ? " (standby: single-primary)" : ""
        }
    }

    private func serverSnapshots(_ pool: PoolRuntime) -> [ServerSnapshot] {
        let gate = pool.primaryGate
        return pool.allServers.filter { !$0.gone }.map { server in
            let held = !gate.admits(server.serial)
            let config = server.config
            let address =
                config.address.host == "\(config.address.endpoint.address)"
                ? "\(config.address.endpoint)" : "\(config.address.host)(\(config.address.endpoint))"
            let now = Instant.now().nanoseconds
            let changed = server.lastChange.load(ordering: .relaxed)
            var snapshot = ServerSnapshot(
                pool: pool.name, name: server.name, address: address,
                health: server.healthy.load(ordering: .relaxed) ? .up : .down, state: server.adminState,
                weight: server.weight.load(ordering: .relaxed),
                effectiveWeight: server.usable && !held
                    ? server.balancedWeight(now: Instant(nanoseconds: now), slowstart: pool.settings.slowstart) : 0,
                lastCheck: pool.settings.check.kind == .none
                    ? "none" : (shared.health?.lastResult(for: server)?.text ?? "pending") + primaryNote(gate, server),
                secondsSinceChange: Int((now &- min(now, changed)) / 1_000_000_000),
                removing: server.removing.load(ordering: .relaxed))
            snapshot.fill(from: server.stats)
            return snapshot
        }
    }
}
