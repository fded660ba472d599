// LeastConn: least active/weight wins, ties rotate, distribution follows the weights when each
// pick becomes a live session, plus the shared eligibility, backup and `avoiding` rules.
import SluiceSys
import Testing

@testable import SluiceCore

@Suite struct LeastConnTests {
    @Test(arguments: [
        ([1, 1, 1], [5, 2, 3], 1, "equal weights: fewest sessions"),
        ([1, 3], [2, 5], 1, "5/3 < 2/1"),
        ([1, 3], [1, 4], 0, "1/1 < 4/3"),
        ([10, 1], [9, 1], 0, "9/10 < 1/1"),
        ([1000, 1], [999_000_000, 1_000_000], 0, "large counts, no division"),
        ([1, 1, 1], [3, 0, 0], 1, "tie between b and c: first after the cursor"),
        ([1, 0, 1], [4, 0, 5], 0, "weight 0 is skipped even when idle"),
    ])
    func picksLeastLoadedByWeight(_ weights: [Int], _ active: [Int], _ expected: ServerID, _ label: String) {
        var lc = LeastConn(servers: makeServers(weights))
        #expect(lc.pick(testKey, avoiding: nil, counts: FakeCounts(active)) == expected, "\(label)")
    }

    @Test func tiesRotateEvenly() {
        var lc = LeastConn(servers: makeServers([1, 1, 1]))
        let picks = sequence(&lc, 30)  // counts stay 0: every pick is a three-way tie
        #expect(picks == String(repeating: "abc", count: 10))
        #expect(tally(picks, servers: 3) == [10, 10, 10])
    }

    @Test func tiesRotateAmongEqualWeightedLoads() {
        // a and c are tied at 2/2 and 1/1; b is busier.
        var lc = LeastConn(servers: makeServers([2, 1, 1]))
        let counts = FakeCounts([2, 5, 1])
        var picks = ""
        for _ in 0..<6 { picks.append(letterFor(lc.pick(testKey, avoiding: nil, counts: counts))) }
        #expect(picks == "acacac")
    }

    @Test(arguments: [
        ([1, 1], 400, [200, 200]),
        ([3, 1], 400, [300, 100]),
        ([5, 1, 1], 700, [500, 100, 100]),
        ([10, 7, 3], 2000, [1000, 700, 300]),
    ])
    func convergesToWeightRatio(_ weights: [Int], _ picks: Int, _ expected: [Int]) {
        var lc = LeastConn(servers: makeServers(weights))
        var counts = FakeCounts(weights.count)
        _ = sequence(&lc, picks, counts: &counts)
        for (got, want) in zip(counts.values, expected) {
            #expect(abs(got - want) <= 1, "\(counts.values) vs \(expected)")
        }
    }

    @Test func fillsTheLeastLoadedFirst() {
        var lc = LeastConn(servers: makeServers([1, 1, 1]))
        var counts = FakeCounts([4, 0, 2])
        #expect(sequence(&lc, 6, counts: &counts) == "bbcbcb")
        #expect(counts.values == [4, 4, 4])
    }

    @Test func weightChangeShiftsTheDistribution() {
        var lc = LeastConn(servers: makeServers([1, 1]))
        var counts = FakeCounts(2)
        _ = sequence(&lc, 100, counts: &counts)
        #expect(counts.values == [50, 50])
        lc.setWeight(0, 3)
        let after = tally(sequence(&lc, 200, counts: &counts), servers: 2)
        #expect(abs(counts.values[0] - 225) <= 1 && abs(counts.values[1] - 75) <= 1)
        #expect(after[0] > 3 * after[1])  // a catches up to its new share first
        lc.setWeight(0, 0)
        #expect(!sequence(&lc, 10, counts: &counts).contains("a"))
    }

    @Test func weightZeroAndUnusableAreNeverPicked() {
        var lc = LeastConn(servers: makeServers([0, 1, 1, 1], down: [3]))
        var counts = FakeCounts(4)
        let picks = sequence(&lc, 20, counts: &counts)
        #expect(tally(picks, servers: 4) == [0, 10, 10, 0])
        lc.setUsable(1, false)
        #expect(sequence(&lc, 5, counts: &counts) == "ccccc")
        lc.setUsable(3, true)
        #expect(sequence(&lc, 4, counts: &counts) == "dddd")  // d is idle: it catches up
    }

    @Test func backupsOnlyWhileNoPrimaryIsEligible() {
        // a, b primaries; c (weight 2) and d backups. Backups stay idle while a primary is up.
        var lc = LeastConn(servers: makeServers([1, 1, 2, 1], backups: [2, 3]))
        var counts = FakeCounts(4)
        #expect(sequence(&lc, 4, counts: &counts) == "abab")
        lc.setUsable(0, false)
        #expect(sequence(&lc, 3, counts: &counts) == "bbb")
        lc.setUsable(1, false)
        let backups = sequence(&lc, 9, counts: &counts)
        #expect(tally(backups, servers: 4) == [0, 0, 6, 3])
        lc.setUsable(1, true)
        #expect(sequence(&lc, 3, counts: &counts) == "bbb")
    }

    @Test func avoidingSkipsTheFailedServer() {
        var lc = LeastConn(servers: makeServers([1, 1, 1]))
        // a is the least loaded but just failed.
        let counts = FakeCounts([0, 5, 5])
        #expect(lc.pick(testKey, avoiding: 0, counts: counts) != 0)
        #expect(lc.pick(testKey, avoiding: nil, counts: counts) == 0)
        var live = FakeCounts(3)
        #expect(tally(sequence(&lc, 10, avoiding: 1, counts: &live), servers: 3) == [5, 0, 5])
    }

    @Test(arguments: [
        (makeServers([3]), 0, "aaa", "only server"),
        (makeServers([3, 1], down: [1]), 0, "aaa", "only eligible server"),
        (makeServers([3, 1], backups: [1]), 0, "aaa", "only primary: backups stay unused"),
        (makeServers([3, 1], backups: [1], down: [0]), 1, "bbb", "only backup"),
        (makeServers([1, 1]), 7, "abab", "out-of-range id is ignored"),
        (makeServers([1, 1], down: [0]), 0, "bbb", "avoided server is ineligible anyway"),
    ])
    func avoidingTheOnlyEligibleServerReturnsIt(
        _ servers: [BalancerServer], _ avoid: ServerID, _ expected: String, _ label: String
    ) {
        var lc = LeastConn(servers: servers)
        #expect(sequence(&lc, expected.count, avoiding: avoid) == expected, "\(label)")
    }
}
