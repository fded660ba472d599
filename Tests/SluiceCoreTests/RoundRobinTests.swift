// SmoothWeightedRoundRobin: exact nginx sequences, eligibility and backup rules, `avoiding`,
// and how the sequence behaves when servers go down, come back or change weight.
import SluiceSys
import Testing

@testable import SluiceCore

@Suite struct RoundRobinTests {
    @Test(arguments: [
        ([5, 1, 1], 14, "aabacaaaabacaa"),
        ([3, 2], 10, "ababaababa"),
        ([2, 1], 6, "abaaba"),
        ([1, 1, 1], 6, "abcabc"),
        ([1], 3, "aaa"),
        ([0, 1, 2], 6, "cbccbc"),
        ([4, 0, 0, 2], 6, "adaada"),
    ])
    func exactSequence(_ weights: [Int], _ picks: Int, _ expected: String) {
        var rr = SmoothWeightedRoundRobin(servers: makeServers(weights))
        #expect(sequence(&rr, picks) == expected)
    }

    /// Over `total weight` picks from a fresh start, each server is chosen exactly `weight` times.
    @Test(arguments: [[5, 1, 1], [3, 2], [10, 7, 3, 1], [1000, 1], [1, 2, 3, 4, 5, 6], [0, 3, 0, 1]])
    func oneCycleMatchesWeights(_ weights: [Int]) {
        var rr = SmoothWeightedRoundRobin(servers: makeServers(weights))
        let total = weights.reduce(0, +)
        #expect(tally(sequence(&rr, total), servers: weights.count) == weights)
        #expect(tally(sequence(&rr, 3 * total), servers: weights.count) == weights.map { 3 * $0 })
    }

    @Test func unusableIsNeverPicked() {
        var rr = SmoothWeightedRoundRobin(servers: makeServers([5, 1, 1], down: [0]))
        #expect(sequence(&rr, 6) == "bcbcbc")
        rr.setUsable(2, false)
        #expect(sequence(&rr, 3) == "bbb")
    }

    @Test func backupsOnlyWhileNoPrimaryIsEligible() {
        // a, b primaries; c (weight 2) and d backups.
        var rr = SmoothWeightedRoundRobin(servers: makeServers([1, 1, 2, 1], backups: [2, 3]))
        #expect(sequence(&rr, 4) == "abab")
        rr.setUsable(0, false)
        #expect(sequence(&rr, 3) == "bbb")
        rr.setWeight(1, 0)  // last primary drained: backups balanced 2:1 among themselves
        #expect(sequence(&rr, 6) == "cdccdc")
        rr.setWeight(1, 1)
        #expect(sequence(&rr, 2) == "bb")
        rr.setUsable(1, false)
        rr.setUsable(0, true)
        #expect(sequence(&rr, 2) == "aa")
    }

    @Test func avoidingSkipsTheFailedServer() {
        var rr = SmoothWeightedRoundRobin(servers: makeServers([5, 1, 1]))
        let picks = sequence(&rr, 12, avoiding: 0)
        #expect(!picks.contains("a"))
        #expect(tally(picks, servers: 3) == [0, 6, 6])
        // Sequence resumes well-behaved once nothing is avoided.
        #expect(tally(sequence(&rr, 7 * 4), servers: 3) == [20, 4, 4])
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
        var rr = SmoothWeightedRoundRobin(servers: servers)
        #expect(sequence(&rr, expected.count, avoiding: avoid) == expected, "\(label)")
    }

    @Test func weightChangeShiftsTheDistribution() {
        var rr = SmoothWeightedRoundRobin(servers: makeServers([1, 1]))
        #expect(tally(sequence(&rr, 10), servers: 2) == [5, 5])
        rr.setWeight(0, 3)
        #expect(tally(sequence(&rr, 40), servers: 2) == [30, 10])
        rr.setWeight(1, 7)
        #expect(tally(sequence(&rr, 100), servers: 2) == [30, 70])
    }

    /// A server that drops out mid-cycle and returns neither starves nor bursts.
    @Test func downAndUpMidCycleStaysWellBehaved() {
        var rr = SmoothWeightedRoundRobin(servers: makeServers([5, 1, 1]))
        _ = sequence(&rr, 3)
        rr.setUsable(2, false)
        #expect(!sequence(&rr, 10).contains("c"))
        rr.setUsable(2, true)
        let picks = sequence(&rr, 70)
        let counts = tally(picks, servers: 3)
        #expect(abs(counts[0] - 50) <= 2 && abs(counts[1] - 10) <= 2 && abs(counts[2] - 10) <= 2)
        // Smooth: c never waits more than two cycles.
        #expect(!picks.contains(String(repeating: "a", count: 6)))
        #expect(maxGap(picks, "c") <= 14)
        #expect(maxGap(picks, "b") <= 14)
    }

    private func maxGap(_ picks: String, _ c: Character) -> Int {
        var gap = 0
        var run = 0
        for p in picks {
            run = p == c ? 0 : run + 1
            gap = max(gap, run)
        }
        return gap
    }
}
