// Many servers on one checker thread: first checks spread over the first interval (no burst
// in one millisecond), every server comes up, and stopping leaves no probe socket open.
import Foundation
import SluiceCore
import SluiceRuntime
import SluiceSys
import Synchronization
import Testing

@Suite struct HealthCheckerScaleTests {
    static func openFDs() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
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
        let fdsBefore = Self.openFDs()
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
            // No burst: no 10 ms bucket holds more than a tenth of the servers.
            var buckets: [Int: Int] = [:]
            for t in times { buckets[Int(t.timeIntervalSince(first) * 100), default: 0] += 1 }
            #expect((buckets.values.max() ?? 0) <= count / 10, "busiest 10ms: \(buckets.values.max() ?? 0)")
        }
        checker.stop()
        // Probe sockets are all closed (the checker's own epoll and eventfd go with it).
        #expect(Self.openFDs() <= fdsBefore + 2)
    }
}
