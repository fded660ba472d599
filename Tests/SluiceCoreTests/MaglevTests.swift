// Maglev: deterministic picks whatever the config order (pinned golden values), minimal
// disruption when a server leaves or flaps, shares that follow the weights, plus the shared
// backup, `avoiding` and eligibility rules, all over 100k synthetic IPv4 client keys.
import SluiceSys
import Testing

@testable import SluiceCore

/// 100k clients 10.0.0.0, 10.0.0.1, … (sequential addresses: the mixer must spread them).
let maglevKeys: [FlowKey] = (0..<100_000).map {
    FlowKey(address: .v4(0x0A00_0000 | UInt32($0)), port: 40000)
}

/// Server names ("s0", "s1", …) so that sets of different sizes share names.
func namedServers(_ weights: [Int], backups: Set<Int> = []) -> [BalancerServer] {
    weights.enumerated().map { i, w in
        BalancerServer(name: "s\(i)", weight: w, backup: backups.contains(i))
    }
}

/// The NAME of the server picked for every key (nil as "-").
func maglevPicks(
    _ m: inout Maglev, _ keys: [FlowKey] = maglevKeys, avoiding: ServerID? = nil
)
    -> [String]
{
    let counts = FakeCounts(64)
    let names = m.servers.map(\.name)
    return keys.map { key in m.pick(key, avoiding: avoiding, counts: counts).map { names[$0] } ?? "-"
    }
}

func share(_ picks: [String]) -> [String: Double] {
    var tally: [String: Int] = [:]
    for p in picks { tally[p, default: 0] += 1 }
    return tally.mapValues { Double($0) / Double(picks.count) }
}

func changed(_ a: [String], _ b: [String]) -> Int {
    zip(a, b).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
}

@Suite struct MaglevTests {
    @Test func hashesArePinned() {
        // Computed once; any change here remaps every client of every running pool.
        #expect(
            FlowHash.hash(FlowKey(address: .v4(0x0A00_0001), port: 1234), includePort: false)
                == 4_304_409_884_139_558_194)
        #expect(
            FlowHash.hash(FlowKey(address: .v4(0x0A00_0001), port: 1234), includePort: true)
                == 3_362_390_478_805_812_712)
        #expect(
            FlowHash.hash(FlowKey(address: IPAddress("2001:db8::1")!, port: 1234), includePort: false)
                == 4_174_630_882_401_771_212)
        #expect(FlowHash.offsetHash("db1") == 15_491_502_127_190_454_596)
        #expect(FlowHash.skipHash("db1") == 10_223_428_760_838_761_862)
    }

    @Test func goldenPicks() {
        let servers = ["db1", "db2", "db3", "db4", "db5"].map { BalancerServer(name: $0, weight: 100) }
        let keys = ["10.0.0.1", "10.0.0.2", "192.168.1.77", "172.16.5.4", "8.8.8.8", "2001:db8::1"].map {
            FlowKey(address: IPAddress($0)!, port: 5432)
        }
        var first = Maglev(servers: servers)
        var second = Maglev(servers: servers.reversed())
        let expected = ["db3", "db2", "db1", "db2", "db4", "db2"]  // computed once
        #expect(maglevPicks(&first, keys) == expected)
        #expect(maglevPicks(&second, keys) == expected)
        // db2 down: its keys take the second probe sequence (pinned too).
        first.setUsable(1, false)
        second.setUsable(3, false)
        let withoutDB2 = ["db3", "db1", "db1", "db3", "db4", "db3"]  // computed once
        #expect(maglevPicks(&first, keys) == withoutDB2)
        #expect(maglevPicks(&second, keys) == withoutDB2)
    }

    @Test func rebuildCostIsModest() {
        // 300 servers of mixed weights, one of them reweighted (as slow start does).
        let weights = (0..<300).map { $0 % 7 == 0 ? 1000 : 1 + $0 % 50 }
        let clock = ContinuousClock()
        var m = Maglev(servers: namedServers(weights))
        let elapsed = clock.measure { m.setWeight(5, 999) }
        print("maglev: rebuilding a 65537-slot table for 300 servers took \(elapsed)")
        #expect(elapsed < .seconds(2))  // debug build; far faster in release
    }

    @Test(arguments: [
        [100, 100, 100, 100, 100],
        [1, 2, 3],
        [100, 0, 250, 1000, 7, 100, 100, 30],
    ])
    func configOrderChangesNothing(_ weights: [Int]) {
        let servers = namedServers(weights, backups: [weights.count - 1])
        // Reversed, and rotated by 2.
        let reordered = [Array(servers.reversed()), Array(servers[2...] + servers[..<2])]
        var base = Maglev(servers: servers)
        let want = maglevPicks(&base)
        for order in reordered {
            var other = Maglev(servers: order)
            #expect(maglevPicks(&other) == want)
        }
    }

    @Test(arguments: [(5, 0), (5, 3), (10, 0), (10, 7)])
    func removingOneMovesAboutOneNth(_ n: Int, _ removed: Int) {
        let servers = namedServers(Array(repeating: 100, count: n))
        var before = Maglev(servers: servers)
        var fewer = servers
        fewer.remove(at: removed)
        var after = Maglev(servers: fewer)
        let a = maglevPicks(&before)
        let b = maglevPicks(&after)
        let moved = Double(changed(a, b)) / Double(a.count)
        let removedShare = share(a)["s\(removed)"]!
        print(
            "maglev: removing 1 of \(n): \(moved * 100)% of keys moved (its share \(removedShare * 100)%)"
        )
        #expect(moved <= 1 / Double(n) + 0.02)
        #expect(moved >= removedShare)  // all of its keys, at least
    }

    @Test(arguments: [(5, 0), (5, 3), (10, 0), (10, 7)])
    func aFlapMovesOnlyThatServersKeys(_ n: Int, _ down: Int) {
        var m = Maglev(servers: namedServers(Array(repeating: 100, count: n)))
        let builds = m.builds
        let before = maglevPicks(&m)
        m.setUsable(down, false)
        let during = maglevPicks(&m)
        #expect(m.builds == builds, "setUsable must not rebuild the table")
        var movedTo: [String: Int] = [:]
        for (a, b) in zip(before, during) {
            if a == "s\(down)" {
                #expect(b != a)
                movedTo[b, default: 0] += 1
            } else {
                #expect(a == b)
            }
        }
        // Its keys spread over all the others, not onto one neighbour.
        let moved = movedTo.values.reduce(0, +)
        let fair = Double(moved) / Double(n - 1)
        print(
            "maglev: \(n) servers, s\(down) down: its \(moved) keys went to \(movedTo.sorted { $0.key < $1.key })"
        )
        #expect(movedTo.count == n - 1)
        for (_, count) in movedTo { #expect(abs(Double(count) - fair) <= fair * 0.15) }
        m.setUsable(down, true)
        #expect(maglevPicks(&m) == before)
    }

    @Test func weightZeroIsLikeRemovalAndComesBack() {
        let servers = namedServers([100, 100, 100, 100, 100])
        var m = Maglev(servers: servers)
        let before = maglevPicks(&m)
        m.setWeight(2, 0)
        var without = Maglev(servers: servers.filter { $0.name != "s2" })
        #expect(maglevPicks(&m) == maglevPicks(&without))
        m.setWeight(2, 100)
        #expect(maglevPicks(&m) == before)
        let builds = m.builds
        m.setWeight(2, 100)  // unchanged: no rebuild
        #expect(m.builds == builds)
    }

    @Test(arguments: [
        [100, 100, 100, 100, 100],
        Array(repeating: 100, count: 10),
        [1, 2, 3],
        [100, 200, 300],
        [1000, 500, 250, 250],
        [1, 1000],
    ])
    func sharesFollowWeights(_ weights: [Int]) {
        var m = Maglev(servers: namedServers(weights))
        let got = share(maglevPicks(&m))
        let total = Double(weights.reduce(0, +))
        var worst = 0.0
        for (i, w) in weights.enumerated() {
            let want = Double(w) / total
            let have = got["s\(i)"] ?? 0
            worst = max(worst, abs(have - want))
            #expect(abs(have - want) <= 0.01, "s\(i): \(have) vs \(want)")
        }
        print("maglev: weights \(weights): worst share error \(worst * 100) points")
    }

    @Test func backupsOnlyWhileNoPrimaryIsEligible() {
        // s0, s1 primaries; s2, s3 backups.
        var m = Maglev(servers: namedServers([100, 100, 100, 100], backups: [2, 3]))
        #expect(Set(maglevPicks(&m)) == ["s0", "s1"])
        m.setUsable(0, false)
        #expect(Set(maglevPicks(&m)) == ["s1"])
        m.setWeight(1, 0)
        #expect(Set(maglevPicks(&m)) == ["s2", "s3"])
        m.setUsable(3, false)
        #expect(Set(maglevPicks(&m)) == ["s2"])
        m.setUsable(0, true)
        #expect(Set(maglevPicks(&m)) == ["s0"])
    }

    @Test func avoidingGoesElsewhereWhenItCan() {
        var m = Maglev(servers: namedServers([100, 100, 100, 100], backups: [3]))
        let counts = FakeCounts(4)
        for key in maglevKeys.prefix(10_000) {
            let first = m.pick(key, avoiding: nil, counts: counts)!
            let retry = m.pick(key, avoiding: first, counts: counts)!
            #expect(retry != first && retry != 3)
        }
        // The only eligible primary is returned again, not a backup.
        m.setUsable(0, false)
        m.setUsable(1, false)
        #expect(Set(maglevPicks(&m, avoiding: 2)) == ["s2"])
        // Avoiding a server of the other tier changes nothing.
        #expect(maglevPicks(&m, avoiding: 3) == maglevPicks(&m))
    }

    /// (weights, backups, set unusable, set weight 0): nothing eligible in any tier.
    static let noneEligible: [([Int], Set<Int>, [Int], [Int])] = [
        ([100, 100], [], [0, 1], []),
        ([0, 0], [], [], []),
        ([100, 100], [1], [0, 1], []),
        ([100, 100], [1], [0], [1]),
        ([], [], [], []),
    ]

    @Test(arguments: noneEligible)
    func nilWhenNoneIsEligible(_ weights: [Int], _ backups: Set<Int>, _ down: [Int], _ zero: [Int]) {
        var m = Maglev(servers: namedServers(weights, backups: backups))
        for id in down { m.setUsable(id, false) }
        for id in zero { m.setWeight(id, 0) }
        for key in maglevKeys.prefix(1000) {
            #expect(m.pick(key, avoiding: nil, counts: FakeCounts(2)) == nil)
            #expect(m.pick(key, avoiding: 0, counts: FakeCounts(2)) == nil)
        }
    }

    @Test func srcPortSpreadsOneClientWhenIncluded() {
        let servers = namedServers([100, 100, 100, 100, 100])
        let keys = (0..<20_000).map { FlowKey(address: .v4(0x0A01_0203), port: UInt16(20_000 + $0)) }
        var byAddress = Maglev(servers: servers)
        var byPort = Maglev(servers: servers, includePort: true)
        #expect(Set(maglevPicks(&byAddress, keys)).count == 1)
        let spread = share(maglevPicks(&byPort, keys))
        #expect(spread.count == 5)
        for (_, s) in spread { #expect(abs(s - 0.2) <= 0.02) }
    }

    @Test func ipv6ClientsSpreadToo() {
        var m = Maglev(servers: namedServers([100, 100, 100, 100]))
        let keys = (0..<40_000).map {
            FlowKey(address: .v6(0x2001_0DB8_0000_0000, UInt64($0)), port: 1)
        }
        for (_, s) in share(maglevPicks(&m, keys)) { #expect(abs(s - 0.25) <= 0.015) }
    }

    @Test func moreServersThanSlotsStillPicksEligibleOnes() {
        var m = Maglev(servers: namedServers(Array(repeating: 100, count: 10)), tableSize: 7)
        for id in 0..<9 { m.setUsable(id, false) }
        #expect(Set(maglevPicks(&m, Array(maglevKeys.prefix(100)))) == ["s9"])
    }
}
