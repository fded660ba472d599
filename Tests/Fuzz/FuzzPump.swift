// The `pump` fuzz target: one direction of a session (SplicePump) over real loopback sockets,
// driven by an input-chosen sequence of events: the client writes, the server reads, the pump
// runs as epoll would have it run, a FIN, a reset that ends the session mid-transfer. Pipes
// come from one pool shared by the sessions of the run, sized 4 KiB or 64 KiB, and the server
// side has small socket buffers, so partial writes, parked remainders and full pipes happen.
// What must hold: every byte the server reads is the next byte its own client wrote (a pipe
// handed back with another session's bytes shows as a mismatch), and a session left to finish
// delivers everything, then ends.
import Glibc
import SluiceSys
import SluiceTestSupport
@testable import SluiceRuntime

struct PumpRun: ~Copyable {
    var pipes: PipePool
    let scratch = IOBuffer(count: 16384)
    var sessions = 0

    init(pipeBytes: Int) { pipes = PipePool(size: pipeBytes) }

    /// Session `id`'s stream is this pattern from `start(id, 0)` on: another phase per
    /// session, so bytes of one session arriving in another do not match. Slices of one table
    /// keep a debug, instrumented build fast enough to fuzz (a closure per byte was 2 µs/byte).
    static let period = 65521  // prime: phases of different sessions never line up
    static let pattern: [UInt8] = (0..<(period + 65536)).map {
        UInt8(truncatingIfNeeded: ($0 % period) &* 131 ^ ($0 % period) >> 8 ^ 0x5A)
    }

    static func start(_ id: Int, _ offset: Int) -> Int { (offset + id &* 7919) % period }

    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        var run = PumpRun(pipeBytes: first & 1 == 0 ? 4096 : 65536)
        var session = PumpSession.open(id: 0)
        var i = 1
        while i + 1 < bytes.count, let s = session {
            let (op, arg) = (bytes[i], Int(bytes[i + 1]))
            i += 2
            if !run.step(s, op: op, arg: arg) {
                s.abort(&run.pipes)
                run.sessions += 1
                session = PumpSession.open(id: run.sessions)
            }
        }
        if let session { run.finish(session) }
        run.pipes.closeAll()
    }

    /// One event; false when the session ended on an error or a reset (then abort it).
    mutating func step(_ s: PumpSession, op: UInt8, arg: Int) -> Bool {
        switch op % 5 {
        case 0: s.write(count: (arg + 1) * 64)
        case 1: s.read(max: (arg + 1) * 256)
        case 2: return s.pump(&pipes, scratch, dstWritable: arg & 1 == 1)
        case 3: s.finWrite()
        default: return arg % 8 != 0  // now and then, a reset mid-transfer
        }
        return true
    }

    /// Lets the session end: FIN, then pump and read until the server sees EOF.
    mutating func finish(_ s: PumpSession) {
        s.finWrite()
        // Loopback delivers within the send call, so this ends in a few rounds; the deadline
        // only turns a stall into a finding instead of a hang.
        let deadline = Instant.now() + .seconds(5)
        while !s.serverSawEOF && Instant.now() < deadline {
            let before = (s.received, s.state.pump.done)
            guard s.pump(&pipes, scratch, dstWritable: true) else {
                s.abort(&pipes)
                return
            }
            s.read(max: 65536)
            if (s.received, s.state.pump.done) == before && !s.serverSawEOF {
                _ = try? Poll.readable(s.server.b, timeoutMillis: 1)
            }
        }
        precondition(s.serverSawEOF, "session did not finish: \(s.received) of \(s.sent) bytes arrived")
        precondition(s.received == s.sent, "\(s.received) bytes arrived of \(s.sent) sent")
        precondition(s.state.pump.done, "pump not done after EOF")
        s.state.pump.release(&pipes)
        s.close()
    }
}

/// One session: client.a -> [client.b =pump=> server.a] -> server.b.
final class PumpSession {
    struct State {
        var pump = SplicePump()
        var readable = false
        var hungUp = false
        var writable = true
    }

    let id: Int
    let client: LoopbackPair
    let server: LoopbackPair
    var state = State()
    var sent = 0
    var received = 0
    var finSent = false
    var serverSawEOF = false

    private init(id: Int, client: LoopbackPair, server: LoopbackPair) {
        self.id = id
        self.client = client
        self.server = server
    }

    static func open(id: Int) -> PumpSession? {
        guard let client = try? LoopbackPair.make() else { return nil }
        guard let server = try? LoopbackPair.make() else {
            client.close()
            return nil
        }
        // Small server-side buffers: the pump meets a full destination early.
        try? Socket.setOption(server.a, SOL_SOCKET, SO_SNDBUF, 32768)
        try? Socket.setOption(server.b, SOL_SOCKET, SO_RCVBUF, 32768)
        try? Socket.setSessionOptions(client.b)
        try? Socket.setSessionOptions(server.a)
        return PumpSession(id: id, client: client, server: server)
    }

    func write(count: Int) {
        guard !finSent else { return }
        let from = PumpRun.start(id, sent)
        let chunk = Array(PumpRun.pattern[from..<from + min(count, 65536)])
        if case .done(let n)? = try? client.a.send(chunk) { sent += n }
        state.readable = true  // as epoll's EPOLLIN edge on client.b
    }

    func read(max: Int) {
        var got: [UInt8] = []
        switch try? server.b.receive(appendingTo: &got, max: max) {
        case .done? where !got.isEmpty:
            let from = PumpRun.start(id, received)
            let same = got.withUnsafeBytes { a in
                PumpRun.pattern.withUnsafeBytes { b in
                    memcmp(a.baseAddress!, b.baseAddress! + from, min(a.count, 65536)) == 0
                }
            }
            precondition(
                got.count <= 65536 && same,
                "session \(id): bytes \(received)..<\(received + got.count) are not its client's")
            received += got.count
            state.writable = true  // room again: EPOLLOUT edge on server.a
        case .eof?:
            serverSawEOF = true
        default:
            break
        }
    }

    func finWrite() {
        guard !finSent else { return }
        Socket.shutdownWrite(client.a)
        finSent = true
        state.readable = true
        state.hungUp = true
    }

    /// Runs the pump; false when it threw (the session ends on that error).
    func pump(_ pipes: inout PipePool, _ scratch: borrowing IOBuffer, dstWritable: Bool) -> Bool {
        if dstWritable { state.writable = true }
        // Worked on as a local copy: the pump and its flags are parts of one stored property.
        var st = state
        defer { state = st }
        do {
            _ = try st.pump.run(
                src: client.b, dst: server.a, srcReadable: &st.readable, srcHungUp: st.hungUp,
                dstWritable: &st.writable, pipes: &pipes, scratch: scratch)
            return true
        } catch {
            return false
        }
    }

    /// Ends the session as the worker does on an error: pipes released, sockets reset.
    func abort(_ pipes: inout PipePool) {
        state.pump.release(&pipes)
        for fd in [client.a, client.b, server.a, server.b] { Socket.setLingerReset(fd) }
        close()
    }

    func close() {
        client.close()
        server.close()
    }
}
