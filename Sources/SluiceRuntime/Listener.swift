// Listening sockets and the pool each feeds: bound from `bind ADDR:PORT`, or taken from the
// sockets systemd passed for `bind fd:NAME` (every socket with that FileDescriptorName).
import SluiceCore
import SluiceSys

struct Listener: Sendable {
    let fd: FD
    let pool: Int
    let name: String

    /// Binds or adopts every listener of `config`. On error nothing stays open.
    static func bindAll(_ config: Config, passed: [(name: String, fd: FD)]) throws(StartupError) -> [Listener] {
        var bound: [Listener] = []
        func fail(_ message: String) -> StartupError {
            for l in bound where !passed.contains(where: { $0.fd == l.fd }) { l.fd.close() }
            return StartupError(message)
        }
        for (index, pool) in config.pools.enumerated() {
            let at = "\(config.file):\(pool.line): pool \(pool.name)"
            for bind in pool.binds {
                switch bind {
                case .inet(let endpoint):
                    do {
                        bound.append(Listener(fd: try Socket.listen(endpoint), pool: index, name: endpoint.description))
                    } catch {
                        throw fail("\(at): cannot listen on \(endpoint): \(error)")
                    }
                case .fd(let name):
                    let matching = passed.filter { $0.name == name }
                    guard !matching.isEmpty else {
                        let names = Set(passed.map(\.name)).sorted()
                        throw fail("\(at): bind fd:\(name): systemd passed no socket named '\(name)' "
                            + (names.isEmpty ? "(no sockets were passed)" : "(passed: \(names.joined(separator: ", ")))"))
                    }
                    for socket in matching {
                        guard Socket.isListeningStream(socket.fd) else {
                            throw fail("\(at): bind fd:\(name): \(socket.fd) is not a listening TCP socket")
                        }
                        do {
                            try socket.fd.setNonBlocking()
                        } catch {
                            throw fail("\(at): bind fd:\(name): \(error)")
                        }
                        bound.append(Listener(fd: socket.fd, pool: index, name: "fd:\(name)"))
                    }
                }
            }
        }
        return bound
    }
}
