// The control thread's once-a-second duties over the shared pools, apart from what the
// admin socket shows and does: free removed servers whose last session ended, step slow-start
// weights, and close what is left on servers whose `timeout drain` expired.
import SluiceCore
import SluiceSys

struct Housekeeping {
    let shared: SharedState
    let channels: [WorkerChannel]

    /// Runs about once a second on the control thread: sessions of servers whose
    /// `timeout drain` expired are closed, pools with a server in its slow-start ramp
    /// are bumped so workers pick up the next weight step, and removed servers whose last
    /// session ended are freed.
    func run() {
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
                shared.logger.info(
                    "drain timeout: closing remaining sessions",
                    [
                        "pool": pool.name, "server": server.name, "sessions": "\(left)",
                    ])
                for channel in channels {
                    channel.send(.closeSessions(pool: pool.index, server: server, reason: "drain timeout"))
                }
            }
        }
    }
}
