// splice(2) through a pipe between real loopback sockets, and pipe sizing.
import Glibc
import SluiceTestSupport
import Testing
@testable import SluiceSys

@Suite struct SpliceTests {
    @Test func pipeTakesRequestedSize() throws {
        let pipe = try PipePair.make(size: 256 * 1024)
        defer { pipe.close() }
        #expect(pipe.capacity == 256 * 1024)
    }

    @Test func splicesBytesSocketToPipeToSocket() throws {
        let left = try LoopbackPair.make()
        let right = try LoopbackPair.make()
        defer { left.close(); right.close() }
        let pipe = try PipePair.make(size: 65536)
        defer { pipe.close() }
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try writeAll(left.a, payload)
        var moved = 0
        var rounds = 0
        while moved < payload.count && rounds < 10_000 {
            rounds += 1
            if case .done(let n) = try Splice.move(from: left.b, to: pipe.write, max: 65536) {
                var left = n
                while left > 0 {
                    if case .done(let m) = try Splice.move(from: pipe.read, to: right.a, max: left) { left -= m }
                }
                moved += n
            } else {
                usleep(100)
            }
        }
        let (got, _) = try readUpTo(right.b, payload.count)
        #expect(got == payload)
    }

    @Test func emptySocketWouldBlockAndShutdownIsEOF() throws {
        let pair = try LoopbackPair.make()
        defer { pair.close() }
        let pipe = try PipePair.make(size: 65536)
        defer { pipe.close() }
        #expect(try Splice.move(from: pair.b, to: pipe.write, max: 4096) == .wouldBlock)
        Socket.shutdownWrite(pair.a)
        var result = IOResult.wouldBlock
        for _ in 0..<1000 where result == .wouldBlock {
            result = try Splice.move(from: pair.b, to: pipe.write, max: 4096)
            if result == .wouldBlock { usleep(1000) }
        }
        #expect(result == .eof)
    }

    @Test func writeToResetPeerThrows() throws {
        let pair = try LoopbackPair.make()
        Socket.setLingerReset(pair.b)
        pair.b.close()
        defer { pair.a.close() }
        var thrown: Errno?
        let bytes = [UInt8](repeating: 1, count: 16)
        for _ in 0..<1000 where thrown == nil {
            do {
                _ = try bytes.withUnsafeBytes { raw throws(Errno) -> IOResult in try pair.a.write(raw) }
                usleep(1000)
            } catch {
                thrown = error as? Errno
            }
        }
        #expect(thrown == .connectionReset || thrown == .brokenPipe)
    }
}
