// The admin socket over real Unix sockets with a fake handler: good commands, 30+ malformed
// lines (binary, 1 MiB) each answered ERR while the server keeps serving, slow clients
// delaying only themselves, and peers of another uid refused unless allowed.
import Foundation
import Glibc
import SluiceCore
import SluiceRuntime
import SluiceSys
import SluiceTestSupport
import Synchronization
import Testing

@Suite struct AdminServerTests {
    static func serve(
        _ dir: ScratchDirectory, mode: UInt32 = 0o600, allowed: Set<UInt32> = [], readTimeout: Duration = .seconds(1)
    ) throws -> AdminServer {
        var options = AdminServer.Options(path: dir.file("admin.sock"))
        options.mode = mode
        options.allowedUIDs = allowed
        options.readTimeout = readTimeout
        let server = try AdminServer(options, handler: FakeAdminHandler())
        server.start()
        return server
    }

    @Test func answersCommands() throws {
        let dir = ScratchDirectory()
        let server = try Self.serve(dir)
        defer { server.stop() }
        let path = server.path
        #expect(try AdminClient.ask(path, "show info") == AdminReplyText.info(FakeAdminHandler.info, json: false).text)
        #expect(try AdminClient.ask(path, "show info json").hasPrefix(#"{"version":"0.1.0","pid":7"#))
        #expect(try AdminClient.ask(path, "help") == AdminReplyText.help.text)
        #expect(
            try AdminClient.ask(path, "set server db/pg-1 weight 5\r")
                == "HANDLED setWeight(db/pg-1, 5) json=false uid=0\n")
        #expect(try AdminClient.ask(path, "del server web/x") == "ERR no such pool 'web'\n")
        #expect(try AdminClient.ask(path, "reload") == "ERR configuration has 1 error\nx.conf:3: unknown keyword 'x'\n")
        // No newline, but the client half-closed: still one command.
        #expect(
            try AdminClient.ask(path, Array("kill sessions db/a".utf8), halfClose: true).hasPrefix(
                "HANDLED killSessions"))
        // Only the first line counts.
        #expect(try AdminClient.ask(path, "reload json\nshow info").hasPrefix("ERR configuration"))
    }

    static func malformed() -> [(String, [UInt8])] {
        var lines: [(String, [UInt8])] = [
            "", "   ", "bogus", "show", "show nothing", "show info extra", "set", "set server", "set server db",
            "set server db/pg state", "set server db/pg state up", "set server db/pg weight 1001",
            "set server db/pg weight -3", "set server d!b/pg state ready", "add server db/pg",
            "add server db/pg 1.2.3.4", "add server db/pg host.example:80", "add server db/pg 1.2.3.4:80 weight x",
            "add server db/pg 1.2.3.4:80 color red", "del server", "del server db/pg more", "kill sessions",
            "kill session db/pg", "reload now", "help me", "SHOW INFO",
        ].map { ($0, Array(($0 + "\n").utf8)) }
        lines.append(("nul", [0x73, 0x00, 0x0A]))
        lines.append(("invalid utf8", [0xFF, 0xFE, 0x80, 0x0A]))
        lines.append(("escape", Array("\u{1B}[2J show info\n".utf8)))
        var rng = PseudoRandomBytes(seed: 42)
        for i in 0..<5 {
            let garbage = rng.bytes(100 + i * 700).map { $0 == 0x0A ? 0x00 : $0 } + [0x0A]
            lines.append(("garbage \(i)", garbage))
        }
        lines.append(("4097 bytes", Array(repeating: UInt8(ascii: "a"), count: 4097) + [0x0A]))
        lines.append(("1 MiB", Array(repeating: UInt8(ascii: "x"), count: 1 << 20) + [0x0A]))
        lines.append(("1 MiB binary", rng.bytes(1 << 20)))
        return lines
    }

    @Test func malformedLinesGetErrorsAndServingGoesOn() throws {
        let dir = ScratchDirectory()
        let server = try Self.serve(dir)
        defer { server.stop() }
        let cases = Self.malformed()
        #expect(cases.count >= 30)
        for (name, bytes) in cases {
            let reply = try AdminClient.ask(server.path, bytes)
            #expect(reply.hasPrefix("ERR "), "\(name): \(reply.prefix(200))")
            #expect(reply.hasSuffix("\n") && reply.dropLast().firstIndex(of: "\n") == nil, "\(name): one line")
            if (bytes.firstIndex(of: 0x0A) ?? bytes.count) > 4096 {
                #expect(reply == "ERR line too long (max 4096 bytes)\n", "\(name)")
            }
            #expect(try AdminClient.ask(server.path, "show info").hasPrefix("version"), "after \(name)")
        }
    }

    @Test func slowClientDelaysOnlyItself() throws {
        let dir = ScratchDirectory()
        let server = try Self.serve(dir, readTimeout: .milliseconds(400))
        defer { server.stop() }
        let silent = try UnixSocket.connect(path: server.path)
        defer { silent.close() }
        let partial = try UnixSocket.connect(path: server.path)
        defer { partial.close() }
        _ = try partial.send(Array("show in".utf8))
        for _ in 0..<5 {
            let start = Date()
            #expect(try AdminClient.ask(server.path, "show info").hasPrefix("version"))
            #expect(Date().timeIntervalSince(start) < 0.3, "a slow client must not delay others")
        }
        try UnixSocket.setTimeouts(partial, milliseconds: 3000)
        let start = Date()
        #expect(AdminClient.readAll(partial) == "ERR timed out waiting for a command line\n")
        #expect(Date().timeIntervalSince(start) < 2)
        try UnixSocket.setTimeouts(silent, milliseconds: 3000)
        #expect(AdminClient.readAll(silent).hasPrefix("ERR timed out"))
    }

    @Test func aNewcomerEvictsTheOldestIdleClientWhenAllSlotsAreTaken() throws {
        let dir = ScratchDirectory()
        var options = AdminServer.Options(path: dir.file("admin.sock"))
        options.maxConnections = 4
        options.readTimeout = .seconds(60)
        let server = try AdminServer(options, handler: FakeAdminHandler())
        server.start()
        defer { server.stop() }
        // Accepted in connect order, so all four hold a slot before the newcomer is accepted.
        let idle = try (0..<4).map { _ in try UnixSocket.connect(path: server.path) }
        defer { for fd in idle { fd.close() } }
        let info = AdminReplyText.info(FakeAdminHandler.info, json: false).text
        #expect(try AdminClient.ask(server.path, "show info") == info)
        // The oldest idle client was closed without a reply (EOF long before its deadline)...
        #expect(try Poll.readable(idle[0], timeoutMillis: 5000))
        var bytes: [UInt8] = []
        #expect(try idle[0].receive(appendingTo: &bytes) == .eof && bytes.isEmpty)
        // ...and the newest is still served.
        _ = try idle[3].send(Array("show info\n".utf8))
        try UnixSocket.setTimeouts(idle[3], milliseconds: 5000)
        #expect(AdminClient.readAll(idle[3]) == info)
    }

    @Test func manyClientsAtOnce() throws {
        let dir = ScratchDirectory()
        let server = try Self.serve(dir)
        defer { server.stop() }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            let reply = (try? AdminClient.ask(server.path, i % 2 == 0 ? "show info" : "nonsense")) ?? ""
            if !(reply.hasPrefix("version") || reply.hasPrefix("ERR unknown command")) {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func stopRemovesTheSocketAndASecondServerIsRefused() throws {
        let dir = ScratchDirectory()
        let server = try Self.serve(dir)
        #expect(throws: UnixSocketError.inUse(path: server.path)) {
            try AdminServer(AdminServer.Options(path: server.path), handler: FakeAdminHandler())
        }
        server.stop()
        server.stop()
        #expect(access(dir.file("admin.sock"), F_OK) != 0)
        #expect(throws: Errno.noEntry) { try UnixSocket.connect(path: dir.file("admin.sock")) }
    }

    static let pythonClient = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        s.sendall(b"set server db/pg state drain\\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        sys.stdout.write(data.decode())
        """

    func askAsNobody(_ path: String) throws -> String {
        let result = try runProgram(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", Self.pythonClient, path])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "needs root and setpriv"))
    func otherUIDIsRefusedUnlessAllowed() throws {
        let dir = ScratchDirectory(mode: 0o755)
        let server = try Self.serve(dir, mode: 0o666)
        #expect(try askAsNobody(server.path) == "ERR permission denied\n")
        server.stop()
        let allowing = try Self.serve(dir, mode: 0o666, allowed: [65534])
        defer { allowing.stop() }
        #expect(
            try askAsNobody(allowing.path)
                == "HANDLED setState(db/pg, SluiceCore.AdminState.drain) json=false uid=65534\n")
    }

    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "needs root and setpriv"))
    func socketModeKeepsOtherUsersOut() throws {
        let dir = ScratchDirectory(mode: 0o755)
        let server = try Self.serve(dir, mode: 0o600, allowed: [65534])
        defer { server.stop() }
        let result = try runProgram(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", Self.pythonClient,
                server.path,
            ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("PermissionError"), "\(result.stderr)")
    }
}

/// Deterministic bytes (xorshift64*).
struct PseudoRandomBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return UInt8(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 56)
        }
    }
}
