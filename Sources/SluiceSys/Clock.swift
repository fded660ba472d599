// Monotonic instants for deadlines, wall-clock text for logs.
import Glibc

/// Nanoseconds on CLOCK_MONOTONIC.
package struct Instant: Comparable, Hashable, Sendable {
    package var nanoseconds: UInt64
    package init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    @inline(__always)
    package static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    @inlinable package static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable package static func <= (a: Instant, b: Instant) -> Bool { a.nanoseconds <= b.nanoseconds }
    @inlinable package static func == (a: Instant, b: Instant) -> Bool { a.nanoseconds == b.nanoseconds }

    /// Saturates at `distantFuture`: a deadline far away (a configured 365d added to a
    /// deadline that is already `distantFuture`) must not wrap into the past and fire at once.
    package static func + (a: Instant, d: Duration) -> Instant {
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(d.nanoseconds)
        return Instant(nanoseconds: overflow ? .max : sum)
    }

    package func millis(since earlier: Instant) -> Int {
        nanoseconds > earlier.nanoseconds ? Int((nanoseconds - earlier.nanoseconds) / 1_000_000) : 0
    }

    package static let distantFuture = Instant(nanoseconds: .max)
}

extension Duration {
    /// Whole nanoseconds, saturating; negative durations count as zero.
    package var nanoseconds: UInt64 {
        let (seconds, attos) = components
        if seconds < 0 { return 0 }
        let (ns, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return ns &+ UInt64(attos / 1_000_000_000)
    }

    package var milliseconds: Int64 { Int64(clamping: nanoseconds / 1_000_000) }
}

package enum WallClock {
    /// `2026-11-23T15:45:38.123Z`
    package static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
