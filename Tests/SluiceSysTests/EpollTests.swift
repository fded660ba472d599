// epoll and eventfd against the real kernel: wake-ups and edge-triggered readiness.
import Glibc
import SluiceTestSupport
import Testing
@testable import SluiceSys

@Suite struct EpollTests {
    @Test func eventFDWakesWaiter() throws {
        let epoll = try Epoll()
        let wake = try EventFD()
        try epoll.add(wake.fd, [.readable], data: 42)
        var events = EpollEventBuffer(capacity: 4)
        #expect(epoll.wait(into: &events, timeoutMillis: 0) == 0)
        wake.signal()
        #expect(epoll.wait(into: &events, timeoutMillis: 1000) == 1)
        #expect(events.data(at: 0) == 42)
        #expect(events.events(at: 0).contains(.readable))
        wake.drain()
        #expect(epoll.wait(into: &events, timeoutMillis: 0) == 0)
    }

    @Test func edgeTriggeredReportsOncePerArrival() throws {
        let pair = try LoopbackPair.make()
        defer { pair.close() }
        let epoll = try Epoll()
        try epoll.add(pair.b, [.readable, .readHangup, .edgeTriggered], data: 7)
        var events = EpollEventBuffer(capacity: 4)
        try writeAll(pair.a, [1, 2, 3])
        #expect(epoll.wait(into: &events, timeoutMillis: 1000) == 1)
        // Not drained, but edge-triggered: no second report until new data arrives.
        #expect(epoll.wait(into: &events, timeoutMillis: 20) == 0)
        Socket.shutdownWrite(pair.a)
        #expect(epoll.wait(into: &events, timeoutMillis: 1000) == 1)
        #expect(events.events(at: 0).contains(.readHangup))
    }

    @Test func signalFDReadsBlockedSignal() throws {
        let signals = try SignalFD([.hangup])
        #expect(signals.next() == nil)
        // Aimed at this thread: the test runner's other threads do not block SIGHUP.
        pthread_kill(pthread_self(), SIGHUP)
        var got: Signal?
        for _ in 0..<100 where got == nil {
            got = signals.next()
            if got == nil { usleep(1000) }
        }
        #expect(got == .hangup)
    }
}

@Suite struct EpollEventsTests {
    @Test func sideMasksMatchTheKernelBits() {
        #expect(EpollEvents.readable.readSide && EpollEvents.readHangup.readSide && EpollEvents.hangup.readSide)
        #expect(EpollEvents.error.readSide && EpollEvents.priority.readSide && !EpollEvents.writable.readSide)
        #expect(EpollEvents.priority.urgent && !EpollEvents.readable.urgent && !EpollEvents.readHangup.urgent)
        #expect(!EpollEvents.priority.writeSide && !EpollEvents.priority.hangUpSide && !EpollEvents.priority.failed)
        #expect(EpollEvents.writable.writeSide && EpollEvents.hangup.writeSide && EpollEvents.error.writeSide)
        #expect(!EpollEvents.readable.writeSide && !EpollEvents.readHangup.writeSide)
        #expect(EpollEvents.readHangup.hangUpSide && EpollEvents.hangup.hangUpSide && EpollEvents.error.hangUpSide)
        #expect(!EpollEvents.readable.hangUpSide && !EpollEvents.writable.hangUpSide)
        #expect(EpollEvents.error.failed && EpollEvents.hangup.failed)
        #expect(!EpollEvents.writable.failed && !EpollEvents.readHangup.failed && !EpollEvents.readable.failed)
        #expect(EpollEvents.sessionSocket == [.readable, .priority, .writable, .readHangup, .edgeTriggered])
    }
}
