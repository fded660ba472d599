// A server's shared state as workers read it: the slow-start ramp never traps on configured
// extremes (365d × weight 1000), and a health transition is one step (a server is never seen
// up without its ramp clock, whatever moment a worker refreshes at).
import SluiceCore
import SluiceRuntime
import SluiceSys
import Testing

@Suite struct ServerRuntimeTests {
    static func server(weight: Int) -> ServerRuntime {
        var config = ServerConfig(
            name: "a", address: ServerAddress(host: "127.0.0.1", endpoint: IPEndpoint(.loopbackV4, 1)))
        config.weight = weight
        return ServerRuntime(config, healthy: false)
    }

    static let day: UInt64 = 86_400 * 1_000_000_000

    @Test(arguments: [1, 213, 364])
    func longestRampWithLargestWeightDoesNotTrap(daysIn: UInt64) {
        let s = Self.server(weight: 1000)
        let up: UInt64 = 5_000_000_000
        s.upSince.store(up, ordering: .relaxed)
        let now = Instant(nanoseconds: up + daysIn * Self.day)
        let w = s.balancedWeight(now: now, slowstart: .seconds(365 * 86_400))
        #expect(w == Int(1000 * daysIn / 365))
    }

    @Test func rampEndsAtFullWeightAndNeverBelowOne() {
        let s = Self.server(weight: 1000)
        s.upSince.store(1_000, ordering: .relaxed)
        let ramp = Duration.seconds(365 * 86_400)
        #expect(s.balancedWeight(now: Instant(nanoseconds: 1_000), slowstart: ramp) == 1)
        #expect(s.balancedWeight(now: Instant(nanoseconds: 1_000 + 365 * Self.day), slowstart: ramp) == 1000)
        #expect(s.balancedWeight(now: .distantFuture, slowstart: ramp) == 1000)
    }

    /// The version bump that shows a server up must already carry its slow-start clock: a
    /// worker refreshing right after it would otherwise give the server full weight.
    @Test func serverComingUpIsSeenWithItsRampInTheSameStep() {
        var config = PoolConfig(name: "p")
        config.settings.slowstart = .seconds(60)
        config.servers = [
            ServerConfig(name: "a", address: ServerAddress(host: "127.0.0.1", endpoint: IPEndpoint(.loopbackV4, 1)))
        ]
        let pool = PoolRuntime(index: 0, config)
        let server = pool.allServers[0]
        server.healthy.store(false, ordering: .relaxed)
        let before = pool.version.load(ordering: .acquiring)
        let result = HealthResult(
            success: true, reason: "ok", duration: .milliseconds(1), transition: .wentUp, up: true)
        HealthChecker.apply(server, pool, result, logger: Logger(level: .error))
        #expect(pool.version.load(ordering: .acquiring) != before)
        let view = server.balancerView(now: Instant.now(), slowstart: config.settings.slowstart)
        #expect(view.usable)
        #expect(view.weight < server.weight.load(ordering: .relaxed), "up at full weight: slow start skipped")
    }

    @Test func deadlinesSaturateInsteadOfWrapping() {
        #expect(Instant.distantFuture + .seconds(1) == .distantFuture)
        #expect(Instant(nanoseconds: .max - 5) + .seconds(365 * 86_400) == .distantFuture)
        #expect(Instant(nanoseconds: 10) + .nanoseconds(5) == Instant(nanoseconds: 15))
    }
}
