// A one-shot reply that another thread produces later: the admin `reload` is answered by the
// control thread, which may first wait for host name lookups. The server keeps serving other
// clients meanwhile and is told (`onReady`) when the bytes are there.
import SluiceSys
import Synchronization

package final class DeferredReply: Sendable {
    /// How long the client may wait, and what it gets when that passes.
    let timeout: Duration
    let timeoutReply: [UInt8]

    private struct State {
        var bytes: [UInt8]?
        var notify: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    /// Opened by `fulfil`, for `wait`.
    private let arrived = Latch(count: 1)

    package init(timeout: Duration, timeoutReply: [UInt8]) {
        self.timeout = timeout
        self.timeoutReply = timeoutReply
    }

    /// The producer's side, once; `notify` runs here, on the producer's thread.
    package func fulfil(_ bytes: [UInt8]) {
        let notify = state.withLock { s -> (@Sendable () -> Void)? in
            s.bytes = bytes
            return s.notify
        }
        arrived.arrive()
        notify?()
    }

    /// The server's side: `notify` runs when the reply arrives, or at once if it is here.
    func onReady(_ notify: @escaping @Sendable () -> Void) {
        let ready = state.withLock { s -> Bool in
            s.notify = notify
            return s.bytes != nil
        }
        if ready { notify() }
    }

    package var reply: [UInt8]? { state.withLock { $0.bytes } }

    /// Blocks the calling thread until the reply comes or the timeout passes (for callers
    /// that have no loop to return to).
    package func wait() -> [UInt8] {
        _ = arrived.wait(until: Instant.now() + timeout)
        return reply ?? timeoutReply
    }
}
