// An echo session that streams until told to stop, for traffic that must outlast a scenario
// of unknown length: a writer thread sends a pseudo-random stream in 64 KiB pieces (paced,
// so the traffic leaves the scenario some CPU), a reader regenerates the stream and compares
// every byte that comes back. `finish` half-closes and waits for the echo of the last byte,
// then EOF.
import Foundation
import Glibc
import Synchronization
import SluiceTestSupport

final class StreamingEcho: Sendable {
    let client: TestClient
    private let core = Core()
    private let group = ThreadGroup()
    let failures = Failures()

    private final class Core: Sendable {
        let stopping = Atomic<Bool>(false)
        let sent = Atomic<Int>(0)
        let received = Atomic<Int>(0)
    }

    /// `pause`: the writer sleeps this long after each piece.
    init(port: UInt16, seed: UInt64, pause: Duration = .milliseconds(5)) throws {
        let client = try TestClient(port: port, timeout: .seconds(30))
        self.client = client
        let core = core
        group.spawn("stream-writer-\(seed)", failures: failures) {
            var generator = PseudoRandom(seed: seed)
            let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
            defer { piece.deallocate() }
            while !core.stopping.load(ordering: .acquiring) {
                generator.fill(piece)
                try client.send(UnsafeRawBufferPointer(piece))
                core.sent.add(piece.count, ordering: .relaxed)
                Thread.sleep(forTimeInterval: pause.seconds)
            }
            client.shutdownWrite()
        }
        group.spawn("stream-reader-\(seed)", failures: failures) {
            var generator = PseudoRandom(seed: seed)
            let expected = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
            defer {
                expected.deallocate()
                buffer.deallocate()
            }
            // The stream in 64 KiB pieces, as written; `used` bytes of the current one compared.
            var used = expected.count
            var offset = 0
            while true {
                let n = try client.receive(into: buffer)
                if n == 0 { break }
                var done = 0
                while done < n {
                    if used == expected.count {
                        generator.fill(expected)
                        used = 0
                    }
                    let count = min(n - done, expected.count - used)
                    guard memcmp(buffer.baseAddress! + done, expected.baseAddress! + used, count) == 0 else {
                        throw HarnessError(
                            "stream \(seed): the echo differs within bytes \(offset)..<\(offset + count)")
                    }
                    used += count
                    done += count
                    offset += count
                }
                core.received.add(n, ordering: .relaxed)
            }
        }
    }

    var sent: Int { core.sent.load(ordering: .relaxed) }
    var received: Int { core.received.load(ordering: .relaxed) }

    /// Stops writing, half-closes, and waits for the echo of everything, then EOF.
    func finish() throws {
        core.stopping.store(true, ordering: .releasing)
        try group.join("stream to finish", timeout: .seconds(30))
        guard failures.isEmpty else { throw HarnessError("\(failures)") }
        guard received == sent else { throw HarnessError("stream: \(received) bytes echoed of \(sent) sent") }
        client.close()
    }
}
