// One client of a one-shot server through its phases: reading the request, writing the shared
// reply (while the distinct replies held stay under `maxReplyBytes`), then lingering after a
// half-close, discarding late input so the reply is not cut by a reset.
import SluiceSys

extension OneShotLoop {
    /// Reads what the client sent (up to the budget) into the service; false when it is done.
    mutating func read(_ client: inout Client, _ key: OneShotKey) -> Bool {
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
            case .reply(let reply): return beginWriting(&client, key, reply)
            case .later(let deferred): return wait(&client, key, for: deferred)
            }
        }
        return true
    }

    /// Out of the epoll set while waiting, so a client that hangs up cannot spin the loop;
    /// the producer's `fulfil` wakes the loop, which then starts writing.
    mutating func wait(_ client: inout Client, _ key: OneShotKey, for deferred: DeferredReply) -> Bool {
        epoll.remove(client.fd)
        client.deferred = deferred
        table.move(key, to: .waiting, deadline: Instant.now() + deferred.timeout)
        deferred.onReady(signal)
        return true
    }

    mutating func beginWriting(_ client: inout Client, _ key: OneShotKey, _ reply: OneShotReply) -> Bool {
        let registered = client.deferred == nil
        client.deferred = nil
        table.move(key, to: .writing, deadline: Instant.now() + limits.writeTimeout)
        client.reply = reply
        client.written = 0
        ledger.hold(reply)
        let armed =
            registered
            ? (try? epoll.modify(client.fd, [.writable], data: key.epollData)) != nil
            : (try? epoll.add(client.fd, [.writable], data: key.epollData)) != nil
        guard armed, flush(&client, key) else { return false }
        // Still unread: over the cap, the writers that have had longest to read give way.
        if client.reply != nil {
            while ledger.bytes > limits.maxReplyBytes, let oldest = table.oldest(.writing), oldest != key {
                drop(oldest)
            }
        }
        return true
    }

    /// Writes what the socket takes; once all is out, lets go of the reply, half-closes and
    /// lingers.
    mutating func flush(_ client: inout Client, _ key: OneShotKey) -> Bool {
        guard let reply = client.reply else { return false }
        while client.written < reply.count {
            switch try? client.fd.send(reply.bytes, from: client.written) {
            case .done(let n): client.written += n
            case .wouldBlock: return true
            default: return false
            }
        }
        ledger.release(reply)
        client.reply = nil
        Socket.shutdownWrite(client.fd)
        table.move(key, to: .lingering, deadline: Instant.now() + limits.lingerTimeout)
        return (try? epoll.modify(client.fd, [.readable, .readHangup], data: key.epollData)) != nil
    }

    /// Lingering: reads and drops late input; false once the client closed or failed.
    func discardInput(_ client: Client) -> Bool {
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
