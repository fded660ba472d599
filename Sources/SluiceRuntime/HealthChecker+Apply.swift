// The default effect of a check result on the shared server state: `healthy`, the
// `checkSeconds` histogram, `lastChange`, a log line per state change, and a pool version
// bump so workers refresh their view.
import SluiceCore
import SluiceSys

extension HealthChecker {
    package static func apply(_ server: ServerRuntime, _ pool: PoolRuntime, _ result: HealthResult, logger: Logger) {
        if let duration = result.duration { server.stats.checkSeconds.record(nanoseconds: duration.nanoseconds) }
        guard let transition = result.transition else {
            if logger.enabled(.debug) {
                logger.debug("check", ["pool": pool.name, "server": server.name, "result": result.description])
            }
            return
        }
        server.healthy.store(result.up, ordering: .relaxed)
        server.lastChange.store(Instant.now().nanoseconds, ordering: .relaxed)
        pool.changed()
        let fields: KeyValuePairs<String, String> = [
            "pool": pool.name, "server": server.name, "check": Probes.name(of: pool.settings.check.kind),
            "reason": result.text,
        ]
        switch transition {
        case .wentUp: logger.info("server up", fields)
        case .wentDown: logger.warn("server down", fields)
        }
    }
}
