// Role checks on the checker thread: with `init-state up`, no server of a role-checked pool is
// usable before its first result; the one answering "not primary" never becomes usable, the
// primary (whose agent answers only when the test lets it) becomes usable on its first pass.
// A plain check keeps `init-state up` as written.
import Foundation
import SluiceCore
import SluiceRuntime
import SluiceSys
import Synchronization
import Testing

@Suite struct HealthCheckerFirstResultTests {
    final class Flag: Sendable {
        let on = Atomic<Bool>(false)
    }

    /// Polls `condition` up to 5 s; false when it never held. `always` must hold at each poll.
    static func wait(_ always: () -> Bool = { true }, _ condition: () -> Bool) -> (reached: Bool, broken: Bool) {
        let deadline = Date().addingTimeInterval(5)
        var broken = false
        while Date() < deadline {
            if !always() { broken = true }
            if condition() { return (true, broken) }
            usleep(1000)
        }
        return (false, broken)
    }

    @Test func roleCheckServersTakeNoSessionBeforeTheirFirstResult() throws {
        let ok = Array("HTTP/1.0 200 OK\r\n\r\n".utf8)
        let unavailable = Array("HTTP/1.0 503 Service Unavailable\r\n\r\n".utf8)
        let release = Flag()
        let replica = try HealthTestServer { request in request.contains(0x0A) ? .send(unavailable) : .wait }
        defer { replica.stop() }
        let primary = try HealthTestServer { request in
            request.contains(0x0A) && release.on.load(ordering: .relaxed) ? .send(ok) : .wait
        }
        defer { primary.stop() }
        let pool = HealthHarness.pool(
            .http(path: "/primary", expectStatus: 200),
            servers: [("replica", replica.port), ("primary", primary.port)],
            interval: .seconds(30), timeout: .seconds(10), rise: 2, fall: 3, initState: .up)
        let checker = try HealthChecker(logger: Logger(level: .error))
        defer { checker.stop() }
        checker.watch(pool: pool)
        let servers = pool.allServers
        #expect(!servers[0].usable && !servers[1].usable, "usable before any result (init-state up)")
        checker.start()
        let replicaNever = { !servers[0].usable }
        let answered = Self.wait(replicaNever) { checker.lastResult(for: servers[0])?.text == "status 503" }
        #expect(answered.reached && !answered.broken)
        #expect(!servers[1].usable, "the primary took sessions before its first result")
        release.on.store(true, ordering: .relaxed)
        let served = Self.wait(replicaNever) { servers[1].usable }
        #expect(served.reached && !served.broken)
        #expect(servers[1].passesCheck)
    }

    @Test func plainCheckKeepsInitStateUp() throws {
        let pool = HealthHarness.pool(
            .tcp, servers: [("a", try HealthHarness.freePort())], interval: .seconds(30), initState: .up)
        let checker = try HealthChecker(logger: Logger(level: .error))
        defer { checker.stop() }
        checker.watch(pool: pool)
        #expect(pool.allServers[0].usable)
    }
}
