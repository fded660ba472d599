// What a health-check result does beyond the server's own state (HealthChecker.apply):
// `on-down close-sessions` closes the sessions of a server that goes down, and a first
// role-check result wakes the clients waiting for it.
import SluiceCore
import SluiceSys

extension Supervisor {
    static func healthEffects(_ logger: Logger, _ channels: [WorkerChannel]) -> HealthChecker.OnResult {
        { server, pool, result in
            HealthChecker.apply(server, pool, result, logger: logger)
            switch result.transition {
            case .wentDown?:
                if pool.settings.onDown == .closeSessions {
                    for channel in channels {
                        channel.send(.closeSessions(pool: pool.index, server: server, reason: "server down"))
                    }
                }
            case .wentUp?, nil:
                break
            }
            // Not gated on the queue gauge: it is raised just after a client joins the queue.
            if result.firstAwaited { pool.wakeWaiters(channels) }
        }
    }
}
