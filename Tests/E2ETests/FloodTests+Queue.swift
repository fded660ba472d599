// A flood against a server's `maxconn 8`: past it clients wait in the pool's queue (SPEC:
// a server's cap queues, `timeout queue` then closes who waited too long). 32 clients at a
// time, 6,000 in all, keep the queue busy; then with the server's 8 slots held, 320 more all
// wait out `timeout queue` and are reset. The server never has more than 8 sessions at any
// look, every client is echoed exactly or reset without a byte, and afterwards the queue,
// the sessions and sluice's fds are back where they started.
import Foundation
import Glibc
import Synchronization
import Testing
import SluiceTestSupport

extension E2E.FloodTests {
    @Test func aFloodAgainstAServerMaxconnQueuesAndLeavesNothing() throws {
        let (serverCap, attempts) = (8, 6000)
        let echo = try EchoBackend(name: "e")
        defer { echo.stop() }
        let port = try FreePort.tcp()
        let rig = try FloodRig(
            global: ["maxconn 500"],
            pools: """
                pool q
                    bind 127.0.0.1:\(port)
                    check none
                    timeout queue 200ms
                    server e 127.0.0.1:\(echo.port) maxconn \(serverCap)
                """, prefix: "sluice-queue-flood")
        let (sluice, socket, metricsPort) = (rig.sluice, rig.socket, rig.metricsPort)

        let peaks = Tally()
        let watcher = Probe("queue-watcher") { n in
            if n % 2 == 0 {
                let rows = try FloodRig.adminJSON(socket, "show servers q") as? [[String: Any]] ?? []
                let current = rows.first?["sessions_current"] as? Int ?? -1
                peaks.peak("server", current)
                guard (0...serverCap).contains(current) else {
                    throw HarnessError("show servers: \(current) sessions on e, maxconn \(serverCap)")
                }
            } else {
                let metrics = try FloodRig.scrape(metricsPort, workers: 2)
                let current = Int(
                    FloodRig.value(#"sluice_server_sessions_current{pool="q",server="e"}"#, in: metrics) ?? -1)
                let queued = Int(FloodRig.value(#"sluice_queue_current{pool="q"}"#, in: metrics) ?? -1)
                peaks.peak("server", current)
                peaks.peak("queue", queued)
                // A client that gave up while queued stays there until `timeout queue` (as in
                // HAProxy without `option abortonclose`): the queue is bounded by the global
                // cap, each waiter holding one of its slots, not by the clients still there.
                guard (0...serverCap).contains(current), (0...500).contains(queued) else {
                    throw HarnessError(
                        "sluice_server_sessions_current \(current) (maxconn \(serverCap)), sluice_queue_current \(queued)"
                    )
                }
            }
        }
        let tally = Tally()
        let started = ContinuousClock.now
        try sluice.explaining { try Self.flood(0..<attempts, port: port, into: tally) }
        let holders = try sluice.explaining {
            try (0..<serverCap).map { j in try Self.hold(port: port, source: "127.12.0.\(1 + j)", seed: UInt64(700 + j))
            }
        }
        let waiters = Tally()
        try sluice.explaining { try Self.flood(attempts..<(attempts + 320), port: port, into: waiters) }
        let floodTime = ContinuousClock.now - started
        for client in holders { client.close() }
        let watched = try watcher.stop()
        try sluice.explaining {
            if !watcher.failures.isEmpty { throw HarnessError("the operator during the flood: \(watcher.failures)") }
        }
        let (served, refused, aborted) = (
            tally.served.load(ordering: .relaxed), tally.refused.load(ordering: .relaxed),
            tally.aborted.load(ordering: .relaxed)
        )
        #expect(served + refused + aborted == attempts)
        #expect(served > 0)
        let (timedOut, gaveUp) = (waiters.refused.load(ordering: .relaxed), waiters.aborted.load(ordering: .relaxed))
        #expect(
            waiters.served.load(ordering: .relaxed) == 0 && timedOut + gaveUp == 320,
            "with every slot held, a client got through")

        try sluice.explaining {
            try rig.waitForNoSession("the queue flood")
            try rig.waitForBaselineFDs("the queue flood", extraPipes: 8)
        }
        // Whoever was refused waited too long (or met the global cap); nothing is left queued.
        let metrics = try rig.scrape()
        #expect(FloodRig.value(#"sluice_queue_current{pool="q"}"#, in: metrics) == 0)
        #expect(FloodRig.value(#"sluice_server_sessions_current{pool="q",server="e"}"#, in: metrics) == 0)
        let rejected = Int(FloodRig.sum("sluice_rejected_total", in: metrics))
        #expect(
            rejected >= refused + timedOut && rejected <= refused + aborted + timedOut + gaveUp,
            "rejected \(rejected), refused \(refused) + \(timedOut), aborted \(aborted) + \(gaveUp)\n\(metrics)")
        let queueTimeouts = Int(
            FloodRig.value(#"sluice_rejected_total{pool="q",reason="queue-timeout"}"#, in: metrics) ?? -1)
        #expect(queueTimeouts >= timedOut, "queue-timeout \(queueTimeouts), waiters reset \(timedOut)")
        try sluice.explaining {
            try rig.expectByteExactSession(port: port, "the queue flood")
            try rig.waitForNoSession("the byte-exact session")
        }
        print(
            """
            FloodTests queue: \(attempts) attempts in \(floodTime) against server maxconn \(serverCap): served \(served), \
            refused \(refused), aborted \(aborted); \
            with the slots held: \(timedOut) reset, \(gaveUp) gave up (queue-timeout \(queueTimeouts)); peak server sessions \(peaks.peak("server")), peak queue \(peaks.peak("queue")); \
            \(watched.count) operator looks, slowest \(watched.slowest); fds \(rig.baseline) -> \(try FDTable(pid: sluice.pid))
            """)
        #expect(try sluice.stop() == .exited(0))
    }
}
