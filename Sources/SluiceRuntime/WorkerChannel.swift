// How the control thread talks to a worker: a locked inbox plus an eventfd to wake it.
// The lock is taken only for control messages, never on the data path.
import SluiceSys
import Synchronization

enum WorkerMessage: Sendable {
    /// Deregister every listener; the control thread closes them once all workers acked.
    case stopAccepting
    /// Finish sessions until the deadline, then close what is left and exit.
    case shutdown(deadline: Instant)
    /// A client another worker accepted while it had more sessions than this one.
    case adopt(client: FD, peer: IPEndpoint, pool: Int)
}

final class WorkerChannel: Sendable {
    let index: Int
    let wake: EventFD
    private let inbox = Mutex<[WorkerMessage]>([])
    /// Set by the worker once it no longer watches any listener.
    let listenersReleased = Atomic<Bool>(false)
    /// Incremented every loop iteration (the systemd watchdog reads it).
    let heartbeat = Atomic<UInt64>(0)
    /// Sessions this worker owns, counting clients handed to it and not yet adopted.
    let liveSessions = Atomic<Int>(0)
    /// Set when the worker's loop has returned.
    let exited = Atomic<Bool>(false)

    init(index: Int) throws(Errno) {
        self.index = index
        self.wake = try EventFD()
    }

    func send(_ message: WorkerMessage) {
        inbox.withLock { $0.append(message) }
        wake.signal()
    }

    func takeAll() -> [WorkerMessage] {
        inbox.withLock { messages in
            let taken = messages
            messages.removeAll()
            return taken
        }
    }
}


