// The `session` target's model of one proxied connection: the client and the backend side,
// what each sent and read, and whether anything cut the session (then only order and an end
// are owed, not every byte). Each direction of each session is its own phase of the pump
// target's pattern, so a byte from another session or direction never matches.
import Glibc
import SluiceSys

final class SessionSide {
    var fd: FD?
    /// Pattern streams: what this side writes, and what it must read.
    let outStream: Int
    let inStream: Int
    var sent = 0
    var received = 0
    var finSent = false
    var sawEOF = false
    var sawReset = false

    init(fd: FD, out: Int, in inStream: Int) {
        self.fd = fd
        outStream = out
        self.inStream = inStream
    }

    /// Nothing more will arrive here (or the harness closed it).
    var ended: Bool { fd == nil || sawEOF || sawReset }

    func shutdownWrite() {
        guard let fd, !finSent, !sawReset else { return }
        Socket.shutdownWrite(fd)
        finSent = true
    }

    func close() {
        fd?.close()
        fd = nil
    }
}

final class SessionPair {
    let id: Int
    let client: SessionSide
    let backend: SessionSide
    /// Which backend listener took the connection (0: server a, 1: server b).
    let server: Int
    /// No reset, close, kill, idle expiry or drain deadline touched this session.
    var intact = true

    init(id: Int, client: FD, backend: FD, server: Int) {
        self.id = id
        self.client = SessionSide(fd: client, out: 2 * id, in: 2 * id + 1)
        self.backend = SessionSide(fd: backend, out: 2 * id + 1, in: 2 * id)
        self.server = server
    }

    var isOpen: Bool { client.fd != nil || backend.fd != nil }

    func other(_ side: SessionSide) -> SessionSide { side === client ? backend : client }

    func send(_ side: SessionSide, count: Int) {
        guard let fd = side.fd, !side.finSent, !side.sawReset else { return }
        let from = PumpRun.start(side.outStream, side.sent)
        let chunk = Array(PumpRun.pattern[from..<from + min(count, 65536)])
        do {
            if case .done(let n) = try fd.send(chunk) { side.sent += n }
        } catch {
            failed(side, "send: \(error)")
        }
    }

    /// One byte sent as TCP urgent data (EPOLLPRI at sluice); it is the stream's next byte.
    func sendUrgent(_ side: SessionSide) {
        guard let fd = side.fd, !side.finSent, !side.sawReset else { return }
        var byte = PumpRun.pattern[PumpRun.start(side.outStream, side.sent)]
        let n = Glibc.send(fd.rawValue, &byte, 1, CInt(MSG_OOB | MSG_NOSIGNAL))
        if n == 1 { side.sent += 1 } else if errno != EAGAIN { failed(side, "urgent send: errno \(errno)") }
    }

    /// Reads once; checks the bytes are this session's next ones from the other side.
    @discardableResult
    func read(_ side: SessionSide, max: Int) -> Bool {
        guard let fd = side.fd, !side.sawEOF, !side.sawReset else { return false }
        let peer = other(side)
        var got: [UInt8] = []
        do {
            switch try fd.receive(appendingTo: &got, max: Swift.min(max, 65536)) {
            case .done:
                let from = PumpRun.start(side.inStream, side.received)
                let same = got.withUnsafeBytes { a in
                    PumpRun.pattern.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress! + from, a.count) == 0 }
                }
                precondition(
                    same,
                    "session \(id): bytes \(side.received)..<\(side.received + got.count) at the \(side === client ? "client" : "backend") are not its peer's next bytes"
                )
                side.received += got.count
                precondition(side.received <= peer.sent, "session \(id): more bytes arrived than were sent")
                return true
            case .eof:
                side.sawEOF = true
                if intact {
                    precondition(
                        peer.finSent && side.received == peer.sent,
                        "session \(id) nobody cut: EOF after \(side.received) of \(peer.sent) bytes (peer FIN: \(peer.finSent))"
                    )
                }
            case .wouldBlock:
                break
            }
        } catch {
            failed(side, "read: \(error)")
        }
        return false
    }

    /// Reads until the socket is empty.
    func drain(_ side: SessionSide) {
        var reads = 0
        while reads < 1024 && read(side, max: 65536) { reads += 1 }
    }

    /// A reset or a graceful close (which resets too when unread bytes remain) from the harness.
    func cut(_ side: SessionSide, reset: Bool) {
        guard let fd = side.fd else { return }
        if reset { Socket.setLingerReset(fd) }
        side.close()
        intact = false
    }

    private func failed(_ side: SessionSide, _ what: String) {
        side.sawReset = true
        precondition(!intact, "session \(id) nobody cut: \(side === client ? "client" : "backend") \(what)")
    }
}
