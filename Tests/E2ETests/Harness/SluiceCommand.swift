// Runs `sluice ARGS...` (or `sluicectl ARGS...`) to completion (for CLI tests) and returns exit status, stdout and
// stderr. Killed and reported if it does not finish within the timeout.
import Foundation
import Glibc

struct SluiceCommand {
    struct Result: CustomStringConvertible {
        let status: ExitStatus
        let stdout: String
        let stderr: String

        var description: String { "\(status)\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)" }
    }

    /// `asNobody`: run as uid/gid 65534 through setpriv (the binary must be readable by nobody).
    static func run(
        _ arguments: [String], binary: String = "sluice", asNobody: Bool = false,
        timeout: Duration = .seconds(10)
    ) throws -> Result {
        let process = Process()
        var path = try SluiceBinary.path(binary)
        var copy: TempDirectory?
        defer { _ = copy }
        if asNobody {
            // The build tree may sit under a directory nobody cannot enter: run a copy in /tmp.
            let dir = try TempDirectory(prefix: "sluice-nobody")
            chmod(dir.url.path, 0o755)
            let target = dir.path(binary)
            try FileManager.default.copyItem(atPath: path, toPath: target)
            chmod(target, 0o755)
            path = target
            copy = dir
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = OutputCollector(out.fileHandleForReading, name: "sluice-cmd-stdout")
        let stderr = OutputCollector(err.fileHandleForReading, name: "sluice-cmd-stderr")
        do {
            try waitUntil(
                "sluice \(arguments.joined(separator: " ")) to exit", timeout: timeout, lastSeen: { stderr.text }
            ) {
                !process.isRunning
            }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
        process.waitUntilExit()
        try waitUntil("sluice output pipes to close", timeout: .seconds(2)) { stdout.closed && stderr.closed }
        return Result(status: ExitStatus(process), stdout: stdout.text, stderr: stderr.text)
    }
}
