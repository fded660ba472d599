// A name server that never answers: a UDP socket on 127.0.0.N:53 that counts the queries it
// reads and replies to none, and a resolv.conf naming it. sluice sees it through a private
// mount namespace (`launcher`), so the machine's resolver is untouched. The query count is
// the test's signal that a lookup has started (and is now stuck). Binding port 53 needs root.
import Foundation
import Glibc
import Synchronization

final class SilentNameServer: Sendable {
    let address: String
    let resolvConf: String
    private let fd: Int32
    private let count = Mutex(0)
    private let stopped = Mutex(false)

    init(directory: TempDirectory) throws {
        // Some address of 127/8 nobody else uses (127.0.0.53 may be systemd-resolved's).
        var bound: (Int32, String)?
        for n in 150...250 {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { break }
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(53).bigEndian
            sin.sin_addr.s_addr = (UInt32(127) << 24 | UInt32(n)).bigEndian
            let rc = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if rc == 0 {
                bound = (fd, "127.0.0.\(n)")
                break
            }
            close(fd)
        }
        guard let (fd, address) = bound else {
            throw HarnessError("no free 127.0.0.N:53 for a silent name server: \(errnoText())")
        }
        self.fd = fd
        self.address = address
        resolvConf = try directory.write("resolv.conf", "nameserver \(address)\n")
        SocketIO.setTimeouts(fd, .milliseconds(100))
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            // The thread closes the socket itself, so its number cannot be reused under recv.
            defer { close(fd) }
            while !stopped.withLock({ $0 }) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 {
                    count.withLock { $0 += 1 }
                } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                    continue
                } else {
                    return
                }
            }
        }
        thread.name = "silent-dns"
        thread.start()
    }

    /// Closes the socket (within the 100 ms receive timeout).
    func stop() { stopped.withLock { $0 = true } }

    /// Queries read so far (none answered).
    var queries: Int { count.withLock { $0 } }

    /// Runs the command after it in a private mount namespace where /etc/resolv.conf names
    /// this server. `environment` is set for the command (e.g. NOTIFY_SOCKET).
    func launcher(environment: [String: String] = [:]) -> [String] {
        ["/usr/bin/env"] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + [
                "/usr/bin/unshare", "-m", "--", "/bin/sh", "-c", #"mount --bind "$0" /etc/resolv.conf && exec "$@""#,
                resolvConf,
            ]
    }
}
