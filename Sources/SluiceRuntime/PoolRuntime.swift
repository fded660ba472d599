// The live, shared view of pools and servers. The control plane (admin socket, checks,
// reload) changes server states through one funnel, `PoolRuntime.apply` (PoolRuntime+Apply),
// which writes the atomics and bumps the pool's `version`; workers see the bump on their next
// pick and refresh their own copy of the members and balancer.
// A pool's table holds its members and the removed servers still draining; a removed server
// leaves it once its last session ended (PoolRuntime+Reclaim), so nothing holds a table index:
// sessions hold the server itself, `single-primary` names it by its `serial`.
import SluiceCore
import SluiceSys
import Synchronization

package final class ServerRuntime: Sendable {
    package let config: ServerConfig
    /// Unique within its pool for the life of the process (table positions are not: removed
    /// servers leave the table); `single-primary` names its primary by it.
    package let serial: Int
    package let stats = ServerStats()
    private let admin: Atomic<Int>
    package let weight: Atomic<Int>
    /// Up by health checks (set from `init-state` when the checker first watches the server).
    package let healthy: Atomic<Bool>
    /// A probe of the pool's current check has passed since the checker took the server (a
    /// server up by `init-state up` alone has not shown it passes a role check).
    package let checkPassed = Atomic<Bool>(false)
    /// Nonzero while the server awaits its first result of its pool's role check: it takes no
    /// session until then, and clients finding no server wait up to this instant (ns) for it
    /// (FirstResultWait.swift). Written by the checker (and by a reload, before the new check).
    package let firstResultDue = Atomic<UInt64>(0)
    /// Deleted (`del server`, reload): drains, then leaves the table's visible part.
    package let removing = Atomic<Bool>(false)
    /// When the server stopped taking new sessions (drain, maint, removal); 0 while ready.
    package let drainingSince = Atomic<UInt64>(0)
    /// Its remaining sessions were closed because `timeout drain` expired.
    package let drainExpired = Atomic<Bool>(false)
    package let lastChange: Atomic<UInt64>
    /// Set by the admin socket: a reload keeps the run-time admin state / weight (SPEC "Reload").
    package let adminStateSetAtRunTime = Atomic<Bool>(false)
    /// When health checks last brought the server up (slow start ramps from there); 0: no ramp.
    package let upSince = Atomic<UInt64>(0)
    package let weightSetAtRunTime = Atomic<Bool>(false)
    /// How its checks start when the checker first sees it; nil: as the pool says
    /// (`init-state`, or fresh for a server added later). Set for a server that takes over
    /// from another one at a new address, so it keeps that one's health.
    package let checkStart: HealthStart?

    /// `healthy`: the state before the checker's first word (a server added at run time
    /// starts down unless its pool has `check none`).
    package init(_ config: ServerConfig, serial: Int = 0, healthy: Bool = true, checkStart: HealthStart? = nil) {
        self.config = config
        self.serial = serial
        self.healthy = Atomic(healthy)
        self.checkStart = checkStart
        let now = Instant.now().nanoseconds
        admin = Atomic(config.disabled ? ServerRuntime.code(.maint) : ServerRuntime.code(.ready))
        weight = Atomic(config.weight)
        lastChange = Atomic(now)
        if config.disabled { drainingSince.store(now, ordering: .relaxed) }
    }

    package var name: String { config.name }
    package var endpoint: IPEndpoint { config.address.endpoint }

    package var adminState: AdminState { AdminState.allCases[admin.load(ordering: .relaxed)] }

    /// Takes new sessions: healthy, not awaiting a first role-check result, `ready` and not
    /// being removed.
    package var usable: Bool {
        healthy.load(ordering: .relaxed) && firstResultDue.load(ordering: .relaxed) == 0 && adminState == .ready
            && !removing.load(ordering: .relaxed)
    }

    /// Passes its pool's check as far as `single-primary` and `sluice_pool_primaries` are
    /// concerned: up (rise/fall), with a passing probe behind it, still checked (not `maint`)
    /// and not being removed.
    package var passesCheck: Bool {
        healthy.load(ordering: .relaxed) && checkPassed.load(ordering: .relaxed) && adminState != .maint
            && !removing.load(ordering: .relaxed)
    }

    /// Removed and drained: no longer shown nor found by name.
    package var gone: Bool {
        removing.load(ordering: .relaxed)
            && (stats.active.load(ordering: .relaxed) == 0 || drainExpired.load(ordering: .relaxed))
    }

    /// Removed and without a session: may leave its pool's table (PoolRuntime.reclaim).
    /// Sequentially consistent, paired with the pick's reservation (PoolView.pick): either the
    /// pick sees `removing` and backs off, or this sees its session.
    var reclaimable: Bool {
        removing.load(ordering: .sequentiallyConsistent) && stats.active.load(ordering: .sequentiallyConsistent) == 0
    }

    /// Weight the balancer uses now: `slowstart` ramps it from ~0 to full after the server
    /// comes up (never below 1, so a ramping server still takes a first session). The product
    /// weight × elapsed is taken at full width: 1000 × 365 days in nanoseconds is past 2^64.
    package func balancedWeight(now: Instant, slowstart: Duration) -> Int {
        let full = weight.load(ordering: .relaxed)
        let since = upSince.load(ordering: .relaxed)
        guard slowstart != .zero, since != 0, full > 0 else { return full }
        let elapsed = now.nanoseconds &- min(now.nanoseconds, since)
        let ramp = slowstart.nanoseconds
        guard elapsed < ramp else { return full }
        // elapsed < ramp, so the quotient is below `full` and the division cannot overflow.
        let (quotient, _) = ramp.dividingFullWidth(UInt64(full).multipliedFullWidth(by: elapsed))
        return max(1, Int(quotient))
    }

    /// The balancer's view; `ignoringHealth` for `all-down any` (down servers tried anyway,
    /// but not before their first role-check result). Health is read first, with acquire
    /// ordering, so a server seen up is seen with the `upSince` its transition stored before
    /// it (see `setHealth`).
    package func balancerView(now: Instant, slowstart: Duration, ignoringHealth: Bool = false) -> BalancerServer {
        let isUp = healthy.load(ordering: .acquiring)
        let ready =
            adminState == .ready && !removing.load(ordering: .relaxed)
            && firstResultDue.load(ordering: .relaxed) == 0
        let takes = ready && (ignoringHealth || isUp)
        return BalancerServer(
            name: config.name, weight: balancedWeight(now: now, slowstart: slowstart), backup: config.backup,
            usable: takes)
    }

    // The writes below are ServerChange's (PoolRuntime+Apply): only `write` calls them, so
    // every change ends with its pool's version bump.

    /// A health transition as one step: the slow-start clock (`upSince`) is set before the
    /// server shows up, so no reader ever sees it up without its ramp (and the caller bumps
    /// the pool's version once, after both).
    func setHealth(up: Bool, at now: Instant) {
        upSince.store(up ? max(1, now.nanoseconds) : 0, ordering: .relaxed)
        healthy.store(up, ordering: .releasing)
        lastChange.store(now.nanoseconds, ordering: .relaxed)
    }

    /// Sets the admin state; leaving `ready` starts the drain clock, returning to it stops it.
    func setAdminState(_ state: AdminState) {
        let now = Instant.now().nanoseconds
        admin.store(ServerRuntime.code(state), ordering: .relaxed)
        if state == .ready && !removing.load(ordering: .relaxed) {
            drainingSince.store(0, ordering: .relaxed)
            drainExpired.store(false, ordering: .relaxed)
        } else if drainingSince.load(ordering: .relaxed) == 0 {
            drainingSince.store(now, ordering: .relaxed)
        }
        lastChange.store(now, ordering: .relaxed)
    }

    func markRemoving() {
        let now = Instant.now().nanoseconds
        // Sequentially consistent, paired with the pick (PoolView.pick) and `reclaimable`.
        removing.store(true, ordering: .sequentiallyConsistent)
        if drainingSince.load(ordering: .relaxed) == 0 { drainingSince.store(now, ordering: .relaxed) }
        lastChange.store(now, ordering: .relaxed)
    }

    private static func code(_ state: AdminState) -> Int { AdminState.allCases.firstIndex(of: state)! }
}

package final class PoolRuntime: Sendable {
    package let index: Int
    package let name: String
    package let stats = PoolStats()
    /// Bumped after every change of a server's state, weight or membership, or of settings.
    package let version = Atomic<UInt64>(0)
    /// Deleted by a reload: no listener any more; its servers drain.
    package let removed = Atomic<Bool>(false)
    /// Members, then removed servers until they are reclaimed; in the order they were added.
    let table: Mutex<ServerTable>
    private let current: Mutex<PoolConfig>
    /// Clients waiting for a server slot (`maxconn`), oldest first, across all workers.
    let waiting = Mutex<[QueuedClient]>([])
    /// PrimaryGate.code; written by the health checker only.
    private let primaryCode: Atomic<Int>

    package init(index: Int, _ config: PoolConfig) {
        self.index = index
        self.name = config.name
        self.current = Mutex(config)
        let servers = config.servers.enumerated().map { ServerRuntime($0.element, serial: $0.offset) }
        self.table = Mutex(ServerTable(servers))
        // A new pool with single-primary takes no sessions until the checker's first choice.
        primaryCode = Atomic((config.settings.singlePrimary ? PrimaryGate.noPrimary : .off).code)
    }

    /// Which servers may take new sessions under `single-primary` (`off` when it is off).
    package var primaryGate: PrimaryGate { PrimaryGate(code: primaryCode.load(ordering: .relaxed)) }

    /// Sets the gate and, when it moved, bumps the version (health checker thread only).
    func publish(_ gate: PrimaryGate) {
        if primaryCode.exchange(gate.code, ordering: .relaxed) != gate.code { bumpVersion() }
    }

    /// The configuration in force (a reload replaces it; workers read their own copy).
    package var config: PoolConfig { current.withLock { $0 } }
    package var settings: PoolSettings { config.settings }

    /// The members and the removed servers not yet reclaimed (positions change as removed
    /// servers leave: hold the server, not its index).
    package var allServers: [ServerRuntime] { table.withLock { $0.servers } }

    /// The servers taking part in the pool (not being removed): all a worker's balancer sees.
    package var members: [ServerRuntime] {
        table.withLock { $0.servers.filter { !$0.removing.load(ordering: .relaxed) } }
    }

    /// The servers `show servers` lists: all but the removed ones that finished draining.
    package var servers: [ServerRuntime] { allServers.filter { !$0.gone } }

    /// The server of that name taking part in the pool (not being removed).
    package func server(named name: String) -> ServerRuntime? {
        allServers.last { $0.name == name && !$0.removing.load(ordering: .relaxed) }
    }

    /// Appends a server; nil when a server of that name is in the pool and not being removed
    /// (unless `replacing`: a reload adds the new one first, then drains the old one).
    /// `checkStart`: see `ServerRuntime.checkStart`. `setUp` runs before the server is visible
    /// (a replacement takes the old one's admin state and weight before any worker can pick it).
    package func add(
        _ config: ServerConfig, replacing: Bool = false, checkStart: HealthStart? = nil,
        setUp: (ServerRuntime) -> Void = { _ in }
    ) -> ServerRuntime? {
        let unchecked = settings.check.kind == .none
        let added: ServerRuntime? = table.withLock { table in
            let taken = table.servers.contains { $0.name == config.name && !$0.removing.load(ordering: .relaxed) }
            guard replacing || !taken else { return nil }
            let server = ServerRuntime(
                config, serial: table.nextSerial, healthy: unchecked || checkStart == .up, checkStart: checkStart)
            table.nextSerial += 1
            setUp(server)
            table.servers.append(server)
            return server
        }
        if added != nil { bumpVersion() }
        return added
    }

    /// `add` for many servers at once, in order, under one lock and with one look at the
    /// names in use (a reload of a 1000-server pool must not compare every pair).
    package func add(_ batch: [(config: ServerConfig, replacing: Bool)]) -> [ServerRuntime?] {
        guard !batch.isEmpty else { return [] }
        let unchecked = settings.check.kind == .none
        let added: [ServerRuntime?] = table.withLock { table in
            var taken = Set(table.servers.lazy.filter { !$0.removing.load(ordering: .relaxed) }.map(\.name))
            return batch.map { config, replacing in
                guard replacing || !taken.contains(config.name) else { return nil }
                taken.insert(config.name)
                let server = ServerRuntime(config, serial: table.nextSerial, healthy: unchecked)
                table.nextSerial += 1
                table.servers.append(server)
                return server
            }
        }
        bumpVersion()
        return added
    }

    /// New settings and binds from a reload; they apply to new sessions.
    package func update(_ config: PoolConfig) {
        current.withLock { $0 = config }
        bumpVersion()
    }

    /// Tells the workers to refresh their view on their next pick (after the writes of a
    /// change: `apply`, `add`, `update`, `publish`).
    func bumpVersion() {
        version.add(1, ordering: .releasing)
    }
}

/// A client in a pool's queue: which worker owns it and its session slot.
struct QueuedClient: Equatable, Sendable {
    var worker: Int
    var slot: UInt32
    var generation: UInt32
}

/// Live session counts of one pool's servers, as leastconn sees them.
struct ServerActiveCounts: ActiveCounts {
    let servers: [ServerRuntime]

    @inline(__always)
    func active(_ id: ServerID) -> Int { servers[id].stats.active.load(ordering: .relaxed) }
}

/// Everything the workers share: pools, global caps and counters, the logger.
package final class SharedState: Sendable {
    package let logger: Logger
    package let maxconn: Atomic<Int>
    package let pipeSize: Int
    package let active = Atomic<Int>(0)
    package let totalSessions = Atomic<UInt64>(0)
    package let nextSessionID = Atomic<UInt64>(1)
    package let started = Instant.now()
    private let poolTable: Mutex<[PoolRuntime]>

    /// Runs the health checks; nil only in tests that build a SharedState by hand.
    package let health: HealthChecker?

    package init(config: Config, logger: Logger, health: HealthChecker? = nil) {
        poolTable = Mutex(config.pools.enumerated().map { PoolRuntime(index: $0.offset, $0.element) })
        self.logger = logger
        self.health = health
        self.maxconn = Atomic(config.global.maxconn)
        self.pipeSize = config.global.pipeSize
    }

    /// Every pool ever configured, removed ones included (a pool's index never changes).
    package var allPools: [PoolRuntime] { poolTable.withLock { $0 } }

    /// How many pools were ever configured (a worker compares it with its own views).
    package var poolCount: Int { poolTable.withLock { $0.count } }

    /// The pools in force.
    package var pools: [PoolRuntime] { allPools.filter { !$0.removed.load(ordering: .relaxed) } }

    /// Appends a pool created by a reload.
    package func addPool(_ config: PoolConfig) -> PoolRuntime {
        poolTable.withLock { list in
            let pool = PoolRuntime(index: list.count, config)
            list.append(pool)
            return pool
        }
    }
}
