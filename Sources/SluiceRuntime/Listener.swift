// Listening sockets and the pool each feeds: bound from `bind ADDR:PORT`, or taken from the
// sockets systemd passed for `bind fd:NAME` (every socket with that FileDescriptorName).
// A `mode udp` pool's listeners are bound UDP sockets (`datagram`).
import SluiceCore
import SluiceSys

struct Listener: Sendable {
    let fd: FD
    let pool: Int
    let name: String
    /// A UDP socket: read by one worker only, which keeps that listener's flows.
    let datagram: Bool

    /// Whether `self` serves `bind` of a pool in `mode` (a reload keeps such a socket).
    func serves(_ bind: BindTarget, _ mode: PoolMode) -> Bool {
        name == bind.description && datagram == (mode == .udp)
    }

    /// Binds a socket for `endpoint` (a reload binds new ones the same way).
    static func bind(_ endpoint: IPEndpoint, _ mode: PoolMode) throws(Errno) -> FD {
        mode == .udp ? try DatagramSocket.bind(endpoint) : try Socket.listen(endpoint)
    }

    /// Binds or adopts every listener of `config`. On error nothing stays open.
    static func bindAll(_ config: Config, passed: [(name: String, fd: FD)]) throws(StartupError) -> [Listener] {
        var bound: [Listener] = []
        func fail(_ message: String) -> StartupError {
            for l in bound where !passed.contains(where: { $0.fd == l.fd }) { l.fd.close() }
            return StartupError(message)
        }
        for (index, pool) in config.pools.enumerated() {
            let at = "\(config.file):\(pool.line): pool \(pool.name)"
            let datagram = pool.settings.mode == .udp
            for bind in pool.binds {
                switch bind {
                case .inet(let endpoint):
                    do {
                        bound.append(
                            Listener(
                                fd: try Listener.bind(endpoint, pool.settings.mode), pool: index,
                                name: endpoint.description,
                                datagram: datagram))
                    } catch {
                        throw fail("\(at): cannot listen on \(datagram ? "udp " : "")\(endpoint): \(error)")
                    }
                case .fd(let name):
                    let matching = passed.filter { $0.name == name }
                    guard !matching.isEmpty else {
                        let names = Set(passed.map(\.name)).sorted()
                        throw fail(
                            "\(at): bind fd:\(name): systemd passed no socket named '\(name)' "
                                + (names.isEmpty
                                    ? "(no sockets were passed)" : "(passed: \(names.joined(separator: ", ")))"))
                    }
                    // One name may cover TCP and UDP sockets (DNS on port 53): each pool takes its kind.
                    let usable = matching.filter {
                        datagram ? DatagramSocket.isBoundDatagram($0.fd) : Socket.isListeningStream($0.fd)
                    }
                    guard !usable.isEmpty else {
                        throw fail(
                            "\(at): bind fd:\(name): none of the \(matching.count) socket(s) systemd passed as '\(name)' is a "
                                + (datagram
                                    ? "bound UDP socket (ListenDatagram=) for this mode udp pool"
                                    : "listening TCP socket (ListenStream=); a UDP socket needs mode udp"))
                    }
                    for socket in usable {
                        do {
                            try socket.fd.setNonBlocking()
                            // Accepted sockets inherit the session options (whatever NoDelay= the unit says).
                            if datagram {
                                try DatagramSocket.prepareListener(socket.fd)
                            } else {
                                try Socket.setSessionOptions(socket.fd)
                            }
                        } catch {
                            throw fail("\(at): bind fd:\(name): \(error)")
                        }
                        bound.append(Listener(fd: socket.fd, pool: index, name: "fd:\(name)", datagram: datagram))
                    }
                }
            }
        }
        return bound
    }
}
