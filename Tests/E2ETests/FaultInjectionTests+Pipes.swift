// The machine out of pipes: the kernel's per-user pipe budget (fs.pipe-user-pages-hard, which
// root ignores, so sluice runs as nobody) set so that the pipes two stalled uploads hold are
// all sluice's user may have. A session that then needs a pipe of its own is cut (reset, the
// reason logged), the others go on, sluice lives, and once pipes can be had again everything
// recovers: no session left, fds at the baseline, a byte-exact session.
import Foundation
import Glibc
import SluiceTestSupport
import Testing

extension E2E.FaultInjectionTests {
    static let pipePagesHard = "/proc/sys/fs/pipe-user-pages-hard"

    /// Pushes until a send blocks (the stalled server and sluice's pipe are full) or fails;
    /// returns the bytes sent and the errno that stopped it (EAGAIN: blocked).
    static func push(_ client: TestClient) -> (pushed: Int, stop: Int32) {
        let chunk = [UInt8](repeating: 0x5A, count: 1 << 20)
        var pushed = 0
        var stop: Int32 = 0
        chunk.withUnsafeBytes { buffer in
            while pushed < 64 << 20 {
                let n = send(client.fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                if n > 0 {
                    pushed += n
                } else if !(n < 0 && errno == EINTR) {
                    stop = n < 0 ? errno : 0
                    break
                }
            }
        }
        return (pushed, stop)
    }

    /// 8. Out of pipes.
    @Test(.enabled(if: getuid() == 0 && access(pipePagesHard, W_OK) == 0, "writes fs.pipe-user-pages-hard"))
    func runningOutOfPipesCutsOnlyTheSessionThatNeedsOne() throws {
        let stalled = try FaultBackend(.stall)
        defer { stalled.stop() }
        let port = try FreePort.tcp()
        let rig = try FaultRig(
            pools: Self.faultPool(port: port, "    server stalled 127.0.0.1:\(stalled.port)"),
            global: "    user nobody\n    group nogroup\n    pipe-size 64k")
        let saved = try String(contentsOfFile: Self.pipePagesHard, encoding: .utf8)
        defer { try? saved.write(toFile: Self.pipePagesHard, atomically: false, encoding: .utf8) }

        // Two uploads to a server that never reads: each parks bytes in a 16-page pipe.
        var held: [TestClient] = []
        for _ in 0..<2 {
            let client = try TestClient(port: port, timeout: .milliseconds(300))
            let (pushed, stop) = Self.push(client)
            #expect(pushed > 0 && stop == EAGAIN, "pushed \(pushed), stopped by errno \(stop)")
            held.append(client)
        }
        // No more pipe pages for nobody than those two pipes hold.
        try "32\n".write(toFile: Self.pipePagesHard, atomically: false, encoding: .utf8)
        let starved = try TestClient(port: port, timeout: .milliseconds(300))
        // It is reset: at a send (the cut comes at its first bulk read), or at the next read.
        let (_, stop) = Self.push(starved)
        var end = ReceiveResult.reset
        if stop != ECONNRESET && stop != EPIPE {
            starved.setTimeout(.seconds(5))
            end = try starved.receive()
        }
        starved.close()
        try rig.sluice.waitForLog("session closed", count: 1)
        let closed = rig.sluice.logLines(containing: "session closed")
        #expect(end == .reset, "a cut upload must not look complete: \(end); \(closed)")
        #expect(closed.count == 1 && closed[0].contains("Too many open files in system"), "\(closed)")
        #expect(rig.sluice.isRunning)

        // The held sessions were not touched; pipes again, and they end with the server's RST.
        try saved.write(toFile: Self.pipePagesHard, atomically: false, encoding: .utf8)
        // The cut session's server side was reset too; the held ones are still there.
        try waitUntil("the cut session's server connection to go", lastSeen: { "\(stalled.currentConnections)" }) {
            stalled.currentConnections == 2
        }
        stalled.reset()
        for client in held {
            let after = try? client.receive()
            #expect(after == .reset || after == .eof || after == nil, "\(String(describing: after))")
            client.close()
        }
        try rig.expectRecovered("running out of pipes")
        #expect(try rig.finish() == .exited(0))
    }
}
