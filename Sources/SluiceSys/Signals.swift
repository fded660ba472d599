// Signals arrive as readable events on a signalfd, never as async handlers: the control
// loop reads them like any other fd. SIGPIPE is ignored so a write to a closed peer is EPIPE.
// `blockEarly` runs first in main: a SIGHUP during start-up (slow host lookups, the state
// file) would otherwise kill the process with the default action before the signalfd exists.
import CSluiceLinux
import Glibc

package enum Signal: CInt, Sendable, CustomStringConvertible {
    case hangup = 1  // SIGHUP
    case interrupt = 2  // SIGINT
    case terminate = 15  // SIGTERM

    package var description: String {
        switch self {
        case .hangup: "SIGHUP"
        case .interrupt: "SIGINT"
        case .terminate: "SIGTERM"
        }
    }
}

package struct SignalFD: ~Copyable {
    package let fd: FD

    /// The signals sluice handles, blocked for the calling thread and every thread it creates
    /// later; they stay pending until a `SignalFD` reads them.
    @inline(never)
    package static func blockEarly(_ signals: [Signal]) {
        Glibc.signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s.rawValue) }
        // pthread_sigmask only fails for an invalid `how`.
        _ = pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks `signals` for the calling thread (and threads it creates later) and returns a
    /// non-blocking fd that reads them. Call before spawning workers.
    @inline(never)
    package init(_ signals: [Signal]) throws(Errno) {
        Glibc.signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s.rawValue) }
        _ = try retrying { pthread_sigmask(SIG_BLOCK, &set, nil) }
        fd = FD(rawValue: try retrying { signalfd(-1, &set, CInt(SFD_NONBLOCK | SFD_CLOEXEC)) })
    }

    deinit { fd.close() }

    /// The next pending signal, or nil.
    @inline(never)
    package func next() -> Signal? {
        var info = signalfd_siginfo()
        while true {
            let n = Glibc.read(fd.rawValue, &info, MemoryLayout<signalfd_siginfo>.size)
            if n == MemoryLayout<signalfd_siginfo>.size { return Signal(rawValue: CInt(info.ssi_signo)) }
            if n < 0 && Errno.current == .interrupted { continue }
            return nil
        }
    }
}
