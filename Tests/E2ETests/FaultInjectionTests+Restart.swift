// `kill -9` of sluice while its listening socket is kept, as systemd's socket unit keeps it
// (SocketKeeper): the session it was carrying ends at once, clients that connect while no
// sluice runs wait in the kept backlog, and the restarted process serves every one of them
// byte-exact: none refused. Then nothing is left behind and a fresh session is exact.
import Foundation
import Glibc
import SluiceTestSupport
import Testing

extension E2E.FaultInjectionTests {
    /// 7. Restart on a kept listener.
    @Test func clientsWhoConnectWhileSluiceIsDownAreServedByTheRestartedOne() throws {
        let echo = try EchoBackend(name: "echo")
        defer { echo.stop() }
        let port = try FreePort.tcp()
        let directory = try TempDirectory(prefix: "sluice-restart")
        let socket = directory.path("admin.sock")
        let config = try directory.write(
            "sluice.conf",
            """
            global
                workers 1
                admin-socket \(socket)
            pool echo
                bind fd:kept
                check none
                server echo 127.0.0.1:\(echo.port)
            """)
        let keeper = try SocketKeeper(port: port, name: "kept", config: config)
        defer { keeper.stop() }
        let first = try keeper.startSluice()

        let cut = try TestClient(port: port)
        try E2E.DrainTests.exchange(cut, rounds: 2, seed: 70)
        kill(first, SIGKILL)
        try keeper.waitForExit(first)
        // Its sockets died with it: the client reads an end at once, never hangs.
        let end = try cut.receive()
        #expect(end == .eof || end == .reset, "\(end)")
        cut.close()

        // While no sluice runs, the kernel completes the handshakes into the kept backlog and
        // queues each client's request there.
        var waiting: [(client: TestClient, request: [UInt8])] = []
        for i in 0..<20 {
            let client = try TestClient(port: port, source: "127.0.0.\(10 + i)", timeout: .seconds(10))
            let request = PseudoRandom.bytes(seed: 7100 + UInt64(i), count: 16 << 10)
            try client.send(request)
            waiting.append((client, request))
        }
        let second = try keeper.startSluice()
        for (i, (client, request)) in waiting.enumerated() {
            var echoed: [UInt8] = []
            while echoed.count < request.count {
                guard case .bytes(let more) = try client.receive() else {
                    Issue.record("client \(i) was refused or cut after the restart (\(echoed.count) bytes back)")
                    break
                }
                echoed += more
            }
            #expect(echoed == request, "client \(i)")
            client.close()
        }

        var last = ""
        try waitUntil("no session left after the restart", lastSeen: { last }) {
            last = try E2E.AdminTests.ctl(socket, "show", "sessions", "json").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return last == "[]"
        }
        let fresh = try TestClient(port: port)
        try E2E.DrainTests.exchange(fresh, rounds: 3, seed: 71)
        fresh.close()
        kill(second, SIGTERM)
        try keeper.waitForExit(second)
        #expect(keeper.output.text.contains("exited \(second) 0\n"), "\(keeper.output.text.suffix(2000))")
    }
}
