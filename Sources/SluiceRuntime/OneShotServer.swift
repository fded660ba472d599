// One request, one reply, close: the server shared by the admin socket and the metrics
// endpoint. A thread with its own epoll set (OneShotLoop) serves many clients at once; each
// has a deadline for its whole request, then a write deadline, then a short lingering close.
// A silent or slow client only delays itself, and when the slots are full a newcomer evicts
// the oldest idle client, so an operator always gets in. A reply made on another thread
// (`later`) is awaited without blocking the loop.
import SluiceCore
import SluiceSys
import Synchronization

/// What a service decides after the bytes received so far.
enum OneShotStep {
    case needMore
    case reply(OneShotReply)
    /// The reply comes from another thread (admin `reload`); the client waits, out of the
    /// epoll set, without holding up the others.
    case later(DeferredReply)
    case close
}

/// The protocol part of a one-shot server; it runs on the server's thread only.
protocol OneShotService: Sendable {
    associatedtype Pending
    /// A client was accepted on `fd`.
    func accepted(_ fd: FD) -> Pending
    /// New bytes arrived (`eof`: the client closed its write side; `bytes` may be empty).
    func received(_ pending: inout Pending, _ bytes: [UInt8], eof: Bool) -> OneShotStep
    /// The read deadline passed; the reply to send, if any.
    func timedOut(_ pending: Pending) -> OneShotReply?
}

struct OneShotLimits: Sendable {
    var readTimeout: Duration = .seconds(1)
    var writeTimeout: Duration = .seconds(5)
    var lingerTimeout: Duration = .milliseconds(500)
    /// Slots; when all are taken a newcomer evicts the oldest client still sending its
    /// request (else the oldest lingering, else the oldest writing one).
    var maxConnections = 256
    /// Bytes read from one client per wake-up, so a fast flood cannot starve the others.
    var readBudget = 256 * 1024
    /// Bytes of distinct replies held for clients that have not read them yet; beyond it the
    /// oldest writers are dropped. A single reply larger than this is still sent, alone.
    var maxReplyBytes = 32 << 20
}

final class OneShotServer<Service: OneShotService>: Sendable {
    private let listener: FD
    private let service: Service
    private let limits: OneShotLimits
    private let name: String
    private let wake: EventFD
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<ThreadHandle?>(nil)

    /// Takes ownership of `listener` (non-blocking, listening); closes it in `stop()`.
    init(listener: FD, service: Service, limits: OneShotLimits, name: String) throws(Errno) {
        self.listener = listener
        self.service = service
        self.limits = limits
        self.name = name
        self.wake = try EventFD()
    }

    func start() {
        thread.withLock { handle in
            guard handle == nil else { return }
            handle = ThreadHandle.spawn(name: name) { [self] in run() }
        }
    }

    /// Stops the loop, waits for the thread and closes the listener and every client.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        let handle = thread.withLock { h -> ThreadHandle? in
            defer { h = nil }
            return h
        }
        handle?.join()
        listener.close()
    }

    private func run() {
        guard
            var loop = try? OneShotLoop(
                listener: listener, wake: wake.fd, service: service, limits: limits,
                signal: { [self] in wake.signal() }, drain: { [self] in wake.drain() })
        else { return }
        loop.run { stopping.load(ordering: .acquiring) }
    }
}
