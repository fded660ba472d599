// Fault injection where only a timeout can help: a black-holed server (its SYNs dropped, on
// 127.0.0.1) under `timeout connect`, and clients that vanish without a FIN under
// `timeout idle`. Each ends with the same checks as the other faults (`FaultRig`).
import Foundation
import Glibc
import Testing
import SluiceTestSupport

extension E2E.FaultInjectionTests {
    /// 4. A server whose connects are never answered: with `timeout connect 300ms` a client
    /// of a pool with nothing else is refused, and one with another server fails over, both
    /// within the deadline.
    @Test func blackHoledServerIsGivenUpAfterTimeoutConnect() throws {
        let hole = try BlackholeBackend()
        defer { hole.stop() }
        let backup = try EchoBackend(name: "backup")
        defer { backup.stop() }
        let (alonePort, failoverPort) = (try FreePort.tcp(), try FreePort.tcp())
        let rig = try FaultRig(
            pools: """
                pool alone
                    bind 127.0.0.1:\(alonePort)
                    timeout connect 300ms
                    retries 0
                    check none
                    server hole 127.0.0.1:\(hole.port)
                pool failover
                    bind 127.0.0.1:\(failoverPort)
                    balance roundrobin
                    timeout connect 300ms
                    retries 1
                    check none
                    server hole 127.0.0.1:\(hole.port)
                    server backup 127.0.0.1:\(backup.port)
                """)
        try rig.sluice.explaining {
            let started = ContinuousClock.now
            try TestClient.expectRejected(port: alonePort)
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(250) && waited < .seconds(2), "refused after \(waited)")
            // Round robin sends one of two clients to the hole first: both are served.
            for i in 0..<2 {
                let started = ContinuousClock.now
                let bytes = PseudoRandom.bytes(seed: 500 + UInt64(i), count: 256 << 10)
                let (finished, failures) = try EchoSessions.run(
                    port: failoverPort, [EchoSession(expected: bytes, write: { try $0.send(bytes) })], timeout: 5)
                #expect(finished && failures.isEmpty, "\(failures)")
                #expect(ContinuousClock.now - started < .seconds(2))
            }
            try rig.sluice.waitForLog("Connection timed out", count: 2)
        }
        try rig.expectRecovered("a black-holed server")
        #expect(try rig.finish() == .exited(0))
    }

    enum Vanish: String, CaseIterable, Sendable {
        /// Keeps its socket open and sends nothing more (a host gone without a FIN).
        case goesSilent
        /// Stops reading while the server keeps sending: sluice is left holding full buffers.
        case stopsReading
        /// Goes silent mid-upload to a server that does not read: its bytes sit in sluice's
        /// pipe, which must then be closed, not pooled for the next session.
        case vanishesMidUpload
        /// Resets (SO_LINGER 0) an idle session: freed at once, without waiting for the timeout.
        case resetsWhileIdle
    }

    /// 5. A client that vanishes: `timeout idle` frees a session whose client went silent,
    /// even with a server still pushing into it; an RST frees it at once.
    @Test(arguments: Vanish.allCases)
    func vanishedClientIsFreed(_ how: Vanish) throws {
        let echo = try EchoBackend(name: "peer")
        defer { echo.stop() }
        let source = try FaultBackend(.source)
        defer { source.stop() }
        let port = try FreePort.tcp()
        let stalled = try FaultBackend(.stall)
        defer { stalled.stop() }
        let server = how == .stopsReading ? source.port : how == .vanishesMidUpload ? stalled.port : echo.port
        let idle = how == .resetsWhileIdle ? "10s" : "300ms"
        let rig = try FaultRig(
            pools: Self.faultPool(port: port, "    server s 127.0.0.1:\(server)", "    timeout idle \(idle)"))
        try rig.sluice.explaining {
            switch how {
            case .goesSilent, .resetsWhileIdle:
                let client = try TestClient(port: port, timeout: .seconds(3))
                defer { client.close() }
                try client.send("hello\n")
                #expect(try client.readLine() == "hello")
                let since = ContinuousClock.now
                if how == .resetsWhileIdle {
                    var reset = linger(l_onoff: 1, l_linger: 0)
                    setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
                    client.close()
                    try rig.waitForNoSession("a client's RST", timeout: .seconds(2))
                } else {
                    try rig.waitForNoSession("a silent client", timeout: .seconds(3))
                    #expect(ContinuousClock.now - since >= .milliseconds(250), "freed before timeout idle 300ms")
                    let end = try client.receive()
                    #expect(end == .eof || end == .reset, "\(end)")
                }
                try waitUntil("the server's connection to end", lastSeen: { "\(echo.currentConnections) open" }) {
                    echo.currentConnections == 0
                }
            case .stopsReading:
                let client = try BulkClient(port: port, write: false)
                defer { client.client.close() }
                try client.waitUntilReceived(1 << 20)
                try client.stopThreads()
                // The client is still there, unread bytes pile up, then nothing moves for 300 ms.
                try rig.waitForNoSession("a client that stopped reading", timeout: .seconds(5))
                try waitUntil("the server's connection to end", lastSeen: { "\(source.ends)" }) {
                    source.ends.count == 1
                }
                #expect(source.ends == ["reset"], "the server saw \(source.ends)")
                // Should the client read again, it must learn its download was cut: a reset,
                // not the bytes sluice had queued followed by a clean EOF.
                client.client.setTimeout(.seconds(3))
                let end = try Self.drainToEnd(client.client)
                #expect(end == .reset, "the client saw \(end) after its session was cut by timeout idle")
            case .vanishesMidUpload:
                let client = try BulkClient(port: port, write: true, read: false)
                defer { client.client.close() }
                try waitUntil("1 MiB sent", lastSeen: { "\(client.sent) bytes, \(client.ends)" }) {
                    client.sent >= 1 << 20
                }
                try client.stopThreads()
                try rig.waitForNoSession("a client gone silent mid-upload", timeout: .seconds(5))
                try waitUntil("the server's connection to end", lastSeen: { "\(stalled.ends)" }) {
                    stalled.ends.count == 1
                }
                #expect(stalled.ends == ["hang-up"], "the server saw \(stalled.ends)")
            }
        }
        try rig.expectRecovered("a client that vanished (\(how))")
        #expect(try rig.finish() == .exited(0))
    }
}
