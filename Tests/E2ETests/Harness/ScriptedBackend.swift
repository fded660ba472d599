// A backend that follows a fixed script with deterministic data (PseudoRandom(seed: port)):
// either read until EOF and then answer with N bytes and close, or send N bytes and close at
// once. Remembers how many bytes the last connection sent it.
import Glibc
import Synchronization
import SluiceTestSupport

final class ScriptedBackend: Sendable {
    enum Script: Sendable {
        /// Read until EOF, then send `bytes` bytes and close.
        case replyAfterEOF(bytes: Int)
        /// Send `bytes` bytes on accept, then close without reading.
        case sendAndClose(bytes: Int)
    }

    let server: TestServer
    let seed: UInt64
    private let received: ReceivedCount

    init(name: String = "scripted", script: Script, seed: UInt64 = 42) throws {
        let received = ReceivedCount()
        self.received = received
        self.seed = seed
        server = try TestServer(name: name) { fd in
            ScriptedBackend.serve(fd, script: script, seed: seed, received: received)
        }
    }

    var port: UInt16 { server.port }
    /// Bytes read from the last finished connection before its EOF (-1: none yet).
    var lastReceived: Int { received.value.load(ordering: .acquiring) }
    func stop() { server.stop() }

    /// The data this backend sends: `count` bytes of its pseudo-random stream.
    func expectedReply(count: Int) -> [UInt8] {
        PseudoRandom.bytes(seed: seed, count: count)
    }

    private static func serve(_ fd: Int32, script: Script, seed: UInt64, received: ReceivedCount) {
        SocketIO.setTimeouts(fd, .seconds(30))
        switch script {
        case .replyAfterEOF(let count):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
            defer { buffer.deallocate() }
            var total = 0
            while let n = try? SocketIO.receive(fd, into: buffer), n > 0 { total += n }
            received.value.store(total, ordering: .releasing)
            try? SocketIO.sendAll(fd, PseudoRandom.bytes(seed: seed, count: count))
        case .sendAndClose(let count):
            try? SocketIO.sendAll(fd, PseudoRandom.bytes(seed: seed, count: count))
        }
    }
}

private final class ReceivedCount: Sendable {
    let value = Atomic<Int>(-1)
}
