// resolve-interval without DNS: the refresher with a scripted resolver on its own thread. A
// name that moves replaces its server (admin state, weight and health carried over, the old
// one draining); a failed lookup keeps the address; IP literals and pools with interval 0
// are never looked up; lookups come once per interval.
import SluiceCore
import SluiceSys
import Synchronization
import Testing

@testable import SluiceRuntime

@Suite struct AddressRefresherTests {
    final class Names: Sendable {
        let table = Mutex<[String: IPAddress]>([:])
        let asked = Mutex<[String]>([])

        func resolve(_ host: String) -> Result<IPAddress, ResolveFailure> {
            asked.withLock { $0.append(host) }
            return table.withLock { $0[host] }.map { .success($0) } ?? .failure(ResolveFailure("no address"))
        }
    }

    static func server(_ name: String, _ host: String, _ address: String) -> ServerConfig {
        ServerConfig(name: name, address: ServerAddress(host: host, endpoint: IPEndpoint(IPAddress(address)!, 5432)))
    }

    static func shared() -> SharedState {
        var resolving = PoolConfig(name: "db")
        resolving.settings.resolveInterval = .seconds(10)
        resolving.servers = [server("a", "db.example", "10.0.0.1"), server("b", "10.0.0.9", "10.0.0.9")]
        var fixed = PoolConfig(name: "fixed")
        fixed.servers = [server("c", "db.example", "10.0.0.1")]
        return SharedState(config: Config(file: "t.conf", pools: [resolving, fixed]), logger: Logger(level: .error))
    }

    /// Ticks at `now` until `done` holds (answers arrive from the resolver thread).
    static func tick(_ refresher: AddressRefresher, _ pools: [PoolRuntime], at now: Instant, until done: () -> Bool) {
        let start = Instant.now()
        repeat {
            refresher.tick(pools, now: now)
            if done() { return }
            ProcessControl.sleepMillis(2)
        } while Instant.now().millis(since: start) < 5000
        Issue.record("condition not met within 5s")
    }

    @Test func aMovedNameReplacesTheServerAndAFailedLookupKeepsIt() throws {
        let names = Names()
        names.table.withLock { $0["db.example"] = IPAddress("10.0.0.2") }
        let resolver = try HostResolver(resolve: { names.resolve($0) })
        let refresher = AddressRefresher(resolver: resolver, logger: Logger(level: .error), health: nil)
        defer { refresher.stop() }
        let shared = Self.shared()
        let pool = shared.pools[0]
        let old = try #require(pool.server(named: "a"))
        pool.apply([(old, .adminState(.drain, byOperator: false)), (old, .weight(7, byOperator: true))])
        old.stats.active.store(1, ordering: .relaxed)  // a session still on the old address

        // Seen first: resolved at load, so the first lookup is one interval later.
        let t0 = Instant.now()
        refresher.tick(shared.pools, now: t0)
        refresher.tick(shared.pools, now: t0 + .seconds(9))
        ProcessControl.sleepMillis(20)
        #expect(names.asked.withLock { $0 } == [])

        Self.tick(refresher, shared.pools, at: t0 + .seconds(10)) { pool.server(named: "a") !== old }
        #expect(names.asked.withLock { $0 } == ["db.example"], "literals and interval-0 pools are not looked up")
        let fresh = try #require(pool.server(named: "a"))
        #expect(fresh.endpoint == IPEndpoint(IPAddress("10.0.0.2")!, 5432) && fresh.config.address.host == "db.example")
        #expect(fresh.adminState == .drain && fresh.weight.load(ordering: .relaxed) == 7)
        #expect(
            fresh.weightSetAtRunTime.load(ordering: .relaxed) && fresh.checkStart == .up
                && fresh.healthy.load(ordering: .relaxed))
        #expect(old.removing.load(ordering: .relaxed) && pool.servers.count == 3, "the old one drains, still listed")
        #expect(shared.pools[1].server(named: "c")?.endpoint.address == IPAddress("10.0.0.1"))

        // The name stops resolving: nothing changes. Same address again: nothing changes.
        names.table.withLock { $0["db.example"] = nil }
        Self.tick(refresher, shared.pools, at: t0 + .seconds(20)) { names.asked.withLock { $0.count } == 2 }
        names.table.withLock { $0["db.example"] = IPAddress("10.0.0.2") }
        Self.tick(refresher, shared.pools, at: t0 + .seconds(30)) { names.asked.withLock { $0.count } == 3 }
        refresher.tick(shared.pools, now: t0 + .seconds(30))
        #expect(pool.server(named: "a") === fresh && pool.allServers.count == 3)
    }
}
