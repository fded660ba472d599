// UDP ends for `mode udp` scenarios: an echo server that prefixes each reply with its name
// (so a client learns which server its flow reached) and a client bound to a chosen source
// address that reports who each reply came from.
import Foundation
import Glibc
import Synchronization

/// Opens a UDP socket bound to `host:port` (0: any free port).
private func boundUDPSocket(host: String, port: UInt16) throws -> Int32 {
    let address = try SocketAddress(host: host, port: port)
    let fd = socket(address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("udp socket: \(errnoText())") }
    guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
        let text = errnoText()
        close(fd)
        throw HarnessError("udp bind \(address): \(text)")
    }
    return fd
}

/// "HOST:PORT" of a received datagram's sender.
private func senderText(_ storage: sockaddr_storage) -> String {
    var copy = storage
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    func host() -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    switch Int32(storage.ss_family) {
    case AF_INET:
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var addr = sin.pointee.sin_addr
                inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                return "\(host()):\(UInt16(bigEndian: sin.pointee.sin_port))"
            }
        }
    default:
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var addr = sin6.pointee.sin6_addr
                inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                return "[\(host())]:\(UInt16(bigEndian: sin6.pointee.sin6_port))"
            }
        }
    }
}

private func setReceiveTimeout(_ fd: Int32, _ duration: Duration) {
    let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    var tv = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
}

/// Answers every datagram with "NAME:" and the datagram, to its sender.
final class UDPEchoBackend: Sendable {
    let name: String
    let port: UInt16
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let count = Atomic<Int>(0)

    init(name: String, port: UInt16 = 0) throws {
        self.name = name
        fd = try boundUDPSocket(host: "127.0.0.1", port: port)
        self.port = try SocketAddress.localPort(of: fd)
        // The loop looks at `stopped` between datagrams and at least every 50 ms.
        setReceiveTimeout(fd, .milliseconds(50))
        let thread = Thread { [self] in serve() }
        thread.name = "udp-\(name)"
        thread.start()
    }

    /// Datagrams answered so far.
    var received: Int { count.load(ordering: .relaxed) }

    private func serve() {
        let prefix = Array("\(name):".utf8)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !stopped.load(ordering: .relaxed) {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &peer) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, &buffer, buffer.count, 0, $0, &length)
                }
            }
            guard n >= 0 else { continue }
            count.add(1, ordering: .relaxed)
            let reply = prefix + buffer[0..<n]
            _ = withUnsafePointer(to: &peer) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, length) }
            }
        }
        finished.store(true, ordering: .releasing)
    }

    /// Stops answering and closes the port (datagrams to it then get ICMP port unreachable).
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        while !finished.load(ordering: .acquiring) { usleep(1000) }
        close(fd)
    }

    deinit { stop() }
}

/// A UDP client bound to `source` (any address of 127/8), talking to one address.
final class UDPClient: Sendable {
    let fd: Int32
    let target: SocketAddress

    init(source: String = "127.0.0.1", to host: String = "127.0.0.1", port: UInt16) throws {
        fd = try boundUDPSocket(host: source, port: 0)
        target = try SocketAddress(host: host, port: port)
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        let n = target.withSockaddr { sendto(fd, bytes, bytes.count, 0, $0, $1) }
        guard n == bytes.count else { throw HarnessError("udp send to \(target): \(errnoText())") }
    }

    /// The next datagram and its sender, or nil when none came within `timeout`.
    func receive(timeout: Duration = .seconds(2)) -> (bytes: [UInt8], from: String)? {
        setReceiveTimeout(fd, timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = withUnsafeMutablePointer(to: &peer) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        guard n >= 0 else { return nil }
        return (Array(buffer[0..<n]), senderText(peer))
    }

    /// Sends `payload` and returns the name of the server that echoed it, checking that the
    /// echo is byte-exact and came from the address the client wrote to.
    func exchange(_ payload: [UInt8], timeout: Duration = .seconds(2)) throws -> String {
        try send(payload)
        guard let reply = receive(timeout: timeout) else {
            throw HarnessError("no reply from \(target) within \(timeout)")
        }
        guard reply.from == target.description else {
            throw HarnessError("reply came from \(reply.from), expected \(target)")
        }
        guard let colon = reply.bytes.firstIndex(of: UInt8(ascii: ":")), Array(reply.bytes[(colon + 1)...]) == payload
        else {
            throw HarnessError("reply of \(reply.bytes.count) bytes is not NAME: + the \(payload.count) bytes sent")
        }
        return String(decoding: reply.bytes[..<colon], as: UTF8.self)
    }
}

extension FreePort {
    static func udp(host: String = "127.0.0.1") throws -> UInt16 { try pick(host: host, type: SOCK_DGRAM) }
}
