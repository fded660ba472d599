// Checks the harness itself against its backends directly, without sluice, so a failing
// scenario points at sluice rather than at the test tools.
import Foundation
import Testing
import SluiceTestSupport

extension E2E {
    @Suite struct HarnessTests {
        @Test func echoBackendHonoursHalfClose() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let client = try TestClient(port: echo.port)
            let payload = PseudoRandom.bytes(seed: 3, count: 200_000)
            let writer = Thread {
                try? client.send(payload)
                client.shutdownWrite()
            }
            writer.start()
            #expect(try client.readToEOF() == payload)
        }

        @Test func greetingBackendCountsHeldConnections() throws {
            let backend = try GreetingBackend(name: "g")
            defer { backend.stop() }
            let (first, name) = try Greetings.connect(port: backend.port, source: "127.0.0.7")
            #expect(name == "g")
            #expect(backend.currentConnections == 1)
            first.close()
            try waitUntil("the backend to drop the connection") { backend.currentConnections == 0 }
        }

        @Test func greetingBackendGreetsEveryConnection() throws {
            let backend = try GreetingBackend(name: "many")
            defer { backend.stop() }
            for _ in 0..<300 {
                #expect(try Greetings.once(port: backend.port) == "many")
            }
        }

        @Test func scriptedBackendRepliesAfterEOF() throws {
            let backend = try ScriptedBackend(script: .replyAfterEOF(bytes: 10_000))
            defer { backend.stop() }
            let client = try TestClient(port: backend.port)
            try client.send(Array(repeating: 1, count: 5000))
            client.shutdownWrite()
            #expect(try client.readToEOF() == backend.expectedReply(count: 10_000))
            #expect(backend.lastReceived == 5000)
        }

        @Test func closedPortRefusesAndStoppedBackendRefuses() throws {
            let backend = try GreetingBackend(name: "gone")
            defer { backend.stop() }
            let port = backend.port
            backend.stop()
            #expect(throws: SocketError.self) { try TestClient(port: port) }
        }

        @Test func sluiceBinaryIsFound() throws {
            #expect(FileManager.default.isExecutableFile(atPath: try SluiceBinary.path()))
        }
    }
}
