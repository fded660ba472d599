// `sluice -f CONFIG` with stderr on a pipe the test does not read until it says so, like a
// stuck journald or log shipper: once the pipe's 64 KiB are full, every write to it blocks.
// Readiness comes from the admin socket (the log cannot be read); SIGKILL on deinit.
import Foundation
import Glibc

final class UnreadStderrSluice {
    let directory: TempDirectory
    /// The admin socket path the config must use.
    let adminSocket: String
    private let process = Process()
    private let stderrPipe = Pipe()
    private var collector: OutputCollector?

    /// `config` gets the admin socket path and returns the whole configuration text.
    init(config: (String) -> String) throws {
        directory = try TempDirectory(prefix: "sluice-log")
        adminSocket = directory.path("admin.sock")
        let text = config(adminSocket)
        let path = try directory.write("sluice.conf", text)
        process.executableURL = URL(fileURLWithPath: try SluiceBinary.path())
        process.arguments = ["-f", path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let socket = adminSocket
        var last = ""
        do {
            try waitUntil("the admin socket to answer show info", timeout: .seconds(10), lastSeen: { last }) {
                if !process.isRunning { throw HarnessError("sluice exited: \(ExitStatus(process))") }
                do {
                    last = try UnixClient.exchange(socket, Array("show info\n".utf8))
                } catch {
                    last = "\(error)"
                }
                return last.contains("sessions_total")
            }
        } catch {
            kill()
            throw HarnessError("sluice did not become ready: \(error)\n--- config ---\n\(text)")
        }
    }

    deinit { kill() }

    var isRunning: Bool { process.isRunning }

    /// One admin command's reply (the line protocol, without sluicectl).
    func admin(_ command: String) throws -> String {
        try UnixClient.exchange(adminSocket, Array((command + "\n").utf8))
    }

    /// The value of an unlabelled or fully labelled sample in `show metrics`, e.g.
    /// `sluice_log_dropped_total` or `sluice_server_up{pool="p",server="s"}`; nil if absent.
    func metric(_ sample: String) throws -> UInt64? {
        let text = try admin("show metrics")
        let line = text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }
        return line.flatMap { UInt64($0.dropFirst(sample.count + 1)) }
    }

    /// From now on stderr is read (into memory); what sluice could not write so far follows.
    func startReadingStderr() {
        if collector == nil { collector = OutputCollector(stderrPipe.fileHandleForReading, name: "sluice-stderr") }
    }

    /// Everything read from stderr since `startReadingStderr`.
    var stderr: String { collector?.text ?? "" }
    /// True once everything sluice (and its children) wrote to stderr has been read.
    var stderrClosed: Bool { collector?.closed ?? false }

    func logLines(containing needle: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(needle) }
    }

    /// SIGTERM, then wait for the exit and return it.
    func stop(timeout: Duration = .seconds(10)) throws -> ExitStatus {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGTERM) }
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
