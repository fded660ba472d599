// Smooth weighted round robin, as in nginx's ngx_http_upstream_get_peer
// (src/http/ngx_http_upstream_round_robin.c): each pick adds every candidate's weight to its
// `current`, takes the largest (first in table order on ties) and subtracts the candidates' total.

package struct SmoothWeightedRoundRobin: Balancer {
    private var table: BalancerTable
    /// nginx's `current_weight`, per server. Reset to 0 when a server's eligibility or weight
    /// changes, so a returning or re-weighted server neither bursts nor starves.
    private var current: ContiguousArray<Int>

    package init(servers: [BalancerServer]) {
        table = BalancerTable(servers)
        current = ContiguousArray(repeating: 0, count: servers.count)
    }

    package var servers: [BalancerServer] { table.servers }

    package mutating func pick<C: ActiveCounts>(
        _ key: FlowKey, avoiding: ServerID?, counts: C
    ) -> ServerID? {
        guard let scope = table.scope(avoiding: avoiding) else { return nil }
        var best: ServerID? = nil
        var bestCurrent = 0
        var total = 0
        for id in 0..<table.count {
            // Servers outside the scope are left untouched, like nginx's "tried" peers.
            guard scope.admits(table.servers[id], id) else { continue }
            // Only the Int is kept: a live BalancerServer copy would retain its name per step.
            let weight = table.servers[id].weight
            current[id] += weight
            total += weight
            if best == nil || current[id] > bestCurrent {
                best = id
                bestCurrent = current[id]
            }
        }
        if let best { current[best] -= total }
        return best
    }

    package mutating func setUsable(_ id: ServerID, _ usable: Bool) {
        if table.setUsable(id, usable) { current[id] = 0 }
    }

    package mutating func setWeight(_ id: ServerID, _ weight: Int) {
        if table.setWeight(id, weight) { current[id] = 0 }
    }
}
