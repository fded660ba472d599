// Removed servers leave their pool's table once their last session ended, and nothing keeps
// them alive after that: a worker's view balances over members only, a pick racing with the
// removal backs off, serials never repeat, and the health checker lets go of its target and
// last result (the server object is freed: a weak reference to it turns nil).
import SluiceCore
import SluiceSys
import Synchronization
import Testing

@testable import SluiceRuntime

@Suite struct PoolReclaimTests {
    static func pool(_ names: [String], check: CheckKind = .none, balance: BalanceKind = .leastconn) -> PoolRuntime {
        var config = PoolConfig(name: "p")
        config.settings.check.kind = check
        config.settings.check.interval = .milliseconds(50)
        config.settings.balance = balance
        config.servers = names.enumerated().map { i, name in
            ServerConfig(
                name: name,
                address: ServerAddress(
                    host: "10.0.0.\(i + 1)", endpoint: IPEndpoint(IPAddress("10.0.0.\(i + 1)")!, 5432)))
        }
        return PoolRuntime(index: 0, config)
    }

    static func server(_ name: String, _ last: Int) -> ServerConfig {
        ServerConfig(
            name: name,
            address: ServerAddress(host: "10.0.1.\(last)", endpoint: IPEndpoint(IPAddress("10.0.1.\(last)")!, 5432)))
    }

    static let key = FlowKey(address: IPAddress("192.0.2.1")!, port: 40000)

    @Test func aRemovedServerLeavesOnceItsLastSessionEnded() throws {
        let pool = Self.pool(["a", "b", "c"])
        let (a, b, c) = (pool.allServers[0], pool.allServers[1], pool.allServers[2])
        #expect([a, b, c].map(\.serial) == [0, 1, 2])
        #expect(pool.reclaim().isEmpty, "nothing removed, nothing dropped")

        b.stats.active.store(1, ordering: .relaxed)  // a session still on b
        pool.apply([(a, .removing), (b, .removing)])
        #expect(pool.members.map(\.name) == ["c"])
        #expect(pool.reclaim().map(\.name) == ["a"], "a had no session: dropped at once")
        #expect(pool.allServers.map(\.name) == ["b", "c"], "b drains, still in the table")
        #expect(pool.servers.map(\.name) == ["b", "c"], "and listed")
        #expect(pool.reclaim().isEmpty)

        b.stats.active.store(0, ordering: .relaxed)
        #expect(pool.reclaim().map(\.name) == ["b"])
        #expect(pool.allServers.map(\.name) == ["c"])

        // Serials are never reused, so a single-primary choice can never name a newcomer.
        let d = try #require(pool.add(Self.server("d", 4)))
        let a2 = try #require(pool.add(Self.server("a", 5)))
        #expect(d.serial == 3 && a2.serial == 4)
        #expect(pool.allServers.map(\.name) == ["c", "d", "a"])
    }

    @Test func aWorkerViewBalancesOverMembersOnly() throws {
        for balance in [BalanceKind.leastconn, .roundrobin, .hash] {
            let pool = Self.pool(["a", "b", "c"], balance: balance)
            var view = PoolView(pool)
            let b = pool.allServers[1]
            pool.apply(.removing, to: b)
            _ = pool.add(Self.server("d", 9))
            view.refresh()
            #expect(view.servers.map(\.name) == ["a", "c", "d"], "\(balance)")
            var picked: [String] = []
            for port in 0..<60 {
                guard
                    case .server(let s) = view.pick(
                        FlowKey(address: IPAddress("192.0.2.\(port % 7 + 1)")!, port: UInt16(port)), avoiding: nil)
                else {
                    Issue.record("\(balance): no server")
                    break
                }
                picked.append(s.name)
                s.stats.active.wrappingSubtract(1, ordering: .relaxed)
            }
            #expect(!picked.contains("b"), "\(balance) picked a removed server: \(picked)")
            #expect(Set(picked).isSubset(of: ["a", "c", "d"]))
            #expect(pool.reclaim().map(\.name) == ["b"])
        }
    }

    /// The race the reclaim must survive: a worker whose view still holds a server the
    /// control thread removed (and would drop, seeing no session) picks it. The pick sees the
    /// removal after its reservation and takes another server; the count is back to 0.
    @Test func aPickFromAStaleViewBacksOffARemovedServer() throws {
        let pool = Self.pool(["a", "b"])
        var view = PoolView(pool)
        let (a, b) = (pool.allServers[0], pool.allServers[1])
        a.write(.removing)  // no version bump yet: the view is stale
        for _ in 0..<4 {
            guard case .server(let s) = view.pick(Self.key, avoiding: nil) else {
                Issue.record("no server")
                return
            }
            #expect(s === b)
        }
        #expect(a.stats.active.load(ordering: .relaxed) == 0 && b.stats.active.load(ordering: .relaxed) == 4)
        #expect(pool.reclaim().map(\.name) == ["a"])

        // The only server removed: no server at all, not "full" (nobody would free a slot).
        let only = Self.pool(["x"])
        var stale = PoolView(only)
        only.allServers[0].write(.removing)  // no version bump yet: the view is stale
        guard case .none = stale.pick(Self.key, avoiding: nil) else {
            Issue.record("a removed server was handed out or the client queued")
            return
        }
        #expect(only.allServers[0].stats.active.load(ordering: .relaxed) == 0)
    }

    /// A reload that swaps every member (adds the new ones, bumping the version, then marks the
    /// old one removing) between a worker's refresh and its pick: the stale view holds only the
    /// removed server, and the pick must refresh and take a new member, not refuse the client
    /// (seen under ThreadSanitizer as "no server available" in ReloadTests).
    @Test func aPickFromAViewStaledByAFullSwapTakesANewMember() throws {
        let pool = Self.pool(["c"], balance: .roundrobin)
        var view = PoolView(pool)
        view.refresh()
        let old = pool.allServers[0]
        _ = pool.add([(Self.server("a", 1), false), (Self.server("d", 2), false)])
        old.write(.removing)  // the reload's second step, not yet published
        guard case .server(let picked) = view.pick(Self.key, avoiding: nil) else {
            Issue.record("no server from a pool with two new members")
            return
        }
        #expect(["a", "d"].contains(picked.name))
        #expect(old.stats.active.load(ordering: .relaxed) == 0)
    }

    /// Many threads pick from views that may be stale while the control thread removes and
    /// reclaims: a reclaimed server never has a session counted on it afterwards.
    @Test func picksRacingWithRemovalNeverLandOnAReclaimedServer() throws {
        let pool = Self.pool((0..<8).map { "s\($0)" })
        let stop = Atomic<Bool>(false)
        let lateSessions = Atomic<Int>(0)
        let reclaimed = Mutex<[ServerRuntime]>([])
        var threads: [ThreadHandle] = []
        for t in 0..<2 {
            threads.append(
                ThreadHandle.spawn(name: "pick\(t)") {
                    var view = PoolView(pool)
                    while !stop.load(ordering: .relaxed) {
                        view.refresh()
                        guard case .server(let s) = view.pick(Self.key, avoiding: nil) else { continue }
                        // A session on a server already dropped from the table would be lost to
                        // `show servers` and the drain timeout.
                        if !pool.allServers.contains(where: { $0 === s }) { lateSessions.add(1, ordering: .relaxed) }
                        s.stats.active.wrappingSubtract(1, ordering: .relaxed)
                    }
                })
        }
        for round in 0..<300 {
            let victim = pool.members[round % 4]
            _ = pool.add(Self.server("n\(round)", round % 250 + 1))
            pool.apply(.removing, to: victim)
            let dropped = pool.reclaim()
            reclaimed.withLock { $0 += dropped }
        }
        stop.store(true, ordering: .relaxed)
        for thread in threads { thread.join() }
        #expect(lateSessions.load(ordering: .relaxed) == 0)
        for server in pool.allServers where server.removing.load(ordering: .relaxed) {
            #expect(server.stats.active.load(ordering: .relaxed) == 0)
        }
        _ = pool.reclaim()
        #expect(pool.allServers.count == 8, "only the members remain: \(pool.allServers.map(\.name))")
        #expect(reclaimed.withLock { list in list.allSatisfy { $0.stats.active.load(ordering: .relaxed) == 0 } })
    }

    /// Freed for real: once the pool dropped it and the checker forgot it, nothing holds it.
    @Test func theHealthCheckerLetsGoOfReclaimedServers() throws {
        let listener = try Socket.listen(IPEndpoint(.loopbackV4, 0))
        defer { listener.close() }
        let port = try Socket.localAddress(listener).endpoint!.port
        var config = PoolConfig(name: "p")
        config.settings.check.kind = .tcp
        config.settings.check.interval = .milliseconds(20)
        config.servers = ["a", "b"].map {
            ServerConfig(name: $0, address: ServerAddress(host: "127.0.0.1", endpoint: IPEndpoint(.loopbackV4, port)))
        }
        let shared = SharedState(
            config: Config(file: "t.conf", pools: [config]), logger: Logger(level: .error),
            health: try HealthChecker(logger: Logger(level: .error)))
        let checker = try #require(shared.health)
        defer { checker.stop() }
        let pool = shared.pools[0]
        checker.watch(pool: pool)
        checker.start()
        weak var weakA: ServerRuntime?
        do {
            let a = pool.allServers[0]
            weakA = a
            let deadline = Instant.now() + .seconds(5)
            while checker.lastResult(for: a) == nil && Instant.now() < deadline { ProcessControl.sleepMillis(5) }
            #expect(checker.lastResult(for: a) != nil, "a was checked")
            pool.apply(.removing, to: a)
        }
        #expect(shared.reclaimServers() == 1)
        #expect(checker.registry.withLock { $0.known.count } == 1, "only b is still known")
        let deadline = Instant.now() + .seconds(5)
        while weakA != nil && Instant.now() < deadline { ProcessControl.sleepMillis(5) }
        #expect(weakA == nil, "something still holds the reclaimed server")
        // Its slot is reused by the next server the checker takes, which is checked.
        let c = try #require(
            pool.add(
                ServerConfig(
                    name: "c", address: ServerAddress(host: "127.0.0.1", endpoint: IPEndpoint(.loopbackV4, port)))))
        checker.watch(pool: pool)
        let until = Instant.now() + .seconds(5)
        while checker.lastResult(for: c) == nil && Instant.now() < until { ProcessControl.sleepMillis(5) }
        #expect(checker.lastResult(for: c) != nil, "the server that took the freed slot is checked")
    }
}
