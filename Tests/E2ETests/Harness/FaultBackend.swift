// An in-process backend for the fault-injection scenarios: per connection it reads and
// discards (`sink`), sends without end (`source`) or accepts and never reads (`stall`), counts
// the bytes it moved, and on `reset()` closes every connection with SO_LINGER 0 (an RST).
// Records how each connection ended: "eof", "reset", "rst sent", "hang-up" or an errno.
import Glibc
import Synchronization

final class FaultBackend: Sendable {
    enum Mode: Sendable { case sink, source, stall }

    let server: TestServer
    private let state: State

    init(_ mode: Mode, name: String = "fault") throws {
        let state = State()
        self.state = state
        server = try TestServer(name: name) { fd in
            let end = FaultBackend.serve(fd, mode: mode, state: state)
            state.ends.withLock { $0.append(end) }
        }
    }

    var port: UInt16 { server.port }
    /// Bytes read (sink) or sent (source) over every connection so far.
    var moved: Int { state.moved.load(ordering: .relaxed) }
    /// How each finished connection ended, in order.
    var ends: [String] { state.ends.withLock { $0 } }
    var currentConnections: Int { server.currentConnections }
    /// Every open connection closes with an RST within about 50 ms.
    func reset() { state.resetRequested.store(true, ordering: .releasing) }
    func stop() { server.stop() }

    private static func serve(_ fd: Int32, mode: Mode, state: State) -> String {
        SocketIO.setTimeouts(fd, .milliseconds(50))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i &* 7) }
        while true {
            if state.resetRequested.load(ordering: .acquiring) {
                var reset = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
                return "rst sent"  // TestServer closes the fd
            }
            let n: Int
            switch mode {
            case .sink: n = recv(fd, buffer.baseAddress, buffer.count, 0)
            case .source: n = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            case .stall:
                var p = pollfd(fd: fd, events: 0, revents: 0)
                if poll(&p, 1, 50) > 0 && p.revents & Int16(POLLHUP | POLLERR) != 0 { return "hang-up" }
                continue
            }
            if n > 0 {
                state.moved.add(n, ordering: .relaxed)
                continue
            }
            if n == 0 { return "eof" }
            let code = errno
            switch code {
            case EINTR, EAGAIN: continue
            case ECONNRESET, EPIPE: return "reset"
            default: return "errno \(code)"
            }
        }
    }

    private final class State: Sendable {
        let moved = Atomic<Int>(0)
        let resetRequested = Atomic<Bool>(false)
        let ends = Mutex<[String]>([])
    }
}
