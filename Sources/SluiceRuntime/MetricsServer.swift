// The Prometheus endpoint (`metrics ADDR:PORT`): a minimal HTTP/1.x server on its own
// thread. GET/HEAD /metrics -> 200 with the body from `render`; other paths 404, other
// methods 405, malformed or oversized requests 400, a request not complete in time 408.
// Every response closes the connection. Scrapes close together share one rendering
// (MetricsRendering), and a client's unread bytes are bounded (OneShotLimits, SO_SNDBUF).
import SluiceCore
import SluiceSys

package final class MetricsServer: Sendable {
    private let server: OneShotServer<MetricsService>
    /// The bound endpoint (useful with port 0).
    package let endpoint: IPEndpoint

    /// Binds `endpoint` now; `render` is called on the metrics thread for a scrape (scrapes
    /// within `shareWindow` of one still being sent share its text) and returns the
    /// exposition text (e.g. `Prometheus.render(snapshot)`).
    package init(
        endpoint: IPEndpoint, readTimeout: Duration = .seconds(5), shareWindow: Duration = .seconds(1),
        render: @escaping @Sendable () -> String
    ) throws(Errno) {
        let fd = try Socket.listen(endpoint, backlog: Self.backlog)
        var limits = OneShotLimits()
        limits.readTimeout = readTimeout
        do {
            try Socket.setSendBuffer(fd, bytes: Self.sendBuffer)
            self.endpoint = try Socket.localAddress(fd).endpoint ?? endpoint
            let service = MetricsService(rendering: MetricsRendering(window: shareWindow, render: render))
            server = try OneShotServer(listener: fd, service: service, limits: limits, name: "sluice-metrics")
        } catch {
            fd.close()
            throw error
        }
    }

    /// Room for a burst of connections while the thread is busy rendering; a full backlog
    /// makes a TCP client wait for its SYN to be retried (a second or more).
    static let backlog: CInt = 1024
    /// Per client, inherited from the listener: what a reader that stalls pins in the kernel.
    static let sendBuffer = 256 << 10

    package func start() { server.start() }

    /// Stops the thread and closes the listener. Idempotent.
    package func stop() { server.stop() }
}

struct MetricsService: OneShotService {
    let rendering: MetricsRendering

    static let maxHeadBytes = 8192

    struct Pending {
        var head: [UInt8] = []
    }

    func accepted(_ fd: FD) -> Pending { Pending() }

    func received(_ pending: inout Pending, _ bytes: [UInt8], eof: Bool) -> OneShotStep {
        pending.head += bytes
        if let end = MetricsService.headEnd(pending.head) {
            return .reply(respond(to: Array(pending.head[..<end])))
        }
        if pending.head.count > Self.maxHeadBytes {
            return .reply(Self.response(400, "Bad Request", "request header too large\n"))
        }
        if eof {
            return pending.head.isEmpty ? .close : .reply(Self.response(400, "Bad Request", "incomplete request\n"))
        }
        return .needMore
    }

    func timedOut(_ pending: Pending) -> OneShotReply? {
        Self.response(408, "Request Timeout", "request not received in time\n")
    }

    /// Index just past the blank line ending the head (`\r\n\r\n`, or bare `\n\n`), if present.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { return i + 2 }
                if i + 2 < bytes.count && bytes[i + 1] == 0x0D && bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    func respond(to head: [UInt8]) -> OneShotReply {
        let bad = Self.response(400, "Bad Request", "malformed request\n")
        // Header bytes must be printable ASCII, blanks, CR or LF.
        guard head.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) else {
            return bad
        }
        // Split on bytes: as Characters, "\r\n" is one grapheme and would not split on "\n".
        let lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        guard let requestLine = lines.first else { return bad }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }),
            parts[1].hasPrefix("/"), parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0"
        else { return bad }
        for header in lines.dropFirst() where !header.isEmpty {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex,
                !header[..<colon].contains(" ")
            else { return bad }
        }
        let method = parts[0]
        guard method == "GET" || method == "HEAD" else {
            return Self.response(405, "Method Not Allowed", "only GET and HEAD\n", extra: "Allow: GET, HEAD\r\n")
        }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard path == "/metrics" else { return Self.response(404, "Not Found", "try /metrics\n") }
        return rendering.response(headOnly: method == "HEAD")
    }

    static func response(
        _ status: Int, _ reason: String, _ body: String, contentType: String = "text/plain; charset=utf-8",
        extra: String = "", headOnly: Bool = false
    ) -> OneShotReply {
        let head = Self.head(status, reason, contentType: contentType, length: body.utf8.count, extra: extra)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(head.utf8.count + (headOnly ? 0 : body.utf8.count))
        bytes.append(contentsOf: head.utf8)
        if !headOnly { bytes.append(contentsOf: body.utf8) }
        return OneShotReply(bytes)
    }

    static func head(_ status: Int, _ reason: String, contentType: String, length: Int, extra: String = "") -> String {
        "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(length)\r\n"
            + extra + "Connection: close\r\n\r\n"
    }
}
