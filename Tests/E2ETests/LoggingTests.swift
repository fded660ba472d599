// Logging never stops a worker: with stderr on a pipe nobody reads, a flood of refused clients
// leaves every other session moving and the admin socket answering; lines that do not fit are
// counted in sluice_log_dropped_total and reported once stderr is read again, and the refusals
// come out as one summary line a second per pool instead of one line per client.
import Foundation
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct LoggingTests {
        /// Sends `payload` and reads the same number of bytes back; throws on any difference.
        static func echoRoundTrip(_ client: TestClient, _ payload: [UInt8]) throws {
            try client.send(payload)
            var back: [UInt8] = []
            while back.count < payload.count {
                guard case .bytes(let chunk) = try client.receive(max: payload.count - back.count) else {
                    throw HarnessError("echo session ended after \(back.count) of \(payload.count) bytes")
                }
                back += chunk
            }
            guard back == payload else { throw HarnessError("echo returned different bytes") }
        }

        /// The number after `key=` in a log line.
        static func field(_ key: String, in line: Substring) -> Int? {
            line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }

        /// sluice with a pool `live` (an echo server) and a pool `dead` (its only server down),
        /// stderr unread, and sessions to `live` open before the flood.
        struct Scenario {
            let echo: EchoBackend
            let sluice: UnreadStderrSluice
            let livePort: UInt16
            let refusedPort: UInt16
            let sessions: [TestClient]

            init() throws {
                echo = try EchoBackend(name: "e")
                let deadPort = try FreePort.tcp()
                let livePort = try FreePort.tcp()
                let refusedPort = try FreePort.tcp()
                self.livePort = livePort
                self.refusedPort = refusedPort
                let echoPort = echo.port
                sluice = try UnreadStderrSluice { admin in
                    """
                    global
                        workers 2
                        admin-socket \(admin)
                        log-level info
                        log-sessions on
                    pool live
                        bind 127.0.0.1:\(livePort)
                        check none
                        server e 127.0.0.1:\(echoPort)
                    pool dead
                        bind 127.0.0.1:\(refusedPort)
                        check tcp interval 100ms timeout 300ms
                        server gone 127.0.0.1:\(deadPort) init-state down
                    """
                }
                #expect(try sluice.metric(#"sluice_server_up{pool="dead",server="gone"}"#) == 0)
                // Sessions opened before the flood, spread over the workers by the kernel.
                sessions = try (0..<6).map { i in try TestClient(port: livePort, source: "127.0.0.\(10 + i)") }
                for (i, s) in sessions.enumerated() {
                    try LoggingTests.echoRoundTrip(s, PseudoRandom.bytes(seed: UInt64(i), count: 4096))
                }
            }

            /// Refused clients, each logged (a warning and a session line), until the log queue
            /// overflows; every round, each session and a fresh one must still echo, and the
            /// admin socket must answer. On a frozen worker a refusal or an echo times out.
            /// Returns how many clients were refused and the dropped-lines counter.
            func flood() throws -> (refused: Int, dropped: UInt64) {
                var refused = 0
                var dropped: UInt64 = 0
                var round = 0
                let deadline = Deadline(.seconds(60))
                while dropped == 0 || refused < 1500 {
                    if deadline.expired {
                        throw HarnessError("no log line dropped after \(refused) refused clients")
                    }
                    do {
                        for _ in 0..<250 {
                            try TestClient.expectRejected(port: refusedPort)
                            refused += 1
                        }
                        round += 1
                        for (i, s) in sessions.enumerated() {
                            try LoggingTests.echoRoundTrip(
                                s, PseudoRandom.bytes(seed: UInt64(round * 100 + i), count: 8192))
                        }
                        let fresh = try TestClient(port: livePort)
                        try LoggingTests.echoRoundTrip(fresh, PseudoRandom.bytes(seed: UInt64(round), count: 1000))
                        fresh.close()
                        dropped = try sluice.metric("sluice_log_dropped_total") ?? 0
                    } catch {
                        throw HarnessError(
                            "a worker or the admin socket stopped after \(refused) refused clients: \(error)")
                    }
                }
                return (refused, dropped)
            }

            func stop() {
                for s in sessions { s.close() }
                echo.stop()
            }
        }

        @Test func unreadStderrNeverFreezesAWorker() throws {
            let scenario = try Scenario()
            defer { scenario.stop() }
            let sluice = scenario.sluice
            let (refused, floodDropped) = try scenario.flood()
            var dropped = floodDropped
            #expect(dropped > 0)
            let rejected = try #require(try sluice.metric(#"sluice_rejected_total{pool="dead",reason="no-server"}"#))
            #expect(rejected == UInt64(refused))

            // Reading stderr again: the stuck write completes, the queue drains, and the count
            // of dropped lines is reported; the reports add up to the counter exactly.
            sluice.startReadingStderr()
            // (Lines logged after the last look at the counter may have been dropped too.)
            var reported = 0
            try waitUntil(
                "reports of the dropped log lines", timeout: .seconds(10),
                lastSeen: { "reported \(reported) of \(dropped)" }
            ) {
                reported = sluice.logLines(containing: #" log lines dropped""#).compactMap {
                    Self.field("dropped", in: $0)
                }.reduce(0, +)
                dropped = try #require(try sluice.metric("sluice_log_dropped_total"))
                return reported == Int(dropped)
            }
            for line in sluice.logLines(containing: #" log lines dropped""#) {
                let n = try #require(Self.field("dropped", in: line))
                #expect(line.hasSuffix(#" warn dropped=\#(n) msg="\#(n) log lines dropped""#), "\(line)")
            }

            // Every refused client is in a summary line, a line of its own, or a dropped line;
            // the summaries (one a second at most) carry nearly all of them.
            var summarised = 0
            var single = 0
            try waitUntil(
                "summaries of the refused clients", timeout: .seconds(10),
                lastSeen: { "\(summarised) summarised, \(single) single, \(dropped) dropped, \(refused) refused" }
            ) {
                let summaries = sluice.logLines(containing: #" clients refused: no server available""#)
                summarised = summaries.compactMap { Self.field("clients", in: $0) }.reduce(0, +)
                single = sluice.logLines(containing: #"msg="no server available""#).count
                return summarised + single + Int(dropped) >= refused
            }
            for line in sluice.logLines(containing: #" clients refused: no server available""#) {
                let n = try #require(Self.field("clients", in: line))
                #expect(
                    line.hasSuffix(#" warn pool=dead clients=\#(n) msg="\#(n) clients refused: no server available""#),
                    "\(line)")
            }
            #expect(summarised > 0)
            #expect(summarised + single <= refused)
            for line in sluice.logLines(containing: #"msg="no server available""#) {
                #expect(line.contains(" warn pool=dead client=127.0.0.1:"), "\(line)")
            }

            for s in scenario.sessions { s.close() }
            #expect(try sluice.stop() == .exited(0))
            #expect(sluice.stderr.hasSuffix("msg=\"stopped\"\n"), "\(sluice.stderr.suffix(500))")
        }

        /// SIGTERM while the log writer is stuck on the full pipe: sluice still stops (waiting
        /// a bounded time for the log), and what the pipe held is intact, line by line.
        @Test func stopsWhileStderrIsStuck() throws {
            let scenario = try Scenario()
            defer { scenario.stop() }
            let sluice = scenario.sluice
            _ = try scenario.flood()
            for s in scenario.sessions { s.close() }
            #expect(try sluice.stop(timeout: .seconds(30)) == .exited(0))
            sluice.startReadingStderr()
            var text = ""
            try waitUntil("the end of stderr", lastSeen: { text }) {
                text = sluice.stderr
                return sluice.stderrClosed
            }
            // The pipe was full: its 64 KiB are whole lines (a line is one write of less than
            // PIPE_BUF, which a pipe never splits).
            #expect(text.utf8.count >= 60_000)
            let lines = text.split(separator: "\n")
            #expect(lines.first?.contains(" msg=") == true)
            #expect(
                lines.allSatisfy { $0.hasPrefix("20") && $0.hasSuffix("\"") }, "\(lines.filter { !$0.hasSuffix("\"") })"
            )
        }

        /// Started with stderr closed (`2>&-`), a start-up error is lost, not a crash.
        @Test func aClosedStderrIsNoCrash() throws {
            let directory = try TempDirectory()
            let (status, output) = try ChildProcess.run(
                "/bin/sh", ["-c", #"exec "$0" -f "$1" 2>&-"#, try SluiceBinary.path(), directory.path("missing.conf")])
            #expect(status == 1, "\(output)")
            #expect(output.isEmpty, "\(output)")
        }
    }
}
