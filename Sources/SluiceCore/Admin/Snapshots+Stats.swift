// Copying the shared atomic counters (Stats.swift) into snapshots, so the runtime only fills
// in what it alone knows (names, addresses, health, admin state, weights, check results).

extension PoolSnapshot {
    /// Sessions, bytes, queue and rejections from `stats` (relaxed loads, counter by counter).
    package mutating func fill(from stats: PoolStats) {
        sessionsCurrent = stats.current.load(ordering: .relaxed)
        sessionsTotal = stats.total.load(ordering: .relaxed)
        bytesIn = stats.bytesIn.load(ordering: .relaxed)
        bytesOut = stats.bytesOut.load(ordering: .relaxed)
        queue = stats.queued.load(ordering: .relaxed)
        udpFlows = stats.flows.load(ordering: .relaxed)
        for reason in RejectReason.allCases { rejected[reason] = stats.rejected(reason) }
    }
}

extension ServerSnapshot {
    /// Sessions, failures, bytes and both latency histograms from `stats`.
    package mutating func fill(from stats: ServerStats) {
        sessionsCurrent = stats.active.load(ordering: .relaxed)
        sessionsTotal = stats.total.load(ordering: .relaxed)
        connectFailures = stats.connectFailures.load(ordering: .relaxed)
        bytesIn = stats.bytesIn.load(ordering: .relaxed)
        bytesOut = stats.bytesOut.load(ordering: .relaxed)
        connectSeconds = stats.connectSeconds.snapshot()
        checkSeconds = stats.checkSeconds.snapshot()
    }
}
