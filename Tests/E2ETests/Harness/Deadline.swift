// Bounded waiting: every wait in the end-to-end tests goes through `waitUntil`, which polls a
// condition until a deadline and then fails with the caller's description of what it last saw.
import Foundation

struct Deadline {
    let end: ContinuousClock.Instant

    /// `timeout` stretched by `Duration.testTimeScale` (1 unless a slow build asks for more).
    init(_ timeout: Duration) {
        self.end = ContinuousClock.now + timeout.scaledForTests
    }

    var expired: Bool { ContinuousClock.now >= end }
    var remaining: Duration { max(.zero, end - ContinuousClock.now) }
}

/// Polls `condition` every `interval` until it returns true or `timeout` passes. On timeout it
/// throws with `what` and the text returned by `lastSeen`.
func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(5),
    interval: Duration = .milliseconds(5),
    lastSeen: () -> String = { "" },
    _ condition: () throws -> Bool
) throws {
    let deadline = Deadline(timeout)
    while true {
        if try condition() { return }
        if deadline.expired {
            let seen = lastSeen()
            throw HarnessError(
                "timed out after \(timeout) waiting for \(what)" + (seen.isEmpty ? "" : "; last seen: \(seen)"))
        }
        Thread.sleep(forTimeInterval: interval.seconds)
    }
}

extension Duration {
    /// $SLUICE_TEST_TIME_SCALE (default 1): `make test-tsan` sets it because the daemon and the
    /// tests run 5-15x slower under ThreadSanitizer. It stretches every deadline (`Deadline`,
    /// `waitUntil`) and socket timeout (`SocketIO.setTimeouts`), never a normal run's.
    static let testTimeScale: Double = {
        guard let text = ProcessInfo.processInfo.environment["SLUICE_TEST_TIME_SCALE"],
            let value = Double(text), value >= 1
        else { return 1 }
        return value
    }()

    var scaledForTests: Duration {
        Duration.testTimeScale == 1 ? self : self * Duration.testTimeScale
    }

    /// The duration in seconds, as a Double (for Foundation and timeval conversions).
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
