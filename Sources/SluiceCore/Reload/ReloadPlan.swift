// A reload's whole difference, computed before anything changes (SPEC "Reload"): listening
// sockets, pools removed, kept and added, each kept pool's servers, and the global settings
// that only a restart applies. Pure, so every rule is unit-tested (ReloadPlanTests); the
// runtime (Supervisor+Reload) applies it step by step and owns only the sockets and threads.

package struct ReloadPlan: Sendable {
    package var listeners: ListenerPlan
    /// Pools the next file no longer has: they stop accepting and drain.
    package var removedPools: [String]
    /// Pools of the next file already running, each with what happens to its servers.
    package var keptPools: [(pool: PoolConfig, servers: ServerPlan)]
    /// Pools new in the next file.
    package var addedPools: [PoolConfig]
    /// Global settings that changed but apply at the next restart only.
    package var restartOnly: [String]

    /// `runningPools`: each running pool's name and its servers not already leaving.
    package init(
        current: Config, next: Config, listeners running: [RunningListener],
        runningPools: [(name: String, servers: [RunningServer])]
    ) {
        listeners = ListenerPlan(running: running, next: next)
        removedPools = runningPools.map(\.name).filter { name in !next.pools.contains { $0.name == name } }
        keptPools = []
        addedPools = []
        for pool in next.pools {
            if let servers = runningPools.first(where: { $0.name == pool.name })?.servers {
                keptPools.append((pool, ServerPlan(running: servers, next: pool)))
            } else {
                addedPools.append(pool)
            }
        }
        restartOnly = Self.restartOnly(current.global, next.global)
    }

    static func restartOnly(_ now: GlobalConfig, _ next: GlobalConfig) -> [String] {
        var changed: [String] = []
        if next.workers != now.workers { changed.append("workers") }
        if next.pipeSize != now.pipeSize { changed.append("pipe-size") }
        if next.adminSocket != now.adminSocket || next.adminAllowUIDs != now.adminAllowUIDs {
            changed.append("admin-socket")
        }
        if next.metrics != now.metrics { changed.append("metrics") }
        if next.user != now.user || next.group != now.group { changed.append("user/group") }
        if next.stateFile != now.stateFile { changed.append("state-file") }
        return changed
    }
}
