// Floods (issue #14): under load, sluice holds its limits, keeps answering its operator and
// leaks nothing. Here, 20,000 connection attempts from 20,000 source addresses against a
// global `maxconn 500` whose slots are nearly all held by another pool's sessions: past the
// cap a client is reset (SPEC: the global cap refuses, only a server's maxconn queues). The
// UDP flood, the admin storm and the slow operator clients are in FloodTests+*.swift.
import Foundation
import Glibc
import Synchronization
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct FloodTests {
        /// Counts kept across client threads, and the highest value a sampler saw.
        final class Tally: Sendable {
            let served = Atomic<Int>(0)
            let refused = Atomic<Int>(0)
            let aborted = Atomic<Int>(0)
            private let peaks = Mutex<[String: Int]>([:])

            func peak(_ name: String, _ value: Int) { peaks.withLock { $0[name] = max($0[name] ?? 0, value) } }
            func peak(_ name: String) -> Int { peaks.withLock { $0[name] ?? 0 } }
        }

        enum Outcome { case served, refused, aborted }

        static let cap = 500
        static let held = 480
        static let attempts = 20_000
        static let clientThreads = 32

        /// One round trip on an open session, byte-exact.
        static func roundTrip(_ client: TestClient, seed: UInt64) throws {
            try LoggingTests.echoRoundTrip(client, PseudoRandom.bytes(seed: seed, count: 100))
        }

        /// Attempt `i`, from its own source address. Most send 64 bytes, half-close and must get
        /// them back exactly, or be reset without a byte (refused); every eighth resets its own
        /// connection at once (a client that gives up). Anything else throws.
        static func attempt(_ i: Int, port: UInt16) throws -> Outcome {
            let source = "127.\(20 + i / 250).\(1 + i % 250).1"
            let client: TestClient
            do {
                client = try TestClient(port: port, source: source, timeout: .seconds(10))
            } catch let error as SocketError where error.code == ECONNRESET {
                return .refused
            }
            defer { client.close() }
            if i % 8 == 7 {
                var reset = linger(l_onoff: 1, l_linger: 0)
                setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
                return .aborted
            }
            let payload = PseudoRandom.bytes(seed: UInt64(i) + 1, count: 64)
            do {
                try client.send(payload)
            } catch let error as SocketError where error.code == ECONNRESET || error.code == EPIPE {
                return .refused
            }
            client.shutdownWrite()
            var echoed: [UInt8] = []
            while true {
                switch try client.receive() {
                case .bytes(let chunk): echoed += chunk
                case .reset where echoed.isEmpty: return .refused
                case .reset: throw HarnessError("attempt \(i) from \(source): reset after \(echoed.count) of 64 bytes")
                case .eof:
                    guard echoed == payload else {
                        throw HarnessError(
                            "attempt \(i) from \(source): EOF after \(echoed.count) bytes, \(echoed == Array(payload.prefix(echoed.count)) ? "a prefix" : "different bytes")"
                        )
                    }
                    return .served
                }
            }
        }

        /// Runs attempts `range` on `clientThreads` threads against `port`, counting outcomes.
        static func flood(_ range: Range<Int>, port: UInt16, into tally: Tally) throws {
            let next = Atomic<Int>(range.lowerBound)
            let failures = Failures()
            let clients = ThreadGroup()
            for t in 0..<clientThreads {
                clients.spawn("flood-\(t)", failures: failures) {
                    while true {
                        let i = next.add(1, ordering: .relaxed).oldValue
                        guard i < range.upperBound, failures.isEmpty else { return }
                        switch try attempt(i, port: port) {
                        case .served: tally.served.add(1, ordering: .relaxed)
                        case .refused: tally.refused.add(1, ordering: .relaxed)
                        case .aborted: tally.aborted.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
            try clients.join("the flood", timeout: .seconds(100))
            guard failures.isEmpty else { throw HarnessError("flood clients: \(failures)") }
        }

        /// A session on `port` from `source`, open and echoing.
        static func hold(port: UInt16, source: String, seed: UInt64) throws -> TestClient {
            let client = try TestClient(port: port, source: source, timeout: .seconds(10))
            try roundTrip(client, seed: seed)
            return client
        }

        @Test func twentyThousandConnectsHoldTheGlobalMaxconn() throws {
            let (cap, held, attempts) = (Self.cap, Self.held, Self.attempts)
            try HeldConnections.ensureFileLimit(4 * cap + 1024)
            let echo = try EchoBackend(name: "e")
            defer { echo.stop() }
            let (holdPort, floodPort) = (try FreePort.tcp(), try FreePort.tcp())
            let rig = try FloodRig(
                global: ["maxconn \(cap)"],
                pools: """
                    pool hold
                        bind 127.0.0.1:\(holdPort)
                        check none
                        server e 127.0.0.1:\(echo.port)
                    pool flood
                        bind 127.0.0.1:\(floodPort)
                        check none
                        server e 127.0.0.1:\(echo.port)
                    """, prefix: "sluice-flood")
            let (sluice, socket, metricsPort) = (rig.sluice, rig.socket, rig.metricsPort)

            // The held sessions come from their own addresses and echo before the flood starts.
            let holders = try sluice.explaining {
                try (0..<held).map { j in
                    try Self.hold(port: holdPort, source: "127.10.\(j / 250).\(1 + j % 250)", seed: UInt64(j))
                }
            }
            let rssBefore = try ProcStatus.residentBytes(sluice.pid)

            // The operator watches throughout: `show info`, `show sessions` and the metrics never
            // count more than the cap, the held sessions are always listed, and each answers.
            let peaks = Tally()
            let watcher = Probe("flood-watcher") { n in
                let info = try FloodRig.info(socket)
                guard let current = info["sessions_current"] as? Int else { throw HarnessError("show info: \(info)") }
                peaks.peak("info", current)
                guard current <= cap else {
                    throw HarnessError("show info: sessions_current \(current) > maxconn \(cap)")
                }
                switch n % 4 {
                case 1:
                    // Each worker lists its own sessions in turn, so the whole list is no single
                    // instant (a session ending on one worker and one starting on the other may
                    // both be in it) and no bound; the held sessions are always there.
                    let rows = try FloodRig.sessions(socket)
                    peaks.peak("sessions", rows.count)
                    let holding = rows.filter { $0["pool"] as? String == "hold" }.count
                    guard holding == held else {
                        throw HarnessError("show sessions lists \(holding) of the \(held) held sessions")
                    }
                case 3:
                    let sum = Int(
                        FloodRig.sum("sluice_sessions_current", in: try FloodRig.scrape(metricsPort, workers: 2)))
                    peaks.peak("metrics", sum)
                    guard sum <= cap else {
                        throw HarnessError("sluice_sessions_current adds up to \(sum) > maxconn \(cap)")
                    }
                default: break
                }
            }
            // ... and `show info` alone, as fast as it answers: a count raised past the cap for
            // an instant (an add undone after the check) shows there even if no session ran.
            // That window is nanoseconds wide: seen as 501 in one exploratory run with four of
            // these, while this test passed 12 runs of the binary that had it. A sample, not proof.
            let counters = (0..<3).map { k in
                Probe("flood-counter-\(k)", pause: .zero) { _ in
                    let info = try FloodRig.info(socket)
                    guard let current = info["sessions_current"] as? Int, current <= cap else {
                        throw HarnessError(
                            "show info: sessions_current \(info["sessions_current"] ?? "?") > maxconn \(cap)")
                    }
                }
            }

            // 1. Room for 20 more: some attempts get through, the others meet the cap.
            let started = ContinuousClock.now
            let split = attempts * 7 / 10
            let room = Tally()
            try sluice.explaining { try Self.flood(0..<split, port: floodPort, into: room) }
            // 2. The cap full (20 sessions of the flood pool held too): every attempt is refused.
            var last: Any = ""
            try waitUntil("the flood's sessions to end", timeout: .seconds(10), lastSeen: { "\(last)" }) {
                last = try FloodRig.info(socket)["sessions_current"] ?? "?"
                return last as? Int == held
            }
            let fillers = try sluice.explaining {
                try (0..<(cap - held)).map { j in
                    try Self.hold(port: floodPort, source: "127.11.0.\(1 + j)", seed: UInt64(5000 + j))
                }
            }
            let full = Tally()
            try sluice.explaining { try Self.flood(split..<attempts, port: floodPort, into: full) }
            let floodTime = ContinuousClock.now - started
            let watched = [watcher] + counters
            let requests = try watched.map { try $0.stop() }
            try sluice.explaining {
                for probe in watched where !probe.failures.isEmpty {
                    throw HarnessError("the operator during the flood: \(probe.failures)")
                }
            }
            let (served, refused, aborted) = (
                room.served.load(ordering: .relaxed),
                room.refused.load(ordering: .relaxed) + full.refused.load(ordering: .relaxed),
                room.aborted.load(ordering: .relaxed) + full.aborted.load(ordering: .relaxed)
            )
            #expect(served + refused + aborted == attempts)
            #expect(
                served > 0 && room.refused.load(ordering: .relaxed) > 0,
                "with room for 20, the flood must both get through and meet the cap: served \(served), refused \(refused)"
            )
            #expect(full.served.load(ordering: .relaxed) == 0, "a client got in with every slot taken")

            // Every refusal is counted as maxconn (an aborted client may have been refused too).
            let metrics = try rig.scrape()
            let rejected = Int(
                FloodRig.value(#"sluice_rejected_total{pool="flood",reason="maxconn"}"#, in: metrics) ?? -1)
            #expect(
                rejected >= refused && rejected <= refused + aborted,
                "rejected \(rejected), refused \(refused), aborted \(aborted)")
            let total = Int(FloodRig.value(#"sluice_sessions_total{pool="flood"}"#, in: metrics) ?? -1)
            let filled = cap - held
            #expect(
                total >= served + filled && total <= served + filled + aborted,
                "sessions_total \(total), served \(served)")
            #expect(
                FloodRig.sum("sluice_rejected_total", in: metrics) == Double(rejected),
                "only the flood pool refused:\n\(metrics)")

            // The held sessions went through it untouched; memory is where it was.
            try sluice.explaining {
                for (j, client) in (holders + fillers).enumerated() {
                    try Self.roundTrip(client, seed: UInt64(100_000 + j))
                }
            }
            let rssAfter = try ProcStatus.residentBytes(sluice.pid)
            if Sanitizer.memoryIsMeasurable {
                #expect(
                    rssAfter - rssBefore < 8 << 20,
                    "resident memory grew by \(rssAfter - rssBefore) bytes over the flood")
            }
            for client in holders + fillers { client.close() }
            try sluice.explaining {
                try rig.waitForNoSession("the flood")
                try rig.waitForBaselineFDs("the flood", extraPipes: 8)
                try rig.expectByteExactSession(port: floodPort, "the flood")
                try rig.waitForNoSession("the byte-exact session")
                try rig.waitForBaselineFDs("the byte-exact session", extraPipes: 8)
            }
            print(
                """
                FloodTests connections: \(attempts) attempts in \(floodTime): served \(served), refused \(refused), \
                aborted \(aborted); peak sessions: show info \(peaks.peak("info")), show sessions \(peaks.peak("sessions")), \
                metrics \(peaks.peak("metrics")) (cap \(cap)); operator requests \(requests.map(\.count)), slowest \
                \(requests.map(\.slowest).max()!); RSS \(rssBefore >> 10) -> \(rssAfter >> 10) KiB; \
                fds \(rig.baseline) -> \(try FDTable(pid: sluice.pid))
                """)
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
