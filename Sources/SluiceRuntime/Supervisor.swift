// The control thread: binds listeners, starts the workers, then waits on a signalfd.
// SIGTERM/SIGINT close the listeners at once and let sessions finish up to
// `timeout shutdown` (0: no limit); a second signal cuts that wait short.
import SluiceCore
import SluiceSys

package struct StartupError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

package final class Supervisor {
    /// The configuration in force; a reload replaces it.
    var config: Config
    let logger: Logger
    var listeners: [Listener] = []
    var channels: [WorkerChannel] = []
    private var threads: [ThreadHandle] = []
    var view: AdminView?
    /// `state-file`, fixed at start (a reload that changes the path warns: restart only).
    var stateFile: StateStore?
    /// `resolve-interval`: host names looked up again on their own thread.
    private var addresses: AddressRefresher?
    let notifier = ServiceNotifier()
    private let reloads: ReloadRequests
    /// Host names of the file, looked up off the control thread at every reload.
    let lookups: HostLookups
    /// The reload waiting for its lookups, and those asked for meanwhile (Supervisor+Reload).
    var reloadInFlight: PendingReload?
    var reloadQueue = ReloadQueue()

    package init(config: Config, logger: Logger, lookups: HostLookups? = nil) throws(Errno) {
        self.config = config
        self.logger = logger
        self.reloads = try ReloadRequests()
        if let lookups { self.lookups = lookups } else { self.lookups = try HostLookups() }
    }

    /// Runs until stopped by a signal; returns the process exit code.
    package func run() -> Int32 {
        let workerCount = config.global.workers ?? SystemInfo.cpuCount
        checkFileLimit()
        var services = OperatorServices()
        defer { services.stop() }
        do {
            for i in 0..<workerCount { channels.append(try WorkerChannel(index: i)) }
            let health = try HealthChecker(logger: logger, onResult: Supervisor.healthEffects(logger, channels))
            defer { health.stop() }
            // The state file's servers and weights join the configuration before anything
            // runs on it; its admin states are set before any worker picks a server.
            let stateFile = config.global.stateFile.map { StateStore(path: $0, logger: logger) }
            self.stateFile = stateFile
            if let stateFile { config = try stateFile.applying(to: config) { $0 } }
            let shared = SharedState(config: config, logger: logger, health: health)
            stateFile?.applyStates(to: shared.pools)
            let addresses = AddressRefresher(resolver: try HostResolver(), logger: logger, health: health)
            self.addresses = addresses
            defer { addresses.stop() }
            // Servers get their start state (init-state) before any worker picks one.
            for pool in shared.pools { health.watch(pool: pool) }
            // Blocked before any thread exists, so every worker inherits the mask.
            let signals = try SignalFD([.terminate, .interrupt, .hangup])
            let control = try Epoll()
            try control.add(signals.fd, [.readable], data: 0)
            listeners = try Listener.bindAll(config, passed: Systemd.listenFDs())
            // Sockets are bound while still privileged; the admin socket file is handed to
            // the user sluice runs as, so it can remove it at exit.
            let owner: PrivilegeTarget?
            do {
                owner = try Privileges.lookup(user: config.global.user, group: config.global.group)
            } catch {
                throw StartupError("\(config.file): \(error)")
            }
            let reloads = self.reloads
            let view = AdminView(shared: shared, channels: channels, stateFile: stateFile) { reloads.request() }
            try control.add(reloads.wake.fd, [.readable], data: 1)
            try control.add(lookups.wake.fd, [.readable], data: 2)
            self.view = view
            services = try OperatorServices.bind(config: config, view: view, owner: owner)
            do {
                try Privileges.drop(to: owner)
            } catch {
                throw StartupError("\(config.file): cannot drop privileges: \(error)")
            }
            return serve(signals, control, shared: shared, workerCount: workerCount, services: services)
        } catch {
            for l in listeners { l.fd.close() }
            logger.flush(timeoutMillis: 1000)
            StdIO.errorLine("sluice: \(error)")
            return 1
        }
    }

    private func serve(
        _ signals: borrowing SignalFD, _ epoll: borrowing Epoll, shared: SharedState, workerCount: Int,
        services: OperatorServices
    ) -> Int32 {
        for channel in channels {
            let listeners = self.listeners
            let peers = channels
            threads.append(
                ThreadHandle.spawn(name: "sluice-w\(channel.index)") {
                    Supervisor.workerMain(channel: channel, peers: peers, shared: shared, listeners: listeners)
                })
        }
        shared.health?.start()
        services.start()
        let startDeadline = Instant.now() + .seconds(5)
        for channel in channels { _ = channel.started.wait(until: startDeadline) }
        notifier.ready(status: statusLine())
        logger.info(
            "ready",
            [
                "pools": "\(config.pools.count)", "workers": "\(workerCount)",
                "listeners": "\(listeners.count)", "pid": "\(SystemInfo.pid)",
            ])
        return controlLoop(signals, epoll)
    }

    private static func workerMain(
        channel: WorkerChannel, peers: [WorkerChannel], shared: SharedState, listeners: [Listener]
    ) {
        do {
            var worker = Worker(
                epoll: try Epoll(), channel: channel, peers: peers, shared: shared, listeners: listeners)
            try worker.start()
            channel.started.arrive()
            worker.run()
            channel.exited.store(true, ordering: .releasing)
        } catch {
            shared.logger.error("worker cannot start", ["worker": "\(channel.index)", "error": "\(error)"])
            StdIO.errorLine("sluice: worker \(channel.index) cannot start: \(error)")
            ProcessControl.exit(1)
        }
    }

    private func controlLoop(_ signals: borrowing SignalFD, _ epoll: borrowing Epoll) -> Int32 {
        var stopping = false
        var events = EpollEventBuffer(capacity: 8)
        while true {
            // While stopping, poll for the workers to finish; otherwise wake every tick for
            // housekeeping (drain timeouts, host name lookups), STATUS= and the watchdog, and
            // at a reload's lookup deadline.
            let tick = stopping ? min(20, notifier.tickMillis) : notifier.tickMillis
            _ = epoll.wait(into: &events, timeoutMillis: min(tick, reloadWaitMillis()))
            lookups.wake.drain()
            view.map { Housekeeping(shared: $0.shared, channels: channels).run() }
            if !stopping, let pools = view?.shared.pools { addresses?.tick(pools, now: Instant.now()) }
            notifier.tick(status: statusLine, workers: channels, logger: logger)
            for ticket in reloads.take() {
                if stopping {
                    ticket.fulfil(AdminReplyText.error("stopping: no reload"))
                } else {
                    reloadQueue.tickets.append(ticket)
                }
            }
            while let signal = signals.next() {
                switch signal {
                case .hangup:
                    if !stopping { reloadQueue.signal = true }
                case .terminate, .interrupt:
                    if stopping {
                        logger.info("second stop signal: closing all sessions now")
                        for c in channels { c.send(.shutdown(deadline: Instant.now())) }
                    } else {
                        stopping = true
                        abandonReloads()
                        notifier.stopping()
                        beginShutdown()
                    }
                }
            }
            if !stopping { advanceReloads() }
            if stopping && threadsFinished() { break }
        }
        for t in threads { t.join() }
        logger.info("stopped")
        return 0
    }

    /// The one-line STATUS= summary: pools, servers up, sessions.
    func statusLine() -> String {
        var up = 0
        var total = 0
        for pool in view?.shared.pools ?? [] {
            for server in pool.servers where !server.removing.load(ordering: .relaxed) {
                total += 1
                if server.usable { up += 1 }
            }
        }
        let sessions = channels.reduce(0) { $0 + $1.liveSessions.load(ordering: .relaxed) }
        return "pools=\(config.pools.count) servers-up=\(up)/\(total) sessions=\(sessions)"
    }

    private func threadsFinished() -> Bool {
        channels.allSatisfy { $0.exited.load(ordering: .acquiring) }
    }

    private func beginShutdown() {
        let timeout = config.global.timeoutShutdown
        let deadline = timeout == .zero ? Instant.distantFuture : Instant.now() + timeout
        logger.info(
            "stopping: listeners closed, waiting for sessions",
            [
                "sessions": "\(channels.reduce(0) { $0 + $1.liveSessions.load(ordering: .relaxed) })",
                "timeout_ms": "\(timeout.milliseconds)",
            ])
        for c in channels { c.send(.shutdown(deadline: deadline)) }
        // Close the listeners only once no worker watches them (an event for a closed fd
        // number could otherwise reach a worker after the number is reused).
        let releaseDeadline = Instant.now() + .seconds(5)
        if !channels.allSatisfy({ $0.listenersReleased.wait(until: releaseDeadline) }) {
            logger.error("workers did not release listeners in 5s; closing anyway")
        }
        for l in listeners { l.fd.close() }
        listeners = []
    }

    /// Raises the open-files limit and says at start when `maxconn` cannot fit in it, rather
    /// than letting sessions fail one by one later.
    func checkFileLimit() {
        guard let limit = FileLimit.raiseToHard() else { return }
        // Two sockets per session, one per UDP flow (up to each udp pool's cap), and some
        // room for listeners, epoll sets, pipes in flight.
        let flows = config.pools.filter { $0.settings.mode == .udp }.reduce(0) { $0 + $1.settings.maxconn }
        let reserve = 32 + flows
        let maxconn = config.global.maxconn
        guard maxconn > (limit - reserve) / 2 else { return }
        logger.warn(
            "the open-files limit holds about \(max(0, (limit - reserve) / 2)) sessions, fewer than maxconn \(maxconn): "
                + "raise it (LimitNOFILE= in the unit, ulimit -Hn) or lower maxconn; clients beyond it are refused",
            ["limit": "\(limit)", "needed": "\(2 * maxconn + reserve)", "udp_flows": "\(flows)"])
    }
}
