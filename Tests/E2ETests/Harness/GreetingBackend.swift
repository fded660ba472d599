// On accept, sends its name and "\n", then holds the connection until the peer closes.
// A client learns which server it reached from the first line; the backend counts how many
// connections it holds right now.
import Glibc

final class GreetingBackend: Sendable {
    let server: TestServer

    init(name: String, port: UInt16 = 0) throws {
        server = try TestServer(name: name, port: port) { fd in GreetingBackend.serve(fd, greeting: name) }
    }

    var name: String { server.name }
    var port: UInt16 { server.port }
    var currentConnections: Int { server.currentConnections }
    var totalConnections: Int { server.totalConnections }
    func stop() { server.stop() }

    private static func serve(_ fd: Int32, greeting: String) {
        guard (try? SocketIO.sendAll(fd, Array((greeting + "\n").utf8))) != nil else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        while let n = try? SocketIO.receive(fd, into: buffer), n > 0 {}
    }
}
