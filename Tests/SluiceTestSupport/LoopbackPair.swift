// A connected pair of non-blocking TCP sockets on 127.0.0.1, made with SluiceSys itself.
import Glibc
import SluiceSys

package struct LoopbackPair {
    package let a: FD
    package let b: FD

    package static func make() throws -> LoopbackPair {
        let listener = try Socket.listen(IPEndpoint(.loopbackV4, 0))
        defer { listener.close() }
        let port = try Socket.localAddress(listener).endpoint!.port
        let a = try Socket.stream(v6: false)
        _ = try Socket.connect(a, to: IPEndpoint(.loopbackV4, port))
        var peer = SocketAddress()
        for _ in 0..<1000 {
            if let b = try Socket.accept(listener, peer: &peer) { return LoopbackPair(a: a, b: b) }
            usleep(1000)
        }
        throw Errno.timedOut
    }

    package func close() {
        a.close()
        b.close()
    }
}

/// Writes all bytes to a non-blocking socket, waiting briefly when it is full.
package func writeAll(_ fd: FD, _ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
        let r = try bytes.withUnsafeBytes { try fd.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        switch r {
        case .done(let n): offset += n
        case .wouldBlock, .eof: usleep(200)
        }
    }
}

/// Reads until `count` bytes or EOF arrive, with a deadline of about two seconds.
package func readUpTo(_ fd: FD, _ count: Int) throws -> (bytes: [UInt8], eof: Bool) {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    for _ in 0..<20000 {
        if out.count >= count { return (out, false) }
        let r = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
        switch r {
        case .done(let n): out += buffer[0..<n]
        case .eof: return (out, true)
        case .wouldBlock: usleep(100)
        }
    }
    return (out, false)
}
