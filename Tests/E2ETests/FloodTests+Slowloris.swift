// Slowloris on the operator's endpoints. 300 clients on the admin socket and 300 on the
// metrics port (more than the 256 slots of each), a third dripping an endless request a byte
// at a time, a third sending half a request, a third silent, each replaced as soon as sluice
// lets it go: a fresh operator request still gets its answer every time, sluice holds at most
// its slots' worth of fds, and all of them are gone once the attackers leave. Then admin
// clients that ask for a large `show metrics` and never read it: sluice's memory stays under
// the held-replies cap and comes back. (OperatorEndpointTests covers idle connections and
// the metrics port's readers that never read.)
import Foundation
import Glibc
import Synchronization
import Testing
import SluiceTestSupport

extension E2E.FloodTests {
    @Test func slowClientsOnTheOperatorEndpointsNeverShutOutTheOperator() throws {
        let perKind = 100
        let slots = 256
        try HeldConnections.ensureFileLimit(8 * perKind + 256)
        let rig = try FloodRig(
            workers: 1,
            pools: """
                pool p
                    bind 127.0.0.1:\(try FreePort.tcp())
                    check none
                    server a 127.0.0.1:1
                """, prefix: "sluice-slowloris")
        let (sluice, socket, metricsPort, pid) = (rig.sluice, rig.socket, rig.metricsPort, rig.sluice.pid)
        let baselineFiles = try ProcStatus.openFiles(pid)
        let admin = try sluice.explaining {
            try SlowClients(
                each: perKind, connect: { try UnixClient.connect(socket, timeout: .seconds(10)) },
                head: "show info", dripByte: " ")
        }
        let metrics = try sluice.explaining {
            try SlowClients(
                each: perKind, connect: { try SlowClients.tcp(port: metricsPort) },
                head: "GET /metrics HTTP/1.1\r\nX-Slow: ", dripByte: "a")
        }

        // The operator, all along: an answer each time, while sluice holds no more connections
        // than its slots (and the operator's own).
        let peakFiles = Tally()
        let operatorProbe = Probe("operator", pause: .milliseconds(20)) { n in
            if n % 2 == 0 {
                let info = try FloodRig.admin(socket, "show info")
                guard info.hasPrefix("version ") else { throw HarnessError("show info: \(info)") }
            } else {
                _ = try FloodRig.scrape(metricsPort, workers: 1)
            }
            let files = try ProcStatus.openFiles(pid)
            peakFiles.peak("files", files)
            guard files <= baselineFiles + 2 * slots + 4 else {
                throw HarnessError(
                    "sluice holds \(files) fds, \(baselineFiles) at the baseline: more than its \(2 * slots) slots")
            }
        }
        let attack = Deadline(.seconds(3))
        var ticks = 0
        try sluice.explaining {
            while !attack.expired {
                try admin.tick()
                try metrics.tick()
                ticks += 1
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        let answered = try operatorProbe.stop()
        try sluice.explaining {
            if !operatorProbe.failures.isEmpty { throw HarnessError("the operator: \(operatorProbe.failures)") }
        }
        #expect(answered.count > 0)
        let held = peakFiles.peak("files") - baselineFiles
        admin.closeAll()
        metrics.closeAll()
        try sluice.explaining { try rig.waitForBaselineFDs("the slow clients", extraPipes: 0) }
        print(
            """
            FloodTests slowloris: \(2 * 3 * perKind) slow clients for 3 s (\(ticks) drips): admin replied \(admin.replied), \
            closed \(admin.closed); metrics replied \(metrics.replied), closed \(metrics.closed); operator answered \
            \(answered.count) times, slowest \(answered.slowest); sluice held at most \(held) fds over its \
            baseline \(baselineFiles); fds \(rig.baseline) -> \(try FDTable(pid: pid))
            """)
        #expect(try sluice.stop() == .exited(0))
    }

    @Test(.enabled(if: Sanitizer.memoryIsMeasurable, "RSS bounds mean nothing under a sanitizer"))
    func adminClientsThatNeverReadALargeReplyPinBoundedMemory() throws {
        // 40 replies of ~850 KiB are more than the 32 MiB of unread replies sluice keeps; more
        // would only add rendering time (about 0.1 s each in a debug build, one at a time).
        let readers = 40
        var servers = ""
        for s in 0..<300 { servers += "    server s\(s) 127.0.0.\(1 + s % 250):\(10000 + s)\n" }
        let rig = try FloodRig(
            workers: 1,
            pools: """
                pool big
                    bind 127.0.0.1:\(try FreePort.tcp())
                    check none
                \(servers)
                """, prefix: "sluice-unread")
        let (sluice, pid) = (rig.sluice, rig.sluice.pid)
        let size = try rig.admin("show metrics").utf8.count
        // Each reply is rendered for its client alone, and it is larger than what the socket
        // takes: all of them unread would be readers x size bytes held.
        #expect(size > 400 << 10, "300 servers make a show metrics of \(size) bytes")
        // The rendering just made is given back to the kernel once its client is gone: the
        // lowest of a few looks is the baseline.
        var baseline = Int.max
        for _ in 0..<10 {
            baseline = min(baseline, try ProcStatus.residentBytes(pid))
            Thread.sleep(forTimeInterval: 0.02)
        }
        let clients = HeldConnections()
        defer { clients.closeAll() }
        try sluice.explaining {
            for _ in 0..<readers {
                let fd = try clients.unix(rig.socket)
                try SocketIO.sendAll(fd, Array("show metrics\n".utf8))
            }
        }
        // Served in order: once this answers, every request above has been (it waits for the
        // renderings before it: the admin thread serves one command at a time).
        #expect(try rig.admin("show info", timeout: .seconds(60)).hasPrefix("version "))
        var peak = baseline
        var open = 0
        try waitUntil(
            "sluice to drop the clients that never read", timeout: .seconds(30), interval: .milliseconds(20),
            lastSeen: { "\(open) fds open; baseline \(rig.baseline)" }
        ) {
            peak = max(peak, try ProcStatus.residentBytes(pid))
            let table = try FDTable(pid: pid)
            open = table.others["socket", default: 0]
            return table == rig.baseline
        }
        // Unread replies are dropped past 32 MiB held, and each after the 5 s write timeout,
        // whichever comes first; add a rendering in progress and allocator slack.
        let bound = (32 << 20) + 4 * size + (16 << 20)
        #expect(
            peak - baseline < bound, "resident memory grew by \(peak - baseline) bytes (\(readers) x \(size) unread)")
        var now = 0
        try waitUntil(
            "resident memory to come back down", timeout: .seconds(10),
            lastSeen: { "\(now) bytes resident, \(baseline) before the readers" }
        ) {
            now = try ProcStatus.residentBytes(pid)
            return now <= baseline + size + (4 << 20)
        }
        clients.closeAll()
        #expect(try rig.admin("show info").hasPrefix("version "))
        print(
            """
            FloodTests unread: \(readers) admin clients asked for show metrics (\(size) bytes) and never read: RSS \
            \(baseline >> 10) KiB -> peak \(peak >> 10) -> \(now >> 10) KiB (bound +\(bound >> 10) KiB)
            """)
        #expect(try sluice.stop() == .exited(0))
    }
}
