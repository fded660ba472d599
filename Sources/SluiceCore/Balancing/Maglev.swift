// Maglev consistent hashing (Eisenbud et al., NSDI 2016) for `balance hash`. Each tier (primaries,
// backups) has a prime-sized lookup table filled from per-server permutations derived from the
// server NAME, in name order, so instances with the same servers agree whatever the config order.
// Weights set each server's share of its table. Ineligible servers are skipped by probing onward
// from the key's slot, so a flap moves only that server's keys and never rebuilds a table.
// Invariant: each tier's table holds exactly the servers of that tier with weight > 0.

package struct Maglev: Balancer {
    private var table: BalancerTable
    /// Lookup table size (prime).
    package let tableSize: Int
    /// `hash-key src-port`: the client port is part of the key.
    package let includePort: Bool
    /// Per server, from its name: where its permutation starts (0..<tableSize) and its
    /// stride (1..<tableSize).
    private let offsets: [Int]
    private let skips: [Int]
    /// Servers in the order they take turns when a table is filled: by name, then id.
    private let fillOrder: [ServerID]
    /// Lookup tables of the non-backup and backup tiers, slot → server; empty when the tier has
    /// no server of weight > 0.
    private var primaryLookup: [Int32] = []
    private var backupLookup: [Int32] = []
    /// How many times a lookup table was filled (init and weight changes; never `setUsable`).
    package private(set) var builds = 0

    package init(servers: [BalancerServer]) {
        self.init(servers: servers, tableSize: 65537, includePort: false)
    }

    /// `tableSize` must be prime and should be well above the number of servers (the paper
    /// suggests ≥ 100 × servers); the default suits pools of up to a few hundred servers.
    package init(servers: [BalancerServer], tableSize: Int = 65537, includePort: Bool = false) {
        precondition(
            tableSize >= 2 && tableSize <= Int(Int32.max) && Maglev.isPrime(tableSize),
            "Maglev table size must be prime")
        precondition(servers.count <= Int(Int32.max))
        table = BalancerTable(servers)
        self.tableSize = tableSize
        self.includePort = includePort
        let m = UInt64(tableSize)
        offsets = servers.map { Int(FlowHash.offsetHash($0.name) % m) }
        skips = servers.map { Int(FlowHash.skipHash($0.name) % (m - 1)) + 1 }
        fillOrder = servers.indices.sorted { a, b in
            let na = servers[a].name.utf8
            let nb = servers[b].name.utf8
            if na.elementsEqual(nb) { return a < b }
            return na.lexicographicallyPrecedes(nb)
        }
        rebuild(backup: false)
        rebuild(backup: true)
    }

    package var servers: [BalancerServer] { table.servers }

    package mutating func pick<C: ActiveCounts>(
        _ key: FlowKey, avoiding: ServerID?, counts: C
    ) -> ServerID? {
        guard let scope = table.scope(avoiding: avoiding) else { return nil }
        let hash = FlowHash.hash(key, includePort: includePort)
        let found =
            scope.backup
            ? walk(backupLookup, from: hash, scope: scope) : walk(primaryLookup, from: hash, scope: scope)
        if let found { return found }
        // Only when the tier has more servers than table slots (some got no slot): any admitted one.
        let n = table.count
        var id = Int(hash % UInt64(n))
        for _ in 0..<n {
            if scope.admits(table.servers[id], id) { return id }
            id += 1
            if id == n { id = 0 }
        }
        return nil
    }

    package mutating func setUsable(_ id: ServerID, _ usable: Bool) {
        table.setUsable(id, usable)
    }

    package mutating func setWeight(_ id: ServerID, _ weight: Int) {
        if table.setWeight(id, weight) { rebuild(backup: table.servers[id].backup) }
    }

    /// The server in the key's slot if admitted; else the first admitted one along a second,
    /// key-dependent probe sequence slot + k·stride (mod size), so the keys of a down server
    /// spread over the others in proportion to their shares instead of piling onto whichever
    /// servers tend to own the next slot. The size is prime, so the sequence visits every slot.
    @inline(__always)
    private func walk(_ lookup: [Int32], from hash: UInt64, scope: PickScope) -> ServerID? {
        let m = lookup.count
        guard m > 0 else { return nil }
        var slot = Int(hash % UInt64(m))
        let first = Int(lookup[slot])
        if scope.admits(table.servers[first], first) { return first }
        guard m > 1 else { return nil }
        let stride = Int(FlowHash.mix(hash) % UInt64(m - 1)) + 1
        for _ in 1..<m {
            slot += stride
            if slot >= m { slot -= m }
            let id = Int(lookup[slot])
            if scope.admits(table.servers[id], id) { return id }
        }
        return nil
    }

    /// Fills one tier's table (the paper's Populate, weighted as in Envoy's Maglev): servers take
    /// turns in name order; the heaviest takes a turn every round, one of weight w every
    /// maxWeight/w rounds (everyone takes one in the first). A turn claims the next free slot of
    /// the server's permutation offset, offset+skip, offset+2·skip, … (mod tableSize).
    private mutating func rebuild(backup: Bool) {
        let servers = table.servers
        let members = fillOrder.filter { servers[$0].backup == backup && servers[$0].weight > 0 }
        var lookup = backup ? backupLookup : primaryLookup
        if backup { backupLookup = [] } else { primaryLookup = [] }  // keep `lookup` uniquely referenced
        defer {
            if backup { backupLookup = lookup } else { primaryLookup = lookup }
            builds += 1
        }
        guard !members.isEmpty else {
            lookup = []
            return
        }
        let m = tableSize
        if lookup.count == m {
            for i in 0..<m { lookup[i] = -1 }
        } else {
            lookup = Array(repeating: -1, count: m)
        }
        let maxWeight = UInt64(members.map { servers[$0].weight }.max()!)
        let weights = members.map { UInt64(servers[$0].weight) }
        let skip = members.map { skips[$0] }
        var next = members.map { offsets[$0] }
        var target = Array(repeating: UInt64(0), count: members.count)
        var filled = 0
        var round: UInt64 = 1
        while filled < m {
            for i in members.indices where round * weights[i] >= target[i] {
                target[i] += maxWeight
                var c = next[i]
                while lookup[c] >= 0 {
                    c += skip[i]
                    if c >= m { c -= m }
                }
                lookup[c] = Int32(members[i])
                c += skip[i]
                if c >= m { c -= m }
                next[i] = c
                filled += 1
                if filled == m { break }
            }
            round += 1
        }
    }

    private static func isPrime(_ n: Int) -> Bool {
        if n < 2 { return false }
        var d = 2
        while d * d <= n {
            if n % d == 0 { return false }
            d += 1
        }
        return true
    }
}
