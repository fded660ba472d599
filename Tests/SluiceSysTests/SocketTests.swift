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
}
