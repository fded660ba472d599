// How the control thread and the other workers talk to a worker: a locked inbox plus an
// eventfd to wake it. The lock is taken per message: control messages, and a client handed to
// a less loaded worker at accept (once per session, never per byte or per event).
import SluiceCore
import SluiceSys
import Synchronization

enum WorkerMessage: Sendable {
    /// Deregister every listener; the control thread closes them once all workers acked.
    case stopAccepting
    /// Finish sessions until the deadline, then close what is left and exit.
    case shutdown(deadline: Instant)
    /// A client another worker accepted while it had more sessions than this one.
    case adopt(client: FD, peer: IPEndpoint, pool: Int)
    /// Close every session on that server now (`kill sessions`, `timeout drain` expired).
    case closeSessions(pool: Int, server: ServerRuntime, reason: String)
    /// Add this worker's sessions (of one pool, or all) to the report.
    case reportSessions(SessionReport, pool: Int?)
    /// Wake up (the watchdog checks that the loop still turns).
    case ping
    /// A server slot was freed for this queued client: try to connect it.
    case dequeue(QueuedClient, pool: Int)
    /// Start accepting on a listener a reload bound.
    case addListener(Listener)
    /// Stop watching a listener a reload removed, then tell `release`.
    case removeListener(FD, ListenerRelease)
}

final class WorkerChannel: Sendable {
    let index: Int
    let wake: EventFD
    private let inbox = Mutex<[WorkerMessage]>([])
    /// Opened by the worker once it no longer watches any listener.
    let listenersReleased = Latch(count: 1)
    /// Incremented every loop iteration (the systemd watchdog reads it).
    let heartbeat = Atomic<UInt64>(0)
    /// Sessions this worker owns, counting clients handed to it and not yet adopted.
    let liveSessions = Atomic<Int>(0)
    /// Opened once the worker watches its listeners (READY=1 waits for every worker).
    let started = Latch(count: 1)
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

    /// Swaps the inbox with `taken`, which the worker passes emptied but keeping its
    /// capacity: once both arrays have grown, a hand-off (one per handed-off client)
    /// allocates nothing.
    func takeAll(into taken: inout [WorkerMessage]) {
        inbox.withLock { swap(&$0, &taken) }
    }
}

/// `show sessions`: every worker adds its rows, the admin thread waits for all of them.
final class SessionReport: Sendable {
    private let rows = Mutex<[SessionSnapshot]>([])
    private let pending: Latch
    let limit: Int

    init(workers: Int, limit: Int) {
        pending = Latch(count: workers)
        self.limit = limit
    }

    /// Adds rows while the report has room; returns how many more it can take.
    func add(_ more: [SessionSnapshot]) {
        rows.withLock { list in list += more.prefix(max(0, limit - list.count)) }
    }

    var room: Int { rows.withLock { max(0, limit - $0.count) } }

    func workerDone() { pending.arrive() }

    /// Waits up to `timeoutMillis` for every worker; returns the rows by id.
    func collect(timeoutMillis: Int) -> [SessionSnapshot] {
        _ = pending.wait(timeoutMillis: timeoutMillis)
        return rows.withLock { $0 }.sorted { $0.id < $1.id }
    }
}

/// Counts the workers that still watch a listener being removed; the control thread closes
/// the socket only when every one let go (an event for a reused fd number could otherwise
/// reach a worker).
final class ListenerRelease: Sendable {
    private let pending: Latch

    init(workers: Int) { pending = Latch(count: workers) }

    func done() { pending.arrive() }

    /// Waits up to `timeoutMillis`; true when every worker let go.
    func wait(timeoutMillis: Int) -> Bool { pending.wait(timeoutMillis: timeoutMillis) }
}
