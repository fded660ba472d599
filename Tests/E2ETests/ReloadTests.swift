// Reload in place (SPEC "Reload"): 50 clients stream byte-exact while the file is rewritten
// and SIGHUP sent 20 times (pools and servers added and removed): no session fails or is
// truncated and no connection is refused. An invalid file changes nothing and the admin
// `reload` returns its errors. Run-time admin states persist across a reload.
import Foundation
import Glibc
import Synchronization
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct ReloadTests {
        static func config(
            socket: String, port: UInt16, extraPort: UInt16, servers: [(String, UInt16)], extraPool: Bool
        ) -> String {
            """
            global
                workers 2
                admin-socket \(socket)
            pool main
                bind 127.0.0.1:\(port)
                balance roundrobin
                check none
            \(servers.map { "    server \($0.0) 127.0.0.1:\($0.1)" }.joined(separator: "\n"))
            \(extraPool ? "pool extra\n    bind 127.0.0.1:\(extraPort)\n    check none\n    server x 127.0.0.1:\(servers[0].1)" : "")
            """
        }

        @Test func twentyReloadsUnderLoadDropNothing() throws {
            let a = try EchoBackend(name: "a")
            defer { a.stop() }
            let b = try EchoBackend(name: "b")
            defer { b.stop() }
            let dir = try TempDirectory(prefix: "sluice-reload")
            let socket = dir.path("admin.sock")
            let (port, extraPort) = (try FreePort.tcp(), try FreePort.tcp())
            let shapes: [([(String, UInt16)], Bool)] = [
                ([("a", a.port), ("b", b.port)], false),
                ([("b", b.port), ("c", a.port)], true),
                ([("c", b.port)], false),  // c moves to another address: replaced, old one drains
                ([("a", a.port), ("d", b.port)], true),
            ]
            let sluice = try SluiceProcess(
                config: Self.config(
                    socket: socket, port: port, extraPort: extraPort,
                    servers: shapes[0].0, extraPool: shapes[0].1))
            let stop = Atomic<Bool>(false)
            let failures = Mutex<[String]>([])
            let sessions = Atomic<Int>(0)
            let group = DispatchGroup()
            for client in 0..<50 {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    var round: UInt64 = 0
                    while !stop.load(ordering: .relaxed) {
                        do {
                            let c = try TestClient(port: port)
                            for _ in 0..<5 {
                                round += 1
                                let chunk = PseudoRandom.bytes(
                                    seed: UInt64(client) << 32 | round, count: 2048 + Int(round % 512))
                                try c.send(chunk)
                                var echoed: [UInt8] = []
                                while echoed.count < chunk.count {
                                    guard case .bytes(let more) = try c.receive() else {
                                        throw HarnessError("cut after \(echoed.count) bytes")
                                    }
                                    echoed += more
                                }
                                if echoed != chunk { throw HarnessError("bytes differ") }
                            }
                            c.shutdownWrite()
                            guard try c.receive() == .eof else { throw HarnessError("no clean EOF") }
                            c.close()
                            sessions.add(1, ordering: .relaxed)
                        } catch {
                            failures.withLock { $0.append("client \(client): \(error)") }
                            return
                        }
                    }
                }
            }
            // The reloads start once the clients stream (a loaded machine starts 50 threads slowly).
            try waitUntil(
                "clients to finish 50 sessions", timeout: .seconds(20),
                lastSeen: { "\(sessions.load(ordering: .relaxed)) sessions, failures \(failures.withLock { $0 })" }
            ) {
                sessions.load(ordering: .relaxed) >= 50 || !failures.withLock { $0.isEmpty }
            }
            let before = sessions.load(ordering: .relaxed)
            for i in 1...20 {
                let shape = shapes[i % shapes.count]
                try Self.config(socket: socket, port: port, extraPort: extraPort, servers: shape.0, extraPool: shape.1)
                    .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
                sluice.signal(SIGHUP)
                try sluice.waitForLog(#"msg="reloaded""#, count: i)
                if shape.1 {
                    // The pool a reload added serves at once.
                    let probe = try TestClient(port: extraPort)
                    try probe.send("extra\n")
                    #expect(try probe.readLine() == "extra")
                    probe.close()
                }
            }
            stop.store(true, ordering: .relaxed)
            #expect(group.wait(timeout: .now() + 30) == .success, "clients did not finish")
            #expect(failures.withLock { $0 } == [], "\(sluice.stderr.suffix(3000))")
            #expect(sessions.load(ordering: .relaxed) > before, "no session completed during the reloads")
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func invalidFileChangesNothingAndReturnsItsErrors() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let dir = try TempDirectory(prefix: "sluice-reload")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: Self.config(
                    socket: socket, port: port, extraPort: 1,
                    servers: [("a", a.port)], extraPool: false))
            let ctl = { (args: [String]) throws -> SluiceCommand.Result in
                try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl")
            }
            #expect(try ctl(["set", "server", "main/a", "state", "drain"]).status == .exited(0))
            let before = try ctl(["show", "pools"]).stdout
            try "global\n    workers lots\npool main\n    bind 127.0.0.1:\(port)\n    balance leastconnn\n"
                .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            let reply = try ctl(["reload"])
            #expect(reply.status == .exited(1))
            #expect(reply.stdout.hasPrefix("ERR reload failed"), "\(reply)")
            #expect(reply.stdout.contains("\(sluice.configPath):2: invalid workers 'lots'"), "\(reply)")
            #expect(reply.stdout.contains("\(sluice.configPath):5: unknown balance 'leastconnn'"), "\(reply)")
            #expect(try ctl(["show", "pools"]).stdout == before)

            // A valid file again: the run-time `drain` of a survives the reload.
            try Self.config(socket: socket, port: port, extraPort: 1, servers: [("a", a.port)], extraPool: false)
                .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            #expect(try ctl(["reload"]).stdout == "OK\n")
            #expect(try ctl(["show", "servers", "main"]).stdout.contains(" drain "), "run-time state lost")
            #expect(try sluice.stop() == .exited(0))
        }
    }
}

extension E2E.ReloadTests {
    @Test func reloadAppliesNewCheckSettings() throws {
        let a = try GreetingBackend(name: "hello")
        defer { a.stop() }
        let dir = try TempDirectory(prefix: "sluice-reload")
        let socket = dir.path("admin.sock")
        let port = try FreePort.tcp()
        func config(_ check: String) -> String {
            """
            global
                admin-socket \(socket)
            pool p
                bind 127.0.0.1:\(port)
                check \(check) interval 100ms timeout 300ms rise 1 fall 1
                server a 127.0.0.1:\(a.port)
            """
        }
        func health() throws -> String {
            try SluiceCommand.run(["-s", socket, "show", "servers"], binary: "sluicectl").stdout
                .split(separator: "\n").first { $0.hasPrefix("p ") }?.split(separator: " ").map(String.init)[3] ?? "?"
        }
        let sluice = try SluiceProcess(config: config("tcp"))
        try waitUntil("a up under check tcp", lastSeen: { (try? health()) ?? "" }) { try health() == "up" }
        try config(#"send "x" expect "nope""#).write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        try waitUntil("a down under the new expect", lastSeen: { (try? health()) ?? "" }) { try health() == "down" }
        try config(#"send "x" expect "hello""#).write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        try waitUntil("a up again", lastSeen: { (try? health()) ?? "" }) { try health() == "up" }
        #expect(try sluice.stop() == .exited(0))
    }
}
