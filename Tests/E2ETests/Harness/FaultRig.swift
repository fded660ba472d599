// One sluice for a fault-injection scenario: one worker (so every session shares one pipe
// pool), an admin socket, a metrics endpoint, the scenario's pools and a pool `echo` in front
// of an EchoBackend. After start it takes sluice's fd table as the baseline, once the admin
// socket and the metrics endpoint have answered (their threads open epoll fds lazily).
// `expectRecovered` is the check every scenario ends with: no session left, the fd table back
// to the baseline, and a fresh 1 MiB session through sluice byte-exact.
import Foundation
import Glibc
import SluiceTestSupport

/// sluice's open fds by kind: `socket`, `anon_inode:[eventpoll]`, `/dev/null`... and pipes.
struct FDTable: Equatable, CustomStringConvertible {
    var pipes = 0
    var others: [String: Int] = [:]

    init(pid: Int32) throws {
        let directory = "/proc/\(pid)/fd"
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            // An fd closed between the listing and the readlink is simply gone.
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(name)") else {
                continue
            }
            if target.hasPrefix("pipe:") {
                pipes += 1
            } else {
                others[target.hasPrefix("socket:") ? "socket" : target, default: 0] += 1
            }
        }
    }

    var description: String {
        "pipes: \(pipes), " + others.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }
}

final class FaultRig {
    let sluice: SluiceProcess
    let socket: String
    let echoPort: UInt16
    let baseline: FDTable
    private let echo: EchoBackend
    private var round: UInt64 = 0

    /// `pools`: the scenario's pool sections (a pool named `echo` is added); `global`: more
    /// lines for the global section.
    init(pools: String, global: String = "", prefix: String = "sluice-faults") throws {
        echo = try EchoBackend(name: "echo")
        let directory = try TempDirectory(prefix: prefix)
        socket = directory.path("admin.sock")
        echoPort = try FreePort.tcp()
        let metricsPort = try FreePort.tcp()
        sluice = try SluiceProcess(
            config: """
                global
                    workers 1
                    admin-socket \(socket)
                    metrics 127.0.0.1:\(metricsPort)
                    log-sessions on
                \(global)
                \(pools)
                pool echo
                    bind 127.0.0.1:\(echoPort)
                    check none
                    server echo 127.0.0.1:\(echo.port)
                """, in: directory)
        let (sluice, socket) = (sluice, socket)
        let scrape = try E2E.AdminTests.httpGet(port: metricsPort, path: "/metrics")
        guard scrape.prefix(while: { $0 != "\r" }).contains(" 200 ") else {
            throw HarnessError("metrics did not answer: \(scrape.prefix(200))")
        }
        _ = try E2E.AdminTests.ctl(socket, "show", "info")
        // The admin and metrics clients' fds go once their lingering reads see the close: the
        // baseline is a table that stayed the same for 200 ms.
        var samples: [FDTable] = []
        try waitUntil(
            "a stable fd table", timeout: .seconds(3), interval: .milliseconds(20),
            lastSeen: { "\(samples.suffix(3))" }
        ) {
            samples.append(try FDTable(pid: sluice.pid))
            return samples.count >= 10 && Set(samples.suffix(10).map(\.description)).count == 1
        }
        baseline = samples.last!
    }

    /// `show sessions json` (every pool).
    func sessions() throws -> String {
        try E2E.AdminTests.ctl(socket, "show", "sessions", "json").stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    func waitForNoSession(_ scenario: String, timeout: Duration = .seconds(5)) throws {
        var last = ""
        try waitUntil(
            "no session left after \(scenario)", timeout: timeout, interval: .milliseconds(20), lastSeen: { last }
        ) {
            last = try sessions()
            return last == "[]"
        }
    }

    /// Every fd but pipes as at the baseline. Pipes: one worker's pool keeps the empty pipes
    /// sessions gave back, and with one session at a time (two pipes, one per direction) it
    /// holds at most two pipes (four fds) more than at the baseline. A leaked pipe, session
    /// socket or timer grows past that.
    func waitForBaselineFDs(_ scenario: String, timeout: Duration = .seconds(3)) throws {
        try FDTable.waitForBaseline(baseline, pid: sluice.pid, after: scenario, extraPipes: 4, timeout: timeout)
    }

    /// A fresh 1 MiB session through the `echo` pool (same worker, same pipe pool) must come
    /// back byte-exact.
    func expectByteExactSession(_ scenario: String) throws {
        round += 1
        try EchoSessions.expectByteExact(port: echoPort, seed: 7000 + round, after: scenario, timeout: 10)
    }

    /// The end of every scenario: nothing left behind, and sluice still moves bytes exactly.
    func expectRecovered(_ scenario: String) throws {
        try sluice.explaining {
            try waitForNoSession(scenario)
            try waitForBaselineFDs(scenario)
            try expectByteExactSession(scenario)
            try waitForNoSession("the byte-exact session after \(scenario)")
            try waitForBaselineFDs("the byte-exact session after \(scenario)")
        }
    }

    /// SIGTERM: sluice must exit 0. Stops the echo backend.
    func finish() throws -> ExitStatus {
        defer { echo.stop() }
        return try sluice.stop()
    }

    /// Resident set size of sluice in KiB.
    func rssKiB() throws -> Int { try E2E.ReclaimTests.rssKiB(sluice.pid) }
}

extension FDTable {
    /// Waits until every fd but pipes is as in `baseline`, and pipes at most `extraPipes` more
    /// (a worker's pool keeps the empty pipes sessions gave back), plus TSan's symbolizer's.
    static func waitForBaseline(
        _ baseline: FDTable, pid: Int32, after scenario: String, extraPipes: Int, timeout: Duration
    ) throws {
        var last = baseline
        try waitUntil(
            "sluice's fds back to the baseline after \(scenario)", timeout: timeout, interval: .milliseconds(20),
            lastSeen: { "now \(last); baseline \(baseline)" }
        ) {
            last = try FDTable(pid: pid)
            return last.others == baseline.others
                && last.pipes <= baseline.pipes + extraPipes + Sanitizer.symbolizerPipeFDs
        }
    }
}

extension EchoSessions {
    /// One fresh 1 MiB session through `port` must come back byte-exact.
    static func expectByteExact(port: UInt16, seed: UInt64, after scenario: String, timeout: Int) throws {
        let bytes = PseudoRandom.bytes(seed: seed, count: 1 << 20)
        let (finished, failures) = try run(
            port: port, [EchoSession(expected: bytes, write: { try $0.send(bytes) })], timeout: timeout)
        guard finished, failures.isEmpty else {
            throw HarnessError("the session after \(scenario): finished \(finished), \(failures)")
        }
    }
}
