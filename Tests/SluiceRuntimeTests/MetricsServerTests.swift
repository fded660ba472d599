// The metrics endpoint over loopback TCP: GET/HEAD /metrics, 404, 405, 400 for malformed
// requests, 408 for a client too slow to send its request, while others are served.
import Foundation
import SluiceCore
import SluiceRuntime
import SluiceSys
import Synchronization
import Testing

@Suite struct MetricsServerTests {
    static let body = "# HELP sluice_workers Worker threads.\n# TYPE sluice_workers gauge\nsluice_workers 2\n"

    static func serve() throws -> MetricsServer {
        let server = try MetricsServer(endpoint: IPEndpoint(.loopbackV4, 0), readTimeout: .milliseconds(500)) {
            MetricsServerTests.body
        }
        server.start()
        return server
    }

    static func status(_ response: String) -> String {
        String(response.prefix { $0 != "\r\n" && $0 != "\r" })
    }

    @Test func servesMetrics() throws {
        let server = try Self.serve()
        defer { server.stop() }
        let port = server.endpoint.port
        #expect(port != 0)
        let ok = try HTTPClient.exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n")
        #expect(Self.status(ok) == "HTTP/1.1 200 OK")
        #expect(ok.contains("\r\nContent-Type: text/plain; version=0.0.4"))
        #expect(ok.contains("\r\nContent-Length: \(Self.body.utf8.count)\r\n"))
        #expect(ok.contains("\r\nConnection: close\r\n"))
        #expect(ok.hasSuffix("\r\n\r\n" + Self.body))
        let query = try HTTPClient.exchange(port: port, "GET /metrics?x=1 HTTP/1.0\n\n")
        #expect(Self.status(query) == "HTTP/1.1 200 OK")
        let head = try HTTPClient.exchange(port: port, "HEAD /metrics HTTP/1.1\r\n\r\n")
        #expect(Self.status(head) == "HTTP/1.1 200 OK")
        #expect(head.hasSuffix("\r\n\r\n"))
    }

    static let bad: [(String, [UInt8], String)] = [
        ("root", b("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found"),
        ("other path", b("GET /metricsx HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found"),
        ("post", b("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), "HTTP/1.1 405 Method Not Allowed"),
        ("delete", b("DELETE /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed"),
        ("no version", b("GET /metrics\r\n\r\n"), "HTTP/1.1 400 Bad Request"),
        ("http2", b("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "HTTP/1.1 400 Bad Request"),
        ("lowercase", b("get /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request"),
        ("double blank", b("GET  /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request"),
        ("no slash", b("GET metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request"),
        ("bad header", b("GET /metrics HTTP/1.1\r\nnocolon\r\n\r\n"), "HTTP/1.1 400 Bad Request"),
        ("binary", [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x0A, 0x0A], "HTTP/1.1 400 Bad Request"),
        (
            "huge head", b("GET /metrics HTTP/1.1\r\nX: " + String(repeating: "y", count: 10000)),
            "HTTP/1.1 400 Bad Request"
        ),
    ]

    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func badRequestsGetErrorsAndServingGoesOn() throws {
        let server = try Self.serve()
        defer { server.stop() }
        let port = server.endpoint.port
        for (name, request, expected) in Self.bad {
            let response = try HTTPClient.exchange(port: port, request)
            #expect(Self.status(response) == expected, "\(name): \(response.prefix(120))")
            #expect(response.contains("Connection: close"), "\(name)")
            if expected.contains("405") { #expect(response.contains("\r\nAllow: GET, HEAD\r\n")) }
            let ok = try HTTPClient.exchange(port: port, "GET /metrics HTTP/1.1\r\n\r\n")
            #expect(Self.status(ok) == "HTTP/1.1 200 OK", "after \(name)")
        }
    }

    @Test func incompleteRequestThenCloseIs400() throws {
        let server = try Self.serve()
        defer { server.stop() }
        let fd = try Socket.stream(v6: false)
        defer { fd.close() }
        _ = try Socket.connect(fd, to: IPEndpoint(.loopbackV4, server.endpoint.port))
        _ = try Poll.writable(fd, timeoutMillis: 1000)
        _ = try fd.send(Array("GET /metrics HTTP/1.1\r\n".utf8))
        Socket.shutdownWrite(fd)
        var reply: [UInt8] = []
        for _ in 0..<50 {
            _ = try Poll.readable(fd, timeoutMillis: 100)
            if case .eof = (try? fd.receive(appendingTo: &reply)) ?? .eof { break }
        }
        #expect(Self.status(String(decoding: reply, as: UTF8.self)) == "HTTP/1.1 400 Bad Request")
    }

    @Test func slowClientTimesOutWithoutBlockingOthers() throws {
        let server = try Self.serve()
        defer { server.stop() }
        let port = server.endpoint.port
        let slow = try Socket.stream(v6: false)
        defer { slow.close() }
        _ = try Socket.connect(slow, to: IPEndpoint(.loopbackV4, port))
        _ = try Poll.writable(slow, timeoutMillis: 1000)
        _ = try slow.send(Array("GET /met".utf8))
        let start = Date()
        #expect(Self.status(try HTTPClient.exchange(port: port, "GET /metrics HTTP/1.1\r\n\r\n")) == "HTTP/1.1 200 OK")
        #expect(Date().timeIntervalSince(start) < 0.4)
        var reply: [UInt8] = []
        for _ in 0..<30 {
            _ = try Poll.readable(slow, timeoutMillis: 100)
            if case .eof = (try? slow.receive(appendingTo: &reply)) ?? .eof { break }
        }
        #expect(Self.status(String(decoding: reply, as: UTF8.self)) == "HTTP/1.1 408 Request Timeout")
    }

    final class RenderCount: Sendable {
        let value = Atomic<Int>(0)
    }

    @Test func scrapesWhileOneIsStillBeingSentShareItsRendering() throws {
        let body = String(repeating: "sluice_sessions_total{pool=\"p\"} 1\n", count: 60_000)  // ~2 MiB
        let renders = RenderCount()
        let server = try MetricsServer(endpoint: IPEndpoint(.loopbackV4, 0), shareWindow: .seconds(600)) {
            renders.value.add(1, ordering: .relaxed)
            return body
        }
        server.start()
        defer { server.stop() }
        let port = server.endpoint.port
        // A reader that never reads: it keeps its reply in the server's hands.
        let stalled = try Socket.stream(v6: false)
        defer { stalled.close() }
        try Socket.setOption(stalled, SOL_SOCKET, SO_RCVBUF, 4096)
        _ = try Socket.connect(stalled, to: IPEndpoint(.loopbackV4, port))
        #expect(try Poll.writable(stalled, timeoutMillis: 5000))
        _ = try stalled.send(Array("GET /metrics HTTP/1.1\r\n\r\n".utf8))
        #expect(try Poll.readable(stalled, timeoutMillis: 5000), "its reply has started")
        for _ in 0..<3 {
            let ok = try HTTPClient.exchange(port: port, "GET /metrics HTTP/1.1\r\n\r\n")
            #expect(Self.status(ok) == "HTTP/1.1 200 OK")
            #expect(ok.hasSuffix("\r\n\r\n" + body) && ok.contains("\r\nContent-Length: \(body.utf8.count)\r\n"))
        }
        #expect(renders.value.load(ordering: .relaxed) == 1, "one rendering for the four scrapes")
    }
}
