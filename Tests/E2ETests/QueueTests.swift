// Per-server `maxconn` with the queue: clients wait (unread) while every server is full, a
// freed slot goes to the oldest waiter, and `timeout queue` closes who waited too long.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct QueueTests {
        static func config(socket: String, port: UInt16, server: UInt16, queue: String) -> String {
            """
            global
                workers 2
                admin-socket \(socket)
            pool p
                bind 127.0.0.1:\(port)
                check none
                timeout queue \(queue)
                server a 127.0.0.1:\(server) maxconn 1
            """
        }

        @Test func freedSlotGoesToTheOldestWaiter() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let dir = try TempDirectory(prefix: "sluice-queue")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: Self.config(socket: socket, port: port, server: a.port, queue: "10s"))
            // The QUEUE column of `show pools`.
            func queued() throws -> String {
                try SluiceCommand.run(["-s", socket, "show", "pools"], binary: "sluicectl").stdout
                    .split(separator: "\n").last?.split(separator: " ").dropFirst(7).first.map(String.init) ?? "?"
            }
            let (first, name) = try Greetings.connect(port: port)
            #expect(name == "a")
            let second = try TestClient(port: port)
            try waitUntil("the second client to wait", lastSeen: { (try? queued()) ?? "" }) { try queued() == "1" }
            let third = try TestClient(port: port)
            try waitUntil("the third client to wait", lastSeen: { (try? queued()) ?? "" }) { try queued() == "2" }
            #expect(a.totalConnections == 1, "the server took more than its maxconn")

            first.close()
            #expect(try sluice.explaining { try second.readLine() } == "a", "the oldest waiter gets the slot")
            try waitUntil("one client left waiting", lastSeen: { (try? queued()) ?? "" }) { try queued() == "1" }
            #expect(a.currentConnections == 1)
            second.close()
            #expect(try third.readLine() == "a")
            third.close()
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func queueTimeoutClosesAndCounts() throws {
            let a = try GreetingBackend(name: "a")
            defer { a.stop() }
            let dir = try TempDirectory(prefix: "sluice-queue")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: Self.config(socket: socket, port: port, server: a.port, queue: "300ms"))
            let (holder, _) = try Greetings.connect(port: port)
            let started = ContinuousClock.now
            let waiter = try TestClient(port: port)
            try waiter.expectClosedWithoutData()
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(250) && waited < .seconds(3), "closed after \(waited)")
            let metrics = try SluiceCommand.run(["-s", socket, "show", "metrics"], binary: "sluicectl").stdout
            #expect(metrics.contains(#"sluice_rejected_total{pool="p",reason="queue-timeout"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"sluice_queue_current{pool="p"} 0"#))
            holder.close()
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
