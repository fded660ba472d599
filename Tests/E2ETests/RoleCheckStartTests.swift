// Role-checked pools before their first results: with a real Redis master and replica behind a
// socket-activated sluice (clients wait in the backlog before sluice even runs), no session of
// the very first ones reaches the replica and no write gets READONLY. With Patroni-like agents
// whose primary answers late: clients wait unread in the queue (`sluice_queue_current`), the
// replica that answered "not primary" gets none, and they all go to the primary once it
// answers; the same after a reload turns a `check tcp` pool into `check http /primary`.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct RoleCheckStartTests {
        typealias Admin = E2E.HealthTests.Admin

        static func metric(_ admin: Admin, _ name: String) throws -> String {
            metric(in: try admin.ctl("show", "metrics"), name)
        }

        static func metric(in exposition: String, _ name: String) -> String {
            exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                .map { String($0.dropFirst(name.count + 1)) } ?? "absent"
        }

        @Test func redisMasterCheckSendsNoClientToTheReplicaFromTheFirstConnection() throws {
            let master = try RedisServer()
            defer { master.stop() }
            let replica = try RedisServer(replicaOf: master.port)
            defer { replica.stop() }
            let admin = try Admin()
            let port = try FreePort.tcp()
            let dir = try TempDirectory(prefix: "sluice-rolecheck")
            // The replica first: roundrobin would give it the first client of each worker.
            // Its checks (default fall 3, every 2s) would keep it up for seconds on old code.
            let activated = try E2E.SystemdTests.Activated(
                listen: [port], names: ["redis"],
                config: """
                    global
                        workers 2
                        admin-socket \(admin.socket)
                    pool redis
                        bind fd:redis
                        balance roundrobin
                        check redis-master interval 2s timeout 1s
                        server replica 127.0.0.1:\(replica.port)
                        server master 127.0.0.1:\(master.port)
                    """, directory: dir)
            // Connected while sluice starts (the first connection above started it): they wait
            // in the listener's backlog, then in sluice's queue until the first results.
            let clients = try (0..<8).map { _ in try TestClient(port: port) }
            for (i, client) in clients.enumerated() {
                #expect(try redisServerPort(client) == master.port, "client \(i)\n\(activated.stderr.text)")
                try client.send("SET startup:\(i) written\r\n")
                #expect(try client.readLine() == "+OK\r", "client \(i)")
                client.close()
            }
            for i in 0..<4 {
                let client = try TestClient(port: port)
                defer { client.close() }
                #expect(try redisServerPort(client) == master.port, "client \(8 + i)")
            }
            // The admin socket without sluicectl: Foundation's Process stalls while the
            // socket-activated sluice runs (systemd-socket-activate closes the socket Foundation
            // watches its child with, so Foundation waits for it in a blocking wait4).
            let metrics = try UnixClient.exchange(admin.socket, Array("show metrics\n".utf8))
            #expect(
                Self.metric(in: metrics, #"sluice_server_sessions_total{pool="redis",server="replica"}"#) == "0",
                "\(metrics)")
            #expect(Self.metric(in: metrics, #"sluice_server_sessions_total{pool="redis",server="master"}"#) != "0")
            #expect(Self.metric(in: metrics, #"sluice_rejected_total{pool="redis",reason="no-server"}"#) == "0")
            #expect(Self.metric(in: metrics, #"sluice_server_up{pool="redis",server="replica"}"#) == "0")
            let status = try activated.stop()
            #expect(status == .exited(0), "\(status)\n\(activated.stderr.text.suffix(2000))")
        }

        /// Backend `a` (a replica: its agent answers 503) and `b` (the primary, whose agent
        /// holds its first answer until the test releases it).
        struct Agents {
            let a: GreetingBackend
            let b: GreetingBackend
            let agentA: RoleAgent
            let agentB: RoleAgent

            init(primaryHeld: Bool) throws {
                a = try GreetingBackend(name: "a")
                b = try GreetingBackend(name: "b")
                agentA = try RoleAgent(primary: false)
                agentB = try RoleAgent(primary: true, held: primaryHeld)
            }

            func stop() {
                for backend in [a, b] { backend.stop() }
                for agent in [agentA, agentB] {
                    agent.release()
                    agent.stop()
                }
            }

            /// A pool whose checks go to the agents (`check-port`); the check's timeout and
            /// the queue's are far beyond the test's own waits.
            func config(_ admin: Admin, port: UInt16, check: String) -> String {
                """
                global
                    workers 2
                    admin-socket \(admin.socket)
                pool pg
                    bind 127.0.0.1:\(port)
                    balance roundrobin
                    timeout queue 60s
                    \(check)
                    server a 127.0.0.1:\(a.port) check-port \(agentA.port)
                    server b 127.0.0.1:\(b.port) check-port \(agentB.port)
                """
            }
        }

        /// Waits until `count` clients wait in pg's queue, the replica's agent has answered
        /// and the clients still wait; then releases the primary's answer and expects every
        /// client on b.
        static func expectQueuedThenServedByB(_ clients: [TestClient], _ agents: Agents, _ admin: Admin) throws {
            let queued = #"sluice_queue_current{pool="pg"}"#
            try waitUntil("\(clients.count) clients queued", lastSeen: { (try? admin.ctl("show", "metrics")) ?? "" }) {
                try metric(admin, queued) == "\(clients.count)"
            }
            // The replica said "not primary": the waiters were woken, found no server and
            // still b to wait for, so they wait on.
            try waitUntil("a's check result", lastSeen: { (try? admin.ctl("show", "servers")) ?? "" }) {
                try admin.ctl("show", "servers", "pg").contains("status 503")
            }
            try waitUntil(
                "\(clients.count) clients queued again", lastSeen: { (try? admin.ctl("show", "metrics")) ?? "" }
            ) {
                try metric(admin, queued) == "\(clients.count)"
            }
            agents.agentB.release()
            for (i, client) in clients.enumerated() { #expect(try client.readLine() == "b", "client \(i)") }
            #expect(try metric(admin, queued) == "0")
        }

        @Test func httpRoleCheckQueuesClientsUntilThePrimaryAnswers() throws {
            let agents = try Agents(primaryHeld: true)
            defer { agents.stop() }
            let admin = try Admin()
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: agents.config(admin, port: port, check: "check http /primary interval 30s timeout 30s"))
            try sluice.explaining {
                let clients = try (0..<4).map { _ in try TestClient(port: port) }
                defer { for client in clients { client.close() } }
                try Self.expectQueuedThenServedByB(clients, agents, admin)
                #expect(Set(try (0..<4).map { _ in try Greetings.once(port: port) }) == ["b"])
                #expect(agents.a.totalConnections == 0)
                #expect(try Self.metric(admin, #"sluice_rejected_total{pool="pg",reason="no-server"}"#) == "0")
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func reloadIntoARoleCheckSendsNoNewClientToTheReplica() throws {
            let agents = try Agents(primaryHeld: false)
            defer { agents.stop() }
            let admin = try Admin()
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: agents.config(admin, port: port, check: "check tcp interval 100ms timeout 1s rise 1 fall 1"))
            try sluice.explaining {
                // check tcp: both up, both serve.
                try admin.wait("pg", "a", "up")
                try admin.wait("pg", "b", "up")
                #expect(Set(try (0..<4).map { _ in try Greetings.once(port: port) }) == ["a", "b"])
                let before = agents.a.totalConnections

                agents.agentB.hold()
                try agents.config(admin, port: port, check: "check http /primary interval 30s timeout 30s")
                    .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
                #expect(try admin.ctl("reload") == "OK\n")
                let clients = try (0..<3).map { _ in try TestClient(port: port) }
                defer { for client in clients { client.close() } }
                try Self.expectQueuedThenServedByB(clients, agents, admin)
                #expect(Set(try (0..<4).map { _ in try Greetings.once(port: port) }) == ["b"])
                #expect(agents.a.totalConnections == before, "a took a new session after the reload")
            }
            #expect(try sluice.stop() == .exited(0))
        }
    }
}

extension E2E.RoleCheckStartTests {
    /// The only server still awaited goes to `maint` (or is deleted): nothing is left to wait
    /// for, so the queued clients are refused at once instead of at `timeout queue` (60 s here).
    @Test(arguments: [["set", "server", "pg/b", "state", "maint"], ["del", "server", "pg/b"]])
    func waitersLeaveWhenTheAwaitedServerIsTakenOut(command: [String]) throws {
        let agents = try Agents(primaryHeld: true)
        defer { agents.stop() }
        let admin = try Admin()
        let port = try FreePort.tcp()
        let sluice = try SluiceProcess(
            config: agents.config(admin, port: port, check: "check http /primary interval 30s timeout 30s"))
        try sluice.explaining {
            let clients = try (0..<3).map { _ in try TestClient(port: port, timeout: .seconds(5)) }
            defer { for client in clients { client.close() } }
            let queued = #"sluice_queue_current{pool="pg"}"#
            try waitUntil("a's check result", lastSeen: { (try? admin.ctl("show", "servers")) ?? "" }) {
                try admin.ctl("show", "servers", "pg").contains("status 503")
            }
            try waitUntil("3 clients queued", lastSeen: { (try? admin.ctl("show", "metrics")) ?? "" }) {
                try Self.metric(admin, queued) == "3"
            }
            #expect(try SluiceCommand.run(["-s", admin.socket] + command, binary: "sluicectl").stdout == "OK\n")
            for (i, client) in clients.enumerated() {
                let end = try client.receive()
                #expect(end == .reset || end == .eof, "client \(i): \(end)")
            }
            #expect(try Self.metric(admin, queued) == "0")
            #expect(try Self.metric(admin, #"sluice_rejected_total{pool="pg",reason="no-server"}"#) == "3")
            agents.agentB.release()
        }
        #expect(try sluice.stop() == .exited(0))
    }
}
