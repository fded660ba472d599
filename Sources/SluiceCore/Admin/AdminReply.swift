// Rendering of admin replies: `OK`, `ERR ...`, the help text, and each snapshot list as an
// aligned plain-text table (header, columns padded to the widest cell, two blanks apart, no
// trailing blanks) or as JSON (one object for `show info`, an array otherwise). Every reply
// ends with exactly one `\n`.

/// The bytes sent back for one command (UTF-8 text ending in `\n`).
package struct AdminReplyText: Sendable, Equatable {
    package var text: String

    package init(_ text: String) {
        self.text = text.hasSuffix("\n") ? text : text + "\n"
    }

    package var isError: Bool { text.hasPrefix("ERR ") }

    package static let ok = AdminReplyText("OK")

    /// `ERR message`; newlines in the message are flattened so the reply stays one line.
    package static func error(_ message: String) -> AdminReplyText {
        AdminReplyText("ERR " + AdminReplyText.oneLine(message))
    }

    package static func error(_ error: AdminParseError) -> AdminReplyText { .error(error.message) }

    /// `reload` with configuration errors: the first line says so, then one error per line.
    package static func errors(_ headline: String, _ details: [String]) -> AdminReplyText {
        AdminReplyText((["ERR " + oneLine(headline)] + details.map(oneLine)).joined(separator: "\n"))
    }

    package static let help = AdminReplyText(
        """
        commands (append 'json' for a JSON reply):
          help                                              list commands
          show info                                         version, pid, uptime, workers, sessions, bytes
          show pools                                        per pool: mode, balance, binds, servers, sessions, queue
          show servers [POOL]                               per server: health, admin state, weights, sessions, checks
          show sessions [POOL]                              per session: id, pool, server, client, age, bytes (max \(maxSessionRows))
          show metrics                                      the Prometheus text exposition
          set server POOL/NAME state ready|drain|maint      change the admin state
          set server POOL/NAME weight N                     change the weight (0..1000)
          add server POOL/NAME ADDR:PORT [weight N] [maxconn N] [backup]
                                                            add a server (IP literal; down until checks pass)
          del server POOL/NAME                              drain the server, then remove it
          kill sessions POOL/NAME                           close every session of that server now
          reload                                            re-read the configuration, as SIGHUP
        """)

    /// `show sessions` lists at most this many rows.
    package static let maxSessionRows = 1000

    static func oneLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }
}

extension AdminReplyText {
    package static func info(_ s: InfoSnapshot, json: Bool) -> AdminReplyText {
        let fields: [(String, JSON)] = [
            ("version", .string(s.version)), ("pid", .int(s.pid)), ("uptime_seconds", .int(s.uptimeSeconds)),
            ("workers", .int(s.workers)), ("sessions_current", .int(s.sessionsCurrent)),
            ("sessions_total", .uint(s.sessionsTotal)), ("bytes_in", .uint(s.bytesIn)),
            ("bytes_out", .uint(s.bytesOut)),
        ]
        if json { return AdminReplyText(JSON.object(fields.map { JSON.Field($0.0, $0.1) }).text) }
        let rows = fields.map { [$0.0, cell($0.1)] }
        return AdminReplyText(TextTable.render(header: nil, rows: rows))
    }

    /// PRIMARIES: servers passing the role check (`-` without one; above 1 is a conflict).
    /// PRIMARY: with `single-primary on`, the server taking new sessions (`none` while none is).
    package static func pools(_ list: [PoolSnapshot], json: Bool) -> AdminReplyText {
        if json {
            return AdminReplyText(
                JSON.array(
                    list.map { p in
                        .object([
                            .init("name", .string(p.name)), .init("mode", .string(p.mode)),
                            .init("balance", .string(p.balance)), .init("binds", .array(p.binds.map { .string($0) })),
                            .init("servers_up", .int(p.serversUp)), .init("servers_total", .int(p.serversTotal)),
                            .init("sessions_current", .int(p.sessionsCurrent)),
                            .init("sessions_total", .uint(p.sessionsTotal)), .init("queue", .int(p.queue)),
                            .init("primaries", p.primaries.map { .int($0) } ?? .null),
                            .init("single_primary", .bool(p.singlePrimary)),
                            .init("primary", p.primary.map { .string($0) } ?? .null),
                        ])
                    }
                ).text)
        }
        let header = [
            "POOL", "MODE", "BALANCE", "BINDS", "SERVERS", "SESSIONS", "TOTAL", "QUEUE", "PRIMARIES", "PRIMARY",
        ]
        let rows = list.map { p in
            [
                p.name, p.mode, p.balance, p.binds.joined(separator: ","), "\(p.serversUp)/\(p.serversTotal)",
                String(p.sessionsCurrent), String(p.sessionsTotal), String(p.queue), p.primaries.map(String.init) ?? "",
                p.singlePrimary ? p.primary ?? "none" : "",
            ]
        }
        return AdminReplyText(TextTable.render(header: header, rows: rows))
    }

    /// The STATE column shows `removing` for a deleted server that is still draining; JSON
    /// keeps `state` and `removing` apart.
    package static func servers(_ list: [ServerSnapshot], json: Bool) -> AdminReplyText {
        if json {
            return AdminReplyText(
                JSON.array(
                    list.map { s in
                        .object([
                            .init("pool", .string(s.pool)), .init("name", .string(s.name)),
                            .init("address", .string(s.address)), .init("health", .string(s.health.rawValue)),
                            .init("state", .string(s.state.rawValue)), .init("removing", .bool(s.removing)),
                            .init("weight", .int(s.weight)), .init("effective_weight", .int(s.effectiveWeight)),
                            .init("sessions_current", .int(s.sessionsCurrent)),
                            .init("sessions_total", .uint(s.sessionsTotal)),
                            .init("connect_failures", .uint(s.connectFailures)), .init("bytes_in", .uint(s.bytesIn)),
                            .init("bytes_out", .uint(s.bytesOut)), .init("last_check", .string(s.lastCheck)),
                            .init("seconds_since_change", .int(s.secondsSinceChange)),
                        ])
                    }
                ).text)
        }
        let header = [
            "POOL", "SERVER", "ADDRESS", "HEALTH", "STATE", "WEIGHT", "EWEIGHT", "SESSIONS", "TOTAL", "FAILS",
            "BYTES_IN", "BYTES_OUT", "SINCE", "LAST_CHECK",
        ]
        let rows = list.map { s in
            [
                s.pool, s.name, s.address, s.health.rawValue, s.removing ? "removing" : s.state.rawValue,
                String(s.weight), String(s.effectiveWeight), String(s.sessionsCurrent), String(s.sessionsTotal),
                String(s.connectFailures), String(s.bytesIn), String(s.bytesOut), String(s.secondsSinceChange),
                s.lastCheck,
            ]
        }
        return AdminReplyText(TextTable.render(header: header, rows: rows))
    }

    /// At most `maxSessionRows` rows, the first ones given.
    package static func sessions(_ list: [SessionSnapshot], json: Bool) -> AdminReplyText {
        let shown = list.prefix(maxSessionRows)
        if json {
            return AdminReplyText(
                JSON.array(
                    shown.map { s in
                        .object([
                            .init("id", .uint(s.id)), .init("pool", .string(s.pool)),
                            .init("server", .string(s.server)),
                            .init("client", .string(s.client)), .init("age_seconds", .int(s.ageSeconds)),
                            .init("bytes_in", .uint(s.bytesIn)), .init("bytes_out", .uint(s.bytesOut)),
                        ])
                    }
                ).text)
        }
        let header = ["ID", "POOL", "SERVER", "CLIENT", "AGE", "BYTES_IN", "BYTES_OUT"]
        let rows = shown.map { s in
            [
                String(s.id), s.pool, s.server, s.client, String(s.ageSeconds), String(s.bytesIn), String(s.bytesOut),
            ]
        }
        return AdminReplyText(TextTable.render(header: header, rows: rows))
    }

    private static func cell(_ value: JSON) -> String {
        switch value {
        case .string(let s): return s
        default: return value.text
        }
    }
}

/// Left-aligned columns padded to the widest cell; empty cells show `-`.
package enum TextTable {
    package static func render(header: [String]?, rows: [[String]]) -> String {
        let all = (header.map { [$0] } ?? []) + rows.map { $0.map { $0.isEmpty ? "-" : AdminReplyText.oneLine($0) } }
        guard let columns = all.map(\.count).max(), columns > 0 else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in all {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in all {
            var line = ""
            for (i, cell) in row.enumerated() {
                if i > 0 { line += "  " }
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
