// systemd without systemd (TESTING.md): socket activation through systemd-socket-activate
// (`bind fd:NAME`, several names, a missing name), and sd_notify to a test-owned
// NOTIFY_SOCKET: READY/STATUS/STOPPING in order, WATCHDOG=1 only while every worker turns.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct SystemdTests {
        /// `systemd-socket-activate -l ... --fdname=... -E ... -- sluice -f CONFIG`.
        final class Activated {
            let process = Process()
            let stderr: OutputCollector

            /// `listen6`: ports to pass as [::1]:PORT sockets, after the IPv4 ones.
            /// `datagram`: pass UDP sockets (`-d`); systemd-socket-activate then starts sluice
            /// on the first datagram, which the test sends itself.
            init(
                listen: [UInt16], listen6: [UInt16] = [], names: [String], config: String, directory: TempDirectory,
                environment: [String: String] = [:], datagram: Bool = false
            ) throws {
                let configPath = try directory.write("sluice.conf", config)
                process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
                var args = listen.flatMap { ["-l", "127.0.0.1:\($0)"] } + listen6.flatMap { ["-l", "[::1]:\($0)"] }
                if datagram { args.append("--datagram") }
                args.append("--fdname=" + names.joined(separator: ":"))
                for key in environment.keys.sorted() { args += ["-E", key] }
                // systemd-socket-activate passes only the variables named with -E: without these
                // a sanitized sluice would print its reports to stderr and exit 66 (TSan) instead
                // of logging them where `make test-tsan`/`test-asan` look.
                for key in ["TSAN_OPTIONS", "ASAN_OPTIONS"]
                where environment[key] == nil && ProcessInfo.processInfo.environment[key] != nil {
                    args += ["-E", key]
                }
                args += ["--", try SluiceBinary.path(), "-f", configPath]
                process.arguments = args
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                let err = Pipe()
                process.standardError = err
                process.standardOutput = FileHandle.nullDevice
                process.standardInput = FileHandle.nullDevice
                stderr = OutputCollector(err.fileHandleForReading, name: "activated-stderr")
                guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate") else {
                    throw HarnessError("systemd-socket-activate is missing: `make test` installs the systemd package")
                }
                try process.run()
                if datagram {
                    try waitUntil("systemd-socket-activate to bind", lastSeen: { self.stderr.text }) {
                        self.stderr.text.contains("Listening on")
                    }
                    return
                }
                // It listens before it execs sluice; wait until the first port accepts.
                try waitUntil("systemd-socket-activate to listen", lastSeen: { self.stderr.text }) {
                    (try? TestClient(port: listen[0], timeout: .milliseconds(200)).close()) != nil
                }
            }

            func stop() throws -> ExitStatus {
                if process.isRunning { kill(process.processIdentifier, SIGTERM) }
                try waitUntil("sluice to exit", lastSeen: { self.stderr.text }) { !self.process.isRunning }
                return ExitStatus(process)
            }

            deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        }

        @Test func namedSocketsServeTheirPools() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let dir = try TempDirectory(prefix: "sluice-sd")
            let (p1, p2, p3) = (try FreePort.tcp(), try FreePort.tcp(), try FreePort.tcp())
            let p6 = try FreePort.tcp(host: "::1")
            // Two sockets share the name "web", one is "db", and an IPv6 one is "db" too: both
            // pools are served on every socket.
            let activated = try Activated(
                listen: [p1, p2, p3], listen6: [p6], names: ["web", "web", "db", "db"],
                config: """
                    global
                        admin-socket none
                    pool web
                        bind fd:web
                        check none
                        server e 127.0.0.1:\(echo.port)
                    pool db
                        bind fd:db
                        check none
                        server e 127.0.0.1:\(echo.port)
                    """, directory: dir)
            for (host, port) in [("127.0.0.1", p1), ("127.0.0.1", p2), ("127.0.0.1", p3), ("::1", p6)] {
                let client = try TestClient(port: port, host: host)
                try client.send("ping \(port)\n")
                #expect(try client.readLine() == "ping \(port)", "\(activated.stderr.text)")
                client.close()
            }
            #expect(try activated.stop() == .exited(0), "\(activated.stderr.text)")
        }

        @Test func missingNameIsAStartupErrorListingThePassedNames() throws {
            let dir = try TempDirectory(prefix: "sluice-sd")
            let port = try FreePort.tcp()
            let activated = try Activated(
                listen: [port], names: ["other"],
                config: """
                    global
                        admin-socket none
                    pool web
                        bind fd:web
                        check none
                    """, directory: dir)
            _ = try? TestClient(port: port, timeout: .milliseconds(500))  // starts sluice
            // Exited, and its stderr read to the end: the collector drains the pipe on its own
            // thread, so the text may still be arriving when the process is already gone.
            try waitUntil("sluice to exit on the missing name", lastSeen: { activated.stderr.text }) {
                !activated.process.isRunning && activated.stderr.closed
            }
            #expect(ExitStatus(activated.process) == .exited(1))
            #expect(
                activated.stderr.text.contains("bind fd:web: systemd passed no socket named 'web' (passed: other)"),
                "\(activated.stderr.text)")
        }

        @Test func notifiesReadyStatusWatchdogAndStopping() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let dir = try TempDirectory(prefix: "sluice-sd")
            let notify = try NotifySocket(directory: dir)
            let port = try FreePort.tcp()
            let activated = try Activated(
                listen: [port], names: ["web"],
                config: """
                    global
                        workers 2
                        admin-socket none
                    pool web
                        bind fd:web
                        check none
                        server e 127.0.0.1:\(echo.port)
                    """, directory: dir, environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
            let client = try TestClient(port: port)
            try client.send("x\n")
            #expect(try client.readLine() == "x")
            client.close()
            try waitUntil("READY=1 and three WATCHDOG=1", lastSeen: { "\(notify.received)" }) {
                notify.assignments.contains("READY=1") && notify.assignments.filter { $0 == "WATCHDOG=1" }.count >= 3
            }
            // systemd-socket-activate execs sluice: the pid is sluice's.
            kill(activated.process.processIdentifier, SIGHUP)
            try waitUntil("RELOADING=1 then READY=1 again", lastSeen: { "\(notify.received)" }) {
                notify.assignments.filter { $0 == "READY=1" }.count == 2
            }
            #expect(try activated.stop() == .exited(0))
            try waitUntil("STOPPING=1", lastSeen: { "\(notify.received)" }) {
                notify.assignments.contains("STOPPING=1")
            }
            let lines = notify.assignments
            let ready = lines.firstIndex(of: "READY=1")!
            #expect(lines.firstIndex(of: "WATCHDOG=1")! > ready, "\(lines)")
            #expect(lines.firstIndex(of: "STOPPING=1")! > ready, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("STATUS=pools=1 servers-up=1/1") }, "\(lines)")
            let reloading = lines.firstIndex(of: "RELOADING=1")
            #expect(reloading != nil && reloading! > ready, "\(lines)")
            if let reloading {
                #expect(lines[reloading + 1].hasPrefix("MONOTONIC_USEC="), "\(lines)")
                #expect(lines[(reloading + 1)...].contains("READY=1"), "READY=1 after the reload: \(lines)")
            }
        }

        @Test func wedgedWorkerStopsTheWatchdog() throws {
            let dir = try TempDirectory(prefix: "sluice-sd")
            let notify = try NotifySocket(directory: dir)
            let port = try FreePort.tcp()
            let activated = try Activated(
                listen: [port], names: ["web"],
                config: """
                    global
                        workers 2
                        admin-socket none
                    pool web
                        bind fd:web
                        check none
                    """, directory: dir,
                environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000", "SLUICE_DEBUG_WEDGE_MS": "300"])
            _ = try? TestClient(port: port, timeout: .milliseconds(500))  // starts sluice
            try waitUntil("the wedge to be logged", lastSeen: { activated.stderr.text }) {
                activated.stderr.text.contains("withholding WATCHDOG=1")
            }
            let pingsAtWedge = notify.assignments.filter { $0 == "WATCHDOG=1" }.count
            #expect(pingsAtWedge >= 1, "pings before the wedge: \(notify.received)")
            // Over the next ~5 ping intervals no WATCHDOG=1 may arrive.
            Thread.sleep(forTimeInterval: 0.5)
            #expect(notify.assignments.filter { $0 == "WATCHDOG=1" }.count == pingsAtWedge, "\(notify.received)")
            kill(activated.process.processIdentifier, SIGKILL)  // a wedged worker never finishes
        }
    }
}
