// Prometheus text exposition (format 0.0.4) of every metric in SPEC "Metrics", rendered
// from a MetricsSnapshot. Each family gets `# HELP` and `# TYPE` once, even when it has no
// samples; label values escape `\`, `"` and newline.

package enum Prometheus {
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    package static func render(_ m: MetricsSnapshot) -> String {
        var out = Output()
        out.family("sluice_uptime_seconds", "gauge", "Seconds since sluice started.")
        out.sample("sluice_uptime_seconds", [], m.info.uptimeSeconds)
        out.family("sluice_workers", "gauge", "Worker threads.")
        out.sample("sluice_workers", [], m.info.workers)
        out.family("sluice_log_dropped_total", "counter", "Log lines dropped because the log queue was full.")
        out.sample("sluice_log_dropped_total", [], m.info.logDropped)

        out.family("sluice_sessions_current", "gauge", "Client sessions open now.")
        for p in m.pools { out.sample("sluice_sessions_current", [("pool", p.name)], p.sessionsCurrent) }
        out.family("sluice_sessions_total", "counter", "Client sessions accepted.")
        for p in m.pools { out.sample("sluice_sessions_total", [("pool", p.name)], p.sessionsTotal) }
        out.family("sluice_bytes_total", "counter", "Bytes moved; in = client to server, out = server to client.")
        for p in m.pools {
            out.sample("sluice_bytes_total", [("pool", p.name), ("direction", "in")], p.bytesIn)
            out.sample("sluice_bytes_total", [("pool", p.name), ("direction", "out")], p.bytesOut)
        }
        out.family(
            "sluice_queue_current", "gauge", "Clients waiting for a free server slot or a first role-check result.")
        for p in m.pools { out.sample("sluice_queue_current", [("pool", p.name)], p.queue) }
        out.family("sluice_rejected_total", "counter", "Clients rejected, by reason.")
        for p in m.pools {
            for reason in RejectReason.allCases {
                out.sample(
                    "sluice_rejected_total", [("pool", p.name), ("reason", reason.label)], p.rejected[reason] ?? 0)
            }
        }
        out.family("sluice_udp_flows_current", "gauge", "UDP client flows tracked now.")
        for p in m.pools { out.sample("sluice_udp_flows_current", [("pool", p.name)], p.udpFlows) }
        out.family("sluice_pool_primaries", "gauge", "Servers passing a role check (pools with one).")
        for p in m.pools {
            if let primaries = p.primaries { out.sample("sluice_pool_primaries", [("pool", p.name)], primaries) }
        }

        out.family("sluice_server_up", "gauge", "1 when the server's checks pass, else 0.")
        for s in m.servers { out.sample("sluice_server_up", labels(s), s.health == .up ? 1 : 0) }
        out.family(
            "sluice_server_state", "gauge", "Admin state of the server: 1 for the current state, 0 for the others.")
        for s in m.servers {
            for state in AdminState.allCases {
                out.sample("sluice_server_state", labels(s) + [("state", state.rawValue)], s.state == state ? 1 : 0)
            }
        }
        out.family("sluice_server_weight", "gauge", "Configured weight of the server.")
        for s in m.servers { out.sample("sluice_server_weight", labels(s), s.weight) }
        out.family("sluice_server_sessions_current", "gauge", "Sessions on the server now.")
        for s in m.servers { out.sample("sluice_server_sessions_current", labels(s), s.sessionsCurrent) }
        out.family("sluice_server_sessions_total", "counter", "Sessions the server has taken.")
        for s in m.servers { out.sample("sluice_server_sessions_total", labels(s), s.sessionsTotal) }
        out.family("sluice_server_connect_failures_total", "counter", "Failed connects to the server.")
        for s in m.servers { out.sample("sluice_server_connect_failures_total", labels(s), s.connectFailures) }
        out.family("sluice_server_connect_seconds", "histogram", "Time to connect to the server.")
        for s in m.servers { out.histogram("sluice_server_connect_seconds", labels(s), s.connectSeconds ?? .empty()) }
        out.family("sluice_server_check_seconds", "histogram", "Duration of health checks of the server.")
        for s in m.servers { out.histogram("sluice_server_check_seconds", labels(s), s.checkSeconds ?? .empty()) }
        return out.text
    }

    private static func labels(_ s: ServerSnapshot) -> [(String, String)] { [("pool", s.pool), ("server", s.name)] }

    /// `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
    package static func escapeLabel(_ value: String) -> String {
        var out = ""
        for ch in value.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Integral values without a fraction (`1`, `10`), others in Swift's shortest form (`0.0005`).
    package static func formatNumber(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(describing: value)
    }

    private struct Output {
        var text = ""

        mutating func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }

        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: some BinaryInteger) {
            line(name, labels, String(value))
        }

        mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
            text += name
            if !labels.isEmpty {
                text += "{"
                text += labels.map { "\($0.0)=\"\(Prometheus.escapeLabel($0.1))\"" }.joined(separator: ",")
                text += "}"
            }
            text += " " + value + "\n"
        }

        mutating func histogram(_ name: String, _ labels: [(String, String)], _ h: HistogramSnapshot) {
            for (i, bound) in h.bounds.enumerated() where i < h.cumulative.count {
                line(name + "_bucket", labels + [("le", Prometheus.formatNumber(bound))], String(h.cumulative[i]))
            }
            line(name + "_bucket", labels + [("le", "+Inf")], String(h.count))
            line(name + "_sum", labels, Prometheus.formatNumber(h.sum))
            line(name + "_count", labels, String(h.count))
        }
    }
}
