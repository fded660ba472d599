// Picks a TCP or UDP port that is free right now on loopback: bind port 0, read the kernel's choice,
// close. Tests run serialized, so the short window before sluice binds it is harmless.
import Glibc

enum FreePort {
    static func tcp(host: String = "127.0.0.1") throws -> UInt16 { try pick(host: host, type: SOCK_STREAM) }

    /// Binds port 0 of `type` (SOCK_STREAM, SOCK_DGRAM) and returns the kernel's choice.
    static func pick(host: String, type: __socket_type) throws -> UInt16 {
        let address = try SocketAddress(host: host, port: 0)
        let fd = socket(address.family, Int32(type.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoText())") }
        defer { close(fd) }
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
            throw HarnessError("bind \(host):0: \(errnoText())")
        }
        return try SocketAddress.localPort(of: fd)
    }
}
