// Limits: global and per-pool maxconn, retries after refused connects, idle timeout.
import Foundation
import Testing

extension E2E {
    @Suite struct LimitsTests {
        enum CapScope: String, CaseIterable, CustomTestStringConvertible {
            case pool, global
            var testDescription: String { rawValue }
        }

        @Test(arguments: CapScope.allCases)
        func maxconnClosesClientsOverTheCap(scope: CapScope) throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let port = try FreePort.tcp()
            let global = scope == .global ? TestConfig.global(workers: 2, "maxconn 2") : TestConfig.global(workers: 2)
            let sluice = try SluiceProcess(
                config: global + """
                    pool capped
                        bind 127.0.0.1:\(port)
                        check none
                    \(scope == .pool ? "    maxconn 2" : "")
                        server a 127.0.0.1:\(a.port)
                    """)
            let (first, _) = try sluice.explaining { try Greetings.connect(port: port) }
            let (second, _) = try sluice.explaining { try Greetings.connect(port: port) }
            try TestClient.expectRejected(port: port)
            #expect(a.totalConnections == 2, "the backend saw a connection over the cap\n\(sluice.stderr)")

            first.close()
            try waitUntil("the backend to see the first session end", lastSeen: { "a holds \(a.currentConnections)" }) {
                a.currentConnections == 1
            }
            // sluice frees the slot when it closes the session, which may be a moment after the
            // backend sees it: try until a client gets through, within the deadline.
            var lastAttempt = ""
            var fourth: TestClient?
            try waitUntil(
                "a new client to get through after one closed", interval: .milliseconds(20), lastSeen: { lastAttempt }
            ) {
                do {
                    // Over the cap sluice resets at once, which can reach connect() itself.
                    let client = try TestClient(port: port)
                    #expect(try client.readLine() == "a")
                    fourth = client
                    return true
                } catch {
                    lastAttempt = "\(error)"
                    return false
                }
            }
            second.close()
            fourth?.close()
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func retriesMoveOnFromARefusingServer() throws {
            let good = try GreetingBackend(name: "good")
            defer { good.stop() }
            let deadPort = try FreePort.tcp()
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool retrying
                        bind 127.0.0.1:\(port)
                        balance roundrobin
                        retries 2
                        check none
                        server bad 127.0.0.1:\(deadPort)
                        server good 127.0.0.1:\(good.port)
                    """)
            let names = try sluice.explaining { try (0..<20).map { _ in try Greetings.once(port: port) } }
            #expect(names == Array(repeating: "good", count: 20), "\(sluice.stderr)")
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func connectTimeoutMovesOnToAnotherServer() throws {
            let hole = try BlackholeBackend()
            defer { hole.stop() }
            let good = try GreetingBackend(name: "good")
            defer { good.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global(workers: 1) + """
                    pool slow
                        bind 127.0.0.1:\(port)
                        balance roundrobin
                        timeout connect 300ms
                        retries 1
                        check none
                        server hole 127.0.0.1:\(hole.port)
                        server good 127.0.0.1:\(good.port)
                    """)
            // Round robin sends the first client to the black hole: it must reach `good`
            // after the connect timeout, not hang and not fail.
            let started = ContinuousClock.now
            let name = try sluice.explaining { try Greetings.once(port: port) }
            let waited = ContinuousClock.now - started
            #expect(name == "good")
            #expect(waited >= .milliseconds(300), "answered before the connect timeout: \(waited)")
            try sluice.waitForLog("Connection timed out")
            #expect(
                sluice.logLines(containing: "connect failed").contains { $0.contains("server=hole") },
                "\(sluice.stderr)")
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func clientIsClosedWhenEveryConnectIsRefused() throws {
            let deadPort = try FreePort.tcp()
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool refused
                        bind 127.0.0.1:\(port)
                        retries 2
                        check none
                        server bad 127.0.0.1:\(deadPort)
                    """)
            try sluice.explaining { try TestClient.expectRejected(port: port) }
            #expect(sluice.isRunning)
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func idleTimeoutClosesOnlyIdleSessions() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool idle
                        bind 127.0.0.1:\(port)
                        timeout idle 300ms
                        check none
                        server e1 127.0.0.1:\(echo.port)
                    """)
            try sluice.explaining {
                let idle = try TestClient(port: port)
                try idle.send("x\n")
                #expect(try idle.readLine() == "x")
                let idleSince = ContinuousClock.now

                // The active client talks every 100 ms for 1.2 s: four times the idle timeout.
                let active = try TestClient(port: port)
                for i in 0..<12 {
                    try active.send("ping \(i)\n")
                    #expect(try active.readLine() == "ping \(i)", "\(sluice.stderr)")
                    Thread.sleep(forTimeInterval: 0.1)
                }
                // By now the idle session has been idle for 1.2 s: it must be closed already.
                idle.setTimeout(.milliseconds(500))
                do {
                    try idle.expectClosedWithoutData()
                } catch {
                    throw HarnessError(
                        "idle session still open \(ContinuousClock.now - idleSince) after its last byte (timeout idle 300ms): \(error)"
                    )
                }
                #expect(ContinuousClock.now - idleSince >= .milliseconds(250))
                try active.send("still here\n")
                #expect(try active.readLine() == "still here")
                active.close()
                idle.close()
            }
            #expect(try sluice.stop() == .exited(0))
        }

        /// Out of file descriptors (sluice under `prlimit --nofile=N`): the start-up log says
        /// how few sessions fit; clients beyond them are refused or wait in the backlog, never
        /// blamed on the server (by `observe on`, or by a health check that got no socket);
        /// freed fds serve again. Two
        /// limits of different parity: with sessions taking fds in pairs, one of them runs out
        /// at accept and the other at the server socket.
        @Test(arguments: [48, 49])
        func runningOutOfFileDescriptorsBlamesNoServer(limit: Int) throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let dir = try TempDirectory(prefix: "sluice-fds")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 1
                        admin-socket \(socket)
                    pool p
                        bind 127.0.0.1:\(port)
                        check tcp interval 100ms timeout 1s rise 1 fall 1
                        observe on
                        server e 127.0.0.1:\(echo.port)
                    """, in: dir, launcher: ["/usr/bin/prlimit", "--nofile=\(limit):\(limit)", "--"])
            #expect(
                sluice.logLines(containing: "open-files limit holds about 8 sessions, fewer than maxconn 100000").count
                    == 1)
            var echoed: [TestClient] = []
            var refused = 0
            var waiting: [TestClient] = []
            for i in 0..<30 {
                let client = try TestClient(port: port, timeout: .milliseconds(300))
                // A client refused at once may be reset before it even writes.
                let reply = (try? client.send("ping \(i)\n")) == nil ? .reset : try? client.receive()
                switch reply {
                case .bytes(let b)?:
                    #expect(b == Array("ping \(i)\n".utf8))
                    echoed.append(client)
                case .eof?, .reset?:
                    refused += 1
                    client.close()
                case nil:
                    waiting.append(client)  // still in the backlog: accepting is paused
                }
            }
            #expect(
                echoed.count >= 4 && echoed.count < 30,
                "echoed \(echoed.count), refused \(refused), waiting \(waiting.count)")
            #expect(sluice.logLines(containing: "Too many open files").count >= 1)
            for client in echoed + waiting { client.close() }
            // Once sluice has seen the closes (and drained its backlog), a client is served again.
            try waitUntil("a client served after the fds came back", timeout: .seconds(10), interval: .milliseconds(50))
            {
                guard let again = try? TestClient(port: port, timeout: .seconds(1)) else { return false }
                defer { again.close() }
                return (try? again.send("back\n")) != nil && (try? again.readLine()) == "back"
            }
            let metrics = try SluiceCommand.run(["-s", socket, "show", "metrics"], binary: "sluicectl").stdout
            #expect(metrics.contains(#"sluice_server_connect_failures_total{pool="p",server="e"} 0"#), "\(metrics)")
            #expect(metrics.contains(#"sluice_server_up{pool="p",server="e"} 1"#))
            #expect(sluice.logLines(containing: #"msg="server down""#).isEmpty, "\(sluice.stderr)")
            #expect(sluice.isRunning)
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
