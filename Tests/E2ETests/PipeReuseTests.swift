// A worker's pipes are reused across sessions: one that goes back to the pool holding bytes
// would send one client's data to another's server. With one-page pipes (the debug hook
// SLUICE_DEBUG_PIPE_BYTES, as an unprivileged user past pipe-user-pages-* gets) and a backend
// that stops reading, sessions are cut mid-transfer; fresh sessions on the same worker must
// then get exactly their own bytes back.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct PipeReuseTests {
        /// Accepts and never reads, until its peer goes away.
        static func stalledBackend() throws -> TestServer {
            try TestServer(name: "stalled") { fd in
                var p = pollfd(fd: fd, events: 0, revents: 0)
                let deadline = Deadline(.seconds(60))
                while !deadline.expired {
                    if poll(&p, 1, 100) > 0 && p.revents & Int16(POLLHUP | POLLERR) != 0 { return }
                }
            }
        }

        @Test func sessionsCutWithBytesInSmallPipesNeverLeakThemIntoTheNextSession() throws {
            let stalled = try Self.stalledBackend()
            defer { stalled.stop() }
            let echo = try EchoBackend()
            defer { echo.stop() }
            let dir = try TempDirectory(prefix: "sluice-pipes")
            let socket = dir.path("admin.sock")
            let (sinkPort, echoPort) = (try FreePort.tcp(), try FreePort.tcp())
            // One worker: every session shares its pipe pool. pipe-size stays 64k, so the
            // scratch buffer (16 KiB) is larger than the 4 KiB pipes the kernel is made to give.
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 1
                        admin-socket \(socket)
                        log-sessions on
                    pool sink
                        bind 127.0.0.1:\(sinkPort)
                        check none
                        server stalled 127.0.0.1:\(stalled.port)
                    pool echo
                        bind 127.0.0.1:\(echoPort)
                        check none
                        server echo 127.0.0.1:\(echo.port)
                    """, in: dir, launcher: ["/usr/bin/env", "SLUICE_DEBUG_PIPE_BYTES=4096"])
            func metrics() throws -> String {
                try SluiceCommand.run(["-s", socket, "show", "metrics"], binary: "sluicectl").stdout
            }
            // Several cut sessions: each ends in a different state of its last write.
            for round in 0..<4 {
                let client = try TestClient(port: sinkPort, timeout: .milliseconds(500))
                // 15 000-byte messages, each read on its own (shorter than the scratch buffer,
                // so copied), until the stalled server's side is full: the last write into it
                // is partial and up to 15 000 bytes wait in a 4 KiB pipe.
                let message = [UInt8](repeating: UInt8(ascii: "a") + UInt8(round), count: 15_000)
                var sent = 0
                while sent < 4000 {
                    do {
                        try client.send(message)
                    } catch {
                        break  // timed out (everything full), or sluice cut the session
                    }
                    sent += 1
                    Thread.sleep(forTimeInterval: 0.002)  // one message per read
                }
                // The client resets mid-transfer.
                var reset = linger(l_onoff: 1, l_linger: 0)
                setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
                client.close()
                try waitUntil("the cut session to end", lastSeen: { (try? metrics()) ?? "" }) {
                    try metrics().contains(#"sluice_sessions_current{pool="sink"} 0"#)
                }
            }
            // Fresh sessions on the same worker, in bulk (so they borrow pipes): byte-exact.
            let sessions = (0..<4).map { i in
                let bytes = PseudoRandom.bytes(seed: UInt64(1000 + i), count: 1 << 20)
                return EchoSession(expected: bytes, write: { try $0.send(bytes) })
            }
            let (finished, failures) = try EchoSessions.run(port: echoPort, sessions, timeout: 30)
            #expect(failures.isEmpty, "\(failures)\n\(sluice.stderr)")
            #expect(finished, "echo sessions did not finish\n\(sluice.stderr)")
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
