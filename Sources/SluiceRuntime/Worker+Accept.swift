// Accepting clients: the global and pool `maxconn` caps, then a session slot and a connect.
import SluiceCore
import SluiceSys

extension Worker {
    /// Accepts a bounded batch: the listener is level-triggered, so what is left wakes us again
    /// and one busy listener cannot starve this worker's sessions.
    mutating func acceptAll(_ listener: Listener) {
        var peer = SocketAddress()
        for _ in 0..<64 {
            let accepted: FD?
            do {
                accepted = try Socket.accept(listener.fd, peer: &peer)
            } catch {
                // Out of fds or memory: stop accepting for a moment instead of spinning on a
                // listener that stays readable.
                warnAtMostEverySecond(
                    "accept failed; accepting paused for 100ms", ["listener": listener.name, "error": "\(error)"])
                pauseAccepting()
                return
            }
            guard let fd = accepted else { return }
            let endpoint = peer.endpoint ?? IPEndpoint(.anyV4, 0)
            let owner = leastLoadedWorker()
            owner.liveSessions.add(1, ordering: .relaxed)
            if owner === channel {
                startSession(fd, peer: endpoint, pool: listener.pool)
            } else {
                owner.send(.adopt(client: fd, peer: endpoint, pool: listener.pool))
            }
        }
    }

    /// Stops watching the listeners for 100 ms (out of fds or memory: a listener that stays
    /// readable would make the loop spin); `checkShutdown` watches them again.
    mutating func pauseAccepting() {
        guard accepting else { return }
        unwatchListeners()
        acceptPausedUntil = now + .milliseconds(100)
    }

    /// The worker that should own a new client: this one, unless another has at least two
    /// sessions fewer. A burst of connections (a database pool starting up) wakes one worker,
    /// which would otherwise keep every session of the burst; short connections rarely
    /// differ by two, so they stay where they were accepted, with no hand-off.
    private func leastLoadedWorker() -> WorkerChannel {
        var best = channel
        var bestLoad = channel.liveSessions.load(ordering: .relaxed) - 1
        for other in peers where other !== channel {
            let load = other.liveSessions.load(ordering: .relaxed)
            if load < bestLoad {
                best = other
                bestLoad = load
            }
        }
        return best
    }

    /// Sets up a session for an accepted client this worker owns (already counted in
    /// `liveSessions`).
    mutating func startSession(_ fd: FD, peer: IPEndpoint, pool index: Int) {
        let pool = pools[index].pool
        guard shared.active.increment(upTo: shared.maxconn.load(ordering: .relaxed)) else {
            channel.liveSessions.wrappingSubtract(1, ordering: .relaxed)
            reject(fd, pool: pool, .maxconn, peer: peer)
            return
        }
        let poolCap = pools[index].settings.maxconn
        if poolCap == 0 {
            pool.stats.current.wrappingAdd(1, ordering: .relaxed)
        } else if !pool.stats.current.increment(upTo: poolCap) {
            shared.active.wrappingSubtract(1, ordering: .relaxed)
            channel.liveSessions.wrappingSubtract(1, ordering: .relaxed)
            reject(fd, pool: pool, .maxconn, peer: peer)
            return
        }
        pool.stats.total.add(1, ordering: .relaxed)
        shared.totalSessions.add(1, ordering: .relaxed)

        let slot = sessions.allocate()
        sessions[slot].state = .connecting
        sessions[slot].client = fd
        sessions[slot].pool = index
        sessions[slot].peer = peer
        sessions[slot].id = shared.nextSessionID.add(1, ordering: .relaxed).oldValue
        sessions[slot].started = now
        sessions[slot].lastActivity = now
        do {
            try epoll.add(
                fd, .sessionSocket,
                data: token(.client, slot, sessions[slot].generation))
        } catch {
            log.error("cannot watch client socket", ["pool": pool.name, "client": "\(peer)", "error": "\(error)"])
            finish(slot, aborted: true, reason: "epoll")
            return
        }
        connectNext(slot)
    }

    /// Closes a client that cannot be served and counts why.
    private func reject(_ fd: FD, pool: PoolRuntime, _ reason: RejectReason, peer: IPEndpoint) {
        pool.stats.reject(reason)
        Socket.setLingerReset(fd)
        fd.close()
        if log.enabled(.debug) {
            log.debug("client rejected", ["pool": pool.name, "client": "\(peer)", "reason": reason.label])
        }
    }
}
