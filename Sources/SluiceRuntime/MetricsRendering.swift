// One rendering of the exposition shared by the scrapes that come close together: a scrape
// within `window` of the last rendering, while a client is still being sent it, gets the
// same buffer. N slow readers then hold one copy instead of N. The reference kept here is
// weak, so a rendering nobody reads any more is freed at once, never held between scrapes.
import SluiceCore
import SluiceSys
import Synchronization

final class MetricsRendering: Sendable {
    private struct Latest {
        weak var reply: OneShotReply?
        var bodyBytes: Int
        var at: Instant
    }

    private let render: @Sendable () -> String
    private let window: Duration
    private let latest = Mutex<Latest?>(nil)

    init(window: Duration, render: @escaping @Sendable () -> String) {
        self.window = window
        self.render = render
    }

    /// The 200 response (just its head for HEAD).
    func response(headOnly: Bool) -> OneShotReply {
        let now = Instant.now()
        let shared = latest.withLock { latest -> (reply: OneShotReply, bodyBytes: Int)? in
            guard let current = latest, now < current.at + window, let reply = current.reply else { return nil }
            return (reply, current.bodyBytes)
        }
        if let shared {
            guard headOnly else { return shared.reply }
            let head = MetricsService.head(200, "OK", contentType: Prometheus.contentType, length: shared.bodyBytes)
            return OneShotReply(head)
        }
        let body = render()
        let reply = MetricsService.response(200, "OK", body, contentType: Prometheus.contentType, headOnly: headOnly)
        if !headOnly { latest.withLock { $0 = Latest(reply: reply, bodyBytes: body.utf8.count, at: Instant.now()) } }
        return reply
    }
}
