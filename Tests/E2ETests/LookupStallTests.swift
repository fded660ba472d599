// A name server that never answers (issue #13 item 4 and 10): a reload adding a server by
// host name must not stall the control loop (WATCHDOG=1 goes on) nor the admin socket (`show
// info` answers while the reload waits); it fails after the lookup deadline naming FILE:LINE
// and the host, and changes nothing. At start-up the same lookup is bounded too, and a SIGHUP
// sent meanwhile does not kill sluice. sluice runs in a private mount namespace whose
// /etc/resolv.conf names the test's silent server (root needed, as in ResolveTests).
import Foundation
import Glibc
import Synchronization
import Testing

extension E2E {
    @Suite(.enabled(if: getuid() == 0, "unshare -m, mount and port 53 need root")) struct LookupStallTests {
        /// Not in /etc/hosts (nsswitch: files, then dns), so the lookup goes to the name server.
        static let host = "stall.sluice.test"

        static func config(socket: String, port: UInt16, backend: UInt16, extra: String = "") -> String {
            """
            global
                workers 1
                admin-socket \(socket)
            pool p
                bind 127.0.0.1:\(port)
                check none
                server a 127.0.0.1:\(backend)
            \(extra)
            """
        }

        @Test func aReloadWaitingForASilentNameServerKeepsTheWatchdogAndAdminGoing() throws {
            let backend = try EchoBackend(name: "a")
            defer { backend.stop() }
            let dir = try TempDirectory(prefix: "sluice-stall")
            let dns = try SilentNameServer(directory: dir)
            defer { dns.stop() }
            let notify = try NotifySocket(directory: dir)
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: Self.config(socket: socket, port: port, backend: backend.port), in: dir,
                launcher: dns.launcher(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"]))
            let pings = { notify.assignments.filter { $0 == "WATCHDOG=1" }.count }
            try sluice.explaining { () throws in
                // Line 8 adds a server by a name nobody answers for.
                _ = try sluice.directory.write(
                    "sluice.conf",
                    Self.config(
                        socket: socket, port: port, backend: backend.port,
                        extra: "    server b \(Self.host):\(backend.port)"))
                let reply = Mutex<SluiceCommand.Result?>(nil)
                let failure = Mutex<String?>(nil)
                let reloader = Thread {
                    do {
                        let result = try SluiceCommand.run(
                            ["-s", socket, "reload"], binary: "sluicectl", timeout: .seconds(40))
                        reply.withLock { $0 = result }
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                    }
                }
                reloader.start()
                try waitUntil("a query at the silent name server", timeout: .seconds(10)) { dns.queries > 0 }

                // The lookup is stuck now. The admin socket answers other clients meanwhile...
                let info = try UnixClient.exchange(socket, Array("show info\n".utf8), timeout: .seconds(3))
                #expect(info.contains("pid"), "\(info)")
                // ...and the control loop still sends WATCHDOG=1.
                let before = pings()
                try waitUntil(
                    "3 more WATCHDOG=1 during the stalled reload", timeout: .seconds(4),
                    lastSeen: { "\(notify.received)" }
                ) {
                    pings() >= before + 3
                }
                #expect(reply.withLock { $0 } == nil, "the reload answered before the checks ran; they proved nothing")

                // The reload fails at the deadline, naming the line and the host; nothing changed.
                try waitUntil("the reload reply", timeout: .seconds(30), lastSeen: { failure.withLock { $0 } ?? "" }) {
                    reply.withLock { $0 } != nil || failure.withLock { $0 } != nil
                }
                let result = try #require(reply.withLock { $0 }, "\(failure.withLock { $0 } ?? "")")
                #expect(result.status == .exited(1), "\(result)")
                #expect(result.stdout.hasPrefix("ERR reload failed"), "\(result)")
                #expect(
                    result.stdout.contains(
                        "\(sluice.configPath):8: cannot resolve host '\(Self.host)' of server 'b': no answer within 5s"),
                    "\(result)")
                let servers = try SluiceCommand.run(["-s", socket, "show", "servers"], binary: "sluicectl").stdout
                #expect(servers.contains(" a ") && !servers.contains(Self.host), "\(servers)")
                // The datagrams are read on the notify socket's own thread: wait for READY=1.
                try waitUntil("READY=1 after RELOADING=1", lastSeen: { "\(notify.received)" }) {
                    let lines = notify.assignments
                    guard let reloading = lines.lastIndex(of: "RELOADING=1") else { return false }
                    return lines[reloading...].contains("READY=1")
                }

                // SIGHUP takes the same path: the log says so, and the pings go on meanwhile.
                sluice.signal(SIGHUP)
                try sluice.waitForLog("reload: waiting for host name lookups", count: 2, timeout: .seconds(5))
                let atSignal = pings()
                try waitUntil(
                    "3 more WATCHDOG=1 during the SIGHUP reload", timeout: .seconds(4),
                    lastSeen: { "\(notify.received)" }
                ) {
                    pings() >= atSignal + 3
                }
                try sluice.waitForLog("of server 'b'", count: 2, timeout: .seconds(30))
                #expect(try UnixClient.exchange(socket, Array("show info\n".utf8)).contains("pid"))

                // Sessions were never affected.
                let client = try TestClient(port: port)
                try E2E.DrainTests.exchange(client, rounds: 2, seed: 7)
                client.close()
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func aSighupDuringAStartupLookupDoesNotKillSluice() throws {
            let dir = try TempDirectory(prefix: "sluice-stall")
            let dns = try SilentNameServer(directory: dir)
            defer { dns.stop() }
            let port = try FreePort.tcp()
            let conf = """
                global
                    admin-socket none
                pool p
                    bind 127.0.0.1:\(port)
                    server b \(Self.host):5432
                """
            let child = try SluiceProcess(config: conf, in: dir, launcher: dns.launcher(), waitForReady: false)
            defer { child.kill() }
            try waitUntil("a query at the silent name server", timeout: .seconds(10), lastSeen: { child.stderr }) {
                dns.queries > 0
            }
            // Start-up is busy in the lookup: the signal must wait, not kill.
            child.signal(SIGHUP)
            let status = try child.waitForExit(timeout: .seconds(30))
            #expect(status == .exited(1), "\(child.stderr)")
            #expect(
                child.stderr.contains(
                    "\(child.configPath):5: cannot resolve host '\(Self.host)' of server 'b': no answer within 5s"),
                "\(child.stderr)")
        }

        @Test func aStopSignalDuringAStartupLookupEndsTheWaitCleanly() throws {
            let dir = try TempDirectory(prefix: "sluice-stall")
            let dns = try SilentNameServer(directory: dir)
            defer { dns.stop() }
            let conf = """
                global
                    admin-socket none
                pool p
                    bind 127.0.0.1:\(try FreePort.tcp())
                    server b \(Self.host):5432
                """
            let child = try SluiceProcess(config: conf, in: dir, launcher: dns.launcher(), waitForReady: false)
            defer { child.kill() }
            try waitUntil("a query at the silent name server", timeout: .seconds(10), lastSeen: { child.stderr }) {
                dns.queries > 0
            }
            child.signal(SIGTERM)
            #expect(try child.waitForExit(timeout: .seconds(30)) == .exited(0), "\(child.stderr)")
            #expect(
                child.stderr.contains("stopped by SIGTERM during start-up, while looking up host names"),
                "\(child.stderr)")
            #expect(
                !child.stderr.contains("no answer within"), "the stop waited for the lookup deadline: \(child.stderr)")
        }
    }
}
