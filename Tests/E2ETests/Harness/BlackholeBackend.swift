// A listener that never completes a connect: its accept queue (backlog 0) is filled by our
// own parked connections, so the kernel drops further SYNs and a connect to it hangs until
// the connecting side gives up. Used to exercise `timeout connect`.
import Glibc

final class BlackholeBackend {
    let port: UInt16
    private let listener: Int32
    private var fillers: [Int32] = []

    init() throws {
        let address = try SocketAddress(host: "127.0.0.1", port: 0)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, address.withSockaddr({ bind(fd, $0, $1) }) == 0, listen(fd, 0) == 0 else {
            throw HarnessError("blackhole listener: \(errnoText())")
        }
        listener = fd
        port = try SocketAddress.localPort(of: fd)
        // Backlog 0 still queues one connection; park a few so the queue is surely full.
        let target = try SocketAddress(host: "127.0.0.1", port: port)
        for _ in 0..<3 {
            let fd = socket(
                AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            _ = target.withSockaddr { connect(fd, $0, $1) }
            fillers.append(fd)
        }
    }

    func stop() {
        for fd in fillers { close(fd) }
        fillers = []
        close(listener)
    }
}
