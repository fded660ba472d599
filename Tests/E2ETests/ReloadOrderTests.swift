// Messages of a reload may reach a worker in any order: a pool the reload adds can be named by a
// health check's `on-down close-sessions` before the worker has heard of that pool through
// a listener. A new pool listed first whose server fails at once (1 ms checks), while the same
// reload adds hundreds of servers to another pool (so the listener message comes late), used
// to kill a worker (index out of range) and every session with it.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct ReloadOrderTests {
        static func config(
            socket: String, mainPort: UInt16, freshPort: UInt16, echo: UInt16, dead: UInt16,
            fresh: String?, extraServers: Int
        ) -> String {
            var text = """
                global
                    workers 2
                    admin-socket \(socket)

                """
            if let fresh {
                text += """
                    pool \(fresh)
                        bind 127.0.0.1:\(freshPort)
                        check tcp interval 1ms timeout 1ms rise 1 fall 1
                        on-down close-sessions
                        server gone 127.0.0.1:\(dead)

                    """
            }
            text += """
                pool main
                    bind 127.0.0.1:\(mainPort)
                    check none
                    server echo 127.0.0.1:\(echo)

                """
            for i in 0..<extraServers { text += "    server s\(i) 127.0.0.1:\(echo) weight 0\n" }
            return text
        }

        @Test func closeSessionsForAPoolAWorkerHasNotSeenYet() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let dead = try FreePort.tcp()  // nothing listens there: every check is refused
            let dir = try TempDirectory(prefix: "sluice-reload-order")
            let socket = dir.path("admin.sock")
            let (mainPort, freshPort) = (try FreePort.tcp(), try FreePort.tcp())
            func config(_ fresh: String?, _ extra: Int) -> String {
                Self.config(
                    socket: socket, mainPort: mainPort, freshPort: freshPort, echo: echo.port, dead: dead,
                    fresh: fresh, extraServers: extra)
            }
            let sluice = try SluiceProcess(config: config(nil, 0))
            // A session held open across every reload: it must survive them byte-exact.
            let held = try TestClient(port: mainPort)
            try held.send("before\n")
            #expect(try held.readLine() == "before")

            // Each round adds a pool under a new name (a new pool index) and 300 more servers.
            for round in 1...4 {
                try config("fresh\(round)", 300 * round).write(
                    toFile: sluice.configPath, atomically: true, encoding: .utf8)
                sluice.signal(SIGHUP)
                try sluice.explaining {
                    try sluice.waitForLog(#"msg="reloaded""#, count: round, timeout: .seconds(20))
                    try sluice.waitForLog(#"pool=fresh\#(round) server=gone"#, timeout: .seconds(10))
                }
                #expect(sluice.isRunning, "sluice died in round \(round): \(sluice.stderr.suffix(2000))")
                try held.send("round \(round)\n")
                #expect(try held.readLine() == "round \(round)")
            }
            let probe = try TestClient(port: mainPort)
            try probe.send("after\n")
            #expect(try probe.readLine() == "after")
            probe.close()
            held.close()
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
