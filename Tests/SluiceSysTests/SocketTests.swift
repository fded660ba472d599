// Socket options sluice relies on instead of setting them per connection.
import Glibc
import SluiceSys
import SluiceTestSupport
import Testing

@Suite struct SocketTests {
    /// Workers do not set TCP_NODELAY on accepted clients: the listener's is inherited.
    @Test func acceptedSocketsInheritNoDelayFromTheListener() throws {
        let pair = try LoopbackPair.make()
        defer { pair.close() }
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        #expect(getsockopt(pair.b.rawValue, CInt(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0)
        #expect(value == 1)
    }

    /// A connect that completes reports writable without ERR/HUP (no SO_ERROR read needed);
    /// a refused one reports `failed`, and SO_ERROR says why.
    @Test func connectOutcomeShowsInTheEventBits() throws {
        let listener = try Socket.listen(IPEndpoint(.loopbackV4, 0))
        let port = try Socket.localAddress(listener).endpoint!.port
        let epoll = try Epoll()
        var events = EpollEventBuffer(capacity: 4)
        func outcome() throws -> EpollEvents {
            let fd = try Socket.stream(v6: false)
            defer { fd.close() }
            try epoll.add(fd, .sessionSocket, data: 1)
            _ = try Socket.connect(fd, to: IPEndpoint(.loopbackV4, port))
            #expect(epoll.wait(into: &events, timeoutMillis: 2000) == 1)
            let ev = events.events(at: 0)
            if ev.failed { #expect(Socket.pendingError(fd) == .connectionRefused) }
            return ev
        }
        let ok = try outcome()
        #expect(ok.writeSide && !ok.failed)
        listener.close()
        #expect(try outcome().failed)
    }

    /// `queuedBytes`: what the idle timeout asks before choosing a FIN or a reset. Bytes the
    /// peer has not read yet count as unread on its side; once read they are nowhere.
    @Test func queuedBytesSeesUnreadBytesAndNothingOnceRead() throws {
        let pair = try LoopbackPair.make()
        defer { pair.close() }
        #expect(Socket.queuedBytes(pair.a).map { [$0.unread, $0.unsent] } == [0, 0])
        try writeAll(pair.a, [UInt8](repeating: 7, count: 1000))
        var unread = 0
        for _ in 0..<2000 where unread < 1000 {
            unread = Socket.queuedBytes(pair.b)?.unread ?? -1
            if unread < 1000 { usleep(1000) }
        }
        #expect(unread == 1000)
        #expect(try readUpTo(pair.b, 1000).bytes.count == 1000)
        #expect(Socket.queuedBytes(pair.b).map { [$0.unread, $0.unsent] } == [0, 0])
        var unsent = -1
        for _ in 0..<2000 where unsent != 0 {
            unsent = Socket.queuedBytes(pair.a)?.unsent ?? -1
            if unsent != 0 { usleep(1000) }
        }
        #expect(unsent == 0, "acknowledged bytes are no longer queued")
    }
}
