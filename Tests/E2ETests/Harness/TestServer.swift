// A named TCP listener on loopback that serves each accepted connection on its own thread.
// Counts current and total connections; `stop()` (or deinit) closes the listener and shuts
// down every open connection so handler threads end.
import Foundation
import Glibc
import Synchronization

final class TestServer: Sendable {
    let name: String
    let port: UInt16
    private let core: Core

    /// `handler` runs on a dedicated thread per connection; the server closes the fd after it.
    /// `port` 0 picks a free one; a given port lets a test bring a server back where it was.
    init(
        name: String, host: String = "127.0.0.1", port: UInt16 = 0, handler: @escaping @Sendable (Int32) -> Void
    ) throws {
        let address = try SocketAddress(host: host, port: port)
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0, listen(fd, 512) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketError(operation: "bind/listen \(address)", code: code)
        }
        self.name = name
        self.port = try SocketAddress.localPort(of: fd)
        self.core = Core(listenFD: fd)
        let core = self.core
        let thread = Thread { core.acceptLoop(handler) }
        thread.name = "backend-\(name)"
        thread.start()
    }

    deinit { core.stop() }

    var currentConnections: Int { core.current.load(ordering: .relaxed) }
    var totalConnections: Int { core.total.load(ordering: .relaxed) }

    func stop() { core.stop() }

    /// Closes the listener only: open connections go on (a server whose port dies).
    func stopListening() { core.stopListening() }

    private final class Core: Sendable {
        let listenFD: Int32
        let current = Atomic<Int>(0)
        let total = Atomic<Int>(0)
        private let state = Mutex<(stopped: Bool, open: Set<Int32>)>((false, []))

        init(listenFD: Int32) {
            self.listenFD = listenFD
        }

        func acceptLoop(_ handler: @escaping @Sendable (Int32) -> Void) {
            while true {
                let fd = accept(listenFD, nil, nil)
                if fd < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    // stop() shut the listener down. Only this thread closes it: closing it in
                    // stop() could let this loop accept on a reused fd number of a later test.
                    Glibc.close(listenFD)
                    return
                }
                let accepted = state.withLock { s -> Bool in
                    if s.stopped { return false }
                    s.open.insert(fd)
                    return true
                }
                guard accepted else {
                    Glibc.close(fd)
                    Glibc.close(listenFD)
                    return
                }
                current.add(1, ordering: .relaxed)
                total.add(1, ordering: .relaxed)
                let thread = Thread { [self] in
                    handler(fd)
                    current.subtract(1, ordering: .relaxed)
                    state.withLock { s in
                        s.open.remove(fd)
                        Glibc.close(fd)
                    }
                }
                thread.start()
            }
        }

        func stopListening() {
            state.withLock { s in
                guard !s.stopped else { return }
                s.stopped = true
                shutdown(listenFD, Int32(SHUT_RDWR))
            }
        }

        func stop() {
            state.withLock { s in
                if !s.stopped {
                    s.stopped = true
                    shutdown(listenFD, Int32(SHUT_RDWR))
                }
                for fd in s.open { shutdown(fd, Int32(SHUT_RDWR)) }
            }
        }
    }
}
