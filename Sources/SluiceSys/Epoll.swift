// epoll and eventfd. The event buffer is owned here so no other file touches epoll_event.
import CSluiceLinux
import Glibc

package struct EpollEvents: OptionSet, Sendable, Hashable {
    package var rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    package static let readable = EpollEvents(rawValue: EPOLLIN.rawValue)
    package static let priority = EpollEvents(rawValue: EPOLLPRI.rawValue)
    package static let writable = EpollEvents(rawValue: EPOLLOUT.rawValue)
    package static let readHangup = EpollEvents(rawValue: EPOLLRDHUP.rawValue)
    package static let hangup = EpollEvents(rawValue: EPOLLHUP.rawValue)
    package static let error = EpollEvents(rawValue: EPOLLERR.rawValue)
    package static let edgeTriggered = EpollEvents(rawValue: EPOLLET.rawValue)
    /// Wake one waiter only (several workers share a listener without a thundering herd).
    package static let exclusive = EpollEvents(rawValue: EPOLLEXCLUSIVE.rawValue)

    // Per-event tests as plain bit masks: OptionSet's array-literal forms allocate and go
    // through generic SetAlgebra code, which showed in profiles of the event path.
    // Bits: EPOLLIN 0x1, EPOLLPRI 0x2, EPOLLOUT 0x4, EPOLLERR 0x8, EPOLLHUP 0x10, EPOLLRDHUP 0x2000
    // (checked against the kernel's constants in EpollEventsTests).

    /// Something to read, or a hang-up/error the next read will report (IN|PRI|ERR|HUP|RDHUP).
    @inlinable package var readSide: Bool { rawValue & 0x201B != 0 }
    /// Room to write, or a hang-up/error the next write will report (OUT|ERR|HUP).
    @inlinable package var writeSide: Bool { rawValue & 0x001C != 0 }
    /// The socket failed or is closed both ways (ERR|HUP): a connect that reports neither
    /// succeeded, no SO_ERROR read needed.
    @inlinable package var failed: Bool { rawValue & 0x0018 != 0 }
    /// The peer shut down its side, or the socket failed (ERR|HUP|RDHUP).
    @inlinable package var hangUpSide: Bool { rawValue & 0x2018 != 0 }
    /// TCP urgent data is queued (PRI): reads stop short at its mark, so a short read no
    /// longer proves the socket drained.
    @inlinable package var urgent: Bool { rawValue & 0x0002 != 0 }

    /// A session socket: read, urgent data, write and peer shutdown, edge-triggered,
    /// registered once.
    package static let sessionSocket = EpollEvents(
        rawValue: EPOLLIN.rawValue | EPOLLPRI.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue)
}

package struct Epoll: ~Copyable {
    package let fd: FD

    @inline(never)
    package init() throws(Errno) {
        fd = FD(rawValue: try retrying { epoll_create1(CInt(EPOLL_CLOEXEC)) })
    }

    deinit { fd.close() }

    @inline(never)
    package func add(_ target: FD, _ events: EpollEvents, data: UInt64) throws(Errno) {
        var ev = epoll_event(events: events.rawValue, data: epoll_data_t(u64: data))
        _ = try retrying { epoll_ctl(fd.rawValue, EPOLL_CTL_ADD, target.rawValue, &ev) }
    }

    @inline(never)
    package func modify(_ target: FD, _ events: EpollEvents, data: UInt64) throws(Errno) {
        var ev = epoll_event(events: events.rawValue, data: epoll_data_t(u64: data))
        _ = try retrying { epoll_ctl(fd.rawValue, EPOLL_CTL_MOD, target.rawValue, &ev) }
    }

    @inline(never)
    package func remove(_ target: FD) {
        var ev = epoll_event()
        // ENOENT/EBADF after a close is harmless: closing removes the fd from the set anyway.
        _ = epoll_ctl(fd.rawValue, EPOLL_CTL_DEL, target.rawValue, &ev)
    }

    /// Waits up to `timeoutMillis` (-1: forever) and fills `buffer`; returns the count.
    @inline(never)
    package func wait(into buffer: inout EpollEventBuffer, timeoutMillis: Int) -> Int {
        let n = epoll_wait(fd.rawValue, buffer.events, CInt(buffer.capacity), CInt(clamping: timeoutMillis))
        if n >= 0 { return Int(n) }
        let err = Errno.current
        if err == .interrupted { return 0 }
        checkBug(err, #function)
        preconditionFailure("epoll_wait: \(err)")
    }
}

/// The array epoll_wait fills; read with `events(at:)` and `data(at:)`.
package struct EpollEventBuffer: ~Copyable {
    fileprivate let events: UnsafeMutablePointer<epoll_event>
    package let capacity: Int

    package init(capacity: Int) {
        self.capacity = capacity
        events = .allocate(capacity: capacity)
        events.initialize(repeating: epoll_event(), count: capacity)
    }

    deinit { events.deallocate() }

    @inline(__always)
    package func events(at i: Int) -> EpollEvents { EpollEvents(rawValue: events[i].events) }

    @inline(__always)
    package func data(at i: Int) -> UInt64 { events[i].data.u64 }
}

/// A counter fd other threads write to wake a loop.
package struct EventFD: ~Copyable, Sendable {
    package let fd: FD

    @inline(never)
    package init() throws(Errno) {
        fd = FD(rawValue: try retrying { eventfd(0, CInt(EFD_NONBLOCK | EFD_CLOEXEC)) })
    }

    deinit { fd.close() }

    @inline(never)
    package func signal() {
        var one: UInt64 = 1
        // EAGAIN means the counter is saturated: the loop is already due to wake.
        _ = Glibc.write(fd.rawValue, &one, 8)
    }

    @inline(never)
    package func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(fd.rawValue, &value, 8)
    }
}
