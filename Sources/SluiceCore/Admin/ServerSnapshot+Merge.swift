// One metrics series per (pool, server name). A server replaced by a reload or a moved host
// name keeps draining next to its successor under the same name; two samples with the same
// labels would make the whole exposition invalid, so the exposition shows them as one: the
// successor's state, weight and health, and the sum of both counts and histograms.
extension ServerSnapshot {
    package static func mergedByName(_ servers: [ServerSnapshot]) -> [ServerSnapshot] {
        var merged: [ServerSnapshot] = []
        var index: [String: Int] = [:]
        merged.reserveCapacity(servers.count)
        for s in servers {
            // Pool and server names cannot hold a newline (config grammar), so this key is exact.
            let key = s.pool + "\n" + s.name
            guard let i = index[key] else {
                index[key] = merged.count
                merged.append(s)
                continue
            }
            merged[i] = s.removing && !merged[i].removing ? merged[i].adding(s) : s.adding(merged[i])
        }
        return merged
    }

    /// This server's identity and state, with `other`'s counts added.
    func adding(_ other: ServerSnapshot) -> ServerSnapshot {
        var out = self
        out.sessionsCurrent += other.sessionsCurrent
        out.sessionsTotal &+= other.sessionsTotal
        out.connectFailures &+= other.connectFailures
        out.bytesIn &+= other.bytesIn
        out.bytesOut &+= other.bytesOut
        out.connectSeconds = HistogramSnapshot.sum(connectSeconds, other.connectSeconds)
        out.checkSeconds = HistogramSnapshot.sum(checkSeconds, other.checkSeconds)
        return out
    }
}

extension HistogramSnapshot {
    /// Bucket by bucket; nil when both are; `a` alone when the bounds differ (never, today).
    static func sum(_ a: HistogramSnapshot?, _ b: HistogramSnapshot?) -> HistogramSnapshot? {
        guard let a else { return b }
        guard let b, a.bounds == b.bounds, a.cumulative.count == b.cumulative.count else { return a }
        return HistogramSnapshot(
            bounds: a.bounds, cumulative: zip(a.cumulative, b.cumulative).map { $0 &+ $1 }, sum: a.sum + b.sum)
    }
}
