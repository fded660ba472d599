// `single-primary` on the checker thread, with no history: the first choice waits for every
// server's first result, so the server first in config order wins although the other one
// answered long before (the slow agent answers only when the test lets it, no timing involved).
import Foundation
import SluiceCore
import SluiceRuntime
import SluiceSys
import Synchronization
import Testing

@Suite struct HealthCheckerPrimaryTests {
    final class Flag: Sendable {
        let on = Atomic<Bool>(false)
    }

    /// Polls `condition` up to `seconds`; records every gate seen on the way in `seen`.
    static func wait(
        _ pool: PoolRuntime, seconds: Double = 5, seen: inout [PrimaryGate], _ condition: () -> Bool
    ) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let gate = pool.primaryGate
            if seen.last != gate { seen.append(gate) }
            if condition() { return true }
            usleep(2000)
        }
        return false
    }

    @Test func firstChoiceWaitsForEveryFirstResult() throws {
        let ok = Array("HTTP/1.0 200 OK\r\n\r\n".utf8)
        let release = Flag()
        let slow = try HealthTestServer { request in
            request.contains(0x0A) && release.on.load(ordering: .relaxed) ? .send(ok) : .wait
        }
        defer { slow.stop() }
        let fast = try HealthTestServer { request in request.contains(0x0A) ? .send(ok) : .wait }
        defer { fast.stop() }
        let pool = HealthHarness.pool(
            .http(path: "/primary", expectStatus: 200), servers: [("slow", slow.port), ("fast", fast.port)],
            timeout: .seconds(5), rise: 1, fall: 1, initState: .up, singlePrimary: true)
        #expect(pool.primaryGate == .noPrimary, "a new single-primary pool takes no sessions before the first choice")
        let checker = try HealthChecker(logger: Logger(level: .error))
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        let servers = pool.allServers
        var seen: [PrimaryGate] = []
        // fast passes (and goes on passing) while slow's first probe is held.
        let fastAnswered = Self.wait(pool, seen: &seen) { checker.lastResult(for: servers[1])?.text == "ok" }
        #expect(fastAnswered)
        #expect(pool.primaryGate == .noPrimary, "chose before slow's first result")
        release.on.store(true, ordering: .relaxed)
        let chosen = Self.wait(pool, seen: &seen) { pool.primaryGate == .only(0) }
        #expect(chosen, "gates seen: \(seen)")
        #expect(!seen.contains(.only(1)), "gates seen: \(seen)")
        // Both pass: slow stays the primary.
        let bothOK = Self.wait(pool, seen: &seen) { servers.allSatisfy(\.passesCheck) }
        #expect(bothOK)
        #expect(pool.primaryGate == .only(0))
    }
}
