// Many sessions at once, each writing a seeded mix of chunk sizes from 1 byte to 300 KiB (so
// both directions keep switching between the copy and the splice path) with TCP urgent bytes
// between some chunks, through an echo backend: every byte comes back, in order.
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct StreamMixTests {
        static let chunkSizes = [1, 7, 100, 1500, 16383, 16384, 16385, 65536, 300_000]

        @Test func mixedChunksAndUrgentBytesComeBackExact() throws {
            let backend = try EchoBackend(name: "echo-inline", urgentInline: true)
            defer { backend.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global(workers: 2) + """
                    pool mix
                        bind 127.0.0.1:\(port)
                        check none
                        server e1 127.0.0.1:\(backend.port)
                    """)
            let sessions = (0..<24).map { session in
                let plan = Self.plan(seed: UInt64(session) + 100)
                return EchoSession(expected: plan.flatMap { $0.bytes + ($0.urgent.map { [$0] } ?? []) }) { client in
                    for step in plan {
                        try client.send(step.bytes)
                        if let byte = step.urgent { try SocketIO.sendUrgent(client.fd, byte) }
                    }
                }
            }
            let (finished, failures) = try EchoSessions.run(port: port, sessions, timeout: 120, urgentInline: true)
            #expect(finished, "sessions did not finish within 120 s; sluice stderr:\n\(sluice.stderr)")
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))\nsluice stderr:\n\(sluice.stderr)")
            #expect(try sluice.stop() == .exited(0))
        }

        /// 40 chunks of sizes drawn from `chunkSizes`; about one in six followed by an urgent byte.
        private static func plan(seed: UInt64) -> [(bytes: [UInt8], urgent: UInt8?)] {
            var random = PseudoRandom(seed: seed)
            return (0..<40).map { index in
                let size = chunkSizes[Int(random.next() % UInt64(chunkSizes.count))]
                let bytes = PseudoRandom.bytes(seed: seed &* 1000 &+ UInt64(index), count: size)
                let urgent = random.next() % 6 == 0 ? UInt8(truncatingIfNeeded: random.next()) : nil
                return (bytes, urgent)
            }
        }
    }
}
