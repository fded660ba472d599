// Data-plane scenarios: byte-exact bulk transfer in both directions, half-close, and a
// backend that closes first.
import Foundation
import Synchronization
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct TransferTests {
        @Test func concurrentSessionsTransferEveryByteBothWays() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global(workers: 2) + """
                    pool echo
                        bind 127.0.0.1:\(port)
                        check none
                        server e1 127.0.0.1:\(echo.port)
                    """)
            // 16 x 4 MiB = 64 MiB each way, sent in 96 KiB pieces.
            let sessions = (0..<16).map { session in
                let payload = PseudoRandom.bytes(seed: UInt64(session + 1), count: 4 << 20)
                return EchoSession(expected: payload) { client in
                    try payload.withUnsafeBytes { buffer in
                        var offset = 0
                        while offset < buffer.count {
                            let end = min(offset + 96 << 10, buffer.count)
                            try client.send(UnsafeRawBufferPointer(rebasing: buffer[offset..<end]))
                            offset = end
                        }
                    }
                }
            }
            let (finished, failures) = try EchoSessions.run(port: port, sessions, timeout: 90)
            #expect(finished, "transfer did not finish within 90 s; sluice stderr:\n\(sluice.stderr)")
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))\nsluice stderr:\n\(sluice.stderr)")
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func halfCloseKeepsTheReplyFlowing() throws {
            let size = 1 << 20
            let backend = try ScriptedBackend(script: .replyAfterEOF(bytes: size))
            defer { backend.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool half
                        bind 127.0.0.1:\(port)
                        check none
                        server s1 127.0.0.1:\(backend.port)
                    """)
            let client = try TestClient(port: port, timeout: .seconds(10))
            try client.send(PseudoRandom.bytes(seed: 7, count: size))
            client.shutdownWrite()
            let reply = try client.readToEOF()
            #expect(reply.count == size, "sluice stderr:\n\(sluice.stderr)")
            #expect(reply == backend.expectedReply(count: size))
            #expect(backend.lastReceived == size, "the backend must see all bytes before EOF")
            client.close()
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func backendThatClosesFirstDeliversEverythingThenEOF() throws {
            let size = 1 << 20
            let backend = try ScriptedBackend(script: .sendAndClose(bytes: size), seed: 99)
            defer { backend.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool first
                        bind 127.0.0.1:\(port)
                        check none
                        server s1 127.0.0.1:\(backend.port)
                    """)
            let client = try TestClient(port: port, timeout: .seconds(10))
            let reply = try client.readToEOF()
            #expect(reply.count == size, "sluice stderr:\n\(sluice.stderr)")
            #expect(reply == backend.expectedReply(count: size))
            client.close()
            #expect(try sluice.stop() == .exited(0))
        }

        /// TCP urgent data (MSG_OOB) mid-stream, each way, after a bulk transfer: sluice forwards
        /// the urgent byte as an ordinary byte in its place and the session goes on. (splice(2)
        /// stops for ever at an urgent mark, and without SO_OOBINLINE the byte is dropped.)
        @Test func urgentDataCrossesInPlaceBothWays() throws {
            let backend = try EchoBackend(name: "urgent", urgentInline: true) { fd in
                _ = try? SocketIO.sendAll(fd, Array("hello".utf8))
                try? SocketIO.sendUrgent(fd, UInt8(ascii: "!"))
                _ = try? SocketIO.sendAll(fd, Array("world".utf8))
            }
            defer { backend.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool urgent
                        bind 127.0.0.1:\(port)
                        check none
                        server s1 127.0.0.1:\(backend.port)
                    """)
            // With and without the client's FIN right behind the urgent byte: the FIN changes
            // what splice(2) reports at the mark.
            for finFollows in [true, false] {
                let client = try TestClient(port: port, timeout: .seconds(10))
                SocketIO.keepUrgentInline(client.fd)
                let received = Mutex<[UInt8]>([])
                let reader = DispatchGroup()
                reader.enter()
                Thread {
                    defer { reader.leave() }
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
                    defer { buffer.deallocate() }
                    while let n = try? client.receive(into: buffer), n > 0 {
                        received.withLock { $0 += buffer[0..<n] }
                    }
                }.start()
                // Large enough that both directions have switched to splice when the urgent byte comes.
                let bulk = PseudoRandom.bytes(seed: 11, count: 256 << 10)
                try client.send(bulk)
                try SocketIO.sendUrgent(client.fd, UInt8(ascii: "X"))
                try client.send("tail")
                if !finFollows {
                    // The echo of the urgent byte and what follows must cross before any FIN.
                    let deadline = ContinuousClock.now + .seconds(10)
                    while received.withLock({ $0.count }) < bulk.count + 5, ContinuousClock.now < deadline {
                        usleep(2000)
                    }
                    #expect(received.withLock { $0.count } == bulk.count + 5, "the echo stopped at the urgent byte")
                }
                client.shutdownWrite()
                #expect(reader.wait(timeout: .now() + 20) == .success)
                let reply = received.withLock { $0 }
                let expected = bulk + Array("Xtail".utf8) + Array("hello!world".utf8)
                #expect(reply.count == expected.count, "FIN follows: \(finFollows); sluice stderr:\n\(sluice.stderr)")
                #expect(reply == expected)
                client.close()
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func ipv6ListenerForwards() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let port = try FreePort.tcp(host: "::1")
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool v6
                        bind [::1]:\(port)
                        check none
                        server e1 127.0.0.1:\(echo.port)
                    """)
            let client = try TestClient(port: port, host: "::1")
            try client.send("hello over IPv6\n")
            #expect(try client.readLine() == "hello over IPv6", "sluice stderr:\n\(sluice.stderr)")
            client.close()
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
