// What systemd's socket unit gives, without systemd (TESTING.md "A restart with a kept
// listener"): a python3 process binds and holds a listening socket and starts sluice on it as
// fd 3 (LISTEN_FDS=1, LISTEN_FDNAMES, LISTEN_PID of the exec'd process) each time it is asked,
// so sluice can be SIGKILLed and started again while the socket, and its backlog, stay.
// systemd-socket-activate cannot do this: it execs sluice, so the socket dies with it.
import Foundation
import Glibc

final class SocketKeeper {
    /// Lines on stdin: `start` (prints `started PID`); sluice's exit prints `exited PID STATUS`.
    private static let script = #"""
        import os, socket, subprocess, sys, threading
        port, name, sluice, config = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        os.dup2(s.fileno(), 3)
        os.set_inheritable(3, True)
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES=name)
        def reap(p):
            p.wait()
            print("exited", p.pid, p.returncode, flush=True)
        print("listening", flush=True)
        for line in sys.stdin:
            if line.strip() == "start":
                p = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$0" -f "$1"', sluice, config],
                                     pass_fds=(3,), env=env)
                print("started", p.pid, flush=True)
                threading.Thread(target=reap, args=(p,), daemon=True).start()
        """#

    let process = Process()
    let output: OutputCollector
    private let input: FileHandle
    /// Every sluice started, killed with the keeper (it is the keeper's child, not ours).
    private var started: [pid_t] = []

    init(port: UInt16, name: String, config: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, "\(port)", name, try SluiceBinary.path(), config]
        let out = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = inPipe
        input = inPipe.fileHandleForWriting
        output = OutputCollector(out.fileHandleForReading, name: "socket-keeper")
        try process.run()
        try waitUntil("the keeper to listen", lastSeen: { self.output.text }) {
            self.output.text.contains("listening\n")
        }
    }

    /// Starts sluice on the kept socket; returns its pid once it logged `ready`.
    func startSluice() throws -> pid_t {
        let readyBefore = output.text.components(separatedBy: #"msg="ready""#).count
        let startedBefore = output.text.components(separatedBy: "started ").count
        input.write(Data("start\n".utf8))
        var pid: pid_t = 0
        try waitUntil("sluice to start on the kept socket", timeout: .seconds(10), lastSeen: { self.output.text }) {
            let parts = self.output.text.components(separatedBy: "started ")
            guard parts.count > startedBefore, let line = parts.last?.split(separator: "\n").first,
                let n = pid_t(line)
            else { return false }
            pid = n
            return self.output.text.components(separatedBy: #"msg="ready""#).count > readyBefore
        }
        started.append(pid)
        return pid
    }

    /// Waits until the keeper reaped `pid`.
    func waitForExit(_ pid: pid_t) throws {
        try waitUntil("sluice \(pid) to be reaped", lastSeen: { self.output.text }) {
            self.output.text.contains("exited \(pid) ")
        }
    }

    func stop() {
        for pid in started where !output.text.contains("exited \(pid) ") { kill(pid, SIGKILL) }
        started = []
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
