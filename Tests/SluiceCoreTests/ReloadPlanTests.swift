// ReloadPlan without a kernel: which sockets a reload keeps, moves, binds and lets go of; what
// happens to each server of a kept pool (run-time weights and states win over the file); the
// pools removed, kept and added; the global settings that wait for a restart.
import SluiceSys
import Testing

@testable import SluiceCore

@Suite struct ReloadPlanTests {
    static func config(_ pools: String, global: String = "") -> Config? {
        loadOK((global.isEmpty ? "" : "global\n" + global + "\n") + pools)
    }

    static func plan(
        _ current: Config, _ next: Config, listeners: [RunningListener] = [],
        servers: [String: [RunningServer]]? = nil
    ) -> ReloadPlan {
        let running = current.pools.map { pool in
            (pool.name, servers?[pool.name] ?? pool.servers.map(RunningServer.init(config:)))
        }
        return ReloadPlan(current: current, next: next, listeners: listeners, runningPools: running)
    }

    static func tcp(_ id: Int32, _ pool: String, _ name: String) -> RunningListener {
        RunningListener(id: id, pool: pool, name: name, datagram: false)
    }

    @Test func listenersKeptMovedBoundAndReleased() throws {
        let before = try #require(
            Self.config(
                """
                pool a
                    bind 127.0.0.1:7001
                    bind 127.0.0.1:7002
                    server s 127.0.0.1:8001
                pool b
                    bind 127.0.0.1:7003
                    server s 127.0.0.1:8001
                """))
        // 7001 stays in a, 7002 moves to b, 7003 goes, 7004 is new in b.
        let after = try #require(
            Self.config(
                """
                pool a
                    bind 127.0.0.1:7001
                    server s 127.0.0.1:8001
                pool b
                    bind 127.0.0.1:7002
                    bind 127.0.0.1:7004
                    server s 127.0.0.1:8001
                """))
        let running = [
            Self.tcp(11, "a", "127.0.0.1:7001"), Self.tcp(12, "a", "127.0.0.1:7002"),
            Self.tcp(13, "b", "127.0.0.1:7003"),
        ]
        let p = Self.plan(before, after, listeners: running).listeners
        #expect(p.errors.isEmpty)
        #expect(p.kept == [11])
        #expect(p.released == [12, 13])
        #expect(p.joining.map(\.pool) == ["b", "b"])
        #expect(p.joining.map(\.moving) == [12, nil])
        #expect(p.joining.map(\.endpoint) == [nil, ep("127.0.0.1", 7004)])
        #expect(p.joining.map(\.name) == ["127.0.0.1:7002", "127.0.0.1:7004"])
    }

    @Test func aUDPSocketDoesNotServeATCPBindOfTheSameAddress() throws {
        let before = try #require(
            Self.config("pool d\n    mode udp\n    bind 127.0.0.1:5353\n    server s 127.0.0.1:53\n"))
        let after = try #require(Self.config("pool d\n    bind 127.0.0.1:5353\n    server s 127.0.0.1:53\n"))
        let running = [RunningListener(id: 5, pool: "d", name: "127.0.0.1:5353", datagram: true)]
        let p = Self.plan(before, after, listeners: running).listeners
        #expect(p.kept.isEmpty && p.released == [5])
        #expect(p.joining.count == 1 && p.joining[0].moving == nil && !p.joining[0].datagram)
    }

    @Test func systemdSocketsAreKeptButNeverAddedByAReload() throws {
        let before = try #require(Self.config("pool a\n    bind fd:pg\n    server s 127.0.0.1:8001\n"))
        let after = try #require(
            Self.config(
                """
                pool a
                    bind fd:pg
                    server s 127.0.0.1:8001
                pool b
                    bind fd:redis
                    server s 127.0.0.1:8002
                """))
        // systemd may pass several sockets under one name: all of them stay.
        let running = [Self.tcp(3, "a", "fd:pg"), Self.tcp(4, "a", "fd:pg")]
        let p = Self.plan(before, after, listeners: running).listeners
        #expect(p.kept == [3, 4] && p.released.isEmpty)
        #expect(
            p.errors == [
                "t.conf:4: pool b: fd:redis cannot be added by a reload (systemd passes sockets at start only)"
            ])
    }

    @Test func serversAddedReplacedChangedAndRemoved() throws {
        let before = try #require(
            Self.config(
                """
                pool p
                    bind 127.0.0.1:7001
                    server keep 127.0.0.1:8001
                    server moved 127.0.0.1:8002
                    server backup 127.0.0.1:8003
                    server capped 127.0.0.1:8004
                    server probed 127.0.0.1:8005
                    server heavier 127.0.0.1:8006
                    server off 127.0.0.1:8007
                    server gone 127.0.0.1:8008
                """))
        let after = try #require(
            Self.config(
                """
                pool p
                    bind 127.0.0.1:7001
                    server keep 127.0.0.1:8001
                    server moved 127.0.0.1:9002
                    server backup 127.0.0.1:8003 backup
                    server capped 127.0.0.1:8004 maxconn 5
                    server probed 127.0.0.1:8005 check-port 9
                    server heavier 127.0.0.1:8006 weight 200
                    server off 127.0.0.1:8007 disabled
                    server new 127.0.0.1:8009
                """))
        let servers = Self.plan(before, after).keptPools[0].servers
        #expect(servers.joining.map(\.config.name) == ["moved", "backup", "capped", "probed", "new"])
        #expect(servers.joining.map(\.replacing) == [true, true, true, true, false])
        #expect(servers.leaving == ["moved", "backup", "capped", "probed", "gone"])
        #expect(servers.weights.map(\.name) == ["heavier"] && servers.weights.map(\.weight) == [200])
        #expect(servers.states.map(\.name) == ["off"] && servers.states.map(\.state) == [.maint])
        #expect(servers.changes.map(\.server) == ["moved", "backup", "capped", "probed", "new", "gone"])
        #expect(servers.changes.map(\.reason) == [.replaced, .replaced, .replaced, .replaced, .added, .removed])
    }

    @Test func runTimeWeightsAndStatesWinOverTheFile() throws {
        let text = "pool p\n    bind 127.0.0.1:7001\n    server a 127.0.0.1:8001\n    server b 127.0.0.1:8002\n"
        let before = try #require(Self.config(text))
        let after = try #require(
            Self.config(
                text.replacingOccurrences(of: "8001\n", with: "8001 weight 7 disabled\n")
                    .replacingOccurrences(of: "8002\n", with: "8002 weight 9 disabled\n")))
        var a = RunningServer(config: before.pools[0].servers[0])
        a.weight = 50
        a.weightSetAtRunTime = true
        a.adminState = .drain
        a.adminStateSetAtRunTime = true
        // b's live weight and state came from an earlier reload: the file decides again.
        var b = RunningServer(config: before.pools[0].servers[1])
        b.weight = 9
        let servers = Self.plan(before, after, servers: ["p": [a, b]]).keptPools[0].servers
        #expect(servers.weights.isEmpty, "b already has weight 9; a's was set at run time")
        #expect(servers.states.map(\.name) == ["b"] && servers.states.map(\.state) == [.maint])
        #expect(servers.joining.isEmpty && servers.leaving.isEmpty)

        // The file goes back to the weight b was loaded with, while b runs with another one.
        let back = Self.plan(before, before, servers: ["p": [a, b]]).keptPools[0].servers
        #expect(back.weights.map(\.name) == ["b"] && back.weights.map(\.weight) == [100])
    }

    @Test func poolsRemovedKeptAndAdded() throws {
        let before = try #require(
            Self.config(
                """
                pool a
                    bind 127.0.0.1:7001
                    server s 127.0.0.1:8001
                pool b
                    bind 127.0.0.1:7002
                    server s 127.0.0.1:8001
                """))
        let after = try #require(
            Self.config(
                """
                pool c
                    bind 127.0.0.1:7003
                    server s 127.0.0.1:8001
                pool a
                    bind 127.0.0.1:7001
                    server s 127.0.0.1:8001
                """))
        let plan = Self.plan(before, after)
        #expect(plan.removedPools == ["b"])
        #expect(plan.keptPools.map(\.pool.name) == ["a"])
        #expect(plan.addedPools.map(\.name) == ["c"])
        #expect(
            plan.keptPools[0].servers
                == ServerPlan(running: before.pools[0].servers.map(RunningServer.init), next: after.pools[1]))
        #expect(plan.keptPools[0].servers.joining.isEmpty && plan.keptPools[0].servers.leaving.isEmpty)
    }

    @Test func globalSettingsThatWaitForARestart() throws {
        let pools = "pool a\n    bind 127.0.0.1:7001\n    server s 127.0.0.1:8001\n"
        let before = try #require(Self.config(pools, global: "    workers 2\n    log-level info"))
        let after = try #require(
            Self.config(pools, global: "    workers 4\n    log-level debug\n    metrics 127.0.0.1:9187"))
        #expect(Self.plan(before, after).restartOnly == ["workers", "metrics"])
        #expect(Self.plan(before, before).restartOnly.isEmpty)
    }
}
