// Host name lookups off the control thread: getaddrinfo blocks, for seconds when a name
// server is slow, and the control thread must keep ticking (watchdog, drain timeouts, reloads).
// One thread takes queued host names one at a time and posts each answer (an address or the
// resolver's reason) for the control thread to collect. A name already queued or being looked
// up is not queued again.
import SluiceSys
import Synchronization

package final class HostResolver: Sendable {
    package struct Answer: Sendable, Equatable {
        package var host: String
        package var result: Result<IPAddress, ResolveFailure>
    }

    private struct Queue: Sendable {
        var pending: [String] = []
        /// Queued or being looked up: not queued twice while a slow lookup runs.
        var busy: Set<String> = []
        var answers: [Answer] = []
        var started = false
        var stopping = false
    }

    private let resolve: @Sendable (String) -> Result<IPAddress, ResolveFailure>
    private let wake: EventFD
    private let queue = Mutex(Queue())

    /// `resolve` is `Resolver.lookup` in sluice; tests give their own.
    package init(
        resolve: @escaping @Sendable (String) -> Result<IPAddress, ResolveFailure> = Resolver.lookup
    ) throws(Errno) {
        self.resolve = resolve
        wake = try EventFD()
    }

    /// Queues lookups of `hosts`; the thread starts with the first one.
    package func submit(_ hosts: some Sequence<String>) {
        let (queued, start) = queue.withLock { q -> (Bool, Bool) in
            guard !q.stopping else { return (false, false) }
            var queued = false
            for host in hosts where q.busy.insert(host).inserted {
                q.pending.append(host)
                queued = true
            }
            let start = queued && !q.started
            if start { q.started = true }
            return (queued, start)
        }
        if start { ThreadHandle.spawn(name: "sluice-resolve") { [self] in run() }.detach() }
        if queued { wake.signal() }
    }

    /// The answers that arrived since the last call.
    package func takeAnswers() -> [Answer] {
        queue.withLock { q in
            defer { q.answers = [] }
            return q.answers
        }
    }

    /// Stops taking lookups. The thread is not joined: it may sit in a lookup for seconds, and
    /// an answer that comes after this is simply never collected.
    package func stop() {
        queue.withLock { $0.stopping = true }
        wake.signal()
    }

    private func run() {
        guard let epoll = try? Epoll(), (try? epoll.add(wake.fd, [.readable], data: 0)) != nil else { return }
        var events = EpollEventBuffer(capacity: 1)
        enum Step { case stop, wait, look(String) }
        while true {
            let step = queue.withLock { q -> Step in
                if q.stopping { return .stop }
                return q.pending.isEmpty ? .wait : .look(q.pending.removeFirst())
            }
            switch step {
            case .stop:
                return
            case .look(let host):
                let result = resolve(host)
                queue.withLock { q in
                    q.busy.remove(host)
                    q.answers.append(Answer(host: host, result: result))
                }
            case .wait:
                _ = epoll.wait(into: &events, timeoutMillis: -1)
                wake.drain()
            }
        }
    }
}
