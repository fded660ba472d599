// Health checks: one thread with its own epoll set and timer heap runs every watched
// server's probe on its schedule (CheckLoop). This file is the thread-safe face:
// watch pools, report observed failures, read the last result; HealthChecker+Apply turns a
// result into the server's shared state.
import SluiceCore
import SluiceSys
import Synchronization

package final class HealthChecker: Sendable {
    /// Called on the checker thread after every check result (and observed failure).
    package typealias OnResult = @Sendable (ServerRuntime, PoolRuntime, HealthResult) -> Void

    /// The last result of one server, for `show servers`.
    package struct LastResult: Sendable {
        package var text: String
        package var at: Instant
        package var up: Bool
    }

    struct NewTarget: Sendable {
        let server: ServerRuntime
        let pool: PoolRuntime
        let start: HealthStart
    }

    struct Registry: Sendable {
        var pools: [PoolRuntime] = []
        var known: Set<ObjectIdentifier> = []
        var arrived: [NewTarget] = []
        /// Servers their pool reclaimed, for the checker thread to drop (HealthChecker+Forget).
        var departed: [ServerRuntime] = []
    }

    let logger: Logger
    let onResult: OnResult
    let wake: EventFD
    let stopping = Atomic<Bool>(false)
    /// `single-primary` choices are to be made again (a server's admin state, the pool's
    /// settings or membership changed).
    let reelect = Atomic<Bool>(false)
    private let thread = Mutex<ThreadHandle?>(nil)
    let registry = Mutex(Registry())
    /// Live connect failures reported by workers, applied on the checker thread.
    let observed = Mutex<[(ServerRuntime, String)]>([])
    let results = Mutex<[ObjectIdentifier: (ServerRuntime, LastResult)]>([:])

    /// `onResult` nil: `HealthChecker.apply` (sets `healthy`, records `checkSeconds`, logs
    /// changes, bumps the pool's version).
    package init(logger: Logger, onResult: OnResult? = nil) throws(Errno) {
        self.logger = logger
        self.onResult =
            onResult ?? { server, pool, result in HealthChecker.apply(server, pool, result, logger: logger) }
        self.wake = try EventFD()
    }

    /// Starts checking the pool's servers. Call again after `add server`: servers new to a
    /// watched pool start `down` and their first success counts as `rise`. Servers seen for
    /// the first time with the pool start per `init-state` (with a role check, `up` counts as
    /// down until the first result); `healthy` is set here, before the first check, so
    /// workers see the start state at once. The checker also rescans watched pools about
    /// every second.
    package func watch(pool: PoolRuntime) {
        registry.withLock { reg in
            let first = !reg.pools.contains { $0 === pool }
            if first { reg.pools.append(pool) }
            Self.enroll(pool, first: first, &reg)
        }
        reelect.store(true, ordering: .releasing)
        wake.signal()
    }

    /// Something a `single-primary` choice depends on changed outside the checks (an admin
    /// state, a removed server): the checker chooses again at once (otherwise within a second).
    package func reconsider() {
        reelect.store(true, ordering: .releasing)
        wake.signal()
    }

    package func start() {
        thread.withLock { handle in
            guard handle == nil, !stopping.load(ordering: .relaxed) else { return }
            handle = ThreadHandle.spawn(name: "sluice-check") { [self] in
                do {
                    let loop = try CheckLoop(checker: self)
                    loop.run()
                } catch {
                    logger.error("health checker stopped", ["error": "\(error)"])
                }
            }
        }
    }

    /// Stops the thread and closes every probe in flight. Not restartable.
    package func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        let handle = thread.withLock { h -> ThreadHandle? in
            defer { h = nil }
            return h
        }
        handle?.join()
    }

    /// A worker's live connect to `server` failed or was reset (`observe on`): counts as a
    /// failed check. Cheap and thread-safe; ignored when the server's pool has `observe off`.
    package func observedFailure(_ server: ServerRuntime, reason: String = "connect failed") {
        let queued = observed.withLock { list -> Bool in
            // A stopped or stuck checker must not grow this without bound.
            guard list.count < 4096 else { return false }
            list.append((server, reason))
            return true
        }
        if queued { wake.signal() }
    }

    /// The last check result of `server` (`ok`, `timeout after 1000ms`, ...) and when it came.
    /// The last change of health lives in `ServerRuntime.lastChange` (set by `apply`).
    package func lastResult(for server: ServerRuntime) -> LastResult? {
        results.withLock { $0[ObjectIdentifier(server)]?.1 }
    }

    /// Records the result for `lastResult` and hands it to the runtime (checker thread).
    func deliver(_ server: ServerRuntime, _ pool: PoolRuntime, _ result: HealthResult) {
        let record = LastResult(text: result.text, at: Instant.now(), up: result.up)
        results.withLock { $0[ObjectIdentifier(server)] = (server, record) }
        onResult(server, pool, result)
    }

    /// Rescans every watched pool for servers added since (checker thread, about every second).
    func rescan() {
        registry.withLock { reg in
            for pool in reg.pools { Self.enroll(pool, first: false, &reg) }
        }
    }

    func takeArrived() -> [NewTarget] {
        registry.withLock { reg in
            defer { reg.arrived = [] }
            return reg.arrived
        }
    }

    func takeObserved() -> [(ServerRuntime, String)] {
        observed.withLock { list in
            defer { list = [] }
            return list
        }
    }

    /// Queues the pool's unknown servers; true when a server's `healthy` changed.
    /// Gives the pool's new servers their start state (applied under the registry lock, before
    /// the checker can start their probes and set the real first-result deadline).
    private static func enroll(_ pool: PoolRuntime, first: Bool, _ reg: inout Registry) {
        var changes: [(server: ServerRuntime, change: ServerChange)] = []
        let check = pool.settings.check
        for server in pool.allServers where !server.removing.load(ordering: .relaxed) {
            guard reg.known.insert(ObjectIdentifier(server)).inserted else { continue }
            let start: HealthStart
            if check.kind == .none {
                start = .up
            } else if let inherited = server.checkStart {
                start = inherited
            } else if first {
                // A role check tells the primary apart: no server counts as up before it
                // answered, whatever `init-state up` says (a replica would take clients).
                let initial = server.config.initState ?? pool.settings.initState
                start = initial == .down ? .down : check.kind.isRoleCheck ? .fresh : .up
            } else {
                start = .fresh
            }
            if check.kind.isRoleCheck && start != .up {
                // Until the checker starts the probe (it then sets the real deadline).
                changes.append((server, .awaitFirstResult(due: .distantFuture, keepHealth: true)))
            }
            let up = start == .up
            if server.healthy.load(ordering: .relaxed) != up { changes.append((server, .initialHealth(up: up))) }
            reg.arrived.append(NewTarget(server: server, pool: pool, start: start))
        }
        pool.apply(changes)
    }
}
