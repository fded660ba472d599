// A helper process a scenario needs (redis-server, a shell running pg_ctl): started with
// Foundation's Process, output collected, always killed with SIGKILL at the end (SIGKILL
// works whatever signal mask the child inherited from a test thread).
import Foundation
import Glibc

final class ChildProcess {
    let process = Process()
    let output: OutputCollector

    init(_ path: String, _ arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) is missing: `make test` installs it")
        }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        output = OutputCollector(
            pipe.fileHandleForReading, name: "child-\(URL(fileURLWithPath: path).lastPathComponent)")
        try process.run()
    }

    /// Runs to completion (with a deadline) and returns exit status and output.
    /// Reaps the child itself with waitpid: Foundation sometimes never noticed the exit of a
    /// child that had left a daemon behind (pg_ctl start), leaving a zombie and isRunning true.
    static func run(_ path: String, _ arguments: [String], timeout: Duration = .seconds(60)) throws -> (Int32, String) {
        let child = try ChildProcess(path, arguments)
        let pid = child.process.processIdentifier
        var status: Int32 = 0
        var exitCode: Int32? = nil
        try waitUntil(
            "\(path) \(arguments.joined(separator: " ")) to finish", timeout: timeout, lastSeen: { child.output.text }
        ) {
            if !child.process.isRunning {
                exitCode = child.process.terminationStatus
                return true
            }
            if waitpid(pid, &status, WNOHANG) == pid {
                exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                return true
            }
            return false
        }
        try waitUntil("its output to close", timeout: .seconds(2)) { child.output.closed }
        return (exitCode ?? -1, child.output.text)
    }

    func kill() {
        if process.isRunning && Glibc.kill(process.processIdentifier, 0) == 0 {
            Glibc.kill(process.processIdentifier, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(process.processIdentifier, &status, 0)
        }
    }

    deinit { kill() }
}

/// A redis-server on loopback, fresh for one test (TESTING.md).
final class RedisServer {
    let port: UInt16
    let child: ChildProcess
    let directory: TempDirectory

    init(replicaOf master: UInt16? = nil, password: String? = nil) throws {
        port = try FreePort.tcp()
        directory = try TempDirectory(prefix: "sluice-redis")
        var args = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.url.path,
        ]
        if let master { args += ["--replicaof", "127.0.0.1", "\(master)"] }
        if let password { args += ["--requirepass", password] }
        child = try ChildProcess("/usr/bin/redis-server", args)
        let port = self.port
        try waitUntil("redis-server on \(port)", timeout: .seconds(10), lastSeen: { self.child.output.text }) {
            (try? TestClient(port: port, timeout: .milliseconds(200)).close()) != nil
        }
    }

    /// `redis-cli -p PORT ARGS...`
    @discardableResult
    func cli(_ args: String...) throws -> String {
        let (status, out) = try ChildProcess.run("/usr/bin/redis-cli", ["-p", "\(port)"] + args)
        guard status == 0 else { throw HarnessError("redis-cli \(args): \(out)") }
        return out
    }

    func stop() { child.kill() }
}

/// Asks a Redis connection (direct or through sluice) which server answers: `tcp_port`
/// from `INFO server`.
func redisServerPort(_ client: TestClient) throws -> UInt16 {
    try client.send("INFO server\r\n")
    let header = try client.readLine()  // $<length>
    guard header.hasPrefix("$"), let length = Int(header.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines))
    else {
        throw HarnessError("unexpected INFO reply: \(header)")
    }
    var body: [UInt8] = []
    while body.count < length + 2 {
        guard case .bytes(let more) = try client.receive() else { throw HarnessError("INFO cut short") }
        body += more
    }
    let text = String(decoding: body, as: UTF8.self)
    guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("tcp_port:") }),
        let port = UInt16(line.dropFirst("tcp_port:".count))
    else { throw HarnessError("no tcp_port in INFO") }
    return port
}
