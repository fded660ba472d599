// A sluice whose start-up the test watches, for scenarios where it may never become ready
// (a stalled lookup, a bad state file): started through a launcher, output collected, killed
// at the end if still running. SluiceProcess, by contrast, waits for `ready`.
import Foundation
import Glibc

/// A sluice whose start-up the test watches (it may never become ready): started through
/// `launcher`, output collected, killed at the end if still running.
final class StartingSluice {
    private let process = Process()
    private let err: OutputCollector
    private let out: OutputCollector

    init(launcher: [String], config: String) throws {
        let command = launcher + [try SluiceBinary.path(), "-f", config]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        out = OutputCollector(outPipe.fileHandleForReading, name: "starting-stdout")
        err = OutputCollector(errPipe.fileHandleForReading, name: "starting-stderr")
    }

    var pid: Int32 { process.processIdentifier }
    var stderr: String { err.text }

    func signal(_ signal: Int32) {
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
    }

    func waitForExit(timeout: Duration) throws -> ExitStatus {
        try waitUntil("sluice to exit", timeout: timeout, lastSeen: { self.stderr }) { !process.isRunning }
        process.waitUntilExit()
        return ExitStatus(process)
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
