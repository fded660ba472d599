// A UDP pool's flows come from source ports anyone can spoof: they have their own cap (the
// pool's `maxconn`) and never take the global `maxconn` budget of TCP sessions, so a flood
// of flows cannot starve an unrelated TCP pool.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct UDPBudgetTests {
        @Test func aFloodOfFlowsIsCappedByItsPoolAndNeverTakesTCPSlots() throws {
            let ns = try UDPEchoBackend(name: "ns")
            defer { ns.stop() }
            let echo = try EchoBackend()
            defer { echo.stop() }
            let dir = try TempDirectory(prefix: "sluice-udp-budget")
            let socket = dir.path("admin.sock")
            let (udpPort, tcpPort) = (try FreePort.udp(), try FreePort.tcp())
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 2
                        maxconn 4
                        admin-socket \(socket)
                    pool dns
                        bind 127.0.0.1:\(udpPort)
                        mode udp
                        maxconn 16
                        server ns 127.0.0.1:\(ns.port)
                    pool db
                        bind 127.0.0.1:\(tcpPort)
                        check none
                        server echo 127.0.0.1:\(echo.port)
                    """, in: dir)
            func ctl(_ args: String...) throws -> String {
                try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl").stdout
            }
            // 40 source ports, ten times the global maxconn: the pool's cap admits 16 flows.
            let clients = try (0..<40).map { _ in try UDPClient(port: udpPort) }
            for (i, client) in clients.prefix(16).enumerated() {
                let payload = PseudoRandom.bytes(seed: UInt64(i), count: 100 + i)
                #expect(try sluice.explaining { try client.exchange(payload) } == "ns")
            }
            for client in clients.dropFirst(16) { try client.send(Array("over the cap".utf8)) }
            try waitUntil("24 datagrams rejected by the pool's cap", lastSeen: { (try? ctl("show", "metrics")) ?? "" })
            {
                try ctl("show", "metrics").contains(#"sluice_rejected_total{pool="dns",reason="maxconn"} 24"#)
            }
            #expect(ns.received == 16, "the server saw datagrams past the pool's cap")
            #expect(try ctl("show", "metrics").contains(#"sluice_udp_flows_current{pool="dns"} 16"#))

            // The TCP pool still has the whole global budget: 4 sessions at once, byte-exact.
            var sessions: [TestClient] = []
            for i in 0..<4 {
                let client = try sluice.explaining { try TestClient(port: tcpPort) }
                let payload = PseudoRandom.bytes(seed: UInt64(100 + i), count: 5000)
                try client.send(payload)
                var echoed: [UInt8] = []
                while echoed.count < payload.count, case .bytes(let chunk) = try client.receive() { echoed += chunk }
                #expect(echoed == payload, "TCP session \(i) through the flood")
                sessions.append(client)
            }
            // ... and the global maxconn still caps TCP: a fifth client is refused.
            try TestClient.expectRejected(port: tcpPort)
            #expect(try ctl("show", "metrics").contains(#"sluice_rejected_total{pool="db",reason="maxconn"} 1"#))
            // `show info` counts both: 4 sessions and 16 flows.
            #expect(try ctl("--json", "show", "info").contains(#""sessions_current":20"#))
            for client in sessions { client.close() }
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
