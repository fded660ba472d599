// A worker's balancer for one pool. One optional per algorithm (exactly one is set) so a
// pick mutates the algorithm in place through optional chaining: no existential, no copy.
import SluiceCore

struct PoolBalancer {
    private var leastConn: LeastConn?
    private var roundRobin: SmoothWeightedRoundRobin?
    private var maglev: Maglev?

    init(_ kind: BalanceKind, _ servers: [BalancerServer], hashKey: HashKey = .src) {
        switch kind {
        case .leastconn: leastConn = LeastConn(servers: servers)
        case .roundrobin: roundRobin = SmoothWeightedRoundRobin(servers: servers)
        case .hash: maglev = Maglev(servers: servers, includePort: hashKey == .srcPort)
        }
    }

    mutating func pick(_ key: FlowKey, avoiding: ServerID?, counts: ServerActiveCounts) -> ServerID? {
        if leastConn != nil { return leastConn?.pick(key, avoiding: avoiding, counts: counts) ?? nil }
        if roundRobin != nil { return roundRobin?.pick(key, avoiding: avoiding, counts: counts) ?? nil }
        return maglev?.pick(key, avoiding: avoiding, counts: counts) ?? nil
    }

    mutating func setUsable(_ id: ServerID, _ usable: Bool) {
        leastConn?.setUsable(id, usable)
        roundRobin?.setUsable(id, usable)
        maglev?.setUsable(id, usable)
    }

    mutating func setWeight(_ id: ServerID, _ weight: Int) {
        leastConn?.setWeight(id, weight)
        roundRobin?.setWeight(id, weight)
        maglev?.setWeight(id, weight)
    }
}
