// Blocking send/receive on a raw socket fd, shared by test clients and test backends.
// Timeouts come from SO_RCVTIMEO/SO_SNDTIMEO and surface as SocketError.timedOut.
import Glibc

struct SocketError: Error, CustomStringConvertible {
    let operation: String
    let code: Int32

    var timedOut: Bool { code == EAGAIN || code == EWOULDBLOCK }
    var description: String {
        timedOut ? "\(operation): timed out" : "\(operation): \(errnoText(code))"
    }
}

enum ReceiveResult: Equatable {
    case bytes([UInt8])
    case eof
    case reset
}

enum SocketIO {
    /// TCP urgent bytes stay in the stream (SO_OOBINLINE), as sluice forwards them.
    static func keepUrgentInline(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sends one byte as TCP urgent data (MSG_OOB).
    static func sendUrgent(_ fd: Int32, _ byte: UInt8) throws {
        var b = byte
        guard Glibc.send(fd, &b, 1, Int32(MSG_OOB)) == 1 else {
            throw HarnessError("send(MSG_OOB) failed: errno \(errno)")
        }
    }

    static func setTimeouts(_ fd: Int32, _ timeout: Duration) {
        let (s, atto) = timeout.scaledForTests.components
        var tv = timeval(tv_sec: Int(s), tv_usec: Int(atto / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func sendAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw SocketError(operation: "send", code: code)
            }
            offset += n
        }
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (buffer) in try sendAll(fd, buffer) }
    }

    /// Reads at most `buffer.count` bytes; 0 means EOF.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            throw SocketError(operation: "recv", code: code)
        }
    }

    static func receive(_ fd: Int32, max: Int) throws -> ReceiveResult {
        var bytes = [UInt8](repeating: 0, count: max)
        let n: Int
        do {
            n = try bytes.withUnsafeMutableBytes { (buffer) in try receive(fd, into: buffer) }
        } catch let error as SocketError where error.code == ECONNRESET {
            return .reset
        }
        if n == 0 { return .eof }
        return .bytes(Array(bytes[0..<n]))
    }
}
