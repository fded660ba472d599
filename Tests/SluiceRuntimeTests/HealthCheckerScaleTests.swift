// Many servers on one checker thread: first checks spread over the first interval (no burst
// in one millisecond), every server comes up, and stopping leaves no probe socket open.
import Foundation
import SluiceCore
@testable import SluiceRuntime
import SluiceSys
import Synchronization
import Testing

@Suite struct HealthCheckerScaleTests {
    /// Sockets of this process connected (or connecting) to 127.0.0.1:`port`: the probes'
    /// client sides. Process-wide fd counts would race with tests running in parallel.
    static func clientSockets(to port: UInt16) -> Int {
        var inodes = Set<String>()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name),
                link.hasPrefix("socket:[")
            else { continue }
            inodes.insert(String(link.dropFirst(8).dropLast()))
        }
        // procfs files report size 0: read to EOF rather than by size.
        let data = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp")).readToEnd()) ?? nil
        let table = String(decoding: data ?? Data(), as: UTF8.self)
        let remote = String(format: "0100007F:%04X", Int(port))
        return table.split(separator: "\n").dropFirst().filter { line in
            let f = line.split(separator: " ")
            return f.count > 9 && f[2] == remote && inodes.contains(String(f[9]))
        }.count
    }

    /// No burst, checked on the schedule itself (result arrival times depend on how loaded the
    /// machine is): 300 first checks over a 400 ms interval, no 10 ms slot holds a tenth.
    @Test func firstChecksAreSpreadOverTheInterval() {
        struct SplitMix: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }
        var random = SplitMix(state: 42)
        let interval: UInt64 = 400_000_000
        var buckets: [UInt64: Int] = [:]
        for _ in 0..<300 {
            let offset = CheckLoop.firstCheckOffset(interval: interval, using: &random)
            #expect(offset < interval)
            buckets[offset / 10_000_000, default: 0] += 1
        }
        #expect((buckets.values.max() ?? 0) <= 30, "busiest 10ms: \(buckets.values.max() ?? 0)")
        #expect(buckets.count >= 30, "only \(buckets.count) of 40 slots used")
        #expect(CheckLoop.firstCheckOffset(interval: 0, using: &random) == 0)
    }

    @Test func threeHundredServersSpreadOverTheInterval() throws {
        let server = try HealthTestServer { _ in .send([]) }
        defer { server.stop() }
        let count = 300
        let interval = Duration.milliseconds(400)
        let pool = HealthHarness.pool(
            .tcp, servers: (0..<count).map { ("s\($0)", server.port) }, interval: interval, rise: 1, fall: 1)
        let firstSeen = Mutex<[String: Date]>([:])
        let logger = Logger(level: .error)
        let checker = try HealthChecker(logger: logger) { s, p, result in
            HealthChecker.apply(s, p, result, logger: logger)
            let now = Date()
            firstSeen.withLock { if $0[s.name] == nil { $0[s.name] = now } }
        }
        checker.watch(pool: pool)
        checker.start()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && pool.allServers.contains(where: { !$0.healthy.load(ordering: .relaxed) }) {
            usleep(20_000)
        }
        let down = pool.allServers.filter { !$0.healthy.load(ordering: .relaxed) }.count
        #expect(down == 0, "\(down) of \(count) servers still down after 10s")
        let times = firstSeen.withLock { Array($0.values) }
        if let first = times.min(), let last = times.max() {
            let spread = last.timeIntervalSince(first)
            #expect(spread >= 0.2, "first checks of \(count) servers within \(spread)s (interval 0.4s)")
        }
        // The counter sees a client socket of ours (so a zero below means something).
        let probe = try Socket.stream(v6: false)
        _ = try Socket.connect(probe, to: IPEndpoint(.loopbackV4, server.port))
        #expect(Self.clientSockets(to: server.port) >= 1)
        probe.close()
        checker.stop()
        #expect(Self.clientSockets(to: server.port) == 0, "probe sockets left open after stop")
    }
}
