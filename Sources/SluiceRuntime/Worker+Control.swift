// Control messages a worker acts on between events: closing the sessions of one server and
// reporting its sessions for `show sessions`.
import SluiceCore
import SluiceSys

extension Worker {
    /// Gives this worker a view of every pool created so far (pools only grow, and a pool's
    /// index never changes). Run before acting on any batch of messages: the control thread
    /// creates a pool before anything can name it (a listener, a health check's
    /// `closeSessions`, a kill), so after this every pool index a message carries is valid,
    /// whatever order the messages of a reload arrive in.
    mutating func catchUpPools() {
        guard pools.count < shared.poolCount else { return }
        let all = shared.allPools
        while pools.count < all.count { pools.append(PoolView(all[pools.count])) }
    }

    /// A listener a reload bound: watched at once unless the worker is stopping.
    mutating func addListener(_ listener: Listener) {
        listeners.append(listener)
        guard accepting else { return }
        do {
            try watch(listener, listeners.count - 1)
        } catch {
            log.error("cannot watch new listener", ["listener": listener.name, "error": "\(error)"])
        }
    }

    /// Stops watching a listener a reload removed; the control thread closes it once every
    /// worker let go.
    mutating func removeListener(_ fd: FD) {
        guard let i = listeners.firstIndex(where: { $0?.fd == fd }), let listener = listeners[i] else { return }
        if accepting && reads(listener, i) { epoll.remove(fd) }
        listeners[i] = nil
        if listener.datagram { closeFlows(reason: "listener removed") { $0.listener == i } }
    }

    mutating func closeSessions(pool index: Int, server: ServerRuntime, reason: String) {
        guard index < pools.count else { return }
        var closed = 0
        for slot in 0..<UInt32(sessions.slots.count)
        where sessions[slot].state != .free && sessions[slot].pool == index && sessions[slot].backend === server {
            finish(slot, aborted: true, reason: reason)
            closed += 1
        }
        closed += closeFlows(reason: reason) { $0.pool == index && $0.backend === server }
        if closed > 0 {
            log.info(
                "sessions closed",
                [
                    "pool": pools[index].pool.name, "server": server.name,
                    "sessions": "\(closed)", "reason": reason, "worker": "\(channel.index)",
                ])
        }
    }

    func report(into report: SessionReport, pool: Int?) {
        defer { report.workerDone() }
        var rows: [SessionSnapshot] = []
        let room = report.room
        for slot in 0..<UInt32(sessions.slots.count) where rows.count < room {
            let s = sessions[slot]
            guard s.state != .free, pool == nil || s.pool == pool else { continue }
            rows.append(
                SessionSnapshot(
                    id: s.id, pool: pools[s.pool].pool.name,
                    server: s.backend?.name ?? "",
                    client: "\(s.peer)", ageSeconds: now.millis(since: s.started) / 1000,
                    bytesIn: s.up.bytes, bytesOut: s.down.bytes))
        }
        rows += flowRows(pool: pool, room: room - rows.count)
        report.add(rows)
    }
}
