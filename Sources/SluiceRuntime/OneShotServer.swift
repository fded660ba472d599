// One request, one reply, close: the loop shared by the admin socket and the metrics
// endpoint. A thread with its own epoll set serves many clients at once; each has a deadline
// for its whole request (a slow or silent client only ever delays itself), then a write
// deadline, then a short lingering close that discards late input so the reply is not cut
// by a reset. A reply made on another thread (`later`) is awaited without blocking the loop.
import SluiceCore
import SluiceSys
import Synchronization

/// What a service decides after the bytes received so far.
enum OneShotStep {
    case needMore
    case reply([UInt8])
    /// The reply comes from another thread; the client waits without holding up the others.
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
    func timedOut(_ pending: Pending) -> [UInt8]?
}

struct OneShotLimits: Sendable {
    var readTimeout: Duration = .seconds(1)
    var writeTimeout: Duration = .seconds(5)
    var lingerTimeout: Duration = .milliseconds(500)
    var maxConnections = 64
    /// Bytes read from one client per wake-up, so a fast flood cannot starve the others.
    var readBudget = 256 * 1024
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

    private enum Phase { case reading, waiting(DeferredReply), writing, lingering }

    private struct Client {
        let fd: FD
        var pending: Service.Pending
        var phase = Phase.reading
        var output: [UInt8] = []
        var written = 0
        var deadline: Instant
    }

    private static var listenerID: UInt64 { 0 }
    private static var wakeID: UInt64 { 1 }

    private func run() {
        guard let epoll = try? Epoll() else { return }
        var events = EpollEventBuffer(capacity: 64)
        var clients: [UInt64: Client] = [:]
        var nextID: UInt64 = 2
        guard (try? epoll.add(listener, [.readable], data: Self.listenerID)) != nil,
            (try? epoll.add(wake.fd, [.readable], data: Self.wakeID)) != nil
        else { return }
        defer { for client in clients.values { client.fd.close() } }

        while !stopping.load(ordering: .acquiring) {
            let now = Instant.now()
            let next = clients.values.map(\.deadline).min() ?? Instant.distantFuture
            let timeout = next == .distantFuture ? -1 : max(0, next.millis(since: now) + 1)
            let n = epoll.wait(into: &events, timeoutMillis: timeout)
            for i in 0..<n {
                let id = events.data(at: i)
                if id == Self.wakeID {
                    wake.drain()
                    resumeWaiting(epoll, &clients)
                    continue
                }
                if id == Self.listenerID {
                    acceptAll(epoll, &clients, &nextID)
                    continue
                }
                guard var client = clients[id] else { continue }
                if advance(&client, epoll, id) { clients[id] = client } else { close(client, epoll, &clients, id) }
            }
            let later = Instant.now()
            for (id, var client) in clients where client.deadline <= later {
                if expire(&client, epoll, id) { clients[id] = client } else { close(client, epoll, &clients, id) }
            }
        }
    }

    private func acceptAll(_ epoll: borrowing Epoll, _ clients: inout [UInt64: Client], _ nextID: inout UInt64) {
        for _ in 0..<64 {
            let accepted: FD?
            do { accepted = try UnixSocket.accept(listener) } catch {
                // Out of fds or memory: back off briefly instead of spinning on the ready listener.
                ProcessControl.sleepMillis(10)
                return
            }
            guard let fd = accepted else { return }
            if clients.count >= limits.maxConnections {
                fd.close()
                continue
            }
            let id = nextID
            nextID += 1
            guard (try? epoll.add(fd, [.readable, .readHangup], data: id)) != nil else {
                fd.close()
                continue
            }
            clients[id] = Client(fd: fd, pending: service.accepted(fd), deadline: Instant.now() + limits.readTimeout)
        }
    }

    /// Handles readiness; false when the client is done and must be closed.
    private func advance(_ client: inout Client, _ epoll: borrowing Epoll, _ id: UInt64) -> Bool {
        switch client.phase {
        case .reading:
            var budget = limits.readBudget
            while budget > 0 {
                var bytes: [UInt8] = []
                let result: IOResult
                do { result = try client.fd.receive(appendingTo: &bytes) } catch { return false }
                let step: OneShotStep
                switch result {
                case .wouldBlock: return true
                case .eof: step = service.received(&client.pending, [], eof: true)
                case .done(let count):
                    budget -= count
                    step = service.received(&client.pending, bytes, eof: false)
                }
                switch step {
                case .needMore: if result == .eof { return false }
                case .close: return false
                case .reply(let reply): return beginWriting(&client, reply, epoll, id)
                case .later(let deferred):
                    // Out of the epoll set while waiting: a client that hangs up cannot spin the loop.
                    epoll.remove(client.fd)
                    client.phase = .waiting(deferred)
                    client.deadline = Instant.now() + deferred.timeout
                    deferred.onReady { [self] in wake.signal() }
                    return true
                }
            }
            return true
        case .waiting:
            return true
        case .writing:
            return flush(&client, epoll, id)
        case .lingering:
            var discard: [UInt8] = []
            for _ in 0..<16 {
                discard.removeAll(keepingCapacity: true)
                switch try? client.fd.receive(appendingTo: &discard) {
                case .done: continue
                case .wouldBlock: return true
                default: return false
                }
            }
            return true
        }
    }

    private func expire(_ client: inout Client, _ epoll: borrowing Epoll, _ id: UInt64) -> Bool {
        switch client.phase {
        case .reading:
            guard let reply = service.timedOut(client.pending) else { return false }
            return beginWriting(&client, reply, epoll, id)
        case .waiting(let deferred):
            return beginWriting(&client, deferred.reply ?? deferred.timeoutReply, epoll, id)
        case .writing, .lingering:
            return false
        }
    }

    /// Clients whose deferred reply has come start writing it.
    private func resumeWaiting(_ epoll: borrowing Epoll, _ clients: inout [UInt64: Client]) {
        for (id, var client) in clients {
            guard case .waiting(let deferred) = client.phase, let reply = deferred.reply else { continue }
            if beginWriting(&client, reply, epoll, id) { clients[id] = client } else { close(client, epoll, &clients, id) }
        }
    }

    private func beginWriting(_ client: inout Client, _ reply: [UInt8], _ epoll: borrowing Epoll, _ id: UInt64) -> Bool
    {
        let registered: Bool
        if case .waiting = client.phase { registered = false } else { registered = true }
        client.phase = .writing
        client.output = reply
        client.written = 0
        client.deadline = Instant.now() + limits.writeTimeout
        let armed = registered
            ? (try? epoll.modify(client.fd, [.writable], data: id)) != nil
            : (try? epoll.add(client.fd, [.writable], data: id)) != nil
        guard armed else { return false }
        return flush(&client, epoll, id)
    }

    /// Writes what the socket takes; once all is out, half-closes and lingers.
    private func flush(_ client: inout Client, _ epoll: borrowing Epoll, _ id: UInt64) -> Bool {
        while client.written < client.output.count {
            switch try? client.fd.send(client.output, from: client.written) {
            case .done(let n): client.written += n
            case .wouldBlock: return true
            default: return false
            }
        }
        Socket.shutdownWrite(client.fd)
        client.phase = .lingering
        client.deadline = Instant.now() + limits.lingerTimeout
        return (try? epoll.modify(client.fd, [.readable, .readHangup], data: id)) != nil
    }

    private func close(_ client: Client, _ epoll: borrowing Epoll, _ clients: inout [UInt64: Client], _ id: UInt64) {
        epoll.remove(client.fd)
        client.fd.close()
        clients[id] = nil
    }
}
