// Harness for the health checker tests: a recorder of check results with deadline-based
// waits, pools built in code, a scripted loopback server, and helpers to run real server
// processes (redis-server, PostgreSQL) that fail the test clearly when a binary is missing.
import Foundation
import Glibc
import SluiceCore
import SluiceRuntime
import SluiceSys
import Synchronization
import Testing

final class CheckRecorder: Sendable {
    let events = Mutex<[(server: String, result: HealthResult)]>([])
    let logger = Logger(level: .error)

    var callback: HealthChecker.OnResult {
        { [self] server, pool, result in
            HealthChecker.apply(server, pool, result, logger: logger)
            events.withLock { $0.append((server.name, result)) }
        }
    }

    func results(_ server: String) -> [HealthResult] {
        events.withLock { $0.filter { $0.server == server }.map(\.result) }
    }

    /// Polls until `predicate` holds for `server`'s results; records an issue with what it
    /// last saw when `seconds` pass first.
    @discardableResult
    func wait(
        _ server: String, _ what: String, seconds: Double = 5,
        sourceLocation: Testing.SourceLocation = #_sourceLocation,
        _ predicate: ([HealthResult]) -> Bool
    ) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if predicate(results(server)) { return true }
            usleep(10_000)
        }
        let seen = results(server).suffix(8).map(\.description).joined(separator: ", ")
        Issue.record(
            "\(server): no \(what) within \(seconds)s; last results: [\(seen)]", sourceLocation: sourceLocation)
        return false
    }

    func waitTransition(
        _ server: String, _ t: HealthTransition, after count: Int = 0, seconds: Double = 5,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> Bool {
        wait(
            server, t == .wentUp ? "transition up" : "transition down", seconds: seconds, sourceLocation: sourceLocation
        ) {
            $0.dropFirst(count).contains { $0.transition == t }
        }
    }
}

enum HealthHarness {
    static func pool(
        _ kind: CheckKind, servers: [(String, UInt16)], interval: Duration = .milliseconds(100),
        timeout: Duration = .milliseconds(1000), rise: Int = 2, fall: Int = 3, jitter: Int = 10,
        initState: InitState = .down, observe: Bool = false, checkPorts: [String: UInt16] = [:],
        singlePrimary: Bool = false
    ) -> PoolRuntime {
        var config = PoolConfig(name: "p")
        config.settings.singlePrimary = singlePrimary
        config.settings.check.kind = kind
        config.settings.check.interval = interval
        config.settings.check.timeout = timeout
        config.settings.check.rise = rise
        config.settings.check.fall = fall
        config.settings.check.jitterPercent = jitter
        config.settings.initState = initState
        config.settings.observe = observe
        config.servers = servers.map { name, port in
            var server = ServerConfig(
                name: name, address: ServerAddress(host: "127.0.0.1", endpoint: IPEndpoint(.loopbackV4, port)))
            server.checkPort = checkPorts[name]
            return server
        }
        return PoolRuntime(index: 0, config)
    }

    /// A port that was free a moment ago.
    static func freePort() throws -> UInt16 {
        let fd = try Socket.listen(IPEndpoint(.loopbackV4, 0))
        defer { fd.close() }
        return try Socket.localAddress(fd).endpoint!.port
    }

    static func canConnect(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Waits until something accepts connections on `port`.
    static func waitForPort(
        _ port: UInt16, seconds: Double = 10, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if canConnect(port) { return true }
            usleep(20_000)
        }
        Issue.record("nothing listens on 127.0.0.1:\(port) after \(seconds)s", sourceLocation: sourceLocation)
        return false
    }

    /// The path of `name` in the usual directories, or an issue telling how to install it.
    static func binary(
        _ name: String, in dirs: [String] = ["/usr/bin", "/usr/sbin", "/usr/local/bin"], package: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> String? {
        for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
        Issue.record(
            "\(name) is not installed: `make test` installs it, or run `apt-get install -y \(package)`",
            sourceLocation: sourceLocation)
        return nil
    }

    /// Runs a command to completion (at most `seconds`) and returns its status and output.
    @discardableResult
    static func run(_ path: String, _ args: [String], seconds: Double = 120) throws -> (status: Int32, output: String) {
        let out = NSTemporaryDirectory() + "sluice-run-\(UUID().uuidString).log"
        defer { unlink(out) }
        let child = try spawn(path, args, output: out)
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while waitpid(child.pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                terminate(child)
                Issue.record("\(path) \(args) did not finish within \(seconds)s")
                return (-1, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
            }
            usleep(10_000)
        }
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let exited = status & 0x7F == 0
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), output)
    }

    struct Child { let pid: pid_t }

    /// Starts `path` with stdin from /dev/null, output to `output` (or discarded), and a clean
    /// signal mask: posix_spawn directly, since Foundation's Process hands children the test
    /// thread's blocked signals (redis-server then ignores SIGTERM) and its waitUntilExit
    /// sometimes never returns here.
    static func spawn(_ path: String, _ args: [String], output: String = "/dev/null") throws -> Child {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGPIPE, SIGTERM, SIGINT, SIGQUIT, SIGCHLD] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        guard rc == 0 else { throw Errno(rawValue: rc) }
        return Child(pid: pid)
    }

    /// SIGKILL and reap: nothing here needs a clean shutdown.
    static func terminate(_ child: Child) {
        kill(child.pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(child.pid, &status, 0)
    }
}

/// A loopback TCP server answering each client with `respond(request so far)` once that is
/// non-nil (nil while more request bytes are needed); `.silent` clients are held unanswered.
final class HealthTestServer: @unchecked Sendable {
    enum Reply { case send([UInt8]), wait, silent }
    let port: UInt16
    private let listener: FD
    private let stopFlag = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    let accepted = Atomic<Int>(0)

    init(port: UInt16 = 0, respond: @escaping @Sendable ([UInt8]) -> Reply) throws {
        listener = try Socket.listen(IPEndpoint(.loopbackV4, port))
        self.port = try Socket.localAddress(listener).endpoint!.port
        let thread = Thread { [self] in
            serve(respond)
            finished.store(true, ordering: .releasing)
        }
        thread.start()
    }

    private func serve(_ respond: @Sendable ([UInt8]) -> Reply) {
        var held: [FD] = []
        defer { for fd in held { fd.close() } }
        var peer = SocketAddress()
        while !stopFlag.load(ordering: .acquiring) {
            guard let client = try? Socket.accept(listener, peer: &peer) else {
                usleep(1000)
                continue
            }
            accepted.add(1, ordering: .relaxed)
            var request: [UInt8] = []
            let deadline = Date().addingTimeInterval(2)
            var answered = false
            while !answered && Date() < deadline && !stopFlag.load(ordering: .relaxed) {
                switch respond(request) {
                case .send(let bytes):
                    var offset = 0
                    while offset < bytes.count, case .done(let n)? = try? client.send(bytes, from: offset) {
                        offset += n
                    }
                    answered = true
                case .silent:
                    held.append(client)
                    answered = true
                    continue
                case .wait:
                    switch try? client.receive(appendingTo: &request) {
                    case .done?: continue
                    case .wouldBlock?: usleep(500)
                    default: answered = true
                    }
                }
                if answered { client.close() }
            }
            if !answered { client.close() }
        }
    }

    func stop() {
        stopFlag.store(true, ordering: .releasing)
        let deadline = Date().addingTimeInterval(5)
        while !finished.load(ordering: .acquiring) && Date() < deadline { usleep(1000) }
        listener.close()
    }
}

@Suite struct HealthCheckerHarnessTests {
    @Test func scriptedServerAnswers() throws {
        let server = try HealthTestServer { request in
            String(decoding: request, as: UTF8.self).contains("\n") ? .send(Array("pong\n".utf8)) : .wait
        }
        defer { server.stop() }
        #expect(HealthHarness.waitForPort(server.port))
    }
}
