// A UDP source-port flood: 20,000 datagrams from 20,000 sources (2,000 addresses, ten ports
// each) at a pool with `maxconn 64`. Flows stay under the cap at every look, a flow opened
// before the flood keeps its exchanges exact through it, the operator is answered, memory
// stays flat, and once the flood stops every flow expires (`timeout udp-flow`) and its
// socket is closed. UDPBudgetTests covers the other side: flows never take TCP slots.
import Foundation
import Glibc
import Synchronization
import Testing
import SluiceTestSupport

extension E2E.FloodTests {
    /// Bytes that name their own sequence number, so a late reply is still checkable.
    static func probePayload(_ n: Int) -> [UInt8] {
        Array("probe \(n) ".utf8) + PseudoRandom.bytes(seed: UInt64(n) + 77, count: 40)
    }

    /// One exchange of the established flow: sends datagram `n` and waits for its echo. Under
    /// the flood the kernel may drop a datagram (a full socket buffer), so a missing reply is
    /// counted, not fatal; any reply that comes must be the exact echo of one that was sent.
    /// False when the echo of `n` did not come.
    static func probeExchange(_ client: UDPClient, _ n: Int) throws -> Bool {
        try client.send(probePayload(n))
        while let reply = client.receive(timeout: .milliseconds(500)) {
            let prefix = Array("ns:probe ".utf8)
            let text = String(decoding: reply.bytes.prefix(24), as: UTF8.self)
            guard reply.bytes.starts(with: prefix), let seq = Int(text.dropFirst(prefix.count).prefix { $0 != " " }),
                Array(reply.bytes.dropFirst(3)) == probePayload(seq)
            else { throw HarnessError("the established flow got \(reply.bytes.count) bytes that are no echo: \(text)") }
            if seq == n { return true }
        }
        return false
    }

    @Test func aUDPSourcePortFloodIsCappedAndExpires() throws {
        let cap = 64
        let ns = try UDPEchoBackend(name: "ns")
        defer { ns.stop() }
        let udpPort = try FreePort.udp()
        let rig = try FloodRig(
            pools: """
                pool dns
                    bind 127.0.0.1:\(udpPort)
                    mode udp
                    maxconn \(cap)
                    timeout udp-flow 1s
                    server ns 127.0.0.1:\(ns.port)
                """, prefix: "sluice-udp-flood")
        let (sluice, socket, metricsPort, pid) = (rig.sluice, rig.socket, rig.metricsPort, rig.sluice.pid)
        let established = try UDPClient(source: "127.9.0.1", port: udpPort)
        #expect(try sluice.explaining { try established.exchange(Self.probePayload(0)) } == "ns")
        let rssBefore = try ProcStatus.residentBytes(sluice.pid)

        let peaks = Tally()
        let watcher = Probe("udp-watcher") { n in
            let current = try FloodRig.info(socket)["sessions_current"] as? Int ?? -1
            peaks.peak("info", current)
            guard (0...cap).contains(current) else {
                throw HarnessError("show info: sessions_current \(current), cap \(cap)")
            }
            if n % 2 == 1 {
                let metrics = try FloodRig.scrape(metricsPort, workers: 2)
                let flows = Int(FloodRig.value(#"sluice_udp_flows_current{pool="dns"}"#, in: metrics) ?? -1)
                peaks.peak("flows", flows)
                guard (0...cap).contains(flows) else {
                    throw HarnessError("sluice_udp_flows_current \(flows), cap \(cap)")
                }
            }
            peaks.peak("rss", try ProcStatus.residentBytes(pid))
        }
        let lost = Atomic<Int>(0)
        let prober = Probe("udp-established", pause: .milliseconds(20)) { n in
            if try !Self.probeExchange(established, n + 1) { lost.add(1, ordering: .relaxed) }
        }

        // Each thread takes every fourth address; an address's ten sockets stay open until all
        // ten sent, so their ports differ.
        let (addresses, ports) = (2000, 10)
        let failures = Failures()
        let senders = ThreadGroup()
        let started = ContinuousClock.now
        for t in 0..<4 {
            senders.spawn("udp-flood-\(t)", failures: failures) {
                for a in stride(from: t, to: addresses, by: 4) {
                    let source = "127.40.\(a / 250).\(1 + a % 250)"
                    let clients = try (0..<ports).map { _ in try UDPClient(source: source, port: udpPort) }
                    for (p, client) in clients.enumerated() {
                        try client.send(PseudoRandom.bytes(seed: UInt64(a * ports + p), count: 32))
                    }
                }
            }
        }
        try senders.join("the UDP flood", timeout: .seconds(60))
        let floodTime = ContinuousClock.now - started
        let probed = try prober.stop()
        let watched = try watcher.stop()
        try sluice.explaining {
            for group in [failures, watcher.failures, prober.failures] where !group.isEmpty {
                throw HarnessError("\(group)")
            }
        }
        let sent = addresses * ports
        let lostCount = lost.load(ordering: .relaxed)
        // How many the kernel dropped depends on the machine (under ASan, most); one exact
        // echo in the middle of the flood shows the flow was kept.
        #expect(lostCount < probed.count, "the established flow lost all of its \(probed.count) exchanges")

        // Flows expire back to zero, and their sockets go with them.
        try sluice.explaining {
            try rig.waitForNoSession("the UDP flood")
            try rig.waitForBaselineFDs("the UDP flood", extraPipes: 0)
        }
        let metrics = try rig.scrape()
        #expect(FloodRig.value(#"sluice_udp_flows_current{pool="dns"}"#, in: metrics) == 0)
        let rejected = Int(FloodRig.value(#"sluice_rejected_total{pool="dns",reason="maxconn"}"#, in: metrics) ?? -1)
        let admitted = Int(FloodRig.value(#"sluice_sessions_total{pool="dns"}"#, in: metrics) ?? -1)
        // A datagram the kernel dropped before sluice read it is neither.
        #expect(
            rejected > 0 && admitted >= 1 && admitted + rejected <= sent + 1 + probed.count,
            "admitted \(admitted), rejected \(rejected), sent \(sent)")
        let rssAfter = try ProcStatus.residentBytes(sluice.pid)
        if Sanitizer.memoryIsMeasurable {
            #expect(
                peaks.peak("rss") - rssBefore < 8 << 20,
                "resident memory grew by \(peaks.peak("rss") - rssBefore) bytes during the flood")
        }

        // A fresh client opens a new flow and gets its bytes back exactly.
        let fresh = try UDPClient(source: "127.9.0.2", port: udpPort)
        let payload = PseudoRandom.bytes(seed: 4242, count: 1200)
        #expect(try sluice.explaining { try fresh.exchange(payload) } == "ns")
        print(
            """
            FloodTests UDP: \(sent) datagrams from \(sent) sources in \(floodTime): flows admitted \(admitted), \
            rejected \(rejected) (cap \(cap)); peak flows \(peaks.peak("flows")), peak show info \(peaks.peak("info")); \
            established flow: \(probed.count) exchanges, \(lostCount) lost; \(watched.count) operator \
            looks, slowest \(watched.slowest); RSS \(rssBefore >> 10) -> peak \(peaks.peak("rss") >> 10) -> \(rssAfter >> 10) KiB; \
            fds \(rig.baseline) -> \(try FDTable(pid: sluice.pid))
            """)
        #expect(try sluice.stop() == .exited(0))
    }
}
