// Balancing scenarios: leastconn spread, smooth weighted roundrobin order, backup servers,
// and the per-session log naming pool and server.
import Testing

extension E2E {
    @Suite struct BalanceTests {
        @Test func leastconnSpreadsHeldSessionsEvenly() throws {
            let backends = try ["a", "b", "c"].map { try GreetingBackend(name: $0) }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global(workers: 2) + """
                    pool web
                        bind 127.0.0.1:\(port)
                        balance leastconn
                        check none
                    \(backends.map { "    server \($0.name) 127.0.0.1:\($0.port)" }.joined(separator: "\n"))
                    """)
            var held: [TestClient] = []
            var names: [String] = []
            for _ in 0..<9 {
                let (client, name) = try sluice.explaining { try Greetings.connect(port: port) }
                held.append(client)
                names.append(name)
            }
            #expect(Greetings.counts(names) == ["a": 3, "b": 3, "c": 3], "picks: \(names)\n\(sluice.stderr)")
            try waitUntil(
                "each backend to hold 3 connections",
                lastSeen: { "\(backends.map { "\($0.name)=\($0.currentConnections)" })" }
            ) {
                backends.allSatisfy { $0.currentConnections == 3 }
            }
            held.forEach { $0.close() }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func roundrobinFollowsSmoothWeights() throws {
            let backends = try ["a", "b", "c"].map { try GreetingBackend(name: $0) }
            let weights = ["a": 5, "b": 1, "c": 1]
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global(workers: 1) + """
                    pool web
                        bind 127.0.0.1:\(port)
                        balance roundrobin
                        check none
                    \(backends.map { "    server \($0.name) 127.0.0.1:\($0.port) weight \(weights[$0.name]!)" }.joined(separator: "\n"))
                    """)
            let names = try sluice.explaining { try (0..<14).map { _ in try Greetings.once(port: port) } }
            let expected = "a a b a c a a a a b a c a a".split(separator: " ").map(String.init)
            #expect(names == expected, "\(sluice.stderr)")
            #expect(try sluice.stop() == .exited(0))
        }

        /// With every primary `disabled` the backup takes all sessions; with p1 usable, none.
        @Test(arguments: [true, false])
        func backupServesOnlyWhileNoPrimaryIsUsable(primariesDisabled: Bool) throws {
            let p1 = try GreetingBackend(name: "p1")
            defer { p1.stop() }
            let p2 = try GreetingBackend(name: "p2")
            defer { p2.stop() }
            let backup = try GreetingBackend(name: "bk")
            defer { backup.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool db
                        bind 127.0.0.1:\(port)
                        check none
                        server p1 127.0.0.1:\(p1.port)\(primariesDisabled ? " disabled" : "")
                        server p2 127.0.0.1:\(p2.port) disabled
                        server bk 127.0.0.1:\(backup.port) backup
                    """)
            let names = try sluice.explaining { try (0..<6).map { _ in try Greetings.once(port: port) } }
            let expected = primariesDisabled ? "bk" : "p1"
            #expect(names == Array(repeating: expected, count: 6), "\(sluice.stderr)")
            #expect(p2.totalConnections == 0, "a disabled server took sessions")
            #expect(
                primariesDisabled ? p1.totalConnections == 0 : backup.totalConnections == 0,
                "\(primariesDisabled ? "disabled p1" : "the backup") took sessions")
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func sessionLogNamesPoolAndServer() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool logged
                        bind 127.0.0.1:\(port)
                        check none
                        server a 127.0.0.1:\(a.port)
                    """)
            try sluice.explaining { for _ in 0..<3 { _ = try Greetings.once(port: port) } }
            try sluice.waitForLog(#"msg="session closed""#, count: 3)
            let lines = sluice.logLines(containing: #"msg="session closed""#)
            #expect(lines.allSatisfy { $0.contains("pool=logged") && $0.contains("server=a") }, "\(lines)")
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
