// Health checks through the real daemon: a Redis failover moves new sessions to the new
// master while an old session stays open; a TCP backend that leaves and returns goes down
// and up; PostgreSQL behind `check postgres` serves psql and is marked down when stopped;
// slow start ramps a returning server's share; on-down close-sessions and all-down any.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct HealthTests {
        struct Admin {
            let dir: TempDirectory
            let socket: String
            init() throws {
                dir = try TempDirectory(prefix: "sluice-health")
                socket = dir.path("admin.sock")
            }
            func ctl(_ args: String...) throws -> String {
                try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl").stdout
            }
            /// HEALTH column of `show servers POOL` for `server`.
            func health(_ pool: String, _ server: String) throws -> String {
                try ctl("show", "servers", pool).split(separator: "\n").map {
                    $0.split(separator: " ").map(String.init)
                }
                .first { $0.count > 4 && $0[1] == server }?[3] ?? "absent"
            }
            /// Waits until `show servers` reports `server` of `pool` as `state` (up/down).
            func wait(_ pool: String, _ server: String, _ state: String, timeout: Duration = .seconds(5)) throws {
                try waitUntil(
                    "\(pool)/\(server) \(state)", timeout: timeout, lastSeen: { (try? ctl("show", "servers")) ?? "" }
                ) {
                    try health(pool, server) == state
                }
            }
        }

        @Test func redisFailoverMovesNewSessionsAndKeepsOldOnes() throws {
            let master = try RedisServer()
            defer { master.stop() }
            let replica = try RedisServer(replicaOf: master.port)
            defer { replica.stop() }
            let admin = try Admin()
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket \(admin.socket)
                    pool redis
                        bind 127.0.0.1:\(port)
                        check redis-master interval 100ms timeout 500ms rise 1 fall 2
                        server r1 127.0.0.1:\(master.port)
                        server r2 127.0.0.1:\(replica.port)
                    """)
            try admin.wait("redis", "r2", "down")
            let old = try TestClient(port: port)
            #expect(try redisServerPort(old) == master.port)

            try replica.cli("replicaof", "no", "one")
            try master.cli("replicaof", "127.0.0.1", "\(replica.port)")
            let promoted = ContinuousClock.now
            var last: UInt16 = 0
            // interval × fall = 200 ms, plus a generous margin for a loaded machine.
            try waitUntil(
                "new sessions to reach the new master", timeout: .seconds(5),
                lastSeen: { "port \(last)\n\(sluice.stderr)" }
            ) {
                let client = try TestClient(port: port)
                defer { client.close() }
                last = try redisServerPort(client)
                return last == replica.port
            }
            #expect(ContinuousClock.now - promoted < .seconds(5))
            // The old session, on the old master (now a replica), is still open and answers.
            try old.send("PING\r\n")
            #expect(try old.readLine() == "+PONG\r")
            old.close()
            // r1, now a replica, goes down after `fall` checks (r2 started down: no transition to log).
            try waitUntil("r1 down with its role in the log", lastSeen: { sluice.stderr }) {
                sluice.stderr.contains("role:slave") || sluice.stderr.contains("role:replica")
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func tcpCheckTakesALeavingServerDownAndBackUp() throws {
            let admin = try Admin()
            let port = try FreePort.tcp()
            var backend: GreetingBackend? = try GreetingBackend(name: "a")
            let backendPort = backend!.port
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket \(admin.socket)
                    pool p
                        bind 127.0.0.1:\(port)
                        check tcp interval 100ms timeout 300ms rise 2 fall 2
                        server a 127.0.0.1:\(backendPort)
                    """)
            try admin.wait("p", "a", "up")
            backend?.stop()
            backend = nil
            try admin.wait("p", "a", "down")
            #expect(try admin.ctl("show", "servers", "p").contains("connect refused"))
            try TestClient.expectRejected(port: port)  // all-down reject
            let back = try GreetingBackend(name: "a", port: backendPort)
            defer { back.stop() }
            try admin.wait("p", "a", "up")
            #expect(try Greetings.once(port: port) == "a")
            try sluice.waitForLog(#"msg="server down""#)
            try sluice.waitForLog(#"msg="server up""#)
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func slowStartRampsAReturningServer() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let admin = try Admin()
            let port = try FreePort.tcp()
            let bPort = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 1
                        admin-socket \(admin.socket)
                    pool p
                        bind 127.0.0.1:\(port)
                        balance roundrobin
                        check tcp interval 100ms timeout 300ms rise 1 fall 1
                        slowstart 4s
                        server a 127.0.0.1:\(a.port)
                        server b 127.0.0.1:\(bPort)
                    """)
            try admin.wait("p", "b", "down")
            let b = try GreetingBackend(name: "b", port: bPort)
            defer { b.stop() }
            try admin.wait("p", "b", "up")
            // Early in the ramp b's effective weight is small: it gets far fewer than half.
            let early = Greetings.counts(try (0..<20).map { _ in try Greetings.once(port: port) })
            #expect((early["b"] ?? 0) <= 6, "early in the ramp: \(early)")
            try waitUntil(
                "the ramp to finish", timeout: .seconds(10), lastSeen: { (try? admin.ctl("show", "servers")) ?? "" }
            ) {
                try admin.ctl("show", "servers", "p").split(separator: "\n")
                    .first { $0.contains(" b ") }?.split(separator: " ").map(String.init)[6] == "100"
            }
            let late = Greetings.counts(try (0..<20).map { _ in try Greetings.once(port: port) })
            #expect(late["b"] == 10, "after the ramp: \(late)")
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func onDownCloseSessionsAndAllDownAny() throws {
            let admin = try Admin()
            let port = try FreePort.tcp()
            var echo: EchoBackend? = try EchoBackend(name: "e")
            let echoPort = echo!.port
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket \(admin.socket)
                    pool p
                        bind 127.0.0.1:\(port)
                        check tcp interval 100ms timeout 300ms rise 1 fall 1
                        on-down close-sessions
                        all-down any
                        server e 127.0.0.1:\(echoPort)
                    """)
            try admin.wait("p", "e", "up")
            let session = try TestClient(port: port)
            try session.send("hi\n")
            #expect(try session.readLine() == "hi")
            // The backend's listener goes away but the open connection stays: the check fails,
            // and on-down close-sessions cuts the session from the balancer's side.
            echo?.stopListening()
            try admin.wait("p", "e", "down")
            let end = try session.receive()
            #expect(end == .reset || end == .eof, "\(end)")
            // all-down any: a new client is still tried on the down server (and refused there),
            // so sluice counts a connect failure instead of rejecting with no-server.
            try TestClient.expectRejected(port: port)
            try waitUntil("the connect attempt on the down server", lastSeen: { sluice.stderr }) {
                sluice.stderr.contains(#"msg="connect failed""#)
            }
            echo?.stop()
            echo = nil
            #expect(try sluice.stop() == .exited(0))
        }
    }
}

extension E2E.HealthTests {
    @Test func postgresBehindCheckPostgres() throws {
        let bin = "/usr/lib/postgresql/15/bin"
        guard FileManager.default.isExecutableFile(atPath: "\(bin)/initdb") else {
            throw HarnessError("PostgreSQL 15 is missing: `make test` installs postgresql")
        }
        // PostgreSQL refuses root: a 0755 temp dir, the data dir owned by postgres (TESTING.md).
        let dir = try TempDirectory(prefix: "sluice-pg")
        chmod(dir.url.path, 0o755)
        let data = dir.path("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let (chownStatus, chownOut) = try ChildProcess.run("/bin/chown", ["postgres:postgres", data])
        #expect(chownStatus == 0, "\(chownOut)")
        let pgPort = try FreePort.tcp()
        // setpriv execs in place (su forks and waits, and its exit went unseen here).
        func asPostgres(_ command: String) throws -> (Int32, String) {
            try ChildProcess.run(
                "/usr/bin/setpriv",
                ["--reuid=postgres", "--regid=postgres", "--init-groups", "/bin/sh", "-c", command],
                timeout: .seconds(90))
        }
        let (initStatus, initOut) = try asPostgres("\(bin)/initdb -D \(data) -A trust")
        try #require(initStatus == 0, "\(initOut)")
        let (startStatus, startOut) = try asPostgres(
            "\(bin)/pg_ctl -D \(data) -o '-p \(pgPort) -k \(data) -c listen_addresses=127.0.0.1' -l \(data)/log -w start"
        )
        try #require(startStatus == 0, "\(startOut)")
        defer { _ = try? asPostgres("\(bin)/pg_ctl -D \(data) -m immediate stop") }

        let admin = try Admin()
        let port = try FreePort.tcp()
        let sluice = try SluiceProcess(
            config: """
                global
                    admin-socket \(admin.socket)
                pool pg
                    bind 127.0.0.1:\(port)
                    check postgres interval 200ms timeout 1s rise 1 fall 2
                    server pg1 127.0.0.1:\(pgPort)
                """)
        try admin.wait("pg", "pg1", "up")
        let (psqlStatus, psqlOut) = try ChildProcess.run(
            "/usr/bin/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-tAc", "select 40 + 2"])
        #expect(psqlStatus == 0 && psqlOut.trimmingCharacters(in: .whitespacesAndNewlines) == "42", "\(psqlOut)")

        let (stopStatus, stopOut) = try asPostgres("\(bin)/pg_ctl -D \(data) -m immediate stop")
        #expect(stopStatus == 0, "\(stopOut)")
        try admin.wait("pg", "pg1", "down")
        #expect(try sluice.stop() == .exited(0))
    }
}
