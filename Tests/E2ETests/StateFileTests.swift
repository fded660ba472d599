// `state-file` (SPEC "global"): admin changes (state, weight, add, del) are written to the file
// at once and atomically, survive a restart and a reload, entries that no longer apply are
// dropped, and a bad line or an unwritable file is logged and never stops sluice.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct StateFileTests {
        static func config(socket: String, state: String, port: UInt16, servers: [(String, UInt16)]) -> String {
            """
            global
                workers 2
                admin-socket \(socket)
                state-file \(state)
            pool p
                bind 127.0.0.1:\(port)
                balance roundrobin
                check none
            \(servers.map { "    server \($0.0) 127.0.0.1:\($0.1)" }.joined(separator: "\n"))
            """
        }

        static func ctl(_ socket: String, _ args: String...) throws -> SluiceCommand.Result {
            try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl")
        }

        /// `NAME ADDRESS STATE WEIGHT` of each server `show servers` lists.
        static func servers(_ socket: String) throws -> [String] {
            try ctl(socket, "show", "servers").stdout.split(separator: "\n").dropFirst().map { row in
                let cells = row.split(separator: " ").map(String.init)
                return [cells[1], cells[2], cells[4], cells[5]].joined(separator: " ")
            }
        }

        /// The greeting (server name) of `count` new sessions.
        static func reached(_ port: UInt16, count: Int) throws -> Set<String> {
            var names: Set<String> = []
            for _ in 0..<count {
                let client = try TestClient(port: port)
                names.insert(try client.readLine())
                client.close()
            }
            return names
        }

        @Test func changesSurviveRestartAndReload() throws {
            let (a, b, c, x) = (
                try GreetingBackend(name: "a"), try GreetingBackend(name: "b"),
                try GreetingBackend(name: "c"), try GreetingBackend(name: "x")
            )
            defer { [a, b, c, x].forEach { $0.stop() } }
            let dir = try TempDirectory(prefix: "sluice-state")
            let (socket, state) = (dir.path("admin.sock"), dir.path("state"))
            let port = try FreePort.tcp()
            let servers = [("a", a.port), ("b", b.port), ("c", c.port)]
            let config = Self.config(socket: socket, state: state, port: port, servers: servers)
            var sluice = try SluiceProcess(config: config, in: dir)
            for command in [
                ["set", "server", "p/a", "state", "drain"], ["set", "server", "p/b", "weight", "50"],
                ["add", "server", "p/x", "127.0.0.1:\(x.port)", "weight", "20"], ["del", "server", "p/c"],
            ] {
                let reply = try SluiceCommand.run(["-s", socket] + command, binary: "sluicectl")
                #expect(reply.stdout == "OK\n", "\(command): \(reply)")
            }
            // Written at once, whole, and through a temporary file that is gone again.
            #expect(
                try String(contentsOfFile: state, encoding: .utf8) == """
                    # sluice state v1
                    # Written by sluice after every change made through the admin socket; read at start and reload.
                    del server p/c
                    add server p/x 127.0.0.1:\(x.port) weight 20
                    set server p/a state drain
                    set server p/b weight 50

                    """)
            #expect(!FileManager.default.fileExists(atPath: state + ".tmp"))
            let expected = [
                "a 127.0.0.1:\(a.port) drain 100", "b 127.0.0.1:\(b.port) ready 50", "x 127.0.0.1:\(x.port) ready 20",
            ]
            #expect(try Self.servers(socket) == expected)

            // A restart with the same file brings back the same servers, states and weights.
            #expect(try sluice.stop() == .exited(0))
            sluice = try SluiceProcess(config: config, in: dir)
            try sluice.explaining { () throws in
                #expect(try Self.servers(socket) == expected)
                #expect(try Self.reached(port, count: 6) == ["b", "x"], "a drains, c is deleted")
                #expect(
                    sluice.logLines(containing: "dropped").isEmpty
                        && sluice.logLines(containing: "line skipped").isEmpty)
            }

            // A reload of the same file keeps them; a file without b drops b's weight, says so,
            // and the state file loses that line.
            sluice.signal(SIGHUP)
            try sluice.waitForLog(#"msg="reloaded""#)
            #expect(try Self.servers(socket) == expected)
            try Self.config(socket: socket, state: state, port: port, servers: [("a", a.port), ("c", c.port)])
                .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            #expect(try Self.ctl(socket, "reload").stdout == "OK\n")
            try sluice.waitForLog(
                "state file entry dropped: set server p/b weight 50: no server 'b' in pool 'p' any more")
            try waitUntil("b to finish draining", lastSeen: { "\((try? Self.servers(socket)) ?? [])" }) {
                try Self.servers(socket) == ["a 127.0.0.1:\(a.port) drain 100", "x 127.0.0.1:\(x.port) ready 20"]
            }
            #expect(try !String(contentsOfFile: state, encoding: .utf8).contains("p/b"))
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func badLinesAndUnwritableFilesNeverStopSluice() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let b = try GreetingBackend(name: "b")
            defer { b.stop() }
            let dir = try TempDirectory(prefix: "sluice-state")
            let (socket, state) = (dir.path("admin.sock"), dir.path("state"))
            let port = try FreePort.tcp()
            let servers = [("a", a.port), ("b", b.port)]
            _ = try dir.write(
                "state",
                """
                # sluice state v1
                set server p/a state drian
                set server p/b weight 42
                \u{1}\u{2}garbage
                add server nopool/z 127.0.0.1:1

                """)
            let sluice = try SluiceProcess(
                config: Self.config(socket: socket, state: state, port: port, servers: servers), in: dir)
            try sluice.explaining { () throws in
                try sluice.waitForLog(
                    "\(state):2: unknown state 'drian' (expected ready, drain or maint) (line skipped)")
                try sluice.waitForLog("\(state):4: line contains control or binary bytes (line skipped)")
                try sluice.waitForLog(
                    "state file entry dropped: add server nopool/z 127.0.0.1:1: pool 'nopool' is not in the configuration any more"
                )
                #expect(
                    try Self.servers(socket) == ["a 127.0.0.1:\(a.port) ready 100", "b 127.0.0.1:\(b.port) ready 42"])
                // The dropped entry was the reason to rewrite the file: bad lines go with it.
                #expect(try String(contentsOfFile: state, encoding: .utf8).hasSuffix("\nset server p/b weight 42\n"))
            }
            #expect(try sluice.stop() == .exited(0))

            // A state file whose directory does not exist: the change applies, `OK`, an error logged.
            let missing = dir.path("no-such-dir/state")
            let second = try SluiceProcess(
                config: Self.config(socket: socket, state: missing, port: port, servers: servers))
            try second.explaining { () throws in
                #expect(try Self.ctl(socket, "set", "server", "p/a", "weight", "7").stdout == "OK\n")
                try second.waitForLog("cannot write state file")
                #expect(try Self.servers(socket).first == "a 127.0.0.1:\(a.port) ready 7")
            }
            #expect(try second.stop() == .exited(0))
        }
    }
}
