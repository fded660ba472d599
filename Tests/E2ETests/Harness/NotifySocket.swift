// A stand-in for systemd's NOTIFY_SOCKET: an AF_UNIX datagram socket in a temp dir that
// collects every sd_notify message sluice sends, in order.
import Foundation
import Glibc
import Synchronization

final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32
    private let messages = Mutex<[String]>([])

    init(directory: TempDirectory) throws {
        path = directory.path("notify.sock")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard fd >= 0, bound == 0 else { throw HarnessError("notify socket \(path): \(errnoText())") }
        SocketIO.setTimeouts(fd, .milliseconds(100))
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 {
                    let text = String(decoding: buffer[0..<n], as: UTF8.self)
                    messages.withLock { $0.append(text) }
                } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                    continue
                } else {
                    return
                }
            }
        }
        thread.name = "notify-socket"
        thread.start()
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Every datagram so far.
    var received: [String] { messages.withLock { $0 } }

    /// Each datagram split into its `KEY=value` lines, flattened in order.
    var assignments: [String] { received.flatMap { $0.split(separator: "\n").map(String.init) } }
}
