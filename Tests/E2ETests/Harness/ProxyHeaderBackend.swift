// A backend that expects a PROXY protocol header (v1 text or v2 binary) before any client
// byte, answers with what it parsed — `v1 SRC DST` or `v2 SRC DST` — and then echoes.
import Glibc

final class ProxyHeaderBackend: Sendable {
    let server: TestServer

    init() throws {
        server = try TestServer(name: "proxy-aware") { fd in ProxyHeaderBackend.serve(fd) }
    }

    var port: UInt16 { server.port }
    func stop() { server.stop() }

    private static func read(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        while out.count < count {
            guard case .bytes(let chunk)? = try? SocketIO.receive(fd, max: count - out.count) else { return nil }
            out += chunk
        }
        return out
    }

    private static func serve(_ fd: Int32) {
        SocketIO.setTimeouts(fd, .seconds(5))
        guard let head = read(fd, 5) else { return }
        var answer: String
        if head == Array("PROXY".utf8) {
            var line = head
            while line.last != 0x0A, line.count < 108, let byte = read(fd, 1) { line += byte }
            let fields = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
            guard fields.count == 6 else { return }
            let port = fields[5].trimmingCharacters(in: ["\r", "\n"])
            answer = "v1 \(fields[1]) \(fields[2]):\(fields[4]) \(fields[3]):\(port)"
        } else {
            // 12 signature bytes, then version/command, family and a 2-byte length.
            guard let rest = read(fd, 11) else { return }
            let fixed = head + rest
            guard fixed.prefix(12) == [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A] else {
                return
            }
            let meta = Array(fixed[12..<16])
            let length = Int(meta[2]) << 8 | Int(meta[3])
            guard let body = read(fd, length) else { return }
            func port(_ i: Int) -> Int { Int(body[i]) << 8 | Int(body[i + 1]) }
            if meta[1] == 0x11 {
                let src = body[0..<4].map(String.init).joined(separator: ".")
                let dst = body[4..<8].map(String.init).joined(separator: ".")
                answer = "v2 TCP4 \(src):\(port(8)) \(dst):\(port(10))"
            } else {
                func hex(_ range: Range<Int>) -> String {
                    stride(from: range.lowerBound, to: range.upperBound, by: 2)
                        .map { String(Int(body[$0]) << 8 | Int(body[$0 + 1]), radix: 16) }.joined(separator: ":")
                }
                answer = "v2 TCP6 [\(hex(0..<16))]:\(port(32)) [\(hex(16..<32))]:\(port(34))"
            }
        }
        guard (try? SocketIO.sendAll(fd, Array((answer + "\n").utf8))) != nil else { return }
        while case .bytes(let chunk)? = try? SocketIO.receive(fd, max: 65536) {
            guard (try? SocketIO.sendAll(fd, chunk)) != nil else { return }
        }
    }
}
