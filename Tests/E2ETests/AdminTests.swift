// The operator surface of the real daemon: the admin socket through sluicectl and the
// metrics endpoint report exactly the sessions and bytes a test pushed through.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct AdminTests {
        static func httpGet(port: UInt16, path: String) throws -> String {
            let client = try TestClient(port: port)
            defer { client.close() }
            try client.send("GET \(path) HTTP/1.0\r\n\r\n")
            var reply: [UInt8] = []
            while case .bytes(let chunk) = try client.receive() { reply += chunk }
            return String(decoding: reply, as: UTF8.self)
        }

        @Test func countersMatchWhatCrossedTheBalancer() throws {
            let echo = try EchoBackend(name: "e1")
            defer { echo.stop() }
            let sockets = try TempDirectory(prefix: "sluice-admin")
            let socket = sockets.path("admin.sock")
            let port = try FreePort.tcp()
            let metricsPort = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 2
                        admin-socket \(socket) mode 0600
                        metrics 127.0.0.1:\(metricsPort)
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                        server e1 127.0.0.1:\(echo.port)
                    """)
            let sizes = [1, 70_000, 1_000_003]
            for size in sizes {
                let client = try TestClient(port: port)
                let payload = PseudoRandom.bytes(seed: UInt64(size), count: size)
                try client.send(payload)
                client.shutdownWrite()
                var echoed: [UInt8] = []
                while case .bytes(let chunk) = try client.receive() { echoed += chunk }
                #expect(echoed == payload)
                client.close()
            }
            let total = sizes.reduce(0, +)
            // Counters are published when a session ends, a moment after the client sees EOF.
            var last = ""
            try waitUntil("show info to count 3 finished sessions", lastSeen: { last }) {
                last = try Self.ctl(socket, "show", "info").stdout
                return last.contains("sessions_total    3") && last.contains("sessions_current  0")
            }
            let info = try Self.ctl(socket, "--json", "show", "info")
            #expect(info.status == .exited(0))
            #expect(
                info.stdout.contains("\"bytes_in\":\(total)") && info.stdout.contains("\"bytes_out\":\(total)"),
                "\(info)")

            let servers = try Self.ctl(socket, "show", "servers", "p")
            #expect(servers.status == .exited(0))
            let row = servers.stdout.split(separator: "\n").first { $0.hasPrefix("p ") }.map(String.init) ?? ""
            let cells = row.split(separator: " ").map(String.init)
            #expect(cells.count >= 12 && cells[1] == "e1" && cells[8] == "3" && cells[10] == "\(total)", "\(servers)")

            let metrics = try Self.httpGet(port: metricsPort, path: "/metrics")
            #expect(metrics.hasPrefix("HTTP/1.1 200") || metrics.hasPrefix("HTTP/1.0 200"), "\(metrics.prefix(200))")
            #expect(metrics.contains("sluice_bytes_total{pool=\"p\",direction=\"in\"} \(total)\n"))
            #expect(metrics.contains("sluice_bytes_total{pool=\"p\",direction=\"out\"} \(total)\n"))
            #expect(metrics.contains("sluice_server_sessions_total{pool=\"p\",server=\"e1\"} 3\n"))
            #expect(try Self.ctl(socket, "show", "metrics").stdout.contains("sluice_sessions_total{pool=\"p\"} 3\n"))
            #expect(try sluice.stop() == .exited(0))
            #expect(!FileManager.default.fileExists(atPath: socket), "the admin socket file is removed at exit")
        }

        @Test func malformedLinesAnswerErrAndOtherUIDsAreRefused() throws {
            let sockets = try TempDirectory(prefix: "sluice-admin")
            chmod(sockets.url.path, 0o755)
            let socket = sockets.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket \(socket) mode 0666
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                        server a 127.0.0.1:1
                    """)
            var lines: [[UInt8]] = [
                [0x00, 0xFF, 0xFE, 0x0A], Array("\u{1B}[2J\n".utf8), [0xC3, 0x28, 0x0A],
                Array(repeating: 0x41, count: 1 << 20),
                Array(repeating: 0x20, count: 5000) + [0x0A], Array("\n".utf8), Array("   \n".utf8),
            ]
            for text in [
                "show", "show everything", "show servers a b", "show info please", "set", "set server",
                "set server p/a", "set server p/a state", "set server p/a state sleepy", "set server p/a weight",
                "set server p/a weight -1", "set server p/a weight 1001", "set server p/a weight ten",
                "set server pa state drain", "set server /a state drain", "set server p/ state drain",
                "set server p/a/b state drain", "set server p/a frobnicate 1", "add server", "add server p/b",
                "add server p/b 1.2.3.4", "add server p/b 1.2.3.4:99999", "add server p/b [::1:80",
                "add server p/b 1.2.3.4:80 weight", "add server p/b 1.2.3.4:80 weight 2000",
                "add server p/b 1.2.3.4:80 bogus",
                "del server", "del server p", "kill sessions", "kill sessions p/zz", "reload now", "help me",
                "SHOW INFO", "show info json json", "del server nosuch/a", "set server p/zz state drain",
            ] { lines.append(Array((text + "\n").utf8)) }
            for line in lines {
                let reply = try UnixClient.exchange(socket, line)
                #expect(
                    reply.hasPrefix("ERR ") || line.allSatisfy({ $0 == 0x20 || $0 == 0x0A }) && reply.isEmpty,
                    "\(line.prefix(40)) -> \(reply)")
                #expect(sluice.isRunning, "sluice died after \(line.prefix(40))")
            }
            #expect(try UnixClient.exchange(socket, Array("show info\n".utf8)).contains("sessions_total"))
            if getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0 {
                let nobody = try SluiceCommand.run(["-s", socket, "show", "info"], binary: "sluicectl", asNobody: true)
                #expect(nobody.stdout == "ERR permission denied\n", "\(nobody)")
                #expect(nobody.status == .exited(1))
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func errorsAnswerErrAndTheDaemonStaysUp() throws {
            let sockets = try TempDirectory(prefix: "sluice-admin")
            let socket = sockets.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket \(socket)
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                    """)
            for args in [
                ["show", "servers", "nope"], ["frobnicate"], ["set", "server", "p/x", "weight", "5000"],
                ["show"], ["add", "server", "p/x", "not-an-address"],
            ] {
                let result = try Self.ctl(socket, args)
                #expect(result.status == .exited(1), "\(args): \(result)")
                #expect(result.stdout.hasPrefix("ERR "), "\(args): \(result)")
            }
            let unreachable = try SluiceCommand.run(
                ["-s", sockets.path("missing.sock"), "show", "info"], binary: "sluicectl")
            #expect(unreachable.status == .exited(2))
            #expect(try Self.ctl(socket, "help").status == .exited(0))
            #expect(sluice.isRunning)
            #expect(try sluice.stop() == .exited(0))
        }
    }
}

extension E2E.AdminTests {
    /// `sluicectl -s SOCKET ARGS...`
    static func ctl(_ socket: String, _ args: String...) throws -> SluiceCommand.Result { try ctl(socket, args) }

    static func ctl(_ socket: String, _ args: [String]) throws -> SluiceCommand.Result {
        try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl")
    }
}
