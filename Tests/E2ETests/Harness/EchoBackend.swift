// Echoes every byte back. Honours half-close: after EOF from its peer it finishes echoing,
// then shuts down its write side, so the client reads everything and then EOF.
import Glibc

final class EchoBackend: Sendable {
    let server: TestServer

    /// `urgentInline`: TCP urgent bytes are echoed as ordinary bytes, in place.
    /// `lastWords`: what it sends after the echo of everything, before its own FIN.
    init(
        name: String = "echo", host: String = "127.0.0.1", port: UInt16 = 0, urgentInline: Bool = false,
        lastWords: (@Sendable (Int32) -> Void)? = nil
    ) throws {
        server = try TestServer(name: name, host: host, port: port) { fd in
            if urgentInline { SocketIO.keepUrgentInline(fd) }
            EchoBackend.serve(fd, lastWords: lastWords)
        }
    }

    var name: String { server.name }
    var port: UInt16 { server.port }
    var totalConnections: Int { server.totalConnections }
    var currentConnections: Int { server.currentConnections }
    func stop() { server.stop() }
    /// The listener goes away, open connections stay.
    func stopListening() { server.stopListening() }

    private static func serve(_ fd: Int32, lastWords: (@Sendable (Int32) -> Void)?) {
        SocketIO.setTimeouts(fd, .seconds(60))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            guard let n = try? SocketIO.receive(fd, into: buffer), n > 0 else { break }
            guard (try? SocketIO.sendAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))) != nil else { return }
        }
        lastWords?(fd)
        shutdown(fd, Int32(SHUT_WR))
    }
}
