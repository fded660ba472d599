// The one-shot loop's bound on unread replies, over loopback: with distinct 1 MiB replies and
// a 3 MiB cap, stalled readers beyond the cap are dropped oldest first, the newer ones still
// get every byte.
@testable import SluiceRuntime
import Glibc
import SluiceSys
import Testing

@Suite struct OneShotServerTests {
    /// Answers every line with a new buffer of `size` bytes of "a".
    struct FixedReplyService: OneShotService {
        let size: Int
        struct Pending {}
        func accepted(_ fd: FD) -> Pending { Pending() }
        func received(_ pending: inout Pending, _ bytes: [UInt8], eof: Bool) -> OneShotStep {
            if bytes.contains(0x0A) { return .reply(OneShotReply(Array(repeating: 0x61, count: size))) }
            return eof ? .close : .needMore
        }
        func timedOut(_ pending: Pending) -> OneShotReply? { nil }
    }

    /// Everything until EOF or an error (a reset counts as the end too).
    static func readAll(_ fd: FD) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while try Poll.readable(fd, timeoutMillis: 5000) {
            switch try? fd.receive(appendingTo: &bytes, max: 65536) {
            case .done: continue
            case .wouldBlock: continue
            default: return bytes
            }
        }
        return bytes
    }

    @Test func unreadRepliesOverTheCapDropTheOldestReaders() throws {
        let size = 1 << 20
        let listener = try Socket.listen(IPEndpoint(.loopbackV4, 0), backlog: 16)
        try Socket.setSendBuffer(listener, bytes: 64 << 10)
        let port = try #require(Socket.localAddress(listener).endpoint).port
        var limits = OneShotLimits()
        limits.writeTimeout = .seconds(60)
        limits.maxReplyBytes = 3 * size
        let server = try OneShotServer(
            listener: listener, service: FixedReplyService(size: size), limits: limits, name: "test-oneshot")
        server.start()
        defer { server.stop() }
        var readers: [FD] = []
        defer { for fd in readers { fd.close() } }
        for _ in 0..<5 {
            let fd = try Socket.stream(v6: false)
            readers.append(fd)
            try Socket.setOption(fd, SOL_SOCKET, SO_RCVBUF, 4096)
            _ = try Socket.connect(fd, to: IPEndpoint(.loopbackV4, port))
            #expect(try Poll.writable(fd, timeoutMillis: 5000))
            _ = try fd.send(Array("go\n".utf8))
            // Its reply has started, so the server took the requests in this order.
            #expect(try Poll.readable(fd, timeoutMillis: 5000))
        }
        // 5 distinct replies against a cap of 3: the first two readers were dropped mid-reply...
        for i in 0..<2 {
            let got = try Self.readAll(readers[i])
            #expect(got.count < size, "reader \(i) got \(got.count) bytes")
        }
        // ...the last three get their whole reply.
        for i in 2..<5 {
            let got = try Self.readAll(readers[i])
            #expect(got.count == size && got.allSatisfy { $0 == 0x61 }, "reader \(i) got \(got.count) bytes")
        }
    }
}
