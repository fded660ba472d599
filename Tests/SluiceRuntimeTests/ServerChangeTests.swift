// The server-state funnel (PoolRuntime.apply): a batch is published by exactly one version
// bump after all its writes; each change writes what it names (a check's health starts the
// slow-start ramp, the start state does not; the operator's changes are marked for reload).
import SluiceCore
import SluiceRuntime
import SluiceSys
import Testing

@Suite struct ServerChangeTests {
    static func pool(_ names: [String]) -> PoolRuntime {
        var config = PoolConfig(name: "p")
        config.settings.slowstart = .seconds(60)
        config.servers = names.enumerated().map { i, name in
            ServerConfig(
                name: name, address: ServerAddress(host: "127.0.0.1", endpoint: IPEndpoint(.loopbackV4, UInt16(i + 1))))
        }
        return PoolRuntime(index: 0, config)
    }

    @Test func aBatchIsOneBumpAndAnEmptyOneNone() {
        let pool = Self.pool(["a", "b"])
        let (a, b) = (pool.allServers[0], pool.allServers[1])
        let v0 = pool.version.load(ordering: .acquiring)
        pool.apply([(a, .adminState(.drain, byOperator: true)), (b, .weight(7, byOperator: true)), (b, .removing)])
        #expect(pool.version.load(ordering: .acquiring) == v0 + 1)
        #expect(a.adminState == .drain && a.adminStateSetAtRunTime.load(ordering: .relaxed))
        #expect(a.drainingSince.load(ordering: .relaxed) != 0, "leaving ready starts the drain clock")
        #expect(b.weight.load(ordering: .relaxed) == 7 && b.weightSetAtRunTime.load(ordering: .relaxed))
        #expect(b.removing.load(ordering: .relaxed) && pool.members.map(\.name) == ["a"])
        pool.apply([])
        #expect(pool.version.load(ordering: .acquiring) == v0 + 1)
        pool.apply(.adminState(.ready, byOperator: false), to: a)
        #expect(pool.version.load(ordering: .acquiring) == v0 + 2)
        #expect(a.adminState == .ready && a.drainingSince.load(ordering: .relaxed) == 0)
    }

    @Test func aCheckResultRampsTheStartStateDoesNot() {
        let pool = Self.pool(["a", "b"])
        let (a, b) = (pool.allServers[0], pool.allServers[1])
        pool.apply([(a, .initialHealth(up: false)), (b, .initialHealth(up: false))])
        pool.apply([(a, .initialHealth(up: true)), (b, .health(up: true, at: Instant.now()))])
        #expect(a.healthy.load(ordering: .relaxed) && a.upSince.load(ordering: .relaxed) == 0)
        #expect(b.healthy.load(ordering: .relaxed) && b.upSince.load(ordering: .relaxed) != 0)
        let now = Instant.now()
        #expect(a.balancerView(now: now, slowstart: .seconds(60)).weight == 100)
        #expect(b.balancerView(now: now, slowstart: .seconds(60)).weight < 100)
    }

    @Test func aFirstResultWaitHoldsTheServerUntilItIsIn() {
        let pool = Self.pool(["a", "b"])
        let (a, b) = (pool.allServers[0], pool.allServers[1])
        pool.apply([
            (a, .awaitFirstResult(due: .distantFuture, keepHealth: true)),
            (b, .awaitFirstResult(due: Instant.now() + .seconds(1), keepHealth: false)),
        ])
        #expect(a.healthy.load(ordering: .relaxed) && !a.usable, "up, but not before its first result")
        #expect(!b.healthy.load(ordering: .relaxed) && !b.usable)
        pool.apply(.firstResultIn, to: a)
        #expect(a.usable && a.firstResultDue.load(ordering: .relaxed) == 0)
    }
}
