// Many sessions at once, each writing a seeded mix of chunk sizes from 1 byte to 300 KiB (so
// both directions keep switching between the copy and the splice path) with TCP urgent bytes
// between some chunks, through an echo backend: every byte comes back, in order.
import Foundation
import Synchronization
import Testing

extension E2E {
    @Suite struct StreamMixTests {
        static let chunkSizes = [1, 7, 100, 1500, 16383, 16384, 16385, 65536, 300_000]

        @Test func mixedChunksAndUrgentBytesComeBackExact() throws {
            let backend = try TestServer(name: "echo-inline") { fd in
                var one: Int32 = 1
                _ = setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, socklen_t(MemoryLayout<Int32>.size))
                SocketIO.setTimeouts(fd, .seconds(60))
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
                defer { buffer.deallocate() }
                while let n = try? SocketIO.receive(fd, into: buffer), n > 0 {
                    guard (try? SocketIO.sendAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))) != nil else { return }
                }
                shutdown(fd, Int32(SHUT_WR))
            }
            defer { backend.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(config: TestConfig.global(workers: 2) + """
                pool mix
                    bind 127.0.0.1:\(port)
                    check none
                    server e1 127.0.0.1:\(backend.port)
                """)
            let failures = Mutex<[String]>([])
            let group = DispatchGroup()
            for session in 0..<24 {
                let plan = Self.plan(seed: UInt64(session) + 100)
                let expected = plan.flatMap { $0.bytes + ($0.urgent.map { [$0] } ?? []) }
                let client = try TestClient(port: port, timeout: .seconds(30))
                var one: Int32 = 1
                _ = setsockopt(client.fd, SOL_SOCKET, SO_OOBINLINE, &one, socklen_t(MemoryLayout<Int32>.size))
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        for step in plan {
                            try client.send(step.bytes)
                            if var byte = step.urgent, Glibc.send(client.fd, &byte, 1, Int32(MSG_OOB)) != 1 {
                                throw HarnessError("send(MSG_OOB) failed: errno \(errno)")
                            }
                        }
                        client.shutdownWrite()
                    } catch {
                        failures.withLock { $0.append("session \(session) writer: \(error)") }
                    }
                }.start()
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        let reply = try client.readToEOF()
                        if reply != expected {
                            let at = (0..<min(reply.count, expected.count)).first { reply[$0] != expected[$0] } ?? min(reply.count, expected.count)
                            failures.withLock {
                                $0.append("session \(session): \(reply.count) of \(expected.count) bytes back, first difference at \(at)")
                            }
                        }
                    } catch {
                        failures.withLock { $0.append("session \(session) reader: \(error)") }
                    }
                    client.close()
                }.start()
            }
            let finished = group.wait(timeout: .now() + 120) == .success
            #expect(finished, "sessions did not finish within 120 s; sluice stderr:\n\(sluice.stderr)")
            let seen = failures.withLock { $0 }
            #expect(seen.isEmpty, "\(seen.joined(separator: "\n"))\nsluice stderr:\n\(sluice.stderr)")
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
