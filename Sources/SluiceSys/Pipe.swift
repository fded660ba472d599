// Kernel pipes and splice(2): the zero-copy path socket -> pipe -> socket.
import CSluiceLinux
import Glibc

package struct PipePair: Sendable {
    package var read: FD
    package var write: FD

    /// A non-blocking pipe, resized to `size` bytes when the kernel allows it.
    @inline(never)
    package static func make(size: Int) throws(Errno) -> PipePair {
        var fds: (CInt, CInt) = (-1, -1)
        _ = try withUnsafeMutablePointer(to: &fds) { p throws(Errno) in
            try p.withMemoryRebound(to: CInt.self, capacity: 2) { arr throws(Errno) in
                try retrying { sluice_pipe2(arr, sluice_O_NONBLOCK | sluice_O_CLOEXEC) }
            }
        }
        let pair = PipePair(read: FD(rawValue: fds.0), write: FD(rawValue: fds.1))
        // The size is a wish: EPERM past /proc/sys/fs/pipe-max-size leaves the default.
        _ = sluice_set_pipe_size(fds.1, CInt(clamping: size))
        return pair
    }

    /// What the kernel granted (F_GETPIPE_SZ): `make` only asks, and an unprivileged user past
    /// pipe-user-pages-soft/-hard, or a size over pipe-max-size, gets less.
    package var capacity: Int { Int(sluice_get_pipe_size(write.rawValue)) }

    /// No pipe holds less than a page: F_SETPIPE_SZ rounds up to one, and the kernel's
    /// smallest default is one.
    package static let minimumCapacity = max(4096, Int(sysconf(CInt(_SC_PAGESIZE))))

    /// Bytes waiting in the pipe (FIONREAD); nil when the kernel would not say. A syscall:
    /// for the rare check before a pipe is reused, not for the data path.
    package var buffered: Int? {
        let n = sluice_pipe_buffered(read.rawValue)
        return n < 0 ? nil : Int(n)
    }

    package func close() {
        read.close()
        write.close()
    }
}

package enum Splice {
    /// Moves up to `max` bytes from `from` to `to` without copying through user space.
    /// From a socket, `.eof` means the peer shut down its write side. EAGAIN is
    /// `.wouldBlock` (source empty, or destination full).
    @inline(never)
    package static func move(from: FD, to: FD, max: Int, more: Bool = false) throws(Errno) -> IOResult {
        let flags = sluice_SPLICE_F_MOVE | sluice_SPLICE_F_NONBLOCK | (more ? sluice_SPLICE_F_MORE : 0)
        while true {
            let n = sluice_splice(from.rawValue, to.rawValue, max, flags)
            if n > 0 { return .done(n) }
            if n == 0 { return .eof }
            let err = Errno(rawValue: sluice_errno())
            if err == .interrupted { continue }
            if err == .wouldBlock { return .wouldBlock }
            checkBug(err, #function)
            throw err
        }
    }
}
