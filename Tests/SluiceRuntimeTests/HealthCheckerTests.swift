// The checker against real loopback sockets: exact rise/fall counts as a listener goes away
// and comes back, a hung server timed out, HTTP status agents on a check-port, send/expect,
// init-state up, servers added later, maint and removal, and `check none` with observe.
import Foundation
import SluiceCore
import SluiceRuntime
import SluiceSys
import Synchronization
import Testing

private func isUp(_ s: ServerRuntime) -> Bool { s.healthy.load(ordering: .relaxed) }

@Suite struct HealthCheckerTests {
    /// Every transition ends a run of exactly `rise` successes / `fall` failures (the run
    /// before a first-result `fresh` transition may be 1).
    static func expectExactCounts(
        _ results: [HealthResult], rise: Int, fall: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        for (i, r) in results.enumerated() {
            guard let t = r.transition else { continue }
            let success = t == .wentUp
            var run = 0
            var j = i
            while j >= 0 && results[j].success == success {
                run += 1
                j -= 1
            }
            let need = success ? rise : fall
            // The run may be longer only when it began before the previous transition ended it.
            let previous = results[..<i].lastIndex { $0.transition != nil }
            let counted = previous.map { min(run, i - $0) } ?? run
            #expect(
                counted == need, "transition \(t) at result \(i) after \(counted) results, expected \(need)",
                sourceLocation: sourceLocation)
        }
    }

    static func acceptAndClose(port: UInt16 = 0) throws -> HealthTestServer {
        try HealthTestServer(port: port) { _ in .send([]) }
    }

    @Test func tcpListenerGoesAwayAndComesBack() throws {
        var server = try Self.acceptAndClose()
        let port = server.port
        let pool = HealthHarness.pool(.tcp, servers: [("a", port)], jitter: 0)
        let a = pool.allServers[0]
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        let version0 = pool.version.load(ordering: .relaxed)
        checker.watch(pool: pool)
        #expect(!isUp(a), "init-state down: down before any check")
        checker.start()

        guard recorder.waitTransition("a", .wentUp) else { return }
        #expect(recorder.results("a").prefix(2).map(\.success) == [true, true])
        #expect(isUp(a))
        #expect(checker.lastResult(for: a)?.text == "ok")
        let version1 = pool.version.load(ordering: .relaxed)
        #expect(version1 > version0)

        server.stop()
        var seen = recorder.results("a").count
        guard recorder.waitTransition("a", .wentDown, after: seen) else { return }
        #expect(!isUp(a))
        let down = recorder.results("a").last { $0.transition == .wentDown }
        #expect(down?.reason == "connect refused")
        #expect(checker.lastResult(for: a)?.text == "connect refused")

        server = try Self.acceptAndClose(port: port)
        defer { server.stop() }
        seen = recorder.results("a").count
        guard recorder.waitTransition("a", .wentUp, after: seen) else { return }
        #expect(isUp(a))
        let results = recorder.results("a")
        #expect(results.compactMap(\.transition) == [.wentUp, .wentDown, .wentUp])
        Self.expectExactCounts(results, rise: 2, fall: 3)
        #expect(a.stats.checkSeconds.snapshot().cumulative.last ?? 0 >= UInt64(results.count - 1))
    }

    @Test func hungServerIsTimedOut() throws {
        let server = try HealthTestServer { _ in .silent }
        defer { server.stop() }
        let pool = HealthHarness.pool(
            .send(Array("PING\r\n".utf8), expect: Array("PONG".utf8)), servers: [("hung", server.port)],
            timeout: .milliseconds(300), rise: 1, fall: 1, initState: .up)
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        #expect(isUp(pool.allServers[0]), "init-state up: up before any check")
        checker.start()
        guard recorder.waitTransition("hung", .wentDown) else { return }
        let result = recorder.results("hung")[0]
        #expect(result.reason == "timeout after 300ms")
        let ms = result.duration?.milliseconds ?? 0
        #expect(ms >= 290 && ms < 2000, "took \(ms)ms")
    }

    @Test func initStateUpNeedsFallFailures() throws {
        let dead = try HealthHarness.freePort()
        let pool = HealthHarness.pool(.tcp, servers: [("dead", dead)], rise: 2, fall: 3, initState: .up)
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        guard recorder.waitTransition("dead", .wentDown) else { return }
        let results = recorder.results("dead")
        #expect(results.prefix(3).map(\.success) == [false, false, false])
        #expect(results.prefix(3).map(\.transition) == [nil, nil, .wentDown])
    }

    @Test func httpAgentOnCheckPort() throws {
        let status = Atomic<Int>(200)
        let paths = Mutex<[String]>([])
        let agent = try HealthTestServer { request in
            let text = String(decoding: request, as: UTF8.self)
            guard text.contains("\r\n\r\n") else { return .wait }
            paths.withLock { $0.append(text.components(separatedBy: "\r\n")[0]) }
            let code = status.load(ordering: .relaxed)
            return .send(Array("HTTP/1.0 \(code) X\r\nContent-Length: 0\r\n\r\n".utf8))
        }
        defer { agent.stop() }
        // The server's own port has no listener: only the check-port answers.
        let pool = HealthHarness.pool(
            .http(path: "/primary", expectStatus: 200), servers: [("pg1", try HealthHarness.freePort())],
            checkPorts: ["pg1": agent.port])
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        guard recorder.waitTransition("pg1", .wentUp) else { return }
        #expect(paths.withLock { $0.first } == "GET /primary HTTP/1.0")
        status.store(503, ordering: .relaxed)
        var seen = recorder.results("pg1").count
        guard recorder.waitTransition("pg1", .wentDown, after: seen) else { return }
        #expect(recorder.results("pg1").last { $0.transition == .wentDown }?.reason == "status 503")
        status.store(200, ordering: .relaxed)
        seen = recorder.results("pg1").count
        guard recorder.waitTransition("pg1", .wentUp, after: seen) else { return }
        Self.expectExactCounts(recorder.results("pg1"), rise: 2, fall: 3)
    }

    @Test func sendExpect() throws {
        let ready = Atomic<Bool>(true)
        let server = try HealthTestServer { request in
            guard request.contains(0x0A) else { return .wait }
            guard String(decoding: request, as: UTF8.self) == "HELLO\n" else { return .send(Array("what?\n".utf8)) }
            return .send(Array((ready.load(ordering: .relaxed) ? "hi, READY here\n" : "BUSY\n").utf8))
        }
        defer { server.stop() }
        let pool = HealthHarness.pool(
            .send(Array("HELLO\n".utf8), expect: Array("READY".utf8)), servers: [("s", server.port)], rise: 1, fall: 1)
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        guard recorder.waitTransition("s", .wentUp) else { return }
        ready.store(false, ordering: .relaxed)
        guard recorder.waitTransition("s", .wentDown) else { return }
        #expect(recorder.results("s").last { $0.transition == .wentDown }?.reason == "connection closed after 5 bytes")
    }

    @Test func addedServerStartsDownAndFirstSuccessCounts() throws {
        let server = try Self.acceptAndClose()
        defer { server.stop() }
        let pool = HealthHarness.pool(.tcp, servers: [], rise: 3)
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        let config = ServerConfig(
            name: "new", address: ServerAddress(host: "127.0.0.1", endpoint: IPEndpoint(.loopbackV4, server.port)))
        guard let added = pool.add(config) else {
            Issue.record("add failed")
            return
        }
        checker.watch(pool: pool)
        #expect(!isUp(added), "a new server starts down")
        guard recorder.waitTransition("new", .wentUp) else { return }
        #expect(recorder.results("new").first?.transition == .wentUp, "the first success counts as rise")
    }

    @Test func maintStopsChecksAndRemovalDropsTheServer() throws {
        let server = try Self.acceptAndClose()
        defer { server.stop() }
        let pool = HealthHarness.pool(.tcp, servers: [("m", server.port)], rise: 1, fall: 1)
        let m = pool.allServers[0]
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        guard recorder.waitTransition("m", .wentUp) else { return }
        pool.apply(.adminState(.maint, byOperator: true), to: m)
        usleep(200_000)  // let a probe in flight finish
        let frozen = recorder.results("m").count
        usleep(500_000)  // a negative check: nothing may happen during five intervals
        #expect(recorder.results("m").count == frozen, "no checks in maint")
        pool.apply(.adminState(.ready, byOperator: true), to: m)
        guard recorder.wait("m", "checks after maint", { $0.count >= frozen + 2 }) else { return }
        pool.apply(.removing, to: m)
        usleep(200_000)
        let removed = recorder.results("m").count
        usleep(500_000)
        #expect(recorder.results("m").count == removed, "no checks of a removed server")
    }

    @Test func checkNoneIsUpAndObserveTakesItDown() throws {
        let server = try Self.acceptAndClose()
        defer { server.stop() }
        let pool = HealthHarness.pool(
            .none, servers: [("n", server.port)], rise: 2, fall: 2, initState: .down, observe: true)
        let quiet = HealthHarness.pool(.none, servers: [("q", server.port)], fall: 1, observe: false)
        let n = pool.allServers[0]
        let q = quiet.allServers[0]
        n.healthy.store(false, ordering: .relaxed)
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.watch(pool: quiet)
        #expect(isUp(n), "check none: always up")
        checker.start()
        checker.observedFailure(q)
        checker.observedFailure(n, reason: "connect refused")
        guard recorder.wait("n", "one observed failure", { $0.count == 1 }) else { return }
        #expect(isUp(n), "one failure of fall 2")
        checker.observedFailure(n, reason: "connection reset")
        guard recorder.waitTransition("n", .wentDown) else { return }
        #expect(checker.lastResult(for: n)?.text == "observed: connection reset")
        // Down with check none: connect probes run until it is back up after rise successes.
        guard recorder.waitTransition("n", .wentUp) else { return }
        Self.expectExactCounts(recorder.results("n"), rise: 2, fall: 2)
        #expect(recorder.results("q").isEmpty, "observe off: ignored")
        #expect(isUp(q))
    }

    @Test func observedFailuresFromManyThreadsAllCount() throws {
        let pool = HealthHarness.pool(
            .none, servers: [("o", try HealthHarness.freePort())], rise: 1, fall: 1000, observe: true)
        let o = pool.allServers[0]
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        let threads = (0..<8).map { _ in
            Thread {
                for _ in 0..<100 { checker.observedFailure(o) }
            }
        }
        threads.forEach { $0.start() }
        guard recorder.wait("o", "800 observed failures", { $0.count == 800 }) else { return }
        #expect(isUp(o), "799 failures short of fall 1000")
        for _ in 0..<200 { checker.observedFailure(o) }
        guard recorder.waitTransition("o", .wentDown) else { return }
        let results = recorder.results("o")
        #expect(results.firstIndex { $0.transition == .wentDown } == 999)
        #expect(results.prefix(1000).allSatisfy { $0.observed && !$0.success && $0.reason == "connect failed" })
        #expect(!isUp(o))
    }
}
