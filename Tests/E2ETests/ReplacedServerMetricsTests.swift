// A server replaced by a reload (new address) drains next to its successor under the same
// name. The exposition must still hold one series per (pool, server): two samples with the
// same labels make Prometheus reject them. Before, both servers were listed.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct ReplacedServerMetricsTests {
        static func config(_ socket: String, _ port: UInt16, _ backend: UInt16) -> String {
            """
            global
                workers 1
                admin-socket \(socket)
            pool p
                bind 127.0.0.1:\(port)
                check none
                server a 127.0.0.1:\(backend)
            """
        }

        static func samples(_ metrics: String, _ name: String) -> [Substring] {
            metrics.split(separator: "\n").filter { $0.hasPrefix(name + "{pool=\"p\",server=\"a\"}") }
        }

        @Test func aDrainingPredecessorSharesItsSuccessorsSeries() throws {
            let (one, two) = (try EchoBackend(name: "one"), try EchoBackend(name: "two"))
            defer { one.stop(); two.stop() }
            let dir = try TempDirectory(prefix: "sluice-replaced")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(config: Self.config(socket, port, one.port))
            let held = try TestClient(port: port)
            try held.send("old\n")
            #expect(try held.readLine() == "old")

            try Self.config(socket, port, two.port).write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            try sluice.waitForLog(#"msg="reloaded""#)
            let fresh = try TestClient(port: port)
            try fresh.send("new\n")
            #expect(try fresh.readLine() == "new")
            #expect(two.totalConnections == 1)

            let metrics = try E2E.UDPTests.metrics(socket)
            for name in [
                "sluice_server_up", "sluice_server_sessions_current", "sluice_server_sessions_total",
                "sluice_server_weight", "sluice_server_connect_failures_total",
            ] {
                #expect(Self.samples(metrics, name).count == 1, "\(name): \(Self.samples(metrics, name))")
            }
            // Both sessions, the draining one's and the new one's, under the one name.
            #expect(
                Self.samples(metrics, "sluice_server_sessions_current") == [
                    #"sluice_server_sessions_current{pool="p",server="a"} 2"#
                ])
            #expect(
                Self.samples(metrics, "sluice_server_sessions_total") == [
                    #"sluice_server_sessions_total{pool="p",server="a"} 2"#
                ])
            let servers = try E2E.AdminTests.ctl(socket, "show", "servers").stdout
            #expect(
                servers.split(separator: "\n").filter { $0.hasPrefix("p ") }.count == 2,
                "show servers lists both: \(servers)")
            held.close()
            fresh.close()
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
