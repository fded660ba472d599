// One sluice for the flood scenarios: an admin socket and a metrics endpoint beside the
// scenario's pools, operator requests sent raw (a sluicectl process per command could not
// reach thousands a second), and sluice's fd table taken as the baseline once both endpoints
// have answered (their threads open epoll fds lazily). The checks every flood ends with:
// no session left, fds back to the baseline, a byte-exact session.
import Foundation
import Glibc
import SluiceTestSupport

final class FloodRig {
    let sluice: SluiceProcess
    let socket: String
    let metricsPort: UInt16
    let baseline: FDTable
    let workers: Int
    private var round: UInt64 = 0

    /// `global`: extra lines of the global section; `pools`: the pool sections.
    init(workers: Int = 2, global: [String] = [], pools: String, prefix: String) throws {
        let directory = try TempDirectory(prefix: prefix)
        socket = directory.path("admin.sock")
        metricsPort = try FreePort.tcp()
        self.workers = workers
        let lines =
            ["global", "workers \(workers)", "admin-socket \(socket)", "metrics 127.0.0.1:\(metricsPort)"] + global
        let config = lines[0] + "\n" + lines.dropFirst().map { "    \($0)\n" }.joined() + pools
        sluice = try SluiceProcess(config: config, in: directory)
        let (sluice, socket, metricsPort) = (sluice, socket, metricsPort)
        try sluice.explaining {
            _ = try Self.scrape(metricsPort, workers: workers)
            guard try Self.admin(socket, "show info").hasPrefix("version ") else {
                throw HarnessError("show info did not answer")
            }
        }
        baseline = try FDTable.stable(pid: sluice.pid)
    }

    // MARK: operator requests

    /// One admin command on its own connection: the whole reply (sluice closes after it).
    static func admin(_ socket: String, _ line: String, timeout: Duration = .seconds(5)) throws -> String {
        try UnixClient.exchange(socket, Array("\(line)\n".utf8), timeout: timeout)
    }

    func admin(_ line: String, timeout: Duration = .seconds(5)) throws -> String {
        try Self.admin(socket, line, timeout: timeout)
    }

    /// `COMMAND json`, parsed; throws when the reply is not one JSON value.
    static func adminJSON(_ socket: String, _ line: String) throws -> Any {
        let reply = try admin(socket, line + " json")
        do {
            return try JSONSerialization.jsonObject(with: Data(reply.utf8))
        } catch {
            throw HarnessError("\(line) json: not JSON (\(error)): \(reply.prefix(300))")
        }
    }

    /// `show info json` as a dictionary.
    static func info(_ socket: String) throws -> [String: Any] {
        guard let info = try adminJSON(socket, "show info") as? [String: Any] else {
            throw HarnessError("show info json: not an object")
        }
        return info
    }

    /// `show sessions json` as rows.
    static func sessions(_ socket: String, pool: String? = nil) throws -> [[String: Any]] {
        guard let rows = try adminJSON(socket, "show sessions" + (pool.map { " " + $0 } ?? "")) as? [[String: Any]]
        else {
            throw HarnessError("show sessions json: not an array of objects")
        }
        return rows
    }

    /// The body of one GET /metrics, checked to be a 200 whose body is Content-Length bytes
    /// and says `sluice_workers WORKERS`.
    static func scrape(_ port: UInt16, workers: Int, timeout: Duration = .seconds(5)) throws -> String {
        let client = try TestClient(port: port, timeout: timeout)
        defer { client.close() }
        try client.send("GET /metrics HTTP/1.0\r\n\r\n")
        let response = try client.readToEOF()
        if let problem = E2E.OperatorEndpointTests.problem(response, sample: "sluice_workers \(workers)") {
            throw HarnessError("scrape: \(problem)")
        }
        let text = String(decoding: response, as: UTF8.self)
        return String(text[text.range(of: "\r\n\r\n")!.upperBound...])
    }

    func scrape() throws -> String { try Self.scrape(metricsPort, workers: workers) }

    /// The value of the sample whose name and labels are exactly `sample`, if present.
    static func value(_ sample: String, in exposition: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(sample + " ") }
            .flatMap { Double($0.dropFirst(sample.count + 1)) }
    }

    /// The sum of every sample of the metric `name` (all label sets).
    static func sum(_ name: String, in exposition: String) -> Double {
        exposition.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    // MARK: the end of every flood

    func waitForNoSession(_ scenario: String, timeout: Duration = .seconds(10)) throws {
        var last = ""
        try waitUntil(
            "no session left after \(scenario)", timeout: timeout, interval: .milliseconds(20), lastSeen: { last }
        ) {
            last = try admin("show sessions json").trimmingCharacters(in: .whitespacesAndNewlines)
            let info = try Self.info(socket)
            last += "; show info sessions_current \(info["sessions_current"] ?? "?")"
            return last.hasPrefix("[]") && info["sessions_current"] as? Int == 0
        }
    }

    /// Every fd but pipes as at the baseline; pipes at most `extraPipes` more: each worker's
    /// pool keeps empty pipes that sessions gave back, to hand them to the next ones.
    func waitForBaselineFDs(_ scenario: String, extraPipes: Int, timeout: Duration = .seconds(10)) throws {
        try FDTable.waitForBaseline(
            baseline, pid: sluice.pid, after: scenario, extraPipes: extraPipes, timeout: timeout)
    }

    /// A fresh 1 MiB session through `port` must come back byte-exact.
    func expectByteExactSession(port: UInt16, _ scenario: String) throws {
        round += 1
        try EchoSessions.expectByteExact(port: port, seed: 9000 + round, after: scenario, timeout: 20)
    }
}

extension FDTable {
    /// The fd table once it stayed the same for 200 ms: operator clients' fds go only once
    /// sluice's lingering reads see them close.
    static func stable(pid: Int32) throws -> FDTable {
        var samples: [FDTable] = []
        try waitUntil(
            "a stable fd table", timeout: .seconds(3), interval: .milliseconds(20),
            lastSeen: { "\(samples.suffix(3))" }
        ) {
            samples.append(try FDTable(pid: pid))
            return samples.count >= 10 && Set(samples.suffix(10).map(\.description)).count == 1
        }
        return samples.last!
    }
}
