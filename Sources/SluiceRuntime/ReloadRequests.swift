// `reload` from the admin socket runs on the control thread, like SIGHUP, so reloads never
// overlap: the admin thread posts a ticket and wakes the control loop, which answers the
// ticket when the reload is done (after its host name lookups, up to HostLookups.timeout).
// The admin thread does not wait: it serves other clients until the answer comes.
import SluiceCore
import SluiceSys
import Synchronization

final class ReloadRequests: Sendable {
    typealias Ticket = DeferredReply

    let wake: EventFD
    private let queue = Mutex<[Ticket]>([])

    init() throws(Errno) { wake = try EventFD() }

    /// Called on the admin thread: queues a reload and returns its ticket at once.
    func request(timeout: Duration = .seconds(30)) -> Ticket {
        let ticket = Ticket(
            timeout: timeout,
            timeoutReply: Array(
                AdminReplyText.error("reload did not finish within \(timeout.milliseconds / 1000)s; see the log").text
                    .utf8))
        queue.withLock { $0.append(ticket) }
        wake.signal()
        return ticket
    }

    /// Called on the control thread when `wake` is readable.
    func take() -> [Ticket] {
        wake.drain()
        return queue.withLock { pending in
            let taken = pending
            pending.removeAll()
            return taken
        }
    }
}

extension DeferredReply {
    /// The control thread's answer to an admin `reload`.
    func fulfil(_ reply: AdminReplyText) { fulfil(Array(reply.text.utf8)) }
}
