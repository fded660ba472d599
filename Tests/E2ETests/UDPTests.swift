// `mode udp`: flows per client address:port stick to their server, replies come back
// byte-exact from the address the client wrote to (also through 0.0.0.0 and [::] binds), flows
// expire after `timeout udp-flow`, `maxconn` caps flows, a server going down moves its
// flows, an unreachable server is observed down, reloads add and remove UDP pools, and
// systemd may pass the UDP socket.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct UDPTests {
        static func metrics(_ socket: String) throws -> String {
            try SluiceCommand.run(["-s", socket, "show", "metrics"], binary: "sluicectl").stdout
        }

        /// The value of one sample, e.g. `sluice_udp_flows_current{pool="dns"}`.
        static func value(_ metrics: String, _ sample: String) -> Double? {
            for line in metrics.split(separator: "\n") where line.hasPrefix(sample + " ") {
                return Double(line.dropFirst(sample.count + 1))
            }
            return nil
        }

        /// sluice with an admin socket and one `mode udp` pool `dns` on 127.0.0.1 and a free
        /// port; `pool` is the rest of the pool section. The admin socket is in the process's
        /// own directory, which lives as long as the process.
        static func start(_ pool: String) throws -> (SluiceProcess, socket: String, port: UInt16) {
            let dir = try TempDirectory(prefix: "sluice-udp")
            let socket = dir.path("admin.sock")
            let port = try FreePort.udp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket \(socket)
                    pool dns
                        bind 127.0.0.1:\(port)
                        mode udp
                    \(pool)
                    """, in: dir)
            return (sluice, socket, port)
        }

        @Test func flowsStickAndRepliesComeByteExactFromTheAddressWritten() throws {
            let backends = try ["a", "b"].map { try UDPEchoBackend(name: $0) }
            defer { for b in backends { b.stop() } }
            let dir = try TempDirectory(prefix: "sluice-udp")
            let socket = dir.path("admin.sock")
            let (p1, p2, p6) = (try FreePort.udp(), try FreePort.udp(host: "0.0.0.0"), try FreePort.udp(host: "::"))
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 2
                        admin-socket \(socket)
                    pool dns
                        bind 127.0.0.1:\(p1)
                        bind 0.0.0.0:\(p2)
                        bind [::]:\(p6)
                        mode udp
                        balance roundrobin
                    \(backends.map { "    server \($0.name) 127.0.0.1:\($0.port)" }.joined(separator: "\n"))
                    """)
            // Wildcard binds answer from the address written to: 127.0.0.9 (not 127.0.0.1), ::1.
            var clients: [UDPClient] = []
            for source in (2...7).map({ "127.0.0.\($0)" }) {
                clients.append(try UDPClient(source: source, to: "127.0.0.1", port: p1))
                clients.append(try UDPClient(source: source, to: "127.0.0.9", port: p2))
            }
            clients.append(try UDPClient(source: "::1", to: "::1", port: p6))
            var owners: Set<String> = []
            var sent = 0
            for (i, client) in clients.enumerated() {
                var seen: Set<String> = []
                for size in [0, 1, 512, 9000, 65000] {
                    let payload = PseudoRandom.bytes(seed: UInt64(i * 100_000 + size), count: size)
                    seen.insert(try sluice.explaining { try client.exchange(payload) })
                    sent += size
                }
                #expect(seen.count == 1, "client \(i) reached \(seen)")
                owners.formUnion(seen)
            }
            #expect(owners == ["a", "b"])
            let metrics = try Self.metrics(socket)
            #expect(metrics.contains(#"sluice_udp_flows_current{pool="dns"} 13"#), "\(metrics)")
            #expect(metrics.contains(#"sluice_sessions_current{pool="dns"} 13"#))
            #expect(metrics.contains(#"sluice_bytes_total{pool="dns",direction="in"} \#(sent)"#))
            let sessions = try SluiceCommand.run(["-s", socket, "show", "sessions", "dns"], binary: "sluicectl").stdout
            #expect(sessions.split(separator: "\n").filter { $0.contains(" dns ") }.count == 13, "\(sessions)")
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func maxconnCapsFlowsAndIdleFlowsExpire() throws {
            let backend = try UDPEchoBackend(name: "a")
            defer { backend.stop() }
            let (sluice, socket, port) = try Self.start(
                """
                    maxconn 2
                    timeout udp-flow 1s
                    server a 127.0.0.1:\(backend.port)
                """)
            let clients = try (2...4).map { try UDPClient(source: "127.0.0.\($0)", port: port) }
            #expect(try clients[0].exchange(Array("one".utf8)) == "a")
            #expect(try clients[1].exchange(Array("two".utf8)) == "a")
            try clients[2].send(Array("three".utf8))
            #expect(clients[2].receive(timeout: .milliseconds(500)) == nil, "a third flow got past maxconn 2")
            #expect(try Self.metrics(socket).contains(#"sluice_rejected_total{pool="dns",reason="maxconn"} 1"#))
            try waitUntil("idle flows to expire", lastSeen: { (try? Self.metrics(socket)) ?? "" }) {
                try Self.metrics(socket).contains(#"sluice_udp_flows_current{pool="dns"} 0"#)
            }
            #expect(try clients[2].exchange(Array("three again".utf8)) == "a")
            #expect(try Self.metrics(socket).contains(#"sluice_sessions_total{pool="dns"} 3"#))
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func aServerGoingDownMovesItsFlows() throws {
            let backends = try ["a", "b"].map { try UDPEchoBackend(name: $0) }
            defer { for b in backends { b.stop() } }
            // TCP agents the checks probe (check-port): stopping one marks its server down
            // while its UDP port still answers, so only the health change moves the flows.
            let agents = try ["agent-a", "agent-b"].map { try GreetingBackend(name: $0) }
            defer { for a in agents { a.stop() } }
            let (sluice, socket, port) = try Self.start(
                """
                    balance roundrobin
                    check tcp interval 200ms timeout 200ms rise 1 fall 1
                    server a 127.0.0.1:\(backends[0].port) check-port \(agents[0].port)
                    server b 127.0.0.1:\(backends[1].port) check-port \(agents[1].port)
                """)
            let clients = try (2...9).map { try UDPClient(source: "127.0.0.\($0)", port: port) }
            let before = try clients.map { client in try sluice.explaining { try client.exchange(Array("hello".utf8)) }
            }
            #expect(Set(before) == ["a", "b"])
            agents[1].stop()
            try waitUntil("b to be down", lastSeen: { (try? Self.metrics(socket)) ?? "" }) {
                try Self.metrics(socket).contains(#"sluice_server_up{pool="dns",server="b"} 0"#)
            }
            for (client, owner) in zip(clients, before) {
                #expect(try client.exchange(Array("again".utf8)) == "a", "a flow of \(owner) did not end on a")
            }
            let metrics = try Self.metrics(socket)
            // Moved, not new: still 8 flows, 8 in total.
            #expect(metrics.contains(#"sluice_udp_flows_current{pool="dns"} 8"#), "\(metrics)")
            #expect(metrics.contains(#"sluice_sessions_total{pool="dns"} 8"#))
            #expect(metrics.contains(#"sluice_server_sessions_current{pool="dns",server="b"} 0"#))
            #expect(try sluice.stop() == .exited(0))
        }

        /// Drain keeps a server's flows (as TCP sessions) while new clients go elsewhere;
        /// `kill sessions` ends them, and the client's next datagram opens a new flow.
        @Test func drainKeepsFlowsAndKillEndsThem() throws {
            let backends = try ["a", "b"].map { try UDPEchoBackend(name: $0) }
            defer { for b in backends { b.stop() } }
            let (sluice, socket, port) = try Self.start(
                """
                    balance hash
                \(backends.map { "    server \($0.name) 127.0.0.1:\($0.port)" }.joined(separator: "\n"))
                """)
            let clients = try (2...13).map { try UDPClient(source: "127.0.0.\($0)", port: port) }
            let owners = try clients.map { client in try sluice.explaining { try client.exchange(Array("hi".utf8)) } }
            #expect(Set(owners) == ["a", "b"])
            let ctl = { (args: [String]) in try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl") }
            #expect(try ctl(["set", "server", "dns/a", "state", "drain"]).status == .exited(0))
            for (client, owner) in zip(clients, owners) {
                #expect(try client.exchange(Array("still".utf8)) == owner, "a flow left its draining server")
            }
            let newcomer = try UDPClient(source: "127.0.0.20", port: port)
            #expect(try newcomer.exchange(Array("new".utf8)) == "b")
            #expect(try ctl(["kill", "sessions", "dns/a"]).status == .exited(0))
            let metrics = try Self.metrics(socket)
            #expect(metrics.contains(#"sluice_server_sessions_current{pool="dns",server="a"} 0"#), "\(metrics)")
            for (client, owner) in zip(clients, owners) where owner == "a" {
                #expect(try client.exchange(Array("after kill".utf8)) == "b")
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func anUnreachableServerIsObservedDown() throws {
            let live = try UDPEchoBackend(name: "a")
            defer { live.stop() }
            let dead = try UDPEchoBackend(name: "b")
            dead.stop()  // its port now answers with ICMP port unreachable
            let (sluice, socket, port) = try Self.start(
                """
                    balance roundrobin
                    observe on
                    server a 127.0.0.1:\(live.port)
                    server b 127.0.0.1:\(dead.port)
                """)
            // A datagram sent to b is lost (as UDP is); its flow ends on the ICMP error and
            // the client's retry starts a new one. After `fall` (3) errors b is down.
            for source in (2...13).map({ "127.0.0.\($0)" }) {
                let client = try UDPClient(source: source, port: port)
                var answer: String?
                for _ in 0..<4 where answer == nil {
                    answer = try? client.exchange(Array("ping".utf8), timeout: .milliseconds(300))
                }
                #expect(answer == "a", "\(source) got no answer")
            }
            let metrics = try Self.metrics(socket)
            #expect(metrics.contains(#"sluice_server_up{pool="dns",server="b"} 0"#), "\(metrics)")
            let failures = Self.value(metrics, #"sluice_server_connect_failures_total{pool="dns",server="b"}"#) ?? 0
            #expect(failures >= 3, "\(metrics)")
            #expect(sluice.logLines(containing: "udp port unreachable").count >= 1)
            #expect(try sluice.stop() == .exited(0))
        }

        /// A reload adds a UDP pool on the port number a TCP pool uses, both serve; the next
        /// reload removes it: its flows end and the port is free again.
        @Test func reloadAddsAndRemovesAUDPPool() throws {
            let udp = try UDPEchoBackend(name: "u")
            defer { udp.stop() }
            let tcp = try EchoBackend()
            defer { tcp.stop() }
            let dir = try TempDirectory(prefix: "sluice-udp")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let tcpPool = """
                global
                    workers 2
                    admin-socket \(socket)
                pool web
                    bind 127.0.0.1:\(port)
                    check none
                    server e 127.0.0.1:\(tcp.port)
                """
            let udpPool = """

                pool dns
                    bind 127.0.0.1:\(port)
                    mode udp
                    server u 127.0.0.1:\(udp.port)
                """
            let sluice = try SluiceProcess(config: tcpPool)
            let session = try TestClient(port: port)
            try (tcpPool + udpPool).write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            try sluice.waitForLog(#"msg="reloaded""#)
            let clients = try (2...5).map { try UDPClient(source: "127.0.0.\($0)", port: port) }
            for client in clients { #expect(try client.exchange(Array("over udp".utf8)) == "u") }
            try session.send("over tcp\n")
            #expect(try session.readLine() == "over tcp")

            try tcpPool.write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            try sluice.waitForLog(#"msg="reloaded""#, count: 2)
            #expect(try Self.metrics(socket).contains(#"sluice_udp_flows_current{pool="dns"}"#) == false)
            try clients[0].send(Array("gone".utf8))
            #expect(clients[0].receive(timeout: .milliseconds(300)) == nil)
            // The port is free: a UDP socket binds it.
            #expect((try? UDPEchoBackend(name: "taker", port: port))?.stop() != nil)
            try session.send("still tcp\n")
            #expect(try session.readLine() == "still tcp")
            session.close()
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func systemdPassedUDPSocket() throws {
            let backend = try UDPEchoBackend(name: "a")
            defer { backend.stop() }
            let dir = try TempDirectory(prefix: "sluice-udp-sd")
            let port = try FreePort.udp()
            let activated = try SystemdTests.Activated(
                listen: [port], names: ["dns"],
                config: """
                    global
                        admin-socket none
                    pool dns
                        bind fd:dns
                        mode udp
                        server a 127.0.0.1:\(backend.port)
                    """, directory: dir, datagram: true)
            let client = try UDPClient(source: "127.0.0.2", port: port)
            // The first datagram starts sluice (systemd-socket-activate waits for one) and is
            // then read by it from the passed socket.
            #expect(try client.exchange(Array("first".utf8), timeout: .seconds(10)) == "a", "\(activated.stderr.text)")
            #expect(try client.exchange(Array("second".utf8)) == "a")
            #expect(try activated.stop() == .exited(0), "\(activated.stderr.text)")
        }

        @Test func aStreamSocketPassedToAUDPPoolIsRefused() throws {
            let dir = try TempDirectory(prefix: "sluice-udp-sd")
            let port = try FreePort.tcp()
            let activated = try SystemdTests.Activated(
                listen: [port], names: ["dns"],
                config: """
                    global
                        admin-socket none
                    pool dns
                        bind fd:dns
                        mode udp
                        server a 127.0.0.1:53
                    """, directory: dir)
            _ = try? TestClient(port: port, timeout: .milliseconds(500))  // starts sluice
            try waitUntil("sluice to exit", lastSeen: { activated.stderr.text }) { !activated.process.isRunning }
            #expect(ExitStatus(activated.process) == .exited(1))
            #expect(
                activated.stderr.text.contains(
                    "bind fd:dns: none of the 1 socket(s) systemd passed as 'dns' is a bound UDP socket (ListenDatagram=) for this mode udp pool"
                ), "\(activated.stderr.text)")
        }
    }
}
