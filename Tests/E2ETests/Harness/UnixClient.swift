// One request on a Unix stream socket (the admin socket without sluicectl): send raw bytes,
// read the reply until the server closes. Timeouts keep a broken server from hanging a test.
import Glibc

enum UnixClient {
    /// A connected Unix stream socket to `path` (the caller closes it); `timeout` bounds the
    /// connect and every later send and receive.
    static func connect(_ path: String, timeout: Duration) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoText())") }
        SocketIO.setTimeouts(fd, timeout)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let text = errnoText()
            close(fd)
            throw HarnessError("connect \(path): \(text)")
        }
        return fd
    }

    static func exchange(_ path: String, _ request: [UInt8], timeout: Duration = .seconds(5)) throws -> String {
        let fd = try connect(path, timeout: timeout)
        defer { close(fd) }
        // The server may answer (and close) before a huge request is fully sent: that is fine.
        _ = try? SocketIO.sendAll(fd, request)
        shutdown(fd, Int32(SHUT_WR))
        var reply: [UInt8] = []
        while true {
            switch try SocketIO.receive(fd, max: 65536) {
            case .bytes(let chunk): reply += chunk
            case .eof, .reset: return String(decoding: reply, as: UTF8.self)
            }
        }
    }
}
