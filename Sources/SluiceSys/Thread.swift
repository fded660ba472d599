// Plain pthreads for workers: no async runtime on the data plane.
import CSluiceLinux
import Glibc

package struct ThreadHandle: Sendable {
    fileprivate let id: pthread_t

    /// Starts `body` on a new thread named `name` (at most 15 bytes shown by the kernel).
    /// `signalsBlocked`: the thread starts with every signal blocked, for a thread that may be
    /// created before the control thread blocks SIGTERM and friends for its signalfd (a thread
    /// with them unblocked would take SIGTERM's default action: exit at once).
    package static func spawn(
        name: String, signalsBlocked: Bool = false, _ body: @escaping @Sendable () -> Void
    ) -> ThreadHandle {
        var previous = sigset_t()
        if signalsBlocked {
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, &previous)
        }
        defer { if signalsBlocked { pthread_sigmask(SIG_SETMASK, &previous, nil) } }
        let box = Unmanaged.passRetained(ThreadBody(name: name, body: body))
        var tid = pthread_t()
        let rc = pthread_create(
            &tid, nil,
            { raw in
                let box = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                _ = sluice_set_thread_name(String(box.name.prefix(15)))
                box.body()
                return nil
            }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed: \(Errno(rawValue: rc))")
        return ThreadHandle(id: tid)
    }

    package func join() {
        _ = pthread_join(id, nil)
    }

    /// For a thread nobody waits for: its resources go back when it ends.
    package func detach() {
        _ = pthread_detach(id)
    }
}

private final class ThreadBody: Sendable {
    let name: String
    let body: @Sendable () -> Void
    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

package enum SystemInfo {
    package static var cpuCount: Int { max(1, Int(sysconf(CInt(_SC_NPROCESSORS_ONLN)))) }
    package static var pid: Int32 { getpid() }
    package static var uid: UInt32 { getuid() }
    package static var gid: UInt32 { getgid() }
}

package enum ProcessControl {
    package static func exit(_ code: Int32) -> Never { Glibc.exit(code) }

    package static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    package static func sleepMillis(_ ms: Int) {
        var request = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) < 0 && Errno.current == .interrupted { request = remaining }
    }
}
