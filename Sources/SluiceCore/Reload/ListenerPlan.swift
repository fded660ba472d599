// Which listening sockets a reload keeps, moves to another pool, binds anew and lets go of,
// from the running sockets and the next file alone (no kernel: ReloadPlanTests). The runtime
// binds what `bind` lists first, so a bind error changes nothing, then applies the rest.

import SluiceSys

/// A running listening socket as a reload sees it. `id` is the runtime's (its fd number).
package struct RunningListener: Sendable, Equatable {
    package var id: Int32
    package var pool: String
    /// The bind it was made for, as written (`127.0.0.1:5432`, `fd:pg`).
    package var name: String
    package var datagram: Bool

    package init(id: Int32, pool: String, name: String, datagram: Bool) {
        self.id = id
        self.pool = pool
        self.name = name
        self.datagram = datagram
    }

    /// Whether this socket can serve `bind` of a pool in `mode`.
    package func serves(_ bind: BindTarget, _ mode: PoolMode) -> Bool {
        name == bind.description && datagram == (mode == .udp)
    }
}

package struct ListenerPlan: Sendable, Equatable {
    /// A socket that starts feeding `pool` (a new one, or one moved from another pool).
    package struct Joining: Sendable, Equatable {
        package var pool: String
        package var name: String
        package var datagram: Bool
        /// The socket to move; nil: bind `endpoint`.
        package var moving: Int32?
        package var endpoint: IPEndpoint?
        /// The pool's line, for an error when the bind fails.
        package var line: Int
    }

    /// Sockets that go on feeding the same pool, untouched.
    package var kept: [Int32] = []
    /// Sockets every worker lets go of: closed, unless `joining` moves them.
    package var released: [Int32] = []
    package var joining: [Joining] = []
    /// `FILE:LINE: ...` for binds a reload cannot add; non-empty: apply nothing.
    package var errors: [String] = []

    package init(running: [RunningListener], next: Config) {
        var freed = running
        var keptSockets: [RunningListener] = []
        for pool in next.pools {
            let mode = pool.settings.mode
            for bind in pool.binds {
                // Every socket of the bind (systemd may pass several under one name).
                let mine = { (l: RunningListener) in l.serves(bind, mode) && l.pool == pool.name }
                keptSockets += freed.filter(mine)
                freed.removeAll(where: mine)
            }
        }
        for pool in next.pools {
            let mode = pool.settings.mode
            for bind in pool.binds where !keptSockets.contains(where: { $0.serves(bind, mode) && $0.pool == pool.name })
            {
                // An address leaving one pool for another keeps its socket.
                if let i = freed.firstIndex(where: { $0.serves(bind, mode) }) {
                    let socket = freed.remove(at: i)
                    joining.append(
                        Joining(
                            pool: pool.name, name: bind.description, datagram: mode == .udp, moving: socket.id,
                            line: pool.line))
                    continue
                }
                guard case .inet(let endpoint) = bind else {
                    errors.append(
                        "\(next.file):\(pool.line): pool \(pool.name): \(bind) cannot be added by a reload "
                            + "(systemd passes sockets at start only)")
                    continue
                }
                joining.append(
                    Joining(
                        pool: pool.name, name: bind.description, datagram: mode == .udp, endpoint: endpoint,
                        line: pool.line))
            }
        }
        kept = keptSockets.map(\.id)
        released = running.map(\.id).filter { !kept.contains($0) }
    }
}
