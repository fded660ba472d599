// A client pushing and/or pulling bulk data on its own threads until the connection ends,
// for the fault-injection scenarios: it records how each direction ended ("eof", "reset",
// "stopped", "hung" after 10 s, or an errno) instead of throwing, so a test can cut the
// connection under it and then check what the client saw. `reset()` stops the threads and
// closes with SO_LINGER 0, which sends an RST.
import Foundation
import Glibc
import Synchronization

final class BulkClient: Sendable {
    let client: TestClient
    private let core = Core()

    /// `write`: send 64 KiB chunks without end; `read`: read and discard everything.
    init(port: UInt16, write: Bool, read: Bool = true) throws {
        client = try TestClient(port: port, timeout: .milliseconds(100))
        let (client, core) = (client, core)
        if write {
            core.running.add(1, ordering: .relaxed)
            Thread { core.finish(writer: true, Self.pump(client.fd, core: core, writing: true)) }.start()
        }
        if read {
            core.running.add(1, ordering: .relaxed)
            Thread { core.finish(writer: false, Self.pump(client.fd, core: core, writing: false)) }.start()
        }
    }

    var sent: Int { core.sent.load(ordering: .relaxed) }
    var received: Int { core.received.load(ordering: .relaxed) }
    /// How the writer and the reader ended (nil: still running, or not started).
    var ends: (writer: String?, reader: String?) { core.ends.withLock { $0 } }

    func waitUntilReceived(_ bytes: Int, timeout: Duration = .seconds(5)) throws {
        try waitUntil("\(bytes) bytes received", timeout: timeout, lastSeen: { "\(self.received) bytes, \(self.ends)" })
        {
            received >= bytes
        }
    }

    /// Waits until every thread ended on its own (the connection ended) and returns how.
    func waitForEnd(timeout: Duration = .seconds(5)) throws -> (writer: String?, reader: String?) {
        try waitUntil("the client's connection to end", timeout: timeout, lastSeen: { "\(self.ends)" }) {
            core.running.load(ordering: .acquiring) == 0
        }
        return ends
    }

    /// Stops both threads (each within about 100 ms); the socket stays open, unread.
    func stopThreads() throws {
        core.stop.store(true, ordering: .releasing)
        try waitUntil("the client's threads to stop", timeout: .seconds(2), lastSeen: { "\(self.ends)" }) {
            core.running.load(ordering: .acquiring) == 0
        }
    }

    /// Stops both threads, then closes with an RST.
    func reset() throws {
        try stopThreads()
        var reset = linger(l_onoff: 1, l_linger: 0)
        setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        client.close()
    }

    private static func pump(_ fd: Int32, core: Core, writing: Bool) -> String {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0x5A)
        let deadline = Deadline(.seconds(10))
        while true {
            if core.stop.load(ordering: .acquiring) { return "stopped" }
            if deadline.expired { return "hung" }
            let n =
                writing
                ? send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                : recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 {
                if writing { core.sent.add(n, ordering: .relaxed) } else { core.received.add(n, ordering: .relaxed) }
                continue
            }
            if n == 0 { return "eof" }
            let code = errno
            switch code {
            case EINTR, EAGAIN: continue  // SO_*TIMEO (100 ms): look at the stop flag
            case ECONNRESET, EPIPE: return "reset"
            default: return "errno \(code)"
            }
        }
    }

    private final class Core: Sendable {
        let sent = Atomic<Int>(0)
        let received = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let running = Atomic<Int>(0)
        let ends = Mutex<(writer: String?, reader: String?)>((nil, nil))

        func finish(writer: Bool, _ end: String) {
            ends.withLock { if writer { $0.writer = end } else { $0.reader = end } }
            running.subtract(1, ordering: .releasing)
        }
    }
}
