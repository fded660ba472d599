// One direction of a session over real loopback sockets: bytes arrive exactly, pipes go
// back to the pool once drained, FIN becomes shutdown after the last byte, and a full
// destination never stalls the pump once it drains, and with pipes smaller than the scratch
// buffer no pipe goes back to the pool holding bytes.
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
        var pipes: PipePool
        /// As the worker's: 16 KiB even when the kernel grants smaller pipes than `pipe-size`.
        let scratch = IOBuffer(count: 16384)
        var readable = true
        var hungUp = false
        var writable = true

        /// `pipeSize`: what the pool's pipes get, as a kernel that grants less than asked.
        init(pipeSize: Int = 65536) throws {
            let client = try LoopbackPair.make()
            let server = try LoopbackPair.make()
            self.init(client: client, server: server, pipeSize: pipeSize)
        }

        init(client: LoopbackPair, server: LoopbackPair, pipeSize: Int = 65536) {
            self.client = client
            self.server = server
            self.pipes = PipePool(size: pipeSize)
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

    /// Also with one-page pipes, four times smaller than the scratch buffer: a remainder the
    /// destination refused must fit one empty pipe, or the session would die.
    @Test(arguments: [65536, 4096])
    func fullDestinationResumesAfterDrain(pipeSize: Int) throws {
        var rig = try Rig(pipeSize: pipeSize)
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
                    try rig.client.a.write(
                        UnsafeRawBufferPointer(rebasing: $0[sent..<min(sent + 65536, payload.count)]))
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

    /// The session ends (an error, a reset) while the destination is full and bytes wait in a
    /// one-page pipe: that pipe must be closed, and the pool must only ever hold empty pipes,
    /// or the next session on this worker would send these bytes to its own server.
    @Test func aSessionCutWithBytesInASmallPipeNeverReturnsThemToThePool() throws {
        var rig = try Rig(pipeSize: 4096)
        defer { rig.close() }
        // Fill the destination (nobody reads server.b) until the kernel refuses more.
        let filler = [UInt8](repeating: 0x46, count: 65536)
        fill: while true {
            switch try filler.withUnsafeBytes({ try rig.server.a.write($0) }) {
            case .done: continue
            case .wouldBlock, .eof: break fill
            }
        }
        // A 16 KiB burst, as a client's bulk write: read in one go it is larger than the pipe.
        try writeAll(rig.client.a, [UInt8](repeating: 0x41, count: 16384))
        var cut: (any Error)? = nil
        do {
            for _ in 0..<2000 where rig.pump.inPipe == 0 {
                rig.readable = true
                rig.writable = true
                _ = try rig.run()
                if rig.pump.inPipe == 0 { usleep(500) }
            }
        } catch {
            cut = error  // old code: a partial write into the pipe threw here
        }
        #expect(cut == nil, "a full destination with small pipes ended the session: \(cut.map { "\($0)" } ?? "")")
        #expect(rig.pump.inPipe > 0, "the remainder waits in a pipe")
        // The session ends now, as on a client reset.
        rig.pump.release(&rig.pipes)
        var taken: [PipePair] = []
        defer { for p in taken { p.close() } }
        for _ in 0..<4 {
            let p = try rig.pipes.take()
            taken.append(p)
            #expect(p.buffered == 0, "the pool handed out a pipe holding \(p.buffered ?? -1) bytes")
        }
    }

    /// A reset from src while the pipe is full (dst stalled) ends the direction with the
    /// error: the splice only says EAGAIN, and the session would otherwise outlive its client.
    @Test func aResetWhileThePipeIsFullEndsTheDirection() throws {
        var rig = try Rig(pipeSize: 4096)
        defer { rig.server.close() }
        let filler = [UInt8](repeating: 0x46, count: 65536)
        fill: while true {
            switch try filler.withUnsafeBytes({ try rig.server.a.write($0) }) {
            case .done: continue
            case .wouldBlock, .eof: break fill
            }
        }
        try writeAll(rig.client.a, [UInt8](repeating: 0x42, count: 64 << 10))
        for _ in 0..<2000 where rig.pump.inPipe < 4096 {
            rig.readable = true
            _ = try rig.run()
            if rig.pump.inPipe < 4096 { usleep(500) }
        }
        #expect(rig.pump.inPipe == 4096, "the pipe filled up")
        var reset = linger(l_onoff: 1, l_linger: 0)
        setsockopt(rig.client.a.rawValue, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        rig.client.a.close()
        var thrown: (any Error)? = nil
        for _ in 0..<2000 where thrown == nil {
            rig.readable = true
            rig.hungUp = true
            do { _ = try rig.run() } catch { thrown = error }
            if thrown == nil { usleep(500) }
        }
        #expect((thrown as? Errno) == .connectionReset, "\(thrown.map { "\($0)" } ?? "nothing thrown")")
        rig.pump.release(&rig.pipes)
        #expect(rig.pipes.discarded == 1, "the pipe with 4096 bytes was closed, not pooled")
        rig.client.b.close()
    }

    /// Copy reads never exceed the smallest pipe the pool has made, so a remainder fits.
    @Test func copyReadsFitTheSmallestPipe() throws {
        var pool = PipePool(size: 4096)
        #expect(pool.smallestCapacity <= 4096, "before any pipe: at most a page")
        let pipe = try pool.take()
        defer { pipe.close() }
        #expect(pool.smallestCapacity == pipe.capacity)
    }

    /// The pool's own guard, whatever a caller believes: a non-zero count, or bytes FIONREAD
    /// sees at a session's end, close the pipe instead of pooling it.
    @Test func thePoolRefusesPipesThatHoldBytes() throws {
        var pool = PipePool(size: 65536)
        let dirty = try pool.take()
        let five: [UInt8] = [1, 2, 3, 4, 5]
        #expect(try five.withUnsafeBytes { try dirty.write.write($0) } == .done(5))
        #expect(dirty.buffered == 5)
        pool.recycle(dirty, holding: 0)  // a count that missed bytes
        #expect(pool.discarded == 1)
        let counted = try pool.take()
        #expect(counted.buffered == 0)
        pool.giveBack(counted, holding: 3)
        #expect(pool.discarded == 2)
        let clean = try pool.take()
        #expect(clean.buffered == 0)
        pool.recycle(clean, holding: 0)
        #expect(pool.discarded == 2)
        #expect(pool.created == 3)
        pool.closeAll()
    }
}
