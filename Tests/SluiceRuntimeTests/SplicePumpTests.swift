// One direction of a session over real loopback sockets: bytes arrive exactly, pipes go
// back to the pool once drained, FIN becomes shutdown after the last byte, and a full
// destination never stalls the pump once it drains.
import Glibc
import SluiceSys
import SluiceTestSupport
import Testing
@testable import SluiceRuntime

@Suite struct SplicePumpTests {
    /// client.a -> [client.b  =pump=>  server.a] -> server.b
    struct Rig {
        let client: LoopbackPair
        let server: LoopbackPair
        var pump = SplicePump()
        var pipes = PipePool(size: 65536)
        var readable = true
        var writable = true

        init() throws {
            client = try LoopbackPair.make()
            server = try LoopbackPair.make()
        }

        mutating func run() throws -> Bool {
            try pump.run(src: client.b, dst: server.a, srcReadable: &readable, dstWritable: &writable, pipes: &pipes)
        }

        func close() {
            client.close()
            server.close()
        }
    }

    @Test func movesBytesAndReturnsPipeWhenDrained() throws {
        var rig = try Rig()
        defer { rig.close() }
        let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try writeAll(rig.client.a, payload)
        var total = 0
        for _ in 0..<1000 where total < payload.count {
            rig.readable = true
            _ = try rig.run()
            total = Int(rig.pump.bytes)
            if total < payload.count { usleep(500) }
        }
        #expect(rig.pump.pipe == nil, "an idle direction holds no pipe")
        #expect(rig.pump.inPipe == 0)
        #expect(rig.readable == false, "EAGAIN with an empty pipe clears readability")
        let (got, _) = try readUpTo(rig.server.b, payload.count)
        #expect(got == payload)
    }

    @Test func finBecomesShutdownAfterLastByte() throws {
        var rig = try Rig()
        defer { rig.close() }
        let payload = [UInt8](repeating: 9, count: 3000)
        try writeAll(rig.client.a, payload)
        Socket.shutdownWrite(rig.client.a)
        for _ in 0..<1000 where !rig.pump.done {
            rig.readable = true
            _ = try rig.run()
            if !rig.pump.done { usleep(500) }
        }
        #expect(rig.pump.done)
        let (got, eof) = try readUpTo(rig.server.b, payload.count + 1)
        #expect(got == payload)
        #expect(eof)
    }

    @Test func fullDestinationResumesAfterDrain() throws {
        var rig = try Rig()
        defer { rig.close() }
        // More than socket buffers and the pipe hold, so the pump must stop and resume.
        let payload = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 ^ ($0 >> 9)) }
        var sent = 0
        var received: [UInt8] = []
        received.reserveCapacity(payload.count)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var rounds = 0
        while received.count < payload.count && rounds < 200_000 {
            rounds += 1
            if sent < payload.count {
                let r = try payload.withUnsafeBytes {
                    try rig.client.a.write(UnsafeRawBufferPointer(rebasing: $0[sent..<min(sent + 65536, payload.count)]))
                }
                if case .done(let n) = r { sent += n }
            }
            // Edge flags as epoll would set them: both sides get events as they happen.
            rig.readable = true
            rig.writable = true
            _ = try rig.run()
            if rounds % 3 == 0 {
                let r = try buffer.withUnsafeMutableBytes { try rig.server.b.read(into: $0) }
                if case .done(let n) = r { received += buffer[0..<n] }
            }
        }
        #expect(received.count == payload.count)
        #expect(received == payload)
    }
}
