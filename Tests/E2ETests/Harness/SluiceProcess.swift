// One running `sluice -f CONFIG` for a test: writes the config to a temp dir, starts the binary,
// waits for `msg="ready"` on stderr (with a deadline, failing with everything it logged), and
// stops it with SIGTERM. Killed with SIGKILL on deinit if still running.
import Foundation
import Glibc

final class SluiceProcess {
    let directory: TempDirectory
    let configPath: String
    private let process = Process()
    private let stderrCollector: OutputCollector
    private let stdoutCollector: OutputCollector

    /// `directory`: where the config is written (a test restarting sluice passes the first
    /// one's, so files sluice keeps there survive). `launcher`: a command that runs sluice,
    /// given the binary and its arguments after its own (e.g. unshare, for a private /etc/hosts).
    /// `waitForReady: false` returns once sluice is started: for scenarios where it may never
    /// become ready (a stalled lookup, a bad state file), which then watch its stderr and exit.
    init(
        config: String, in directory: TempDirectory? = nil, launcher: [String] = [],
        readyTimeout: Duration = .seconds(10), waitForReady: Bool = true
    ) throws {
        self.directory = try directory ?? TempDirectory()
        configPath = try self.directory.write("sluice.conf", config)
        let command = launcher + [try SluiceBinary.path(), "-f", configPath]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        stdoutCollector = OutputCollector(out.fileHandleForReading, name: "sluice-stdout")
        stderrCollector = OutputCollector(err.fileHandleForReading, name: "sluice-stderr")
        guard waitForReady else { return }
        do {
            try waitForLog(#"msg="ready""#, timeout: readyTimeout)
        } catch {
            kill()
            throw HarnessError("sluice did not become ready: \(error)\n--- config ---\n\(config)")
        }
    }

    deinit { kill() }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    /// Everything sluice wrote to stderr so far.
    var stderr: String { stderrCollector.text }
    var stdout: String { stdoutCollector.text }

    /// Lines of stderr that contain `needle`.
    func logLines(containing needle: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(needle) }
    }

    /// Waits until at least `count` stderr lines contain `needle`; fails with the whole log.
    func waitForLog(_ needle: String, count: Int = 1, timeout: Duration = .seconds(5)) throws {
        try waitUntil(
            "\(count) log line(s) containing \(needle)", timeout: timeout,
            lastSeen: { "\(self.status)\n\(self.stderr)" }
        ) {
            if logLines(containing: needle).count >= count { return true }
            if !process.isRunning {
                throw HarnessError(
                    "sluice exited (\(ExitStatus(process))) while waiting for \(needle); stderr:\n\(stderr)stdout:\n\(stdout)"
                )
            }
            return false
        }
    }

    /// Runs `body`; an error it throws comes back with everything sluice logged so far.
    func explaining<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch {
            throw HarnessError("\(error)\n--- sluice stderr (\(status)) ---\n\(stderr)")
        }
    }

    func signal(_ signal: Int32) {
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to exit on its own and returns how it ended.
    func waitForExit(timeout: Duration = .seconds(10)) throws -> ExitStatus {
        try waitUntil("sluice to exit", timeout: timeout, lastSeen: { self.stderr }) { !process.isRunning }
        process.waitUntilExit()
        return ExitStatus(process)
    }

    /// SIGTERM, then wait for the exit and return it.
    @discardableResult
    func stop(timeout: Duration = .seconds(10)) throws -> ExitStatus {
        signal(SIGTERM)
        return try waitForExit(timeout: timeout)
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private var status: String { process.isRunning ? "running (pid \(pid))" : "\(ExitStatus(process))" }
}
