// The outcome of one health check (or one failure a worker observed on a live connect), as
// the checker hands it to the runtime: what happened, how long it took, and the transition
// it caused in the server's HealthState.
package struct HealthResult: Sendable, Equatable, CustomStringConvertible {
    package var success: Bool
    /// `ok`, or why it failed: `connect refused`, `timeout after 1000ms`, `role:slave`, `status 503`.
    package var reason: String
    /// Connect plus exchange; nil for an observed failure (no probe ran).
    package var duration: Duration?
    /// A live connect failure reported by a worker (`observe on`), not a probe.
    package var observed: Bool
    package var transition: HealthTransition?
    /// The server's health after this result.
    package var up: Bool
    /// `master_repl_offset` of a passing `redis-master` check (`single-primary` compares it).
    package var replicationOffset: UInt64?
    /// The first result of a role check the server's pool was waiting for: clients queued
    /// meanwhile are woken.
    package var firstAwaited = false

    package init(
        success: Bool, reason: String, duration: Duration?, observed: Bool = false, transition: HealthTransition?,
        up: Bool,
        replicationOffset: UInt64? = nil
    ) {
        self.success = success
        self.reason = reason
        self.duration = duration
        self.observed = observed
        self.transition = transition
        self.up = up
        self.replicationOffset = replicationOffset
    }

    /// The last-check text `show servers` shows: `ok`, `timeout after 1000ms`, `observed: connect refused`.
    package var text: String { observed ? "observed: " + reason : reason }

    package var description: String {
        let ms = duration.map { " in \($0.milliseconds)ms" } ?? ""
        let change = transition.map { $0 == .wentUp ? " -> up" : " -> down" } ?? ""
        return text + ms + change
    }
}
