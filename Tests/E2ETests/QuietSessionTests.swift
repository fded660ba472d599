// An open session's bytes reach `sluice_bytes_total` and the server counters within about a
// second, whether or not it moves again: a session that echoes a short burst and then sits
// idle used to show its request in `direction="in"` and never its reply in `"out"`.
import Foundation
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct QuietSessionTests {
        @Test func lastBurstOfAnIdleSessionIsPublished() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let dir = try TempDirectory(prefix: "sluice-quiet")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 1
                        admin-socket \(socket)
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                        server a 127.0.0.1:\(echo.port)
                    """)
            let client = try TestClient(port: port)
            // Two bursts: the first is published at once (the session's first), the second
            // comes within the same second and used to wait for more traffic that never came.
            for burst in ["first\n", "second burst\n"] {
                try client.send(burst)
                #expect(try client.readLine() == String(burst.dropLast()))
            }
            let total = "first\n".utf8.count + "second burst\n".utf8.count
            var last = ""
            try waitUntil(
                "the idle session's bytes in the metrics", timeout: .seconds(5), interval: .milliseconds(50),
                lastSeen: { last }
            ) {
                last = try E2E.UDPTests.metrics(socket)
                return last.contains("sluice_bytes_total{pool=\"p\",direction=\"in\"} \(total)\n")
                    && last.contains("sluice_bytes_total{pool=\"p\",direction=\"out\"} \(total)\n")
            }
            let servers = try E2E.AdminTests.ctl(socket, "show", "servers", "p", "json").stdout
            #expect(
                servers.contains("\"bytes_in\":\(total)") && servers.contains("\"bytes_out\":\(total)"), "\(servers)")
            client.close()
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
