// The `postgres` check (SSLRequest, expects `S` or `N`) against a real PostgreSQL run as the
// `postgres` user (it refuses root; see TESTING.md): up, then down once it is stopped.
import Foundation
import Glibc
import SluiceCore
import SluiceRuntime
import SluiceSys
import Testing

@Suite struct HealthCheckerPostgresTests {
    static let bin = "/usr/lib/postgresql/15/bin"

    @Test func upThenDownAfterStop() throws {
        guard getuid() == 0 else {
            Issue.record(
                "the PostgreSQL test runs postgres as the `postgres` user and needs root (make test runs as root)")
            return
        }
        guard HealthHarness.binary("initdb", in: [Self.bin], package: "postgresql") != nil,
            HealthHarness.binary("pg_ctl", in: [Self.bin], package: "postgresql") != nil,
            let su = HealthHarness.binary("su", in: ["/usr/bin", "/bin"], package: "util-linux")
        else { return }
        let dir = NSTemporaryDirectory() + "sluice-pg-\(UUID().uuidString)"
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let chown = try HealthHarness.run("/bin/chown", ["postgres:postgres", data])
        guard chown.status == 0 else {
            Issue.record("chown postgres \(data) failed (is the postgres user there?): \(chown.output)")
            return
        }
        func asPostgres(_ command: String) throws -> (status: Int32, output: String) {
            try HealthHarness.run(su, ["postgres", "-c", command])
        }
        let initdb = try asPostgres("\(Self.bin)/initdb -D \(data) -A trust")
        guard initdb.status == 0 else {
            Issue.record("initdb failed: \(initdb.output)")
            return
        }
        let port = try HealthHarness.freePort()
        // -l: the server's output goes to a file, so pg_ctl's pipe closes when it returns.
        let start = try asPostgres(
            "\(Self.bin)/pg_ctl -D \(data) -l \(data)/server.log -o '-p \(port) -k \(data) -c listen_addresses=127.0.0.1' -w start"
        )
        guard start.status == 0 else {
            Issue.record("pg_ctl start failed: \(start.output)")
            return
        }
        var stopped = false
        defer {
            if !stopped { _ = try? asPostgres("\(Self.bin)/pg_ctl -D \(data) -m immediate stop") }
        }
        guard HealthHarness.waitForPort(port) else { return }

        let pool = HealthHarness.pool(.postgres, servers: [("pg", port)])
        let recorder = CheckRecorder()
        let checker = try HealthChecker(logger: recorder.logger, onResult: recorder.callback)
        defer { checker.stop() }
        checker.watch(pool: pool)
        checker.start()
        guard recorder.waitTransition("pg", .wentUp) else { return }
        #expect(recorder.results("pg").prefix(2).map(\.reason) == ["ok", "ok"])

        let seen = recorder.results("pg").count
        let stop = try asPostgres("\(Self.bin)/pg_ctl -D \(data) -m immediate stop")
        stopped = true
        #expect(stop.status == 0, "pg_ctl stop: \(stop.output)")
        guard recorder.waitTransition("pg", .wentDown, after: seen) else { return }
        #expect(recorder.results("pg").last { $0.transition == .wentDown }?.reason == "connect refused")
        HealthCheckerTests.expectExactCounts(recorder.results("pg"), rise: 2, fall: 3)
    }
}
