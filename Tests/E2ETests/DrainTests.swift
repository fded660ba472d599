// Server lifecycle through the admin socket (SPEC "Server states"): drain and delete stop new
// sessions at once while running ones keep flowing byte-exact; `timeout drain` closes what is
// left; added servers take traffic; weights shift round robin; kill closes sessions now.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct DrainTests {
        /// A sluice with an admin socket in front of `servers` (name, port) in pool `p`.
        struct Rig {
            let sockets: TempDirectory
            let socket: String
            let port: UInt16
            let sluice: SluiceProcess

            init(servers: [(String, UInt16)], extra: String = "", workers: Int = 1) throws {
                sockets = try TempDirectory(prefix: "sluice-drain")
                socket = sockets.path("admin.sock")
                port = try FreePort.tcp()
                sluice = try SluiceProcess(
                    config: """
                        global
                            workers \(workers)
                            admin-socket \(socket)
                            log-sessions on
                        pool p
                            bind 127.0.0.1:\(port)
                            balance roundrobin
                            check none
                        \(extra)
                        \(servers.map { "    server \($0.0) 127.0.0.1:\($0.1)" }.joined(separator: "\n"))
                        """)
            }

            @discardableResult
            func ctl(_ args: String...) throws -> String {
                let result = try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl")
                guard result.status == .exited(0) else { throw HarnessError("sluicectl \(args): \(result)") }
                return result.stdout
            }

            /// The `show servers p` row of `name`, split in cells; nil when not listed.
            func serverRow(_ name: String) throws -> [String]? {
                try ctl("show", "servers", "p").split(separator: "\n")
                    .map { $0.split(separator: " ").map(String.init) }
                    .first { $0.count > 2 && $0[1] == name }
            }
        }

        /// Sends `rounds` chunks on an open echo session and checks every byte comes back.
        static func exchange(_ client: TestClient, rounds: Int, seed: UInt64) throws {
            for round in 0..<rounds {
                let chunk = PseudoRandom.bytes(seed: seed &+ UInt64(round), count: 4096 + round)
                try client.send(chunk)
                var echoed: [UInt8] = []
                while echoed.count < chunk.count {
                    guard case .bytes(let more) = try client.receive() else {
                        throw HarnessError("session ended early")
                    }
                    echoed += more
                }
                #expect(echoed == chunk)
            }
        }

        @Test func drainAndDeleteKeepRunningSessionsWhileNewOnesMoveOn() throws {
            let a = try EchoBackend(name: "a")
            defer { a.stop() }
            let b = try EchoBackend(name: "b")
            defer { b.stop() }
            let rig = try Rig(servers: [("a", a.port), ("b", b.port)])
            // Round robin with equal weights starts on a.
            let long = try TestClient(port: rig.port)
            defer { long.close() }
            try Self.exchange(long, rounds: 3, seed: 1)
            #expect(a.totalConnections == 1)

            try rig.ctl("set", "server", "p/a", "state", "drain")
            #expect(try rig.serverRow("a")?[4] == "drain")
            for _ in 0..<4 {
                let client = try TestClient(port: rig.port)
                try Self.exchange(client, rounds: 1, seed: 9)
                client.close()
            }
            #expect(a.totalConnections == 1, "a draining server took a new session")
            #expect(b.totalConnections == 4)
            try Self.exchange(long, rounds: 3, seed: 2)

            try rig.ctl("del", "server", "p/a")
            #expect(try rig.serverRow("a")?[4] == "removing")
            try Self.exchange(long, rounds: 3, seed: 3)
            let sessions = try rig.ctl("show", "sessions")
            #expect(sessions.contains(" a "), "the draining session is listed: \(sessions)")
            long.shutdownWrite()
            #expect(try long.receive() == .eof)
            try waitUntil(
                "a to leave show servers after its last session",
                lastSeen: { "\((try? rig.serverRow("a")) ?? nil ?? [])" }
            ) {
                try rig.serverRow("a") == nil
            }
            #expect(try rig.sluice.stop() == .exited(0))
        }

        @Test func drainTimeoutClosesWhatIsLeft() throws {
            let a = try EchoBackend(name: "a")
            defer { a.stop() }
            let rig = try Rig(servers: [("a", a.port)], extra: "    timeout drain 1s")
            let long = try TestClient(port: rig.port)
            defer { long.close() }
            try Self.exchange(long, rounds: 1, seed: 4)
            let drained = ContinuousClock.now
            try rig.ctl("set", "server", "p/a", "state", "maint")
            try Self.exchange(long, rounds: 1, seed: 5)
            // The session is cut (reset) once the drain timeout passes, not before.
            long.setTimeout(.seconds(5))
            let end = try long.receive()
            let waited = ContinuousClock.now - drained
            #expect(end == .reset || end == .eof, "\(end)")
            #expect(waited >= .milliseconds(900) && waited < .seconds(4), "closed after \(waited)")
            try rig.sluice.waitForLog("reason=\"drain timeout\"")
            #expect(try rig.sluice.stop() == .exited(0))
        }

        @Test func addedServerTakesTrafficAndWeightsShiftRoundRobin() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let b = try GreetingBackend(name: "b")
            defer { b.stop() }
            let rig = try Rig(servers: [("a", a.port)])
            #expect(try Greetings.once(port: rig.port) == "a")
            try rig.ctl("add", "server", "p/b", "127.0.0.1:\(b.port)", "weight", "100")
            let mixed = try (0..<4).map { _ in try Greetings.once(port: rig.port) }
            #expect(Greetings.counts(mixed) == ["a": 2, "b": 2], "\(mixed)")
            try rig.ctl("set", "server", "p/b", "weight", "300")
            let weighted = try (0..<8).map { _ in try Greetings.once(port: rig.port) }
            #expect(Greetings.counts(weighted) == ["a": 2, "b": 6], "\(weighted)")
            try rig.ctl("set", "server", "p/a", "weight", "0")
            let only = try (0..<3).map { _ in try Greetings.once(port: rig.port) }
            #expect(only == ["b", "b", "b"])
            #expect(try rig.sluice.stop() == .exited(0))
        }

        @Test func killSessionsClosesThemNow() throws {
            let a = try EchoBackend(name: "a")
            defer { a.stop() }
            let rig = try Rig(servers: [("a", a.port)], workers: 2)
            let clients = try (0..<3).map { _ in try TestClient(port: rig.port) }
            for (i, client) in clients.enumerated() { try Self.exchange(client, rounds: 1, seed: UInt64(10 + i)) }
            try rig.ctl("kill", "sessions", "p/a")
            for client in clients {
                let end = try client.receive()
                #expect(end == .reset || end == .eof, "\(end)")
                client.close()
            }
            try waitUntil("the killed sessions to be gone", lastSeen: { (try? rig.ctl("show", "sessions")) ?? "" }) {
                try rig.ctl("show", "sessions").split(separator: "\n").count == 1
            }
            #expect(try rig.sluice.stop() == .exited(0))
        }
    }
}
