// Fixed-bucket latency histograms (Prometheus style), recorded lock-free from any thread with
// relaxed atomics. Values are kept in nanoseconds so recording is integer-only; a snapshot
// turns them into cumulative bucket counts and a sum in seconds.
import Synchronization

package final class Histogram: Sendable {
    /// Upper bounds in seconds, for connect and check latencies.
    package static let secondsBounds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    package let bounds: [Double]
    private let boundsNanos: [UInt64]
    /// One per bound plus the +Inf bucket; not cumulative.
    private let buckets: [Cell]
    private let sumNanos = Atomic<UInt64>(0)

    /// `bounds` must be ascending and positive (a programmer's choice, not input).
    package init(bounds: [Double] = Histogram.secondsBounds) {
        self.bounds = bounds
        self.boundsNanos = bounds.map { UInt64(($0 * 1e9).rounded()) }
        self.buckets = (0...bounds.count).map { _ in Cell() }
    }

    /// Records one observation.
    @inline(__always)
    package func record(nanoseconds: UInt64) {
        var i = 0
        while i < boundsNanos.count && nanoseconds > boundsNanos[i] { i += 1 }
        buckets[i].value.add(1, ordering: .relaxed)
        sumNanos.add(nanoseconds, ordering: .relaxed)
    }

    package func record(seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return record(nanoseconds: 0) }
        record(nanoseconds: seconds >= 1.8e10 ? UInt64.max / 2 : UInt64(seconds * 1e9))
    }

    package func snapshot() -> HistogramSnapshot {
        var cumulative: [UInt64] = []
        cumulative.reserveCapacity(buckets.count)
        var running: UInt64 = 0
        for cell in buckets {
            running &+= cell.value.load(ordering: .relaxed)
            cumulative.append(running)
        }
        return HistogramSnapshot(
            bounds: bounds, cumulative: cumulative, sum: Double(sumNanos.load(ordering: .relaxed)) / 1e9)
    }

    private final class Cell: Sendable {
        let value = Atomic<UInt64>(0)
    }
}

/// A copy of a histogram: `cumulative[i]` counts observations <= `bounds[i]`; the last
/// entry (index `bounds.count`) is the `+Inf` bucket and equals `count`.
package struct HistogramSnapshot: Sendable, Equatable {
    package var bounds: [Double]
    package var cumulative: [UInt64]
    package var sum: Double

    package init(bounds: [Double], cumulative: [UInt64], sum: Double) {
        self.bounds = bounds
        self.cumulative = cumulative
        self.sum = sum
    }

    package static func empty(bounds: [Double] = Histogram.secondsBounds) -> HistogramSnapshot {
        HistogramSnapshot(bounds: bounds, cumulative: Array(repeating: 0, count: bounds.count + 1), sum: 0)
    }

    package var count: UInt64 { cumulative.last ?? 0 }
}
