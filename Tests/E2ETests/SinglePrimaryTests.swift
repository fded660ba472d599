// `single-primary on` through the real daemon. Redis split brain: two masters pass
// `check redis-master`; with no history the one whose master_repl_offset is ahead (it has a
// replica and a write) takes every new session although it is second in the file; the
// conflict is logged, shown by `show pools` and counted by sluice_pool_primaries; when that
// primary stops, sessions move to the other. Patroni-like HTTP agents: config order decides
// with no offsets, the primary is kept when the old one passes again, and reload turns
// single-primary on (held sessions stay) and off.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct SinglePrimaryTests {
        typealias Admin = E2E.HealthTests.Admin

        /// Columns of `show pools` for `pool`: PRIMARIES is [8], PRIMARY is [9].
        static func poolRow(_ admin: Admin, _ pool: String) throws -> [String] {
            try admin.ctl("show", "pools").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                .first { $0.first == pool } ?? []
        }

        /// PRIMARIES and PRIMARY of `pool`.
        static func primaries(_ admin: Admin, _ pool: String) throws -> (count: String, primary: String) {
            let row = try poolRow(admin, pool)
            return row.count >= 10 ? (row[8], row[9]) : ("?", "?")
        }

        /// EWEIGHT and LAST_CHECK (the rest of the row) of `server` in `show servers POOL`.
        static func serverRow(
            _ admin: Admin, _ pool: String, _ server: String
        ) throws -> (eweight: String, lastCheck: String) {
            let row =
                try admin.ctl("show", "servers", pool).split(separator: "\n").map {
                    $0.split(separator: " ").map(String.init)
                }
                .first { $0.count > 13 && $0[1] == server } ?? []
            return row.isEmpty ? ("?", "?") : (row[6], row[13...].joined(separator: " "))
        }

        static func waitPrimaries(
            _ admin: Admin, _ pool: String, count: String, primary: String, _ sluice: SluiceProcess
        ) throws {
            try waitUntil(
                "\(pool): \(count) passing, primary \(primary)", timeout: .seconds(10),
                lastSeen: { "\((try? admin.ctl("show", "pools")) ?? "")\n\(sluice.stderr)" }
            ) {
                let now = try primaries(admin, pool)
                return now.count == count && now.primary == primary
            }
        }

        /// `master_repl_offset` of a redis-server, asked directly.
        static func replicationOffset(_ redis: RedisServer) throws -> UInt64? {
            try redis.cli("info", "replication").split(whereSeparator: \.isNewline)
                .first { $0.hasPrefix("master_repl_offset:") }
                .flatMap { UInt64($0.dropFirst("master_repl_offset:".count).trimmingCharacters(in: .whitespaces)) }
        }

        @Test func redisSplitBrainKeepsOneMasterTheOneAhead() throws {
            // r1: a lone master, first in the file; its offset stays 0 (no replica, no backlog).
            let lone = try RedisServer()
            defer { lone.stop() }
            // r2: a master with a replica and a write, so its offset is ahead.
            let ahead = try RedisServer()
            defer { ahead.stop() }
            let replica = try RedisServer(replicaOf: ahead.port)
            defer { replica.stop() }
            var offsets: (UInt64?, UInt64?) = (nil, nil)
            try waitUntil("r2's replication offset to move ahead", timeout: .seconds(10), lastSeen: { "\(offsets)" }) {
                try ahead.cli("set", "written", "yes")
                offsets = (try Self.replicationOffset(lone), try Self.replicationOffset(ahead))
                return (offsets.1 ?? 0) > 0
            }
            #expect(offsets.0 == 0, "a lone master's offset: \(offsets)")

            let admin = try Admin()
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket \(admin.socket)
                    pool redis
                        bind 127.0.0.1:\(port)
                        check redis-master interval 100ms timeout 1s rise 1 fall 2
                        single-primary on
                        server r1 127.0.0.1:\(lone.port)
                        server r2 127.0.0.1:\(ahead.port)
                    """)
            try sluice.explaining {
                try Self.waitPrimaries(admin, "redis", count: "2", primary: "r2", sluice)
                for _ in 0..<12 {
                    let client = try TestClient(port: port)
                    defer { client.close() }
                    #expect(try redisServerPort(client) == ahead.port)
                }
                try sluice.waitForLog(#"pool=redis server=r2 offset="#)
                #expect(sluice.logLines(containing: #"msg="primary chosen""#).count == 1)
                try sluice.waitForLog(
                    #"pool=redis servers=r1,r2 primary=r2 msg="more than one server passes the role check"#)
                #expect(try admin.ctl("show", "metrics").contains("sluice_pool_primaries{pool=\"redis\"} 2\n"))
                #expect(try Self.serverRow(admin, "redis", "r2") == ("100", "ok (primary)"))
                #expect(try Self.serverRow(admin, "redis", "r1") == ("0", "ok (standby: single-primary)"))
                let json = try admin.ctl("--json", "show", "pools")
                #expect(json.contains(#""primaries":2,"single_primary":true,"primary":"r2""#), "\(json)")

                // The primary stops: after `fall` failed checks, new sessions go to r1.
                ahead.stop()
                try Self.waitPrimaries(admin, "redis", count: "1", primary: "r1", sluice)
                for _ in 0..<6 {
                    let client = try TestClient(port: port)
                    defer { client.close() }
                    #expect(try redisServerPort(client) == lone.port)
                }
                try sluice.waitForLog(#"pool=redis server=r1 previous=r2 offset=0 msg="primary changed""#)
                try sluice.waitForLog(#"pool=redis servers=r1 msg="role check conflict over""#)
                #expect(try admin.ctl("show", "metrics").contains("sluice_pool_primaries{pool=\"redis\"} 1\n"))
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func httpAgentsConfigOrderKeepPreviousAndReload() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let b = try GreetingBackend(name: "b")
            defer { b.stop() }
            let agentA = try RoleAgent(primary: true)
            defer { agentA.stop() }
            let agentB = try RoleAgent(primary: true)
            defer { agentB.stop() }
            let admin = try Admin()
            let port = try FreePort.tcp()
            func config(singlePrimary: String) -> String {
                """
                global
                    workers 2
                    admin-socket \(admin.socket)
                pool pg
                    bind 127.0.0.1:\(port)
                    balance roundrobin
                    check http /primary interval 100ms timeout 1s rise 1 fall 1
                    single-primary \(singlePrimary)
                    server a 127.0.0.1:\(a.port) check-port \(agentA.port)
                    server b 127.0.0.1:\(b.port) check-port \(agentB.port)
                """
            }
            let sluice = try SluiceProcess(config: config(singlePrimary: "off"))
            func reload(_ singlePrimary: String) throws {
                try config(singlePrimary: singlePrimary).write(
                    toFile: sluice.configPath, atomically: true, encoding: .utf8)
                #expect(try admin.ctl("reload") == "OK\n")
            }
            func names(_ n: Int) throws -> Set<String> { Set(try (0..<n).map { _ in try Greetings.once(port: port) }) }
            try sluice.explaining {
                try admin.wait("pg", "a", "up")
                try admin.wait("pg", "b", "up")
                // single-primary off: both take sessions; the count is shown all the same.
                try Self.waitPrimaries(admin, "pg", count: "2", primary: "-", sluice)
                var held: TestClient?
                try waitUntil("a session on b") {
                    let (client, name) = try Greetings.connect(port: port)
                    if name == "b" { held = client } else { client.close() }
                    return held != nil
                }
                defer { held?.close() }

                // On by reload: with no offsets, config order (a); b's session stays open.
                try reload("on")
                try Self.waitPrimaries(admin, "pg", count: "2", primary: "a", sluice)
                #expect(try names(10) == ["a"])
                #expect(b.currentConnections == 1, "the session held on b was closed")
                #expect(try Self.serverRow(admin, "pg", "b").lastCheck == "ok (standby: single-primary)")
                try sluice.waitForLog(#"pool=pg servers=a,b primary=a msg="more than one server passes the role check"#)

                // a stops being primary: b takes over.
                agentA.set(primary: false)
                try Self.waitPrimaries(admin, "pg", count: "1", primary: "b", sluice)
                #expect(try names(6) == ["b"])
                try sluice.waitForLog(#"pool=pg server=b previous=a offset=unknown msg="primary changed""#)

                // a passes again: a conflict, and b, the primary before, keeps new sessions.
                agentA.set(primary: true)
                try Self.waitPrimaries(admin, "pg", count: "2", primary: "b", sluice)
                #expect(try names(6) == ["b"])
                try sluice.waitForLog(#"pool=pg servers=a,b primary=b msg="more than one server passes the role check"#)

                // Off by reload: both take sessions again.
                try reload("off")
                try Self.waitPrimaries(admin, "pg", count: "2", primary: "-", sluice)
                try sluice.waitForLog(#"pool=pg msg="single-primary off"#)
                #expect(try names(8) == ["a", "b"])
            }
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
