// `reload` from the admin socket runs on the control thread, like SIGHUP, so reloads never
// overlap: the admin thread posts a ticket, wakes the control loop and waits for the reply.
import SluiceCore
import SluiceSys
import Synchronization

final class ReloadRequests: Sendable {
    final class Ticket: Sendable {
        let reply = Mutex<AdminReplyText?>(nil)
    }

    let wake: EventFD
    private let queue = Mutex<[Ticket]>([])

    init() throws(Errno) { wake = try EventFD() }

    /// Called on the admin thread: waits up to `timeoutMillis` for the control thread.
    func request(timeoutMillis: Int = 30_000) -> AdminReplyText {
        let ticket = Ticket()
        queue.withLock { $0.append(ticket) }
        wake.signal()
        let start = Instant.now()
        while Instant.now().millis(since: start) < timeoutMillis {
            if let reply = ticket.reply.withLock({ $0 }) { return reply }
            ProcessControl.sleepMillis(2)
        }
        return .error("reload did not finish within \(timeoutMillis / 1000)s; see the log")
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
