// One worker thread: its own epoll loop, sessions, UDP flows, pipe pool and balancers. Every
// TCP listener is registered in every worker with EPOLLEXCLUSIVE, so the kernel wakes one idle
// worker per burst of connections. The accepting worker keeps the session unless another has
// at least two sessions fewer, which then adopts the client through its channel (one message,
// before any byte moved: Worker+Accept). A UDP listener is read by one worker, which keeps its
// flows (Worker+Datagram).
import SluiceCore
import SluiceSys

/// What an epoll event's 64-bit data word names: kind (8 bits), generation (24), index (32).
enum EventKind: UInt64 {
    case wakeup = 1, listener, client, server, flow
}

@inline(__always)
func token(_ kind: EventKind, _ index: UInt32, _ generation: UInt32 = 0) -> UInt64 {
    kind.rawValue << 56 | UInt64(generation & 0xFF_FFFF) << 32 | UInt64(index)
}

struct Worker: ~Copyable {
    let channel: WorkerChannel
    /// Every worker's channel, this one's included (for hand-offs).
    let peers: [WorkerChannel]
    let shared: SharedState
    /// Indexed by the listener token; nil once a reload removed it.
    var listeners: [Listener?]
    let epoll: Epoll
    var events: EpollEventBuffer
    var sessions = SessionTable()
    /// `mode udp` flows of the UDP listeners this worker reads.
    var flows = FlowTable()
    var flowTimers = TimerHeap()
    let datagrams = DatagramBatch(capacity: 32)
    var limitedWarnAt = Instant(nanoseconds: 0)
    var pipes: PipePool
    /// Small reads are copied through here, at most the pool's smallest pipe at a time, so a
    /// remainder dst refused always fits in one empty pipe (SplicePump).
    let scratch: IOBuffer
    var timers = TimerHeap()
    /// Messages taken from the channel, processed, then emptied (capacity kept).
    var mailbox: [WorkerMessage] = []
    var pools: [PoolView]
    var now = Instant.now()
    var accepting = false
    var acceptPausedUntil: Instant? = nil
    var shutdownDeadline: Instant? = nil
    var running = true

    init(
        epoll: consuming Epoll, channel: WorkerChannel, peers: [WorkerChannel], shared: SharedState,
        listeners: [Listener]
    ) {
        self.epoll = epoll
        self.channel = channel
        self.peers = peers
        self.shared = shared
        self.listeners = listeners
        self.events = EpollEventBuffer(capacity: 512)
        self.pipes = PipePool(size: shared.pipeSize)
        self.scratch = IOBuffer(count: min(16 * 1024, shared.pipeSize))
        self.pools = shared.allPools.map(PoolView.init)
    }

    /// Watches the wake-up eventfd and every listener; call once on the worker's thread.
    mutating func start() throws(Errno) {
        try epoll.add(channel.wake.fd, [.readable], data: token(.wakeup, 0))
        try watchListeners()
    }

    var log: Logger { shared.logger }

    /// At most one such warning a second per worker: a flood (of datagrams, of clients while
    /// out of fds) must not become a flood of log lines; the counters still count every one.
    mutating func warnAtMostEverySecond(_ message: String, _ fields: KeyValuePairs<String, String>) {
        guard now.nanoseconds &- limitedWarnAt.nanoseconds >= 1_000_000_000 else { return }
        limitedWarnAt = now
        log.warn(message, fields)
    }

    mutating func watchListeners() throws(Errno) {
        for (i, l) in listeners.enumerated() {
            if let l { try watch(l, i) }
        }
        accepting = true
    }

    /// TCP listeners wake one idle worker per burst; a UDP listener is read by one worker
    /// only (by its index), which keeps every flow of that listener.
    mutating func watch(_ listener: Listener, _ index: Int) throws(Errno) {
        guard reads(listener, index) else { return }
        try epoll.add(
            listener.fd, listener.datagram ? [.readable] : [.readable, .exclusive],
            data: token(.listener, UInt32(index)))
    }

    func reads(_ listener: Listener, _ index: Int) -> Bool {
        !listener.datagram || index % peers.count == channel.index
    }

    mutating func unwatchListeners() {
        guard accepting else { return }
        for (i, l) in listeners.enumerated() {
            if let l, reads(l, i) { epoll.remove(l.fd) }
        }
        accepting = false
    }

    mutating func run() {
        #if DEBUG
        let wedgeAt = debugWedgeDeadline()
        #endif
        while running {
            #if DEBUG
            if let wedgeAt, now >= wedgeAt { debugWedge() }
            #endif
            turn(timeoutMillis: nextTimeoutMillis())
        }
        // A hand-off that raced with the shutdown deadline: close it rather than leak it.
        channel.takeAll(into: &mailbox)
        for message in mailbox {
            switch message {
            case .adopt(let client, _, _):
                Socket.setLingerReset(client)
                client.close()
            case .reportSessions(let report, _):
                report.workerDone()
            case .removeListener(_, let release):
                release.done()
            case .stopAccepting, .shutdown, .closeSessions, .ping, .addListener, .dequeue:
                break
            }
        }
        pipes.closeAll()
    }

    /// One turn of the loop: wait, dispatch, timers, shutdown check. A seam for the `session`
    /// fuzz target (Tests/Fuzz), which turns a real worker itself and passes a clock it moves
    /// forward to expire timers without waiting; `run()` passes the real one. Per turn, not
    /// per byte.
    mutating func turn(timeoutMillis: Int, clock: () -> Instant = Instant.now) {
        let n = epoll.wait(into: &events, timeoutMillis: timeoutMillis)
        now = clock()
        channel.heartbeat.add(1, ordering: .relaxed)
        for i in 0..<n {
            dispatch(events.data(at: i), events.events(at: i))
        }
        fireTimers()
        fireFlowTimers()
        checkShutdown()
    }

    private func nextTimeoutMillis() -> Int {
        var deadline = timers.nextDeadline ?? .distantFuture
        if let d = flowTimers.nextDeadline, d < deadline { deadline = d }
        if let d = shutdownDeadline, d < deadline { deadline = d }
        if let d = acceptPausedUntil, d < deadline { deadline = d }
        if deadline == .distantFuture { return -1 }
        let current = Instant.now()
        if deadline <= current { return 0 }
        // Round up so a timer never fires a millisecond early and spins.
        return Int((deadline.nanoseconds - current.nanoseconds + 999_999) / 1_000_000)
    }

    private mutating func dispatch(_ data: UInt64, _ ev: EpollEvents) {
        let index = UInt32(truncatingIfNeeded: data)
        let generation = UInt32(truncatingIfNeeded: data >> 32) & 0xFF_FFFF
        switch EventKind(rawValue: data >> 56) {
        case .client?, .server?:
            guard Int(index) < sessions.slots.count, sessions[index].generation == generation,
                sessions[index].state != .free
            else { return }
            sessionEvent(index, server: data >> 56 == EventKind.server.rawValue, ev)
        case .listener?:
            guard accepting, let listener = listeners[Int(index)] else { return }
            if listener.datagram {
                receiveDatagrams(Int(index), listener)
            } else {
                acceptAll(listener)
            }
        case .flow?:
            guard Int(index) < flows.slots.count, flows[index].generation == generation, flows[index].live else {
                return
            }
            flowReadable(index)
        case .wakeup?:
            channel.wake.drain()
            channel.takeAll(into: &mailbox)
            catchUpPools()
            for message in mailbox { handle(message) }
            mailbox.removeAll(keepingCapacity: true)
        case nil:
            break
        }
    }

    private mutating func handle(_ message: WorkerMessage) {
        switch message {
        case .stopAccepting:
            unwatchListeners()
            closeFlows(reason: "stopped") { _ in true }
            acceptPausedUntil = nil
            channel.listenersReleased.arrive()
        case .shutdown(let deadline):
            unwatchListeners()
            // A flow has no end to wait for, and another instance may read the socket next.
            closeFlows(reason: "shutdown") { _ in true }
            acceptPausedUntil = nil
            channel.listenersReleased.arrive()
            shutdownDeadline = deadline
        case .adopt(let client, let peer, let pool):
            startSession(client, peer: peer, pool: pool)
        case .addListener(let listener):
            addListener(listener)
        case .removeListener(let fd, let release):
            removeListener(fd)
            release.done()
        case .closeSessions(let pool, let server, let reason):
            closeSessions(pool: pool, server: server, reason: reason)
        case .reportSessions(let report, let pool):
            self.report(into: report, pool: pool)
        case .ping:
            break
        case .dequeue(let entry, let pool):
            resumeQueued(entry, pool: pool)
        }
    }

    private mutating func checkShutdown() {
        if let paused = acceptPausedUntil, paused <= now, shutdownDeadline == nil {
            acceptPausedUntil = nil
            do { try watchListeners() } catch { log.error("cannot watch listeners again: \(error)") }
        }
        guard let deadline = shutdownDeadline else { return }
        // liveSessions also counts clients another worker handed over and not yet adopted.
        if sessions.live == 0 && channel.liveSessions.load(ordering: .relaxed) == 0 {
            running = false
        } else if deadline <= now {
            log.info(
                "shutdown timeout: closing sessions", ["worker": "\(channel.index)", "sessions": "\(sessions.live)"])
            for slot in 0..<UInt32(sessions.slots.count) where sessions[slot].state != .free {
                finish(slot, aborted: true, reason: "shutdown")
            }
            running = false
        }
    }
}

#if DEBUG
extension Worker {
    /// Test hook (debug builds only): SLUICE_DEBUG_WEDGE_MS=N makes worker 0 stop turning
    /// its loop N ms after start, to prove the systemd watchdog notices.
    func debugWedgeDeadline() -> Instant? {
        guard channel.index == 0, let text = ProcessControl.environment("SLUICE_DEBUG_WEDGE_MS"),
            let ms = Int(text)
        else { return nil }
        return Instant.now() + .milliseconds(ms)
    }

    func debugWedge() -> Never {
        log.warn("debug hook: worker 0 wedged on purpose (SLUICE_DEBUG_WEDGE_MS)")
        while true { ProcessControl.sleepMillis(1000) }
    }
}
#endif
