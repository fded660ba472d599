// Blocking writes of whole lines to stderr/stdout (the log writer thread's, and start-up
// messages'): EAGAIN is waited out, since O_NONBLOCK on a pipe belongs to the open file shared
// with other processes and one of them may have set it; a closed fd loses the line instead of
// trapping. And the log writer's sleep on an eventfd until woken or a timeout.
import Glibc

extension StdIO {
    /// Writes all of `bytes` to stderr, blocking as long as the reader needs. Returns false
    /// when stderr cannot take them at all (closed, not open, broken pipe): the line is lost.
    package static func writeErrorWaiting(_ bytes: [UInt8]) -> Bool { writeWaiting(stderr, bytes) }

    /// Writes all of `bytes` to `fd` (stdout or stderr), as `writeErrorWaiting`.
    @inline(never)
    package static func writeWaiting(_ fd: FD, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd.rawValue, raw.baseAddress! + offset, raw.count - offset)
            }
            if n > 0 {
                offset += n
                continue
            }
            let err = Errno.current
            if n < 0 && err == .interrupted { continue }
            if n < 0 && err == .wouldBlock {
                var pfd = pollfd(fd: fd.rawValue, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, -1)
                continue
            }
            // EBADF here is not a bug in sluice: whoever started it may have closed the fd.
            return false
        }
        return true
    }
}

extension EventFD {
    /// Sleeps until the eventfd is signalled or `timeoutMillis` pass (-1: no limit), then
    /// resets it.
    @inline(never)
    package func wait(timeoutMillis: Int) {
        var pfd = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
        let timeout = CInt(clamping: timeoutMillis)
        // EINTR just ends the wait early: the caller looks at its queue again either way.
        if poll(&pfd, 1, timeout) > 0 { drain() }
    }
}
