// What a health-check result does beyond the server's own state (HealthChecker.apply):
// slow start begins when a server comes up, `on-down close-sessions` closes the sessions
// of a server that goes down, and a first role-check result wakes the clients waiting for it.
import SluiceCore
import SluiceSys

extension Supervisor {
    static func healthEffects(_ logger: Logger, _ channels: [WorkerChannel]) -> HealthChecker.OnResult {
        { server, pool, result in
            HealthChecker.apply(server, pool, result, logger: logger)
            switch result.transition {
            case .wentUp?:
                server.upSince.store(Instant.now().nanoseconds, ordering: .relaxed)
                pool.changed()
            case .wentDown?:
                server.upSince.store(0, ordering: .relaxed)
                if pool.settings.onDown == .closeSessions {
                    for channel in channels {
                        channel.send(.closeSessions(pool: pool.index, server: server, reason: "server down"))
                    }
                }
            case nil:
                break
            }
            // Not gated on the queue gauge: it is raised just after a client joins the queue.
            if result.firstAwaited { pool.wakeWaiters(channels) }
        }
    }
}
