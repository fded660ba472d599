// Histograms and the Prometheus exposition: bucket placement, cumulative counts, every SPEC
// metric name, label escaping, checked by a small parser here and by `promtool check metrics`
// when promtool is installed.
import Foundation
import Testing

@testable import SluiceCore

@Suite struct PrometheusTests {
    @Test func histogramBucketsAreCumulative() {
        let h = Histogram()
        h.record(nanoseconds: 0)  // <= .0005
        h.record(nanoseconds: 500_000)  // exactly .0005: le is inclusive
        h.record(seconds: 0.003)  // <= .005
        h.record(seconds: 0.7)  // <= 1
        h.record(seconds: 60)  // +Inf only
        let s = h.snapshot()
        #expect(s.bounds == Histogram.secondsBounds)
        #expect(s.cumulative.count == 15)
        #expect(s.cumulative[0] == 2)
        #expect(s.cumulative[2] == 2)
        #expect(s.cumulative[3] == 3)
        #expect(s.cumulative[9] == 3)
        #expect(s.cumulative[10] == 4)
        #expect(s.cumulative[13] == 4)
        #expect(s.count == 5)
        #expect(abs(s.sum - 60.7035) < 1e-6)
    }

    @Test func histogramRecordsFromManyThreads() async {
        let h = Histogram()
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<10_000 { h.record(nanoseconds: UInt64((i + t) % 20) * 1_000_000) }
                }
            }
        }
        #expect(h.snapshot().count == 40_000)
    }

    @Test func escapesLabelsAndFormatsNumbers() {
        #expect(Prometheus.escapeLabel(#"a\b"c"# + "\nd") == #"a\\b\"c\nd"#)
        #expect(Prometheus.formatNumber(1) == "1")
        #expect(Prometheus.formatNumber(0.0005) == "0.0005")
        #expect(Prometheus.formatNumber(2.5) == "2.5")
        #expect(Prometheus.formatNumber(.infinity) == "+Inf")
    }

    static func sample() -> MetricsSnapshot {
        var pool = PoolSnapshot(
            name: "db", mode: "tcp", balance: "leastconn", binds: ["0.0.0.0:5432"], serversUp: 1, serversTotal: 2,
            sessionsCurrent: 3, sessionsTotal: 40, queue: 1)
        pool.bytesIn = 1000
        pool.bytesOut = 5000
        pool.rejected = [.maxconn: 2, .connectFailed: 1]
        pool.primaries = 1
        let h = Histogram()
        h.record(seconds: 0.002)
        h.record(seconds: 0.2)
        let odd = ServerSnapshot(
            pool: "db", name: #"we"ird\n"# + "\nname", address: "10.0.0.2:5432", health: .down, state: .maint,
            weight: 0, effectiveWeight: 0)
        return MetricsSnapshot(
            info: InfoSnapshot(version: "0.1.0", pid: 1, uptimeSeconds: 99, workers: 2, logDropped: 7),
            pools: [
                pool,
                PoolSnapshot(name: "cache", mode: "udp", balance: "hash", binds: [], serversUp: 0, serversTotal: 0),
            ],
            servers: [
                ServerSnapshot(
                    pool: "db", name: "pg-1", address: "10.0.0.1:5432", health: .up, state: .ready, weight: 100,
                    effectiveWeight: 100, sessionsCurrent: 3, sessionsTotal: 40, connectFailures: 4,
                    connectSeconds: h.snapshot(), checkSeconds: h.snapshot()),
                odd,
            ])
    }

    @Test func rendersEverySpecMetric() throws {
        let text = Prometheus.render(Self.sample())
        let parsed = try ExpositionParser.parse(text)
        let names = [
            "sluice_sessions_current", "sluice_sessions_total", "sluice_bytes_total", "sluice_queue_current",
            "sluice_rejected_total", "sluice_server_up", "sluice_server_state", "sluice_server_weight",
            "sluice_server_sessions_current", "sluice_server_sessions_total", "sluice_server_connect_failures_total",
            "sluice_server_connect_seconds", "sluice_server_check_seconds", "sluice_udp_flows_current",
            "sluice_pool_primaries", "sluice_uptime_seconds", "sluice_workers", "sluice_log_dropped_total",
        ]
        for name in names { #expect(parsed.types[name] != nil, "missing family \(name)") }
        #expect(parsed.types["sluice_server_connect_seconds"] == "histogram")
        #expect(parsed.types["sluice_rejected_total"] == "counter")
        #expect(parsed.value("sluice_uptime_seconds", [:]) == 99)
        #expect(parsed.types["sluice_log_dropped_total"] == "counter")
        #expect(parsed.value("sluice_log_dropped_total", [:]) == 7)
        // Only pools with a role check have sluice_pool_primaries.
        #expect(parsed.value("sluice_pool_primaries", ["pool": "db"]) == 1)
        #expect(parsed.value("sluice_pool_primaries", ["pool": "cache"]) == nil)
        #expect(parsed.value("sluice_bytes_total", ["pool": "db", "direction": "out"]) == 5000)
        for (reason, count) in [("maxconn", 2.0), ("queue-timeout", 0), ("no-server", 0), ("connect-failed", 1)] {
            #expect(parsed.value("sluice_rejected_total", ["pool": "db", "reason": reason]) == count)
            #expect(parsed.value("sluice_rejected_total", ["pool": "cache", "reason": reason]) == 0)
        }
        let pg1 = ["pool": "db", "server": "pg-1"]
        #expect(parsed.value("sluice_server_state", pg1.merging(["state": "ready"]) { a, _ in a }) == 1)
        #expect(parsed.value("sluice_server_state", pg1.merging(["state": "drain"]) { a, _ in a }) == 0)
        #expect(parsed.value("sluice_server_connect_seconds_bucket", pg1.merging(["le": "0.001"]) { a, _ in a }) == 0)
        #expect(parsed.value("sluice_server_connect_seconds_bucket", pg1.merging(["le": "0.0025"]) { a, _ in a }) == 1)
        #expect(parsed.value("sluice_server_connect_seconds_bucket", pg1.merging(["le": "+Inf"]) { a, _ in a }) == 2)
        #expect(parsed.value("sluice_server_connect_seconds_count", pg1) == 2)
        #expect(abs((parsed.value("sluice_server_connect_seconds_sum", pg1) ?? 0) - 0.202) < 1e-9)
        let odd = ["pool": "db", "server": #"we"ird\n"# + "\nname"]
        #expect(parsed.value("sluice_server_up", odd) == 0)
        #expect(parsed.value("sluice_server_state", odd.merging(["state": "maint"]) { a, _ in a }) == 1)
        #expect(parsed.value("sluice_server_check_seconds_count", odd) == 0)
        #expect(text.hasSuffix("\n"))
    }

    @Test func promtoolAcceptsTheExposition() throws {
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            // Skipped only when promtool is absent (`make test` installs the prometheus package).
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(Prometheus.render(Self.sample()).utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool: \(report)")
        #expect(report.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool lint: \(report)")
    }
}

/// A strict little parser of the text format: HELP/TYPE before samples, escaped labels, numbers.
struct ExpositionParser {
    var types: [String: String] = [:]
    var samples: [(name: String, labels: [String: String], value: Double)] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func parse(_ text: String) throws -> ExpositionParser {
        var result = ExpositionParser()
        var helped: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                guard helped.insert(name).inserted else { throw Failure(description: "second HELP for \(name)") }
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, ["counter", "gauge", "histogram"].contains(parts[1]) else {
                    throw Failure(description: "bad TYPE line: \(line)")
                }
                result.types[String(parts[0])] = String(parts[1])
                continue
            }
            var rest = Substring(line)
            let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let key = String(rest.prefix { $0 != "=" })
                    rest = rest.dropFirst(key.count)
                    guard rest.hasPrefix("=\"") else { throw Failure(description: "bad label in \(line)") }
                    rest = rest.dropFirst(2)
                    var value = ""
                    while let c = rest.first, c != "\"" {
                        rest = rest.dropFirst()
                        if c == "\\" {
                            guard let e = rest.first else { throw Failure(description: "bad escape in \(line)") }
                            rest = rest.dropFirst()
                            switch e {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw Failure(description: "bad escape \\\(e) in \(line)")
                            }
                        } else {
                            value.append(c)
                        }
                    }
                    guard rest.first == "\"" else { throw Failure(description: "unterminated label in \(line)") }
                    rest = rest.dropFirst()
                    labels[key] = value
                    if rest.first == "," { rest = rest.dropFirst() }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == " " else { throw Failure(description: "no value in \(line)") }
            let text = rest.dropFirst()
            guard let value = text == "+Inf" ? Double.infinity : Double(text) else {
                throw Failure(description: "bad value in \(line)")
            }
            let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
                n.hasSuffix(suffix) && result.types[String(n.dropLast(suffix.count))] == "histogram"
                    ? String(n.dropLast(suffix.count)) : n
            }
            guard result.types[family] != nil, helped.contains(family) else {
                throw Failure(description: "sample before HELP/TYPE: \(line)")
            }
            result.samples.append((name, labels, value))
        }
        return result
    }
}

@Suite struct SnapshotFillTests {
    @Test func copiesCountersAndHistograms() {
        let pool = PoolStats()
        pool.current.store(3, ordering: .relaxed)
        pool.total.store(9, ordering: .relaxed)
        pool.bytesOut.store(77, ordering: .relaxed)
        pool.reject(.noServer)
        var p = PoolSnapshot(name: "db", mode: "tcp", balance: "leastconn", binds: [], serversUp: 0, serversTotal: 0)
        p.fill(from: pool)
        #expect(p.sessionsCurrent == 3 && p.sessionsTotal == 9 && p.bytesOut == 77)
        #expect(p.rejected[.noServer] == 1 && p.rejected[.maxconn] == 0)

        let server = ServerStats()
        server.active.store(2, ordering: .relaxed)
        server.connectFailures.store(5, ordering: .relaxed)
        server.connectSeconds.record(seconds: 0.01)
        var s = ServerSnapshot(
            pool: "db", name: "a", address: "1.2.3.4:5", health: .up, state: .ready, weight: 1, effectiveWeight: 1)
        s.fill(from: server)
        #expect(s.sessionsCurrent == 2 && s.connectFailures == 5)
        #expect(s.connectSeconds?.count == 1 && s.checkSeconds?.count == 0)
    }
}
