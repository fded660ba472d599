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

    struct Pending {
        var reader = MetricsRequestReader()
    }

    func accepted(_ fd: FD) -> Pending { Pending() }

    func received(_ pending: inout Pending, _ bytes: [UInt8], eof: Bool) -> OneShotStep {
        switch pending.reader.feed(bytes, eof: eof) {
        case .needMore: .needMore
        case .close: .close
        case .request(let request): .reply(respond(to: request))
        }
    }

    func timedOut(_ pending: Pending) -> OneShotReply? {
        Self.response(408, "Request Timeout", "request not received in time\n")
    }

    func respond(to request: MetricsRequest) -> OneShotReply {
        switch request {
        case .metrics(let headOnly): rendering.response(headOnly: headOnly)
        case .notFound: Self.response(404, "Not Found", "try /metrics\n")
        case .methodNotAllowed:
            Self.response(405, "Method Not Allowed", "only GET and HEAD\n", extra: "Allow: GET, HEAD\r\n")
        case .malformed: Self.response(400, "Bad Request", "malformed request\n")
        case .tooLarge: Self.response(400, "Bad Request", "request header too large\n")
        case .incomplete: Self.response(400, "Bad Request", "incomplete request\n")
        }
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
