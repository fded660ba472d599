// The epoll loop of one one-shot server thread: accepts, hands readiness to clients, enforces
// deadlines, evicts. Clients sit in a fixed OneShotTable; replies are shared buffers counted
// by a OneShotReplyLedger. Nothing grows with the number of clients seen, and once large
// replies are gone their heap is given back to the kernel.
import SluiceSys

struct OneShotClient<Pending> {
    let fd: FD
    var pending: Pending
    /// Set while waiting for a reply another thread makes.
    var deferred: DeferredReply?
    /// Set while writing; the bytes already sent are `written`.
    var reply: OneShotReply?
    var written = 0
}

struct OneShotLoop<Service: OneShotService>: ~Copyable {
    typealias Client = OneShotClient<Service.Pending>

    let epoll: Epoll
    let listener: FD
    let service: Service
    let limits: OneShotLimits
    var table: OneShotTable<Client>
    var ledger = OneShotReplyLedger()
    private var events: EpollEventBuffer
    /// Wake this loop from another thread (a deferred reply is ready), and take the wake-up.
    let signal: @Sendable () -> Void
    private let drain: () -> Void

    // Clients' epoll data never has generation 0 (OneShotKey), so these cannot clash.
    private static var listenerData: UInt64 { 0 }
    private static var wakeData: UInt64 { 1 }
    /// Connections accepted per wake-up, so a flood of newcomers cannot starve the clients.
    private static var acceptBatch: Int { 64 }

    /// `wake` is signalled to stop the loop and when a deferred reply is ready; `signal` and
    /// `drain` act on it.
    init(
        listener: FD, wake: FD, service: Service, limits: OneShotLimits,
        signal: @escaping @Sendable () -> Void, drain: @escaping () -> Void
    ) throws(Errno) {
        self.signal = signal
        self.drain = drain
        let epoll = try Epoll()
        try epoll.add(listener, [.readable], data: Self.listenerData)
        try epoll.add(wake, [.readable], data: Self.wakeData)
        self.epoll = epoll
        self.listener = listener
        self.service = service
        self.limits = limits
        table = OneShotTable(capacity: limits.maxConnections)
        events = EpollEventBuffer(capacity: 64)
    }

    /// Serves until `stop()` is true (checked after every wake-up), then closes every client.
    mutating func run(until stop: () -> Bool) {
        while !stop() {
            let timeout = table.nextDeadline.map { max(0, $0.millis(since: Instant.now()) + 1) } ?? -1
            let n = epoll.wait(into: &events, timeoutMillis: timeout)
            for i in 0..<n {
                let data = events.data(at: i)
                if data == Self.wakeData {
                    drain()
                    resumeWaiting()
                    continue
                }
                if data == Self.listenerData {
                    acceptAll()
                } else if let key = table.key(epollData: data) {
                    serve(key)
                }
            }
            let now = Instant.now()
            while let key = table.expired(at: now) { expire(key) }
            if ledger.takeLargeRelease() { Memory.releaseFreePages() }
        }
        for client in table.removeAll() { dispose(client) }
    }

    private mutating func acceptAll() {
        for _ in 0..<Self.acceptBatch {
            let accepted: FD?
            do { accepted = try UnixSocket.accept(listener) } catch {
                // Out of fds: an idle client's fd serves a newcomer better. accept() reports
                // EMFILE before it looks at the backlog, so evict only for a connection that is
                // really waiting. With nobody to give way, back off briefly instead of spinning
                // on the ready listener.
                if error.isResourceShortage {
                    guard (try? Poll.readable(listener, timeoutMillis: 0)) == true else { return }
                    if evictOne() { continue }
                }
                ProcessControl.sleepMillis(10)
                return
            }
            guard let fd = accepted else { return }
            if table.isFull { _ = evictOne() }
            let client = Client(fd: fd, pending: service.accepted(fd))
            guard let key = table.insert(client, deadline: Instant.now() + limits.readTimeout) else {
                fd.close()
                continue
            }
            guard (try? epoll.add(fd, [.readable, .readHangup], data: key.epollData)) != nil else {
                drop(key)
                continue
            }
            // A client that wrote its request right after connecting is answered now, before
            // newcomers could evict it as idle.
            serve(key)
        }
    }

    /// Makes room: closes the oldest client still sending its request, else the oldest
    /// lingering one, else the oldest writer. False when there are no clients.
    private mutating func evictOne() -> Bool {
        guard
            let key = table.oldest(.reading) ?? table.oldest(.lingering) ?? table.oldest(.writing)
                ?? table.oldest(.waiting)
        else {
            return false
        }
        drop(key)
        return true
    }

    private mutating func serve(_ key: OneShotKey) {
        guard let phase = table.phase(key), var client = table.take(key) else { return }
        let keep: Bool
        switch phase {
        case .reading: keep = read(&client, key)
        case .writing: keep = flush(&client, key)
        case .lingering: keep = discardInput(client)
        case .waiting: keep = true  // not in the epoll set: a stale event
        }
        settle(key, client, keep: keep)
    }

    private mutating func expire(_ key: OneShotKey) {
        guard let phase = table.phase(key) else { return }
        guard var client = table.take(key) else {
            _ = table.remove(key)
            return
        }
        if phase == .reading, let reply = service.timedOut(client.pending) {
            settle(key, client, keep: beginWriting(&client, key, reply))
        } else if phase == .waiting, let deferred = client.deferred {
            let reply = OneShotReply(deferred.reply ?? deferred.timeoutReply)
            settle(key, client, keep: beginWriting(&client, key, reply))
        } else {
            settle(key, client, keep: false)
        }
    }

    /// Clients whose deferred reply has come start writing it.
    private mutating func resumeWaiting() {
        for key in table.keys(in: .waiting) {
            guard var client = table.take(key) else { continue }
            guard let bytes = client.deferred?.reply else {
                table.put(key, client)
                continue
            }
            settle(key, client, keep: beginWriting(&client, key, OneShotReply(bytes)))
        }
    }

    /// Puts a client taken out for work back in its slot, or closes it.
    private mutating func settle(_ key: OneShotKey, _ client: Client, keep: Bool) {
        if keep {
            table.put(key, client)
        } else {
            _ = table.remove(key)
            dispose(client)
        }
    }

    mutating func drop(_ key: OneShotKey) {
        guard let client = table.remove(key) else { return }
        dispose(client)
    }

    /// Closes the client's socket and lets go of its reply (still referenced here, so the
    /// ledger's identity for it cannot be reused meanwhile).
    mutating func dispose(_ client: Client) {
        epoll.remove(client.fd)
        client.fd.close()
        if let reply = client.reply { ledger.release(reply) }
    }
}
