// The default effect of a check result on the shared server state: `healthy` with its
// slow-start clock, the `checkSeconds` histogram, `lastChange`, a log line per state change,
// and one pool version bump so workers refresh their view.
import SluiceCore
import SluiceSys

extension HealthChecker {
    package static func apply(_ server: ServerRuntime, _ pool: PoolRuntime, _ result: HealthResult, logger: Logger) {
        if let duration = result.duration { server.stats.checkSeconds.record(nanoseconds: duration.nanoseconds) }
        guard let transition = result.transition else {
            if result.firstAwaited { endFirstResultWait(server, pool) }
            if logger.enabled(.debug) {
                logger.debug("check", ["pool": pool.name, "server": server.name, "result": result.description])
            }
            return
        }
        pool.apply(.health(up: result.up, at: Instant.now()), to: server)
        if result.firstAwaited { endFirstResultWait(server, pool) }
        let fields: KeyValuePairs<String, String> = [
            "pool": pool.name, "server": server.name, "check": Probes.name(of: pool.settings.check.kind),
            "reason": result.text,
        ]
        switch transition {
        case .wentUp: logger.info("server up", fields)
        case .wentDown: logger.warn("server down", fields)
        }
    }

    /// The server's first role-check result is in, and its health (set before) published by
    /// a version bump: only now may clients stop waiting for it. A worker that sees the wait
    /// over (acquire) then also sees that bump, so it refreshes instead of refusing a client
    /// on a stale view (Worker.connectNext); a second bump publishes the end of the wait.
    static func endFirstResultWait(_ server: ServerRuntime, _ pool: PoolRuntime) {
        pool.apply(.firstResultIn, to: server)
    }
}
