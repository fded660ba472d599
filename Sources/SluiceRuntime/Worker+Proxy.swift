// Moving bytes: readiness events set the session's edge flags, both pumps run, and the
// session ends when both directions are done, on an error, or on a timeout.
import SluiceCore
import SluiceSys

extension Worker {
    mutating func sessionEvent(_ slot: UInt32, server: Bool, _ ev: EpollEvents) {
        // Hang-ups and errors count as both readable and writable (as redis' ae does): the next
        // splice reports the EOF or the error itself.
        let readable = ev.readSide
        let writable = ev.writeSide
        let hungUp = ev.hangUpSide
        if server {
            if hungUp { sessions[slot].serverHungUp = true }
            if ev.urgent { sessions[slot].down.urgent = true }
            if sessions[slot].state == .connecting {
                // A backend that speaks first may have sent its greeting by the time the
                // connect is reported: keep that edge, it will not be reported again.
                if readable { sessions[slot].serverReadable = true }
                if writable { connectEvent(slot, ev) }
                return
            }
            if readable { sessions[slot].serverReadable = true }
            if writable { sessions[slot].serverWritable = true }
        } else {
            if hungUp { sessions[slot].clientHungUp = true }
            if ev.urgent { sessions[slot].up.urgent = true }
            if readable { sessions[slot].clientReadable = true }
            if writable { sessions[slot].clientWritable = true }
            if sessions[slot].state != .proxying { return }
        }
        pump(slot)
    }

    /// Runs both directions until neither can move; finishes the session when both are done.
    mutating func pump(_ slot: UInt32) {
        let moved: Bool
        do {
            moved = try sessions[slot].pumpBoth(&pipes, scratch)
        } catch {
            finish(slot, aborted: true, reason: "\(error)")
            return
        }
        if moved {
            sessions[slot].lastActivity = now
            // Long sessions publish their bytes about once a second, not only when they end;
            // the timer publishes the last burst of a session that then goes quiet.
            if now.nanoseconds &- sessions[slot].publishedAt.nanoseconds >= 1_000_000_000 {
                publishBytes(slot)
            } else {
                armTimer(slot)
            }
        }
        if sessions[slot].up.done && sessions[slot].down.done {
            finish(slot, aborted: false, reason: "closed")
        }
    }

    /// Releases everything the session holds and updates the counters. An aborted session's
    /// sockets are reset, so a peer never mistakes a cut stream for a complete one.
    mutating func finish(_ slot: UInt32, aborted: Bool, reason: String) {
        let pool = pools[sessions[slot].pool].pool
        let server = sessions[slot].backend
        sessions[slot].up.release(&pipes)
        sessions[slot].down.release(&pipes)
        func close(_ fd: FD) {
            guard fd.isValid else { return }
            if aborted { Socket.setLingerReset(fd) }
            fd.close()
        }
        close(sessions[slot].client)
        close(sessions[slot].server)
        publishBytes(slot)
        let bytesIn = sessions[slot].up.bytes
        let bytesOut = sessions[slot].down.bytes
        let poolIndex = sessions[slot].pool
        if sessions[slot].state == .queued { _ = leaveQueue(slot) }
        var freedCappedSlot = false
        if let server {
            server.stats.active.wrappingSubtract(1, ordering: .relaxed)
            freedCappedSlot = server.config.maxconn > 0
        }
        pool.stats.current.wrappingSubtract(1, ordering: .relaxed)
        shared.active.wrappingSubtract(1, ordering: .relaxed)
        channel.liveSessions.wrappingSubtract(1, ordering: .relaxed)
        if log.logSessions {
            log.info(
                "session closed",
                [
                    "pool": pool.name, "server": server?.name ?? "-",
                    "client": "\(sessions[slot].peer)", "id": "\(sessions[slot].id)",
                    "bytes_in": "\(bytesIn)", "bytes_out": "\(bytesOut)",
                    "duration_ms": "\(now.millis(since: sessions[slot].started))", "reason": reason,
                ])
        }
        sessions.free(slot)
        if freedCappedSlot { slotFreed(pool: poolIndex) }
    }

    /// Adds the bytes moved since the last call to the pool's and the server's counters.
    mutating func publishBytes(_ slot: UInt32) {
        let newIn = sessions[slot].up.bytes &- sessions[slot].publishedIn
        let newOut = sessions[slot].down.bytes &- sessions[slot].publishedOut
        sessions[slot].publishedAt = now
        guard newIn | newOut != 0 else { return }
        sessions[slot].publishedIn = sessions[slot].up.bytes
        sessions[slot].publishedOut = sessions[slot].down.bytes
        let pool = pools[sessions[slot].pool].pool
        pool.stats.bytesIn.add(newIn, ordering: .relaxed)
        pool.stats.bytesOut.add(newOut, ordering: .relaxed)
        if let stats = sessions[slot].backend?.stats {
            stats.bytesIn.add(newIn, ordering: .relaxed)
            stats.bytesOut.add(newOut, ordering: .relaxed)
        }
    }

    /// Ensures the session has a heap entry no later than its current due time. Later due
    /// times (activity) need no heap work: the entry is re-evaluated when it fires.
    mutating func armTimer(_ slot: UInt32) {
        guard let due = dueTime(slot), due < sessions[slot].timerDeadline else { return }
        sessions[slot].timerDeadline = due
        timers.push(TimerEntry(deadline: due, slot: slot, generation: sessions[slot].generation))
    }

    private func dueTime(_ slot: UInt32) -> Instant? {
        switch sessions[slot].state {
        case .free: return nil
        case .queued: return sessions[slot].queuedSince + pools[sessions[slot].pool].settings.timeoutQueue
        case .connecting: return sessions[slot].connectDeadline
        case .proxying:
            let idle = idleDeadline(slot)
            guard hasUnpublishedBytes(slot) else { return idle }
            let publish = sessions[slot].publishedAt + .seconds(1)
            return min(idle ?? publish, publish)
        }
    }

    private func idleDeadline(_ slot: UInt32) -> Instant? {
        let idle = pools[sessions[slot].pool].settings.timeoutIdle
        return idle == .zero ? nil : sessions[slot].lastActivity + idle
    }

    /// An idle session whose bytes are still on their way (in a pipe, unread in a socket or
    /// unacknowledged by a peer that stopped reading) is cut, not ended: a FIN would let the
    /// peer take what it got for the whole stream, and a socket closed with unsent bytes stays
    /// in the kernel as long as its peer's window is shut. Such a session is reset both ways.
    private func hasBytesInFlight(_ slot: UInt32) -> Bool {
        if sessions[slot].up.inPipe > 0 || sessions[slot].down.inPipe > 0 { return true }
        for fd in [sessions[slot].client, sessions[slot].server] where fd.isValid {
            guard let queued = Socket.queuedBytes(fd) else { return true }
            if queued.unread > 0 || queued.unsent > 0 { return true }
        }
        return false
    }

    private func hasUnpublishedBytes(_ slot: UInt32) -> Bool {
        sessions[slot].up.bytes != sessions[slot].publishedIn
            || sessions[slot].down.bytes != sessions[slot].publishedOut
    }

    mutating func fireTimers() {
        while let entry = timers.popDue(now) {
            let slot = entry.slot
            guard Int(slot) < sessions.slots.count, sessions[slot].generation == entry.generation,
                sessions[slot].state != .free, sessions[slot].timerDeadline == entry.deadline
            else { continue }
            sessions[slot].timerDeadline = .distantFuture
            guard let due = dueTime(slot) else { continue }
            if due > now {
                armTimer(slot)
                continue
            }
            switch sessions[slot].state {
            case .queued:
                if leaveQueue(slot) {
                    pools[sessions[slot].pool].pool.stats.reject(.queueTimeout)
                    log.clientWarning(
                        .queueTimeout, pool: pools[sessions[slot].pool].pool.name, ["client": "\(sessions[slot].peer)"])
                    finish(slot, aborted: true, reason: "queue timeout")
                }
            case .connecting:
                if connectFailed(slot, .timedOut) { connectNext(slot) }
            case .proxying:
                if let idle = idleDeadline(slot), idle <= now {
                    finish(slot, aborted: hasBytesInFlight(slot), reason: "idle timeout")
                } else {
                    publishBytes(slot)
                    armTimer(slot)
                }
            case .free:
                break
            }
        }
    }
}
