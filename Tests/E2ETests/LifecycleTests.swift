// Process lifecycle: SIGTERM/SIGINT close listeners at once, let sessions finish within
// `timeout shutdown`, cut the rest, and exit 0.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct LifecycleTests {
        /// Waits until connecting to `port` is refused, i.e. the listener is closed.
        private static func waitForRefusal(port: UInt16, sluice: SluiceProcess, timeout: Duration = .seconds(2)) throws
        {
            var last = "no attempt yet"
            try waitUntil(
                "the listener on \(port) to refuse connections", timeout: timeout,
                lastSeen: { "\(last)\n\(sluice.stderr)" }
            ) {
                do {
                    let probe = try TestClient(port: port, timeout: .seconds(1))
                    probe.close()
                    last = "connect succeeded"
                    return false
                } catch let error as SocketError where error.code == ECONNREFUSED {
                    return true
                }
            }
        }

        @Test func sigtermClosesListenerAndLetsSessionsFinish() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global(workers: 2, "timeout shutdown 10s") + """
                    pool graceful
                        bind 127.0.0.1:\(port)
                        check none
                        server e1 127.0.0.1:\(echo.port)
                    """)
            let session = try TestClient(port: port)
            try sluice.explaining {
                try session.send("before\n")
                #expect(try session.readLine() == "before")
            }

            sluice.signal(SIGTERM)
            try Self.waitForRefusal(port: port, sluice: sluice)
            try sluice.explaining {
                try session.send("after\n")
                #expect(try session.readLine() == "after", "the open session must keep working during shutdown")
            }
            #expect(sluice.isRunning, "sluice must wait for the open session")

            session.close()
            #expect(try sluice.waitForExit(timeout: .seconds(5)) == .exited(0), "\(sluice.stderr)")
        }

        @Test func shutdownTimeoutCutsLingeringSessions() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global(workers: 2, "timeout shutdown 500ms") + """
                    pool lingering
                        bind 127.0.0.1:\(port)
                        check none
                        server e1 127.0.0.1:\(echo.port)
                    """)
            let session = try TestClient(port: port)
            try session.send("hello\n")
            #expect(try session.readLine() == "hello")

            let signalled = ContinuousClock.now
            sluice.signal(SIGTERM)
            try session.send("still\n")
            #expect(try session.readLine() == "still")
            try session.expectClosedWithoutData()
            #expect(ContinuousClock.now - signalled >= .milliseconds(400), "cut before timeout shutdown")
            #expect(try sluice.waitForExit(timeout: .seconds(5)) == .exited(0), "\(sluice.stderr)")
            session.close()
        }

        @Test(arguments: [SIGTERM, SIGINT])
        func idleSluiceExitsZeroOnSignal(signal: Int32) throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool quiet
                        bind 127.0.0.1:\(port)
                        check none
                        server e1 127.0.0.1:\(echo.port)
                    """)
            sluice.signal(signal)
            #expect(try sluice.waitForExit(timeout: .seconds(5)) == .exited(0), "\(sluice.stderr)")
        }
    }
}
