// Reload in place (SPEC "Reload"): parse the file again; on errors keep running untouched and
// return them. Otherwise apply the difference live: global logging and maxconn, new pools bind
// and serve, removed pools stop accepting and drain, binds move, added servers join, removed
// servers drain, changed settings apply to new sessions, and run-time admin states and weights
// persist (and, with a state file, its added and deleted servers too). New listeners are bound before anything changes, so a bind error changes nothing.
// Host names are looked up first, off the control thread (ConfigLoad): the loop keeps turning
// (watchdog, admin answers) until they answer or HostLookups.timeout passes.
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
        logger.info("reload: waiting for host name lookups", [
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
            return .errors("reload failed: \(errors.errors.count) configuration error(s); running configuration unchanged",
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
        // 1. Listeners the new file needs and the old one lacks, bound first: nothing has
        //    changed yet if one fails. An address leaving one pool for another keeps its socket.
        var kept: [Listener] = []
        var fresh: [(pool: String, name: String, fd: FD, datagram: Bool)] = []
        var freed = listeners
        do {
            for pool in next.pools {
                let mode = pool.settings.mode
                for bind in pool.binds {
                    // Every socket of the bind (systemd may pass several under one name).
                    kept += freed.filter { $0.serves(bind, mode) && poolName($0.pool) == pool.name }
                    freed.removeAll { $0.serves(bind, mode) && poolName($0.pool) == pool.name }
                }
            }
            for pool in next.pools {
                let mode = pool.settings.mode
                for bind in pool.binds where !kept.contains(where: { $0.serves(bind, mode) && poolName($0.pool) == pool.name }) {
                    if let i = freed.firstIndex(where: { $0.serves(bind, mode) }) {
                        fresh.append((pool.name, bind.description, freed.remove(at: i).fd, mode == .udp))  // moves between pools
                        continue
                    }
                    guard case .inet(let endpoint) = bind else {
                        throw StartupError("\(next.file):\(pool.line): pool \(pool.name): \(bind) cannot be added by a reload (systemd passes sockets at start only)")
                    }
                    do {
                        fresh.append((pool.name, bind.description, try Listener.bind(endpoint, mode), mode == .udp))
                    } catch {
                        throw StartupError("\(next.file):\(pool.line): pool \(pool.name): cannot listen on \(endpoint): \(error)")
                    }
                }
            }
        } catch {
            for f in fresh where !listeners.contains(where: { $0.fd == f.fd }) { f.fd.close() }
            throw error
        }
        let moved = Set(fresh.map(\.fd.rawValue))

        // 2. Global settings that apply live; the rest need a restart and say so.
        logger.configure(level: next.global.logLevel, logSessions: next.global.logSessions)
        shared.maxconn.store(next.global.maxconn, ordering: .relaxed)
        warnRestartOnly(next.global)

        // 3. Listeners no pool wants any more (and the moving ones) leave every worker.
        for listener in listeners where !kept.contains(where: { $0.fd == listener.fd }) {
            let release = ListenerRelease(workers: channels.count)
            for c in channels { c.send(.removeListener(listener.fd, release)) }
            if !release.wait(timeoutMillis: 5000) { logger.error("a worker did not release \(listener.name) in 5s") }
            if !moved.contains(listener.fd.rawValue) { listener.fd.close() }
        }

        // 4. Pools: removed ones drain, kept ones take new settings and servers, new ones appear.
        for pool in shared.pools where !next.pools.contains(where: { $0.name == pool.name }) {
            pool.removed.store(true, ordering: .relaxed)
            for server in pool.servers { server.markRemoving() }
            pool.changed()
            logger.info("pool removed: draining", ["pool": pool.name, "sessions": "\(pool.stats.current.load(ordering: .relaxed))"])
        }
        var active: [PoolRuntime] = []
        for poolConfig in next.pools {
            if let pool = shared.pools.first(where: { $0.name == poolConfig.name }) {
                pool.awaitFirstResults(of: poolConfig.settings.check.kind)
                pool.update(poolConfig)
                updateServers(pool, poolConfig)
                active.append(pool)
            } else {
                let pool = shared.addPool(poolConfig)
                logger.info("pool added", ["pool": pool.name, "servers": "\(poolConfig.servers.count)"])
                active.append(pool)
            }
            // New servers get their start state before the new listeners accept.
            shared.health?.watch(pool: active[active.count - 1])
        }

        // 5. New listeners start accepting in every worker.
        var listening = kept
        for f in fresh {
            guard let pool = active.first(where: { $0.name == f.pool }) else { continue }
            let listener = Listener(fd: f.fd, pool: pool.index, name: f.name, datagram: f.datagram)
            for c in channels { c.send(.addListener(listener)) }
            listening.append(listener)
        }
        listeners = listening
        config = next
    }

    private func poolName(_ index: Int) -> String? {
        view?.shared.allPools.first { $0.index == index }?.name
    }

    /// Servers added, removed (drained) or changed. A changed address, backup flag, maxconn
    /// or check port replaces the server (the old one drains); weight and `disabled` update in
    /// place unless an operator set them at run time. New servers join before old ones leave,
    /// so a worker refreshing in between never sees an empty pool.
    private func updateServers(_ pool: PoolRuntime, _ next: PoolConfig) {
        var leaving: [ServerRuntime] = []
        var joining: [(config: ServerConfig, replacing: Bool)] = []
        // By name, looked up once each: pools of a thousand servers reload in linear time.
        let members = Dictionary(pool.members.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        for wanted in next.servers {
            guard let server = members[wanted.name] else {
                joining.append((wanted, false))
                logger.info("server added", ["pool": pool.name, "server": wanted.name])
                continue
            }
            let old = server.config
            if old.address.endpoint != wanted.address.endpoint || old.backup != wanted.backup
                || old.maxconn != wanted.maxconn || old.checkPort != wanted.checkPort {
                leaving.append(server)
                joining.append((wanted, true))
                logger.info("server replaced: old one draining", ["pool": pool.name, "server": wanted.name])
                continue
            }
            if !server.weightSetAtRunTime.load(ordering: .relaxed) {
                server.weight.store(wanted.weight, ordering: .relaxed)
            }
            let state: AdminState = wanted.disabled ? .maint : .ready
            if !server.adminStateSetAtRunTime.load(ordering: .relaxed) && server.adminState != state {
                server.setAdminState(state)
            }
        }
        _ = pool.add(joining)
        let wanted = Set(next.servers.map(\.name))
        for server in pool.members where !wanted.contains(server.name) {
            leaving.append(server)
            logger.info("server removed: draining", ["pool": pool.name, "server": server.name])
        }
        for server in leaving { server.markRemoving() }
        pool.changed()
    }

    private func warnRestartOnly(_ next: GlobalConfig) {
        let now = config.global
        var changed: [String] = []
        if next.workers != now.workers { changed.append("workers") }
        if next.pipeSize != now.pipeSize { changed.append("pipe-size") }
        if next.adminSocket != now.adminSocket || next.adminAllowUIDs != now.adminAllowUIDs { changed.append("admin-socket") }
        if next.metrics != now.metrics { changed.append("metrics") }
        if next.user != now.user || next.group != now.group { changed.append("user/group") }
        if next.stateFile != now.stateFile { changed.append("state-file") }
        if !changed.isEmpty {
            logger.warn("reload: these global settings apply at the next restart only", ["settings": changed.joined(separator: ",")])
        }
    }
}
