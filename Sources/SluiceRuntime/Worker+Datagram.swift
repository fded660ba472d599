// `mode udp`: datagrams from a listener are routed by client address:port to a flow, whose
// socket is connected to the flow's server; replies read there go back to the client from
// the address it wrote to. A flow sticks to its server while the server is up (a drained
// one keeps its flows, as TCP sessions), moves when it goes down, and is forgotten after
// `timeout udp-flow` without a datagram either way. Both directions move batches with
// recvmmsg/sendmmsg; a full socket buffer drops datagrams, as UDP does. Flows are capped by
// their pool's `maxconn` only: source ports are spoofable, so they never take the global
// `maxconn` budget that TCP sessions of every pool share.
import SluiceCore
import SluiceSys

extension Worker {
    /// Batches read per readiness event, so one busy socket cannot starve the others.
    private static let batchesPerEvent = 4

    /// Routes what a UDP listener received; consecutive datagrams of one client go out in
    /// one sendmmsg.
    mutating func receiveDatagrams(_ index: Int, _ listener: Listener) {
        for _ in 0..<Self.batchesPerEvent {
            let n: Int
            do {
                n = try datagrams.receive(listener.fd)
            } catch {
                warnAtMostEverySecond("udp receive failed", ["listener": listener.name, "error": "\(error)"])
                return
            }
            var run: (slot: UInt32, from: Int, client: IPEndpoint)? = nil
            for i in 0..<n {
                let address = datagrams.peer(i)
                let client = address.endpoint
                if let r = run, r.client == client { continue }
                if let r = run { forward(r.slot, r.from, i) }
                run = nil
                guard let client else { continue }  // not IPv4/IPv6: cannot happen on a UDP socket
                if let slot = flow(for: client, address, datagram: i, listener: index, pool: listener.pool) {
                    run = (slot, i, client)
                }
            }
            if let r = run { forward(r.slot, r.from, n) }
            if n < datagrams.capacity { return }
        }
    }

    /// Sends the client's datagrams `from ..< to` of the batch to the flow's server.
    private mutating func forward(_ slot: UInt32, _ from: Int, _ to: Int) {
        let sent: Int
        do {
            sent = try datagrams.send(from, to - from, on: flows[slot].socket)
        } catch {
            serverFailed(slot, error)
            return
        }
        var bytes = 0
        for i in from..<(from + sent) { bytes += datagrams.length(i) }
        flows[slot].bytesIn &+= UInt64(bytes)
        flows[slot].lastActivity = now
        countBytes(slot, in: UInt64(bytes), out: 0)
    }

    /// Adds to the pool's and the server's byte counters (no copy of the pool view: this runs
    /// per batch).
    private func countBytes(_ slot: UInt32, in bytesIn: UInt64, out bytesOut: UInt64) {
        let index = flows[slot].pool
        if bytesIn > 0 {
            pools[index].pool.stats.bytesIn.add(bytesIn, ordering: .relaxed)
            flows[slot].backend?.stats.bytesIn.add(bytesIn, ordering: .relaxed)
        }
        if bytesOut > 0 {
            pools[index].pool.stats.bytesOut.add(bytesOut, ordering: .relaxed)
            flows[slot].backend?.stats.bytesOut.add(bytesOut, ordering: .relaxed)
        }
    }

    /// Replies from the flow's server, sent on to its client.
    mutating func flowReadable(_ slot: UInt32) {
        for _ in 0..<Self.batchesPerEvent {
            let n: Int
            do {
                n = try datagrams.receive(flows[slot].socket)
            } catch {
                serverFailed(slot, error)
                return
            }
            guard n > 0 else { return }
            guard let listener = listeners[flows[slot].listener] else {
                closeFlow(slot, reason: "listener removed")
                return
            }
            let sent: Int
            do {
                sent = try datagrams.send(
                    0, n, on: listener.fd, to: flows[slot].clientAddress, source: flows[slot].localAddress)
            } catch {
                warnAtMostEverySecond(
                    "udp reply failed",
                    [
                        "pool": pools[flows[slot].pool].pool.name, "client": "\(flows[slot].client)",
                        "error": "\(error)",
                    ])
                sent = 0
            }
            var bytes = 0
            for i in 0..<sent { bytes += datagrams.length(i) }
            flows[slot].bytesOut &+= UInt64(bytes)
            flows[slot].lastActivity = now
            countBytes(slot, in: 0, out: UInt64(bytes))
            if n < datagrams.capacity { return }
        }
    }

    /// The client's flow: the one it has, moved to another server if its own went down, or
    /// a new one. nil: the datagram is dropped (caps, no server), already counted.
    /// `datagram`: its index in the batch (a new flow keeps the address it was sent to).
    private mutating func flow(
        for client: IPEndpoint, _ address: SocketAddress, datagram: Int, listener: Int, pool index: Int
    ) -> UInt32? {
        if let slot = flows.find(FlowPeer(listener: listener, client: client)) {
            guard let server = flows[slot].backend, !server.healthy.load(ordering: .relaxed) else { return slot }
            return move(slot, from: server)
        }
        return openFlow(client, address, local: datagrams.local(datagram), listener: listener, pool: index)
    }

    private mutating func openFlow(
        _ client: IPEndpoint, _ address: SocketAddress, local: SocketAddress, listener: Int, pool index: Int
    ) -> UInt32? {
        let pool = pools[index].pool
        // Validation gives every udp pool a cap; 0 only from a hand-built configuration.
        let cap = pools[index].settings.maxconn
        if cap == 0 {
            pool.stats.current.wrappingAdd(1, ordering: .relaxed)
        } else if !pool.stats.current.increment(upTo: cap) {
            pool.stats.reject(.maxconn)
            return nil
        }
        let slot = flows.allocate(FlowPeer(listener: listener, client: client))
        flows[slot].pool = index
        flows[slot].clientAddress = address
        flows[slot].localAddress = local
        flows[slot].id = shared.nextSessionID.add(1, ordering: .relaxed).oldValue
        flows[slot].started = now
        flows[slot].lastActivity = now
        pool.stats.total.add(1, ordering: .relaxed)
        pool.stats.flows.add(1, ordering: .relaxed)
        shared.totalSessions.add(1, ordering: .relaxed)
        guard connectFlow(slot, avoiding: nil, counting: true) else {
            closeFlow(slot, reason: "no server")
            return nil
        }
        armFlowTimer(slot)
        if log.logSessions {
            log.info(
                "udp flow opened",
                [
                    "pool": pool.name, "client": "\(client)", "id": "\(flows[slot].id)",
                    "server": flows[slot].backend?.name ?? "-",
                ])
        }
        return slot
    }

    /// Gives the flow a server and a socket connected to it; false when none could be had
    /// (`counting`: a new client, so that is a rejection).
    private mutating func connectFlow(_ slot: UInt32, avoiding: ServerRuntime?, counting: Bool) -> Bool {
        let index = flows[slot].pool
        let client = flows[slot].client
        pools[index].refresh()
        let server: ServerRuntime
        switch pools[index].pick(FlowKey(address: client.address, port: client.port), avoiding: avoiding) {
        case .server(let picked): server = picked
        case .full:
            if counting { pools[index].pool.stats.reject(.maxconn) }
            return false
        case .none:
            if counting { pools[index].pool.stats.reject(.noServer) }
            return false
        }
        let socket: FD
        do {
            socket = try DatagramSocket.connected(to: server.endpoint)
            try epoll.add(socket, [.readable], data: token(.flow, slot, flows[slot].generation))
        } catch {
            server.stats.active.wrappingSubtract(1, ordering: .relaxed)
            // Out of fds or memory is sluice's limit, not the server's fault (see outOfResources).
            let local = error.isResourceShortage
            if !local { server.stats.connectFailures.add(1, ordering: .relaxed) }
            if counting { pools[index].pool.stats.reject(local ? .maxconn : .connectFailed) }
            warnAtMostEverySecond(
                "udp flow socket failed",
                [
                    "pool": pools[index].pool.name, "server": server.name, "error": "\(error)",
                ])
            return false
        }
        server.stats.total.add(1, ordering: .relaxed)
        flows[slot].socket = socket
        flows[slot].backend = server
        return true
    }

    /// Its server went down: the flow goes to another one if there is one, else stays (as
    /// sessions stay with `on-down keep-sessions`).
    private mutating func move(_ slot: UInt32, from oldServer: ServerRuntime) -> UInt32? {
        let oldSocket = flows[slot].socket
        guard connectFlow(slot, avoiding: oldServer, counting: false) else { return slot }
        oldSocket.close()
        oldServer.stats.active.wrappingSubtract(1, ordering: .relaxed)
        if log.logSessions {
            log.info(
                "udp flow moved",
                [
                    "pool": pools[flows[slot].pool].pool.name, "client": "\(flows[slot].client)",
                    "from": oldServer.name, "server": flows[slot].backend?.name ?? "-",
                ])
        }
        return slot
    }

    /// An error on the server side; ECONNREFUSED is an ICMP port unreachable: nothing
    /// listens there. The flow ends; the client's next datagram starts a new one.
    private mutating func serverFailed(_ slot: UInt32, _ error: Errno) {
        let view = pools[flows[slot].pool]
        let server = flows[slot].backend
        if error == .connectionRefused, let server {
            server.stats.connectFailures.add(1, ordering: .relaxed)
            if view.settings.observe { shared.health?.observedFailure(server, reason: "udp port unreachable") }
        }
        warnAtMostEverySecond(
            "udp flow failed",
            [
                "pool": view.pool.name, "server": server?.name ?? "-", "client": "\(flows[slot].client)",
                "error": "\(error)",
            ])
        closeFlow(slot, reason: "\(error)")
    }

    mutating func closeFlow(_ slot: UInt32, reason: String) {
        let view = pools[flows[slot].pool]
        let server = flows[slot].backend
        if flows[slot].socket.isValid { flows[slot].socket.close() }
        server?.stats.active.wrappingSubtract(1, ordering: .relaxed)
        view.pool.stats.current.wrappingSubtract(1, ordering: .relaxed)
        view.pool.stats.flows.wrappingSubtract(1, ordering: .relaxed)
        if log.logSessions {
            log.info(
                "udp flow closed",
                [
                    "pool": view.pool.name, "server": server?.name ?? "-",
                    "client": "\(flows[slot].client)", "id": "\(flows[slot].id)",
                    "bytes_in": "\(flows[slot].bytesIn)", "bytes_out": "\(flows[slot].bytesOut)",
                    "duration_ms": "\(now.millis(since: flows[slot].started))", "reason": reason,
                ])
        }
        flows.free(slot)
    }

    /// Closes the flows `matching` says; returns how many.
    @discardableResult
    mutating func closeFlows(reason: String, _ matching: (Flow) -> Bool) -> Int {
        var closed = 0
        for slot in 0..<UInt32(flows.slots.count) where flows[slot].live && matching(flows[slot]) {
            closeFlow(slot, reason: reason)
            closed += 1
        }
        return closed
    }

    private mutating func armFlowTimer(_ slot: UInt32) {
        let deadline = flows[slot].lastActivity + pools[flows[slot].pool].settings.timeoutUDPFlow
        flows[slot].timerDeadline = deadline
        flowTimers.push(TimerEntry(deadline: deadline, slot: slot, generation: flows[slot].generation))
    }

    /// Forgets flows idle for `timeout udp-flow`; activity only moves the deadline, which
    /// is checked when the old one fires.
    mutating func fireFlowTimers() {
        while let entry = flowTimers.popDue(now) {
            let slot = entry.slot
            guard Int(slot) < flows.slots.count, flows[slot].live, flows[slot].generation == entry.generation,
                flows[slot].timerDeadline == entry.deadline
            else { continue }
            let due = flows[slot].lastActivity + pools[flows[slot].pool].settings.timeoutUDPFlow
            if due > now {
                armFlowTimer(slot)
            } else {
                closeFlow(slot, reason: "udp-flow timeout")
            }
        }
    }

    /// `show sessions` rows for the flows.
    func flowRows(pool: Int?, room: Int) -> [SessionSnapshot] {
        var rows: [SessionSnapshot] = []
        for slot in 0..<UInt32(flows.slots.count) where rows.count < room {
            let f = flows[slot]
            guard f.live, pool == nil || f.pool == pool else { continue }
            rows.append(
                SessionSnapshot(
                    id: f.id, pool: pools[f.pool].pool.name, server: f.backend?.name ?? "",
                    client: "\(f.client)", ageSeconds: now.millis(since: f.started) / 1000,
                    bytesIn: f.bytesIn, bytesOut: f.bytesOut))
        }
        return rows
    }
}
