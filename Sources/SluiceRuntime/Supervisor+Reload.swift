// Reload in place (SPEC "Reload"): parse the file again; on errors keep running untouched and
// return them. Otherwise compute the difference (ReloadPlan, in Core) and apply it live:
// global logging and maxconn, new pools bind and serve, removed pools stop accepting and
// drain, binds move, added servers join, removed servers drain, changed settings apply to new
// sessions, and run-time admin states and weights persist (and, with a state file, its added
// and deleted servers too). New listeners are bound before anything changes, so a bind error
// changes nothing. Host names are looked up first, off the control thread (ConfigLoad): the
// loop keeps turning (watchdog, admin answers) until they answer or HostLookups.timeout passes.
import SluiceCore
import SluiceSys

/// A reload whose host names are still being looked up.
final class PendingReload {
    let load: ConfigLoad
    let trigger: String
    let tickets: [ReloadRequests.Ticket]

    init(load: ConfigLoad, trigger: String, tickets: [ReloadRequests.Ticket]) {
        self.load = load
        self.trigger = trigger
        self.tickets = tickets
    }
}

/// Reloads asked for while one is in flight: they run after it, as one, on the file as it is then.
struct ReloadQueue {
    var tickets: [ReloadRequests.Ticket] = []
    var signal = false
}

extension Supervisor {
    /// Once per control-loop turn: finishes the reload in flight when its lookups are done
    /// (or their deadline passed), then starts the one asked for meanwhile, if any.
    func advanceReloads() {
        if let pending = reloadInFlight {
            guard pending.load.finished else { return }
            reloadInFlight = nil
            complete(pending)
        }
        guard reloadQueue.signal || !reloadQueue.tickets.isEmpty else { return }
        let queued = reloadQueue
        reloadQueue = ReloadQueue()
        begin(trigger: queued.tickets.isEmpty ? "SIGHUP" : "admin", tickets: queued.tickets)
    }

    /// How long the control loop may sleep before a reload's lookup deadline.
    func reloadWaitMillis() -> Int {
        guard let deadline = reloadInFlight?.load.batch?.deadline else { return Int.max }
        let now = Instant.now()
        return deadline <= now ? 0 : deadline.millis(since: now) + 1
    }

    /// On SIGTERM: reloads waiting or queued are answered and dropped.
    func abandonReloads() {
        let tickets = (reloadInFlight?.tickets ?? []) + reloadQueue.tickets
        if reloadInFlight != nil { notifier.ready(status: statusLine()) }
        reloadInFlight = nil
        reloadQueue = ReloadQueue()
        for ticket in tickets { ticket.fulfil(AdminReplyText.error("stopping: reload abandoned")) }
    }

    /// Reads the file and starts its lookups; a file without host names applies at once.
    private func begin(trigger: String, tickets: [ReloadRequests.Ticket]) {
        notifier.reloading()
        logger.info("reloading", ["file": config.file, "trigger": trigger])
        let load: ConfigLoad
        do {
            load = try ConfigLoad(file: config.file, lookups: lookups)
        } catch {
            logger.error("reload failed: \(error); running configuration unchanged")
            finish(tickets, .errors("reload failed; running configuration unchanged", ["\(error)"]))
            return
        }
        let pending = PendingReload(load: load, trigger: trigger, tickets: tickets)
        guard !load.finished else { return complete(pending) }
        logger.info(
            "reload: waiting for host name lookups",
            [
                "hosts": load.batch?.unanswered.joined(separator: ",") ?? "",
                "timeout_ms": "\(HostLookups.timeout.milliseconds)",
            ])
        reloadInFlight = pending
    }

    private func complete(_ pending: PendingReload) {
        finish(pending.tickets, reload(pending.load))
    }

    private func finish(_ tickets: [ReloadRequests.Ticket], _ reply: AdminReplyText) {
        notifier.ready(status: statusLine())
        for ticket in tickets { ticket.fulfil(reply) }
    }

    /// Parses the loaded file and applies it; the reply for `reload`.
    private func reload(_ load: ConfigLoad) -> AdminReplyText {
        let next: Config
        switch load.result() {
        case .success(let loaded):
            next = loaded
        case .failure(let errors):
            for e in errors.errors { logger.error("reload: \(e.description)") }
            return .errors(
                "reload failed: \(errors.errors.count) configuration error(s); running configuration unchanged",
                errors.errors.map(\.description))
        }
        do {
            // With a state file, its added and deleted servers and weights are part of what
            // applies; its admin states follow once the servers are in place.
            if let stateFile {
                try stateFile.applying(to: next) { try apply($0) }
                if let pools = view?.shared.pools { stateFile.applyStates(to: pools) }
            } else {
                try apply(next)
            }
        } catch {
            logger.error("reload failed: \(error); running configuration unchanged")
            return .errors("reload failed; running configuration unchanged", ["\(error)"])
        }
        logger.info("reloaded", ["pools": "\(next.pools.count)"])
        return .ok
    }

    private func apply(_ next: Config) throws {
        guard let shared = view?.shared else { return }
        let plan = ReloadPlan(
            current: config, next: next,
            listeners: listeners.compactMap { l in
                poolName(l.pool).map {
                    RunningListener(id: l.fd.rawValue, pool: $0, name: l.name, datagram: l.datagram)
                }
            },
            runningPools: shared.pools.map { ($0.name, $0.members.map(\.running)) })
        guard plan.listeners.errors.isEmpty else { throw StartupError(plan.listeners.errors.joined(separator: "; ")) }

        // 1. New sockets are bound first: nothing has changed yet if one fails.
        var joining: [(pool: String, name: String, fd: FD, datagram: Bool)] = []
        do {
            for j in plan.listeners.joining {
                if let id = j.moving {
                    joining.append((j.pool, j.name, FD(rawValue: id), j.datagram))
                } else if let endpoint = j.endpoint {
                    do {
                        joining.append(
                            (j.pool, j.name, try Listener.bind(endpoint, j.datagram ? .udp : .tcp), j.datagram))
                    } catch {
                        throw StartupError(
                            "\(next.file):\(j.line): pool \(j.pool): cannot listen on \(endpoint): \(error)")
                    }
                }
            }
        } catch {
            for j in joining where !listeners.contains(where: { $0.fd == j.fd }) { j.fd.close() }
            throw error
        }
        let moving = Set(plan.listeners.joining.compactMap(\.moving))

        // 2. Global settings that apply live; the rest need a restart and say so.
        logger.configure(level: next.global.logLevel, logSessions: next.global.logSessions)
        shared.maxconn.store(next.global.maxconn, ordering: .relaxed)
        if !plan.restartOnly.isEmpty {
            logger.warn(
                "reload: these global settings apply at the next restart only",
                ["settings": plan.restartOnly.joined(separator: ",")])
        }

        // 3. Listeners no pool wants any more (and the moving ones) leave every worker.
        for listener in listeners where plan.listeners.released.contains(listener.fd.rawValue) {
            let release = ListenerRelease(workers: channels.count)
            for c in channels { c.send(.removeListener(listener.fd, release)) }
            if !release.wait(timeoutMillis: 5000) { logger.error("a worker did not release \(listener.name) in 5s") }
            if !moving.contains(listener.fd.rawValue) { listener.fd.close() }
        }

        // 4. Pools: removed ones drain, kept ones take new settings and servers, new ones appear.
        for pool in shared.pools where plan.removedPools.contains(pool.name) {
            pool.removed.store(true, ordering: .relaxed)
            pool.apply(pool.servers.map { ($0, .removing) })
            logger.info(
                "pool removed: draining",
                ["pool": pool.name, "sessions": "\(pool.stats.current.load(ordering: .relaxed))"])
        }
        var active: [PoolRuntime] = []
        for poolConfig in next.pools {
            if let kept = plan.keptPools.first(where: { $0.pool.name == poolConfig.name }),
                let pool = shared.pools.first(where: { $0.name == poolConfig.name })
            {
                pool.awaitFirstResults(of: poolConfig.settings.check.kind)
                pool.update(poolConfig)
                apply(kept.servers, to: pool)
                active.append(pool)
            } else {
                let pool = shared.addPool(poolConfig)
                logger.info("pool added", ["pool": pool.name, "servers": "\(poolConfig.servers.count)"])
                active.append(pool)
            }
            // New servers get their start state before the new listeners accept.
            shared.health?.watch(pool: active[active.count - 1])
        }

        // 5. New and moved listeners start accepting in every worker.
        var listening = listeners.filter { plan.listeners.kept.contains($0.fd.rawValue) }
        for j in joining {
            guard let pool = active.first(where: { $0.name == j.pool }) else { continue }
            let listener = Listener(fd: j.fd, pool: pool.index, name: j.name, datagram: j.datagram)
            for c in channels { c.send(.addListener(listener)) }
            listening.append(listener)
        }
        listeners = listening
        config = next
    }

    private func poolName(_ index: Int) -> String? {
        view?.shared.allPools.first { $0.index == index }?.name
    }

    /// A kept pool's server changes, new servers in before old ones leave, so a worker
    /// refreshing in between never sees an empty pool.
    private func apply(_ plan: ServerPlan, to pool: PoolRuntime) {
        // By name, looked up once each: pools of a thousand servers reload in linear time.
        // Taken before `add`: a replacement has the same name as the server it replaces.
        let members = Dictionary(pool.members.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        for change in plan.changes {
            logger.info(change.reason.rawValue, ["pool": pool.name, "server": change.server])
        }
        _ = pool.add(plan.joining.map { ($0.config, $0.replacing) })
        var changes: [(server: ServerRuntime, change: ServerChange)] = []
        for (name, weight) in plan.weights {
            members[name].map { changes.append(($0, .weight(weight, byOperator: false))) }
        }
        for (name, state) in plan.states {
            members[name].map { changes.append(($0, .adminState(state, byOperator: false))) }
        }
        for name in plan.leaving { members[name].map { changes.append(($0, .removing)) } }
        pool.apply(changes)
    }
}

extension ServerRuntime {
    /// What a reload plan needs to know of this server.
    var running: RunningServer {
        var r = RunningServer(config: config)
        r.weight = weight.load(ordering: .relaxed)
        r.weightSetAtRunTime = weightSetAtRunTime.load(ordering: .relaxed)
        r.adminState = adminState
        r.adminStateSetAtRunTime = adminStateSetAtRunTime.load(ordering: .relaxed)
        return r
    }
}
