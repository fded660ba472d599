// Checks that span lines or sections, run after parsing: unique pool and server names, binds
// used once (per protocol: TCP and UDP may share a port), every pool bound, role checks for
// single-primary, what `mode udp` cannot do. Builds the final Config when nothing is wrong.

import SluiceSys

enum ConfigValidator {
    static func validate(_ parsed: ParsedConfig, file: String) -> (config: Config, errors: [ConfigError]) {
        var errors: [ConfigError] = []
        func report(_ line: Int, _ message: String) {
            errors.append(ConfigError(file: file, line: line, message: message))
        }
        var poolLines: [String: Int] = [:]
        /// Key: the bind and, for inet binds, the protocol; value: first line and pool name.
        var binds: [String: (line: Int, pool: String)] = [:]
        var pools = parsed.pools
        for (i, pool) in parsed.pools.enumerated() {
            let p = pool.config
            if p.settings.mode == .udp {
                if !pool.checkWritten { pools[i].config.settings.check.kind = .none }
                // Flows come from spoofable source ports: a UDP pool always has a cap of its
                // own (flows do not count against the global maxconn, which is TCP's).
                if let line = pool.maxconnLine {
                    if p.settings.maxconn == 0 {
                        report(
                            line,
                            "pool '\(p.name)' has mode udp with maxconn 0 (a udp pool needs a cap on its flows: 1..\(ConfigParser.maxConnLimit); without maxconn it is \(PoolSettings.udpDefaultMaxconn))"
                        )
                    }
                } else {
                    pools[i].config.settings.maxconn = PoolSettings.udpDefaultMaxconn
                }
                if p.settings.proxyProtocol != .off {
                    report(
                        pool.lines["proxy-protocol"] ?? p.line,
                        "pool '\(p.name)' has mode udp with proxy-protocol \(p.settings.proxyProtocol.rawValue) (PROXY headers are sent on TCP pools only)"
                    )
                }
            }
            if let first = poolLines[p.name] {
                report(p.line, "duplicate pool '\(p.name)' (first at line \(first))")
            } else {
                poolLines[p.name] = p.line
            }
            if p.binds.isEmpty {
                report(
                    p.line, "pool '\(p.name)' has no bind (expected at least one 'bind ADDR:PORT' or 'bind fd:NAME')")
            }
            for (bind, line) in zip(p.binds, pool.bindLines) {
                // Per protocol: one fd:NAME may hold a TCP and a UDP socket, as a port may.
                let key = "\(p.settings.mode.rawValue) \(bind)"
                if let first = binds[key] {
                    report(line, "bind \(bind) is already used at line \(first.line) (pool '\(first.pool)')")
                } else {
                    binds[key] = (line, p.name)
                }
            }
            var serverLines: [String: Int] = [:]
            for server in p.servers {
                if let first = serverLines[server.name] {
                    report(
                        server.line, "duplicate server '\(server.name)' in pool '\(p.name)' (first at line \(first))")
                } else {
                    serverLines[server.name] = server.line
                }
            }
            if p.settings.singlePrimary && !p.settings.check.kind.isRoleCheck {
                report(
                    p.line,
                    "pool '\(p.name)' has single-primary on without a role check (expected check redis-master or check http)"
                )
            }
        }
        let config = Config(file: file, global: parsed.global, pools: pools.map(\.config))
        return (config, errors)
    }
}
