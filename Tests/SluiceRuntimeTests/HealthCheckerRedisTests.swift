// `redis` and `redis-master` checks against real redis-server processes: a failover
// (promote the replica, demote the old master) is seen within interval x fall plus a margin,
// passing results carry the master's replication offset, and AUTH with `requirepass` passes
// only with the right password.
import Foundation
import SluiceCore
import SluiceRuntime
import SluiceSys
import Testing

/// One fresh redis-server in its own scratch directory, stopped with the test.
final class HealthTestRedis {
    let port: UInt16
    let process: HealthHarness.Child
    let dir: String

    init?(server: String, extra: [String] = []) throws {
        port = try HealthHarness.freePort()
        dir = NSTemporaryDirectory() + "sluice-redis-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        process = try HealthHarness.spawn(
            server,
            ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir] + extra)
        guard HealthHarness.waitForPort(port) else { return nil }
    }

    deinit {
        HealthHarness.terminate(process)
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite struct HealthCheckerRedisTests {
    static func binaries() -> (server: String, cli: String)? {
        guard let server = HealthHarness.binary("redis-server", package: "redis-server"),
            let cli = HealthHarness.binary("redis-cli", package: "redis-tools")
        else { return nil }
        return (server, cli)
    }

    @Test func failoverMovesTheMaster() throws {
        guard let bin = Self.binaries() else { return }
        guard let first = try HealthTestRedis(server: bin.server) else { return }
        guard
            let second = try HealthTestRedis(server: bin.server, extra: ["--replicaof", "127.0.0.1", "\(first.port)"])
        else { return }
        let interval = Duration.milliseconds(100)
        let (rise, fall) = (2, 3)
        let pool = HealthHarness.pool(
            .redisMaster(password: nil), servers: [("r1", first.port), ("r2", second.port)], interval: interval,
            rise: rise, fall: fall)
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        guard recorder.waitTransition("r1", .wentUp) else { return }
        guard recorder.wait("r2", "a role:slave failure", { $0.contains { $0.reason == "role:slave" } }) else { return }
        #expect(recorder.results("r2").allSatisfy { $0.transition == nil }, "the replica never comes up")
        // A passing redis-master check carries the master's replication offset (single-primary).
        #expect(recorder.results("r1").filter(\.success).allSatisfy { $0.replicationOffset != nil })
        #expect(recorder.results("r2").allSatisfy { $0.replicationOffset == nil })

        let seen1 = recorder.results("r1").count
        let seen2 = recorder.results("r2").count
        let started = Date()
        #expect(try HealthHarness.run(bin.cli, ["-p", "\(second.port)", "replicaof", "no", "one"]).status == 0)
        #expect(
            try HealthHarness.run(bin.cli, ["-p", "\(first.port)", "replicaof", "127.0.0.1", "\(second.port)"]).status
                == 0)
        guard recorder.waitTransition("r2", .wentUp, after: seen2),
            recorder.waitTransition("r1", .wentDown, after: seen1)
        else { return }
        let elapsed = Date().timeIntervalSince(started)
        // interval x fall, jitter and each probe's own time, plus a margin for a busy machine.
        let bound = Double(interval.milliseconds) / 1000 * Double(max(rise, fall)) * 1.1 + 1.5
        #expect(elapsed < bound, "failover seen after \(elapsed)s, bound \(bound)s")
        #expect(recorder.results("r1").last { $0.transition == .wentDown }?.reason == "role:slave")
        let servers = pool.allServers
        let (r1Up, r2Up) = (servers[0].healthy.load(ordering: .relaxed), servers[1].healthy.load(ordering: .relaxed))
        #expect(!r1Up && r2Up)
        HealthCheckerTests.expectExactCounts(recorder.results("r1"), rise: rise, fall: fall)
        HealthCheckerTests.expectExactCounts(recorder.results("r2"), rise: rise, fall: fall)
    }

    @Test func passwordIsSentFirst() throws {
        guard let bin = Self.binaries() else { return }
        guard let redis = try HealthTestRedis(server: bin.server, extra: ["--requirepass", "s3cret word"]) else {
            return
        }
        let right = HealthHarness.pool(
            .redis(password: "s3cret word"), servers: [("right", redis.port)], rise: 1, fall: 1)
        let none = HealthHarness.pool(.redis(password: nil), servers: [("none", redis.port)], rise: 1, fall: 1)
        let wrong = HealthHarness.pool(
            .redisMaster(password: "nope"), servers: [("wrong", redis.port)], rise: 1, fall: 1)
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        for pool in [right, none, wrong] { checker.watch(pool: pool) }
        checker.start()
        guard recorder.waitTransition("right", .wentUp) else { return }
        guard recorder.wait("none", "two failures", { $0.count >= 2 }),
            recorder.wait("wrong", "two failures", { $0.count >= 2 })
        else { return }
        let noneReason = recorder.results("none")[0].reason
        let wrongReason = recorder.results("wrong")[0].reason
        #expect(noneReason.hasPrefix("unexpected reply \"-NOAUTH"), "\(noneReason)")
        #expect(wrongReason.hasPrefix("unexpected reply \"-WRONGPASS"), "\(wrongReason)")
        #expect(recorder.results("none").allSatisfy { !$0.success && $0.transition == nil })
        #expect(recorder.results("wrong").allSatisfy { !$0.success && $0.transition == nil })
    }
}
