// An admin storm during traffic: four echo sessions stream byte-exact through server `a`
// while four threads send thousands of admin commands, each on its own short connection
// (reads, errors, a pipelined pair, weight changes), and a fifth drains and re-enables server
// `b`, which carries none of them. Every reply must be well-formed and agree with what is
// known to be true (four sessions, all on `a`, the same ids throughout); the streams stay
// exact; afterwards no admin connection or session is left behind.
import Foundation
import Glibc
import Synchronization
import Testing
import SluiceTestSupport

extension E2E.FloodTests {
    /// What every reply during the storm must agree with.
    struct Truth: Sendable {
        let pid: Int
        let sessions: Int
        let ids: Set<Int>
        let help: String
    }

    /// `KEY VALUE` lines of a plain `show info`.
    static func fields(_ reply: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in reply.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return fields
    }

    /// Command `n` of a driver and the check of its reply; throws with the reply when wrong.
    static func command(_ n: Int, socket: String, truth: Truth) throws {
        func expect(_ ok: Bool, _ line: String, _ reply: Any) throws {
            guard ok else { throw HarnessError("\(line): unexpected reply: \(String(describing: reply).prefix(400))") }
        }
        switch n % 10 {
        case 0:
            let reply = try FloodRig.admin(socket, "show info")
            let f = fields(reply)
            try expect(
                reply.hasPrefix("version ") && f["pid"] == "\(truth.pid)" && f["workers"] == "2"
                    && f["sessions_current"] == "\(truth.sessions)", "show info", reply)
        case 1:
            let info = try FloodRig.info(socket)
            try expect(
                info["pid"] as? Int == truth.pid && info["sessions_current"] as? Int == truth.sessions,
                "show info json", info)
        case 2:
            let rows = try FloodRig.adminJSON(socket, "show servers bulk") as? [[String: Any]] ?? []
            let byName = Dictionary(rows.map { ($0["name"] as? String ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
            try expect(
                rows.count == 2 && byName["a"]?["sessions_current"] as? Int == truth.sessions
                    && byName["a"]?["state"] as? String == "ready" && byName["b"]?["sessions_current"] as? Int == 0
                    && ["ready", "drain"].contains(byName["b"]?["state"] as? String ?? ""), "show servers bulk json",
                rows)
        case 3:
            let rows = try FloodRig.sessions(socket)
            try expect(
                Set(rows.compactMap { $0["id"] as? Int }) == truth.ids
                    && rows.allSatisfy { $0["pool"] as? String == "bulk" && $0["server"] as? String == "a" },
                "show sessions json", rows)
        case 4:
            let reply = try FloodRig.admin(socket, "show pools")
            let row =
                reply.split(separator: "\n").first { $0.hasPrefix("bulk ") }?.split(separator: " ").map(String.init)
                ?? []
            try expect(
                reply.hasPrefix("POOL ") && row.count >= 8 && row[1] == "tcp" && row[5] == "\(truth.sessions)",
                "show pools", reply)
        case 5:
            let reply = try FloodRig.admin(socket, "show metrics")
            try expect(
                FloodRig.value(#"sluice_sessions_current{pool="bulk"}"#, in: reply) == Double(truth.sessions)
                    && reply.hasSuffix("\n"), "show metrics", reply.prefix(300))
        case 6:
            let reply = try FloodRig.admin(socket, "help")
            try expect(reply == truth.help, "help", reply)
        case 7:
            // Not a command (the metrics are `show metrics`): one ERR line.
            let reply = try FloodRig.admin(socket, "stats")
            try expect(reply.hasPrefix("ERR ") && reply.filter { $0 == "\n" }.count == 1, "stats", reply)
        case 8:
            // One command per connection: a second line sent with the first is not answered.
            let reply = try UnixClient.exchange(socket, Array("show info json\nshow pools\n".utf8))
            let info = try? JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any]
            try expect(info?["sessions_current"] as? Int == truth.sessions, "show info json + show pools", reply)
        default:
            let reply = try FloodRig.admin(socket, "set server bulk/b weight \(1 + n % 100)")
            try expect(reply == "OK\n", "set server bulk/b weight", reply)
        }
    }

    @Test func aThousandAdminCommandsASecondDuringTraffic() throws {
        let (a, b) = (try EchoBackend(name: "a"), try EchoBackend(name: "b"))
        defer { a.stop() }
        defer { b.stop() }
        let port = try FreePort.tcp()
        let rig = try FloodRig(
            pools: """
                pool bulk
                    bind 127.0.0.1:\(port)
                    check none
                    server a 127.0.0.1:\(a.port)
                    server b 127.0.0.1:\(b.port) disabled
                """, prefix: "sluice-admin-storm")
        let (sluice, socket) = (rig.sluice, rig.socket)
        let streams = try (0..<4).map { try StreamingEcho(port: port, seed: UInt64(31 + $0), pause: .milliseconds(20)) }
        var rows: [[String: Any]] = []
        try waitUntil("the four streams in show sessions", lastSeen: { "\(rows)" }) {
            rows = try FloodRig.sessions(socket)
            return rows.count == 4 && streams.allSatisfy { $0.received > 0 }
        }
        // From here on `b` is only ever drained or ready (it starts in maint).
        #expect(try rig.admin("set server bulk/b state drain") == "OK\n")
        let truth = Truth(
            pid: Int(sluice.pid), sessions: 4, ids: Set(rows.compactMap { $0["id"] as? Int }),
            help: try rig.admin("help"))

        let (drivers, perDriver) = (4, 1500)
        let failures = Failures()
        let storm = ThreadGroup()
        let stormDone = Atomic<Int>(0)
        let toggles = Atomic<Int>(0)
        let started = ContinuousClock.now
        for d in 0..<drivers {
            storm.spawn("admin-driver-\(d)", failures: failures) {
                defer { stormDone.add(1, ordering: .releasing) }
                for n in 0..<perDriver {
                    guard failures.isEmpty else { return }
                    try Self.command(d * 7 + n, socket: socket, truth: truth)
                }
            }
        }
        // The operator drains `b` and brings it back; each change shows in the next look.
        storm.spawn("admin-toggler", failures: failures) {
            while stormDone.load(ordering: .acquiring) < drivers && failures.isEmpty {
                for state in ["drain", "ready"] {
                    let set = try FloodRig.admin(socket, "set server bulk/b state \(state)")
                    let rows = try FloodRig.adminJSON(socket, "show servers bulk") as? [[String: Any]] ?? []
                    let seen = rows.first { $0["name"] as? String == "b" }?["state"] as? String
                    guard set == "OK\n", seen == state else {
                        throw HarnessError("set bulk/b \(state): \(set), then show servers: \(rows)")
                    }
                }
                guard try FloodRig.admin(socket, "kill sessions bulk/b") == "OK\n" else {
                    throw HarnessError("kill sessions bulk/b")
                }
                toggles.add(1, ordering: .relaxed)
            }
        }
        try storm.join("the admin storm", timeout: .seconds(100))
        let stormTime = ContinuousClock.now - started
        try sluice.explaining { if !failures.isEmpty { throw HarnessError("\(failures)") } }
        let commands = drivers * perDriver + 5 * toggles.load(ordering: .relaxed)
        let rate = Int(Double(commands) / stormTime.seconds)

        // The streams went through it byte-exact; nothing of the storm is left.
        let bytes = streams.map(\.sent).reduce(0, +)
        try sluice.explaining { for stream in streams { try stream.finish() } }
        try sluice.explaining {
            try rig.waitForNoSession("the admin storm")
            // Four sessions, each direction with a pipe in flight at most, given back to the pools.
            try rig.waitForBaselineFDs("the admin storm", extraPipes: 16)
            try rig.expectByteExactSession(port: port, "the admin storm")
        }
        print(
            """
            FloodTests admin: \(commands) admin commands in \(stormTime) (\(rate)/s) over 4 drivers + a toggler \
            (\(toggles.load(ordering: .relaxed)) drain/ready rounds); \(bytes >> 20) MiB streamed each way, byte-exact; \
            fds \(rig.baseline) -> \(try FDTable(pid: sluice.pid))
            """)
        #expect(try sluice.stop() == .exited(0))
    }
}
