// Weighted least connections (HAProxy lb_fwlc): the eligible server with the smallest
// active/weight, compared as cross products so no division happens. Ties go to the first server
// at or after the cursor, which moves past each pick, so equally loaded servers take turns.

package struct LeastConn: Balancer {
    private var table: BalancerTable
    /// Where the next scan starts: one past the last pick.
    private var cursor = 0

    package init(servers: [BalancerServer]) {
        table = BalancerTable(servers)
    }

    package var servers: [BalancerServer] { table.servers }

    package mutating func pick<C: ActiveCounts>(
        _ key: FlowKey, avoiding: ServerID?, counts: C
    ) -> ServerID? {
        guard let scope = table.scope(avoiding: avoiding) else { return nil }
        let n = table.count
        var best: ServerID? = nil
        var bestActive = 0
        var bestWeight = 1
        var id = cursor < n ? cursor : 0
        for _ in 0..<n {
            if scope.admits(table.servers[id], id) {
                // Only Ints are kept across the counts call (no BalancerServer copy to retain).
                let weight = table.servers[id].weight
                let active = counts.active(id)
                // active / weight < bestActive / bestWeight, as cross products (weights > 0).
                if best == nil || active * bestWeight < bestActive * weight {
                    best = id
                    bestActive = active
                    bestWeight = weight
                }
            }
            id += 1
            if id == n { id = 0 }
        }
        if let best { cursor = best + 1 == n ? 0 : best + 1 }
        return best
    }

    package mutating func setUsable(_ id: ServerID, _ usable: Bool) {
        table.setUsable(id, usable)
    }

    package mutating func setWeight(_ id: ServerID, _ weight: Int) {
        table.setWeight(id, weight)
    }
}
