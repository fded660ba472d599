// A backend in its own process (python3), so a scenario can SIGKILL it mid-transfer: the
// kernel then closes its sockets as for a crashed server. It serves one connection: `sink`
// reads and discards, `source` sends without end; it prints `port N` once listening and
// `moved N` once 1 MiB has crossed, which are the test's readiness signals.
import Foundation
import Glibc

final class KillableBackend {
    enum Mode: String { case sink, source }

    let child: ChildProcess
    let port: UInt16

    private static let script = """
        import socket, sys
        mode = sys.argv[1]
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        print("port", s.getsockname()[1], flush=True)
        c, _ = s.accept()
        chunk = bytes(range(256)) * 256
        total, told = 0, False
        while True:
            if mode == "sink":
                b = c.recv(65536)
                if not b:
                    break
                total += len(b)
            else:
                total += c.send(chunk)
            if not told and total >= 1 << 20:
                print("moved", total, flush=True)
                told = True
        """

    init(_ mode: Mode, in directory: TempDirectory) throws {
        let path = try directory.write("backend-\(mode.rawValue).py", Self.script)
        let child = try ChildProcess("/usr/bin/python3", ["-u", path, mode.rawValue])
        self.child = child
        var port: UInt16 = 0
        try waitUntil("python3 backend to listen", timeout: .seconds(10), lastSeen: { child.output.text }) {
            guard let line = child.output.text.split(separator: "\n").first(where: { $0.hasPrefix("port ") }) else {
                if !child.process.isRunning { throw HarnessError("python3 backend exited: \(child.output.text)") }
                return false
            }
            port = UInt16(line.dropFirst(5)) ?? 0
            return port != 0
        }
        self.port = port
    }

    /// Waits until 1 MiB crossed its connection (read or sent).
    func waitUntilMidTransfer(timeout: Duration = .seconds(5)) throws {
        try waitUntil("1 MiB through the python3 backend", timeout: timeout, lastSeen: { self.child.output.text }) {
            child.output.text.contains("moved ")
        }
    }

    /// SIGKILL, and reaped.
    func kill() { child.kill() }
}
