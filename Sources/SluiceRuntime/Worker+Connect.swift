// Choosing a server and connecting to it without blocking, with `retries` on other servers
// and `timeout connect`. A failure of sluice's own (out of fds, memory or local ports) is
// never counted against a server.
import SluiceCore
import SluiceSys

extension Worker {
    /// Picks a server and starts a connect; on failure tries the next one while retries last.
    mutating func connectNext(_ slot: UInt32, wokenFromQueue: Bool = false) {
        let poolIndex = sessions[slot].pool
        let pool = pools[poolIndex].pool
        pools[poolIndex].refresh()
        // Clients already waiting for a slot go first.
        if !wokenFromQueue && sessions[slot].attempts == 0 && pool.stats.queued.load(ordering: .relaxed) > 0
            && enqueue(slot, if: .behindOthers)
        {
            return
        }
        var retriedStale = false
        while true {
            let key = FlowKey(address: sessions[slot].peer.address, port: sessions[slot].peer.port)
            let server: ServerRuntime
            switch pools[poolIndex].pick(key, avoiding: sessions[slot].lastFailed) {
            case .server(let picked):
                server = picked
            case .full:
                enqueue(slot, front: wokenFromQueue)
                return
            case .none:
                // A role-checked server has not answered yet: wait for it rather than refuse.
                if sessions[slot].attempts == 0 && pools[poolIndex].awaitsFirstResult(now)
                    && enqueue(slot, front: wokenFromQueue, if: .firstResultDue)
                {
                    return
                }
                // A first result came in between the pick and the queue's check: the view
                // predates it (see HealthChecker.endFirstResultWait), so look again once.
                if !retriedStale && pools[poolIndex].refreshIfStale() {
                    retriedStale = true
                    continue
                }
                pool.stats.reject(sessions[slot].attempts == 0 ? .noServer : .connectFailed)
                log.clientWarning(.noServer, pool: pool.name, ["client": "\(sessions[slot].peer)"])
                finish(slot, aborted: true, reason: "no server")
                return
            }
            sessions[slot].backend = server
            sessions[slot].attempts += 1
            sessions[slot].connectStarted = now
            do {
                let fd: FD
                do {
                    fd = try Socket.stream(v6: server.endpoint.address.isV6)
                    sessions[slot].server = fd
                    try Socket.setSessionOptions(fd)  // client sockets inherit them from the listener
                    try epoll.add(fd, .sessionSocket, data: token(.server, slot, sessions[slot].generation))
                } catch {
                    outOfResources(slot, error)
                    return
                }
                switch try Socket.connect(fd, to: server.endpoint) {
                case .connected:
                    connected(slot)
                case .inProgress:
                    sessions[slot].state = .connecting
                    let timeout = pools[poolIndex].settings.timeoutConnect
                    sessions[slot].connectDeadline = timeout == .zero ? .distantFuture : now + timeout
                    armTimer(slot)
                }
                return
            } catch {
                // No free local port (EADDRNOTAVAIL) is sluice's limit too, not the server's.
                if error == .addressNotAvailable || error.isResourceShortage {
                    outOfResources(slot, error)
                    return
                }
                if !connectFailed(slot, error) { return }
            }
        }
    }

    /// No socket, epoll entry or local port could be had for the server (out of fds, memory or
    /// ephemeral ports): sluice's
    /// own limit, not the server's fault, so nothing is counted against the server (an
    /// `observe` pool would otherwise mark healthy servers down), no other server is tried,
    /// and accepting pauses briefly so clients wait in the backlog instead of being reset in
    /// a storm.
    private mutating func outOfResources(_ slot: UInt32, _ error: Errno) {
        let index = sessions[slot].pool
        if let server = sessions[slot].backend {
            server.stats.active.wrappingSubtract(1, ordering: .relaxed)
            sessions[slot].backend = nil
            if server.config.maxconn > 0 { slotFreed(pool: index) }
        }
        pools[index].pool.stats.reject(.maxconn)
        warnAtMostEverySecond(
            "cannot open a server socket; client refused and accepting paused for 100ms",
            [
                "pool": pools[index].pool.name, "client": "\(sessions[slot].peer)", "error": "\(error)",
            ])
        finish(slot, aborted: true, reason: "\(error)")
        pauseAccepting()
    }

    /// The server socket reported writable or an error while connecting.
    mutating func connectEvent(_ slot: UInt32, _ ev: EpollEvents) {
        if ev.failed, let error = Socket.pendingError(sessions[slot].server) {
            if connectFailed(slot, error) { connectNext(slot) }
        } else {
            connected(slot)
        }
    }

    /// Counts a failed attempt and releases its socket. Returns whether to try another server;
    /// when not, the session is already finished.
    mutating func connectFailed(_ slot: UInt32, _ error: Errno) -> Bool {
        let pool = pools[sessions[slot].pool].pool
        guard let server = sessions[slot].backend else {
            finish(slot, aborted: true, reason: "connect failed")
            return false
        }
        server.stats.connectFailures.add(1, ordering: .relaxed)
        server.stats.active.wrappingSubtract(1, ordering: .relaxed)
        if server.config.maxconn > 0 { slotFreed(pool: sessions[slot].pool) }
        if sessions[slot].server.isValid {
            sessions[slot].server.close()
            sessions[slot].server = .invalid
        }
        sessions[slot].backend = nil
        sessions[slot].lastFailed = server
        sessions[slot].serverReadable = false
        sessions[slot].serverWritable = false
        sessions[slot].serverHungUp = false
        if pools[sessions[slot].pool].settings.observe {
            shared.health?.observedFailure(server, reason: "\(error)")
        }
        log.clientWarning(
            .connectFailed, pool: pool.name, server: server.name,
            [
                "client": "\(sessions[slot].peer)", "error": "\(error)", "attempt": "\(sessions[slot].attempts)",
            ])
        if sessions[slot].attempts <= pools[sessions[slot].pool].settings.retries { return true }
        pool.stats.reject(.connectFailed)
        finish(slot, aborted: true, reason: "connect failed")
        return false
    }

    mutating func connected(_ slot: UInt32) {
        if let stats = sessions[slot].backend?.stats {
            stats.total.add(1, ordering: .relaxed)
            stats.connectSeconds.record(nanoseconds: now.nanoseconds &- sessions[slot].connectStarted.nanoseconds)
        }
        if pools[sessions[slot].pool].settings.proxyProtocol != .off && !sendProxyHeader(slot) { return }
        sessions[slot].state = .proxying
        sessions[slot].connectDeadline = .distantFuture
        sessions[slot].serverWritable = true
        sessions[slot].lastActivity = now
        if pools[sessions[slot].pool].settings.timeoutIdle != .zero { armTimer(slot) }
        pump(slot)
    }
}

extension Worker {
    /// Writes the PROXY header (v1 or v2) before any client byte. The socket was connected a
    /// moment ago, so its send buffer is empty and the header (at most 232 bytes) fits whole.
    mutating func sendProxyHeader(_ slot: UInt32) -> Bool {
        let client = sessions[slot].client
        let destination = (try? Socket.localAddress(client))?.endpoint ?? IPEndpoint(.anyV4, 0)
        let source = sessions[slot].peer
        let header =
            pools[sessions[slot].pool].settings.proxyProtocol == .v2
            ? ProxyHeader.v2(source: source, destination: destination)
            : ProxyHeader.v1(source: source, destination: destination)
        let server = sessions[slot].server
        let written = Result { () throws(Errno) in try server.send(header) }
        guard case .success(.done(let n)) = written, n == header.count else {
            log.clientWarning(.proxyHeader, pool: pools[sessions[slot].pool].pool.name, ["client": "\(source)"])
            finish(slot, aborted: true, reason: "proxy header")
            return false
        }
        return true
    }
}
