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
    struct Rig: ~Copyable {
        let client: LoopbackPair
        let server: LoopbackPair
        var pump = SplicePump()
        var pipes = PipePool(size: 65536)
        let scratch = IOBuffer(count: 16384)
        var readable = true
        var hungUp = false
        var writable = true

        init() throws {
            let client = try LoopbackPair.make()
            let server = try LoopbackPair.make()
            self.init(client: client, server: server)
        }

        init(client: LoopbackPair, server: LoopbackPair) {
            self.client = client
            self.server = server
        }

        mutating func run() throws -> Bool {
            try pump.run(
                src: client.b, dst: server.a, srcReadable: &readable, srcHungUp: hungUp, dstWritable: &writable,
                pipes: &pipes, scratch: scratch)
        }

        /// Runs the pump as epoll would after the client's FIN (IN with RDHUP) until it is done.
        mutating func runToFIN() throws {
            for _ in 0..<1000 where !pump.done {
                readable = true
                hungUp = true
                _ = try run()
                if !pump.done { usleep(500) }
            }
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
        #expect(rig.readable == false, "a drained socket clears readability")
        let (got, _) = try readUpTo(rig.server.b, payload.count)
        #expect(got == payload)
    }

    @Test func finBecomesShutdownAfterLastByte() throws {
        var rig = try Rig()
        defer { rig.close() }
        let payload = [UInt8](repeating: 9, count: 3000)
        try writeAll(rig.client.a, payload)
        Socket.shutdownWrite(rig.client.a)
        try rig.runToFIN()
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
        var spliced = false
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
            spliced = spliced || rig.pump.splicing
            if rounds % 3 == 0 {
                let r = try buffer.withUnsafeMutableBytes { try rig.server.b.read(into: $0) }
                if case .done(let n) = r { received += buffer[0..<n] }
            }
        }
        #expect(received.count == payload.count)
        #expect(received == payload)
        #expect(spliced, "a bulk transfer switches to splice")
    }

    @Test func smallMessagesAreCopiedWithoutAPipe() throws {
        var rig = try Rig()
        defer { rig.close() }
        for round in 0..<50 {
            let message = Array("GET key:\(round)\r\n".utf8)
            try writeAll(rig.client.a, message)
            var got: [UInt8] = []
            for _ in 0..<1000 where got.count < message.count {
                rig.readable = true
                _ = try rig.run()
                got += try readUpTo(rig.server.b, message.count - got.count).bytes
            }
            #expect(got == message)
        }
        #expect(!rig.pump.splicing)
        #expect(rig.pipes.created == 0, "small request/response traffic never needs a pipe")
    }

    /// An urgent byte (sockets are SO_OOBINLINE) makes a read stop short at its mark and
    /// splice(2) stop there for good, reporting EOF once the FIN is in. Whether or not EPOLLPRI
    /// was seen before the pump ran, and in copy or splice mode, every byte arrives in order,
    /// then the FIN.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func urgentByteIsForwardedInPlace(splicing: Bool, sawPriority: Bool) throws {
        var rig = try Rig()
        defer { rig.close() }
        try Socket.setSessionOptions(rig.client.b)
        rig.pump.splicing = splicing
        rig.pump.urgent = sawPriority
        try writeAll(rig.client.a, Array("abc".utf8))
        var x = UInt8(ascii: "X")
        #expect(Glibc.send(rig.client.a.rawValue, &x, 1, Int32(MSG_OOB)) == 1)
        try writeAll(rig.client.a, Array("def".utf8))
        Socket.shutdownWrite(rig.client.a)
        // Everything is queued before the pump's first read: the FIN comes after the bytes.
        // POLLRDHUP (not exported by the Glibc module) has EPOLLRDHUP's value.
        var fin = pollfd(fd: rig.client.b.rawValue, events: Int16(EpollEvents.readHangup.rawValue), revents: 0)
        #expect(poll(&fin, 1, 5000) == 1)
        try rig.runToFIN()
        #expect(rig.pump.done)
        let (got, eof) = try readUpTo(rig.server.b, 8)
        #expect(got == Array("abcXdef".utf8))
        #expect(eof)
    }
}
