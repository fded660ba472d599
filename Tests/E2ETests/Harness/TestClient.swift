// A blocking TCP client for the tests: every read and write has a timeout, so a broken
// balancer fails the test with a message instead of hanging it. Safe to use from two threads
// at once (one writing, one reading), as the transfer tests do.
import Glibc
import Synchronization

final class TestClient: Sendable {
    private let descriptor: Atomic<Int32>
    let peer: SocketAddress

    /// Connects to `host:port`, first binding to `source` (e.g. "127.0.0.5") when given.
    init(port: UInt16, host: String = "127.0.0.1", source: String? = nil, timeout: Duration = .seconds(5)) throws {
        let address = try SocketAddress(host: host, port: port)
        self.peer = address
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        SocketIO.setTimeouts(fd, timeout)
        if let source {
            let local = try SocketAddress(host: source, port: 0)
            guard local.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
                let code = errno
                Glibc.close(fd)
                throw SocketError(operation: "bind \(source)", code: code)
            }
        }
        guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketError(operation: "connect \(address)", code: code)
        }
        descriptor = Atomic(fd)
    }

    deinit { close() }

    var fd: Int32 { descriptor.load(ordering: .acquiring) }

    func setTimeout(_ timeout: Duration) {
        SocketIO.setTimeouts(fd, timeout)
    }

    func send(_ bytes: [UInt8]) throws {
        try SocketIO.sendAll(fd, bytes)
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ buffer: UnsafeRawBufferPointer) throws {
        try SocketIO.sendAll(fd, buffer)
    }

    /// The next chunk of at most `max` bytes, or `.eof` / `.reset`. Throws on timeout.
    func receive(max: Int = 65536) throws -> ReceiveResult {
        try SocketIO.receive(fd, max: max)
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try SocketIO.receive(fd, into: buffer)
    }

    /// Reads one line (without the "\n"). Throws on EOF, reset or timeout.
    func readLine(limit: Int = 4096) throws -> String {
        var line: [UInt8] = []
        while line.count < limit {
            switch try receive(max: 1) {
            case .bytes(let b) where b == [0x0A]: return String(decoding: line, as: UTF8.self)
            case .bytes(let b): line += b
            case .eof:
                throw HarnessError(
                    "EOF from \(peer) after \(line.count) bytes of a line: \(String(decoding: line, as: UTF8.self))")
            case .reset: throw HarnessError("connection reset by \(peer) while reading a line")
            }
        }
        throw HarnessError("line from \(peer) longer than \(limit) bytes")
    }

    /// Reads everything until EOF. Throws on reset, on timeout, or past `limit` bytes.
    func readToEOF(limit: Int = 256 << 20) throws -> [UInt8] {
        var all: [UInt8] = []
        while true {
            switch try receive() {
            case .bytes(let b):
                all += b
                if all.count > limit { throw HarnessError("more than \(limit) bytes from \(peer)") }
            case .eof: return all
            case .reset: throw HarnessError("connection reset by \(peer) after \(all.count) bytes")
            }
        }
    }

    /// Succeeds when the peer closes (EOF or RST) without sending a single byte.
    /// Connects and expects sluice to close the connection at once without data; a reset
    /// that already reaches connect() counts as that close too.
    static func expectRejected(port: UInt16) throws {
        let client: TestClient
        do {
            client = try TestClient(port: port)
        } catch let error as SocketError where error.code == ECONNRESET {
            return
        }
        defer { client.close() }
        try client.expectClosedWithoutData()
    }

    func expectClosedWithoutData() throws {
        switch try receive() {
        case .eof, .reset: return
        case .bytes(let b):
            throw HarnessError(
                "expected the connection to be closed without data, got \(b.count) bytes: \(String(decoding: b, as: UTF8.self))"
            )
        }
    }

    func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Glibc.close(fd) }
    }
}

extension TestClient {
    /// Reads until EOF and compares every byte with `expected`; returns a failure or nil.
    func compareUntilEOF(with expected: [UInt8]) -> String? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 << 10, alignment: 16)
        defer { buffer.deallocate() }
        var offset = 0
        do {
            while true {
                let n = try receive(into: buffer)
                if n == 0 { break }
                if offset + n > expected.count {
                    return "received \(offset + n) bytes, more than the \(expected.count) sent"
                }
                let mismatch = expected.withUnsafeBytes { sent -> Int? in
                    guard memcmp(buffer.baseAddress!, sent.baseAddress! + offset, n) != 0 else { return nil }
                    return (0..<n).first { buffer[$0] != sent[offset + $0] }
                }
                if let mismatch {
                    return
                        "byte \(offset + mismatch) differs: sent \(expected[offset + mismatch]), got \(buffer[mismatch])"
                }
                offset += n
            }
        } catch {
            return "\(error) after \(offset) of \(expected.count) bytes"
        }
        return offset == expected.count ? nil : "EOF after \(offset) of \(expected.count) bytes"
    }
}
