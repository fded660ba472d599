// Fault injection against the real binary, cutting the data path mid-transfer: a server
// SIGKILLed (a python3 child) in each direction, a server that accepts and never reads, and
// RSTs from either side while a bulk transfer is spliced. After each one (`FaultRig`): no
// session left in `show sessions`, sluice's fds back to their baseline, and the next session
// byte-exact. Timeouts (black hole, vanished clients) are in FaultInjectionTests+Timeouts.
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct FaultInjectionTests {
        /// A pool `fault` on `port` in front of `server`, with `extra` pool lines.
        static func faultPool(port: UInt16, _ servers: String, _ extra: String = "") -> String {
            """
            pool fault
                bind 127.0.0.1:\(port)
                check none
                retries 0
            \(extra)
            \(servers)
            """
        }

        /// 1. The server process dies (SIGKILL) while bytes flow: `sink` while the client
        /// uploads, `source` while it downloads. The client sees its session end, never hangs.
        @Test(arguments: [KillableBackend.Mode.sink, .source])
        func serverKilledMidTransfer(_ mode: KillableBackend.Mode) throws {
            let dir = try TempDirectory(prefix: "sluice-killed")
            let backend = try KillableBackend(mode, in: dir)
            defer { backend.kill() }
            let port = try FreePort.tcp()
            let rig = try FaultRig(pools: Self.faultPool(port: port, "    server doomed 127.0.0.1:\(backend.port)"))
            let upload = mode == .sink
            let client = try BulkClient(port: port, write: upload)
            try rig.sluice.explaining {
                try backend.waitUntilMidTransfer()
                backend.kill()
                let ends = try client.waitForEnd()
                // Downloading, the killed server's FIN may come after its last bytes: an EOF is
                // then the truth. Uploading, the server is gone: the writes must fail.
                #expect(ends.reader == "eof" || ends.reader == "reset", "\(ends)")
                if upload { #expect(ends.writer == "reset", "\(ends)") }
            }
            client.client.close()
            try rig.expectRecovered("a server killed mid-\(upload ? "upload" : "download")")
            #expect(try rig.finish() == .exited(0))
        }

        /// 2. A server that accepts and never reads: the client's sends block once the kernel
        /// buffers and one pipe are full; sluice's memory does not grow with what is pushed.
        /// Then one side resets: the server (the easy way: the pipe towards the client is
        /// empty), or the client while the pipe towards the server is full, where the reset
        /// shows only as a hang-up next to a splice that says EAGAIN.
        @Test(arguments: ["server", "client"])
        func serverThatNeverReadsBackPressuresTheClient(resetBy: String) throws {
            let stalled = try FaultBackend(.stall)
            defer { stalled.stop() }
            let port = try FreePort.tcp()
            let rig = try FaultRig(pools: Self.faultPool(port: port, "    server stalled 127.0.0.1:\(stalled.port)"))
            let rssBefore = try rig.rssKiB()
            let client = try TestClient(port: port, timeout: .milliseconds(300))
            // Try to push 256 MiB: a send that moves nothing for 300 ms (SO_SNDTIMEO) is blocked.
            let chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
            var pushed = 0
            var stop = ""
            chunk.withUnsafeBytes { buffer in
                while pushed < 256 << 20 {
                    let n = send(client.fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                    if n > 0 {
                        pushed += n
                        continue
                    }
                    let code = errno
                    if n < 0 && code == EINTR { continue }
                    stop = n < 0 && code == EAGAIN ? "blocked" : "errno \(code)"
                    break
                }
            }
            let rssBlocked = try rig.rssKiB()
            #expect(stop == "blocked", "pushed \(pushed >> 20) MiB without blocking (\(stop))\n\(rig.sluice.stderr)")
            // What the kernel buffers on the way: the client's send buffer (4 MiB here), sluice's
            // receive buffer (it stops reading once its pipe is full), one pipe, sluice's send
            // buffer and the server's receive buffer, which never grows since it never reads.
            #expect(pushed < 128 << 20, "pushed \(pushed >> 20) MiB into a server that never reads")
            #expect(rssBlocked - rssBefore < 32 << 10, "sluice's RSS grew from \(rssBefore) KiB to \(rssBlocked) KiB")
            try rig.sluice.explaining {
                if resetBy == "server" {
                    // The client is reset, never left hanging.
                    stalled.reset()
                    client.setTimeout(.seconds(3))
                    let end = try Self.drainToEnd(client)
                    #expect(end == .reset, "the client saw \(end) after pushing \(pushed) bytes")
                } else {
                    var reset = linger(l_onoff: 1, l_linger: 0)
                    setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
                    client.close()
                    try waitUntil("the stalled server's connection to end", lastSeen: { "\(stalled.ends)" }) {
                        stalled.ends.count == 1
                    }
                    #expect(stalled.ends == ["hang-up"], "the stalled server saw \(stalled.ends)")
                }
            }
            client.close()
            try rig.expectRecovered("a server that never reads, reset by the \(resetBy)")
            #expect(try rig.finish() == .exited(0))
        }

        /// Reads and discards until EOF or reset (throws on timeout).
        static func drainToEnd(_ client: TestClient) throws -> ReceiveResult {
            while true {
                let r = try client.receive()
                if case .bytes = r { continue }
                return r
            }
        }

        enum Cut: String, CaseIterable, Sendable {
            case clientResetsUpload, clientResetsDownload, serverResetsUpload, serverResetsDownload
            var upload: Bool { self == .clientResetsUpload || self == .serverResetsUpload }
            var byClient: Bool { self == .clientResetsUpload || self == .clientResetsDownload }
        }

        /// 3. An RST (SO_LINGER 0 close) from the client or the server while a bulk transfer
        /// runs spliced (reads fill the scratch buffer) in either direction: the other side is
        /// reset too, since an EOF would pass the cut stream off as complete.
        @Test(arguments: Cut.allCases)
        func resetMidSplice(_ cut: Cut) throws {
            let backend = try FaultBackend(cut.upload ? .sink : .source)
            defer { backend.stop() }
            let port = try FreePort.tcp()
            let rig = try FaultRig(pools: Self.faultPool(port: port, "    server bulk 127.0.0.1:\(backend.port)"))
            let client = try BulkClient(port: port, write: cut.upload)
            try rig.sluice.explaining {
                try waitUntil(
                    "4 MiB through sluice", lastSeen: { "server \(backend.moved), client \(client.received)" }
                ) {
                    (cut.upload ? backend.moved : client.received) >= 4 << 20
                }
                if cut.byClient {
                    try client.reset()
                    try waitUntil("the server's connection to end", lastSeen: { "\(backend.ends)" }) {
                        backend.ends.count == 1
                    }
                    #expect(backend.ends == ["reset"], "the server saw \(backend.ends) after the client's RST")
                } else {
                    backend.reset()
                    let ends = try client.waitForEnd()
                    // Uploading, the writer or the reader meets the reset first; the other then
                    // sees a dead socket (EPIPE, or 0 from recv).
                    if cut.upload {
                        #expect(ends.writer == "reset" && (ends.reader == "reset" || ends.reader == "eof"), "\(ends)")
                    } else {
                        #expect(ends.reader == "reset", "the client saw \(ends) after the server's RST")
                    }
                    client.client.close()
                }
            }
            try rig.expectRecovered("\(cut)")
            #expect(try rig.finish() == .exited(0))
        }
    }
}
