// `single-primary`: the choice keeps the previous primary while it passes, picks the server
// that is ahead with no history (ties and unknown offsets in config order, non-backups first),
// moves on when the primary goes down or leaves `ready`, waits for `settled` at start, and
// reports conflicts once when they start and once when they end. One primary, never two.
import SluiceCore
import Testing

@Suite struct PrimaryElectionTests {
    /// Candidates in config order; `passing` by index, offsets by index (nil: unknown).
    static func candidates(
        _ count: Int, passing: Set<Int>, offsets: [Int: UInt64] = [:], notReady: Set<Int> = [], backups: Set<Int> = []
    ) -> [PrimaryCandidate] {
        (0..<count).map {
            PrimaryCandidate(
                passing: passing.contains($0), ready: !notReady.contains($0), backup: backups.contains($0),
                offset: offsets[$0], order: $0)
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let current: Int?
        let candidates: [PrimaryCandidate]
        let expected: Int?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "keeps the previous primary though another is ahead", current: 1,
            candidates: candidates(3, passing: [0, 1, 2], offsets: [0: 900, 1: 5, 2: 800]), expected: 1),
        Case(
            name: "no history: the highest offset", current: nil,
            candidates: candidates(3, passing: [0, 1, 2], offsets: [0: 10, 1: 30, 2: 20]), expected: 1),
        Case(
            name: "no history: ties in config order", current: nil,
            candidates: candidates(3, passing: [0, 1, 2], offsets: [0: 10, 1: 30, 2: 30]), expected: 1),
        Case(
            name: "no offsets (http): config order", current: nil,
            candidates: candidates(3, passing: [1, 2]), expected: 1),
        Case(
            name: "a known offset ranks above an unknown one", current: nil,
            candidates: candidates(3, passing: [0, 1, 2], offsets: [2: 0]), expected: 2),
        Case(
            name: "primary went down: the next best", current: 0,
            candidates: candidates(3, passing: [1, 2], offsets: [0: 99, 1: 7, 2: 8]), expected: 2),
        Case(
            name: "primary drained: the next best", current: 0,
            candidates: candidates(3, passing: [0, 1, 2], offsets: [1: 8, 2: 7], notReady: [0]), expected: 1),
        Case(
            name: "a passing server that is not ready is never chosen", current: nil,
            candidates: candidates(2, passing: [0, 1], offsets: [0: 50, 1: 1], notReady: [0]), expected: 1),
        Case(name: "nobody passes", current: 0, candidates: candidates(3, passing: []), expected: nil),
        Case(
            name: "non-backups before a backup that is ahead", current: nil,
            candidates: candidates(3, passing: [0, 2], offsets: [0: 1, 2: 100], backups: [0]), expected: 2),
        Case(
            name: "only backups pass: the best backup", current: nil,
            candidates: candidates(3, passing: [1, 2], offsets: [1: 3, 2: 4], backups: [1, 2]), expected: 2),
        Case(
            name: "a backup primary is kept when a non-backup starts passing", current: 2,
            candidates: candidates(3, passing: [0, 2], offsets: [0: 100, 2: 1], backups: [2]), expected: 2),
        Case(
            name: "a current index out of range is no history", current: 7,
            candidates: candidates(2, passing: [0, 1], offsets: [1: 1]), expected: 1),
    ]

    @Test(arguments: cases) func choice(_ c: Case) {
        #expect(PrimaryChoice.choose(current: c.current, c.candidates) == c.expected)
    }

    @Test func tiesFollowConfigOrderNotTableOrder() {
        // A server re-added by a reload sits later in the table but keeps its config rank.
        let list = [
            PrimaryCandidate(passing: true, offset: 5, order: 1),
            PrimaryCandidate(passing: true, offset: 5, order: 0),
        ]
        #expect(PrimaryChoice.choose(current: nil, list) == 1)
    }

    @Test func waitsForSettledThenKeepsItsChoice() {
        var e = PrimaryElection()
        // The first server answers first: no choice yet.
        #expect(e.update(Self.candidates(2, passing: [0], offsets: [0: 5]), settled: false) == [])
        #expect(e.primary == nil && !e.settled)
        // The second answers, ahead: it wins, and both passing is a conflict.
        let both = Self.candidates(2, passing: [0, 1], offsets: [0: 5, 1: 9])
        #expect(
            e.update(both, settled: true) == [
                .chosen(1, previous: nil), .conflictStarted(passing: [0, 1], kept: 1),
            ])
        // Server 0 moves ahead: the primary stays; nothing new to log.
        #expect(e.update(Self.candidates(2, passing: [0, 1], offsets: [0: 50, 1: 9]), settled: false) == [])
        #expect(e.primary == 1 && e.settled)
        // Server 0 stops passing: the conflict is over, the primary unchanged.
        #expect(
            e.update(Self.candidates(2, passing: [1], offsets: [1: 9]), settled: false) == [
                .conflictEnded(passing: [1])
            ])
        // The primary goes down while 0 passes again: 0 takes over, no conflict.
        #expect(
            e.update(Self.candidates(2, passing: [0], offsets: [0: 60]), settled: false) == [.chosen(0, previous: 1)])
        // Nobody passes.
        #expect(e.update(Self.candidates(2, passing: []), settled: false) == [.lost(previous: 0)])
        #expect(e.primary == nil)
        // With history gone, the first to pass is chosen at once (settled stays true).
        #expect(e.update(Self.candidates(2, passing: [1]), settled: false) == [.chosen(1, previous: nil)])
    }

    @Test func neverTwoPrimariesOverAnySequence() {
        // Every passing/ready/offset combination of three servers, in a long pseudo-random walk:
        // the primary is always one eligible server or none, kept while it stays eligible.
        var e = PrimaryElection()
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            seed ^= seed << 13
            seed ^= seed >> 7
            seed ^= seed << 17
            return seed
        }
        var previous: Int?
        for _ in 0..<5000 {
            let r = next()
            let list = (0..<3).map { i in
                PrimaryCandidate(
                    passing: (r >> UInt64(i)) & 1 == 1, ready: (r >> UInt64(i + 3)) & 3 != 0,
                    backup: i == 2, offset: (r >> UInt64(i + 8)) & 1 == 1 ? (r >> UInt64(16 + 8 * i)) & 0xF : nil,
                    order: i)
            }
            _ = e.update(list, settled: true)
            if let p = e.primary {
                #expect(list[p].eligible)
                if let previous, list[previous].eligible { #expect(p == previous, "kept while eligible") }
            } else {
                #expect(!list.contains { $0.eligible })
            }
            #expect(e.conflict == (list.filter(\.passing).count > 1))
            previous = e.primary
        }
    }
}
