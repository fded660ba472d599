// Per-client warnings: the first of a kind per pool (and server) is logged in full, the rest
// within the period are counted and come due as one summary; kinds, pools and servers are
// counted apart; a clock read a little late never looks like a wrapped interval.
import Testing
import SluiceCore

func record(_ s: inout ClientWarningSummaries, _ key: ClientWarningSummaries.Key, now: UInt64) -> Bool {
    s.record(key, now: now)
}

func take(
    _ s: inout ClientWarningSummaries, now: UInt64, all: Bool = false
) -> [(key: ClientWarningSummaries.Key, count: Int)] {
    s.takeDue(now: now, all: all)
}

@Suite struct ClientWarningSummariesTests {
    typealias Key = ClientWarningSummaries.Key
    static let second = ClientWarningSummaries.period
    let pg = Key(.noServer, pool: "pg")

    @Test func firstInFullThenCountedUntilTheSummary() {
        var s = ClientWarningSummaries()
        #expect(record(&s, pg, now: 1000))
        for i in 1...1312 { #expect(!record(&s, pg, now: 1000 + UInt64(i))) }
        #expect(s.nextDue == 1000 + Self.second)
        #expect(take(&s, now: 1000 + Self.second - 1).isEmpty)
        let due = s.takeDue(now: 1000 + Self.second)
        #expect(due.map(\.key) == [pg])
        #expect(due.map(\.count) == [1312])
        #expect(s.nextDue == nil)
        // The summary counts as the line of that second: the next one waits for the period.
        #expect(!record(&s, pg, now: 1000 + Self.second + 5))
        #expect(take(&s, now: 1000 + 2 * Self.second).map(\.count) == [1])
        // A quiet period later, the next one is logged in full again.
        #expect(record(&s, pg, now: 1000 + 3 * Self.second))
    }

    @Test func aLoneWarningAfterAQuietSecondIsLoggedInFull() {
        var s = ClientWarningSummaries()
        #expect(record(&s, pg, now: 0))
        #expect(s.nextDue == nil)
        #expect(!record(&s, pg, now: Self.second - 1))
        #expect(take(&s, now: Self.second).map(\.count) == [1])
        #expect(record(&s, pg, now: 2 * Self.second + 1))
        #expect(take(&s, now: 10 * Self.second).isEmpty)
    }

    @Test func kindsPoolsAndServersAreSummarisedApart() {
        var s = ClientWarningSummaries()
        let keys = [
            pg, Key(.queueTimeout, pool: "pg"), Key(.noServer, pool: "redis"),
            Key(.connectFailed, pool: "pg", server: "pg1"), Key(.connectFailed, pool: "pg", server: "pg2"),
        ]
        for key in keys { #expect(record(&s, key, now: 0)) }
        for (i, key) in keys.enumerated() {
            for _ in 0...i { _ = s.record(key, now: 10) }
        }
        let due = s.takeDue(now: Self.second)
        #expect(due.map(\.key) == [keys[0], keys[1], keys[3], keys[4], keys[2]])
        #expect(due.map(\.count) == [1, 2, 4, 5, 3])
    }

    @Test func takeAllAtShutdownIgnoresThePeriod() {
        var s = ClientWarningSummaries()
        _ = s.record(pg, now: 0)
        _ = s.record(pg, now: 1)
        #expect(take(&s, now: 2).isEmpty)
        #expect(take(&s, now: 2, all: true).map(\.count) == [1])
        #expect(take(&s, now: 3, all: true).isEmpty)
    }

    @Test func aClockReadBeforeTheLastLineIsNoTimeAtAll() {
        var s = ClientWarningSummaries()
        #expect(record(&s, pg, now: 5 * Self.second))
        // Another thread read the clock first and took the lock second.
        #expect(!record(&s, pg, now: 5 * Self.second - 10))
        #expect(take(&s, now: 5 * Self.second - 5).isEmpty)
        #expect(take(&s, now: 6 * Self.second).map(\.count) == [1])
    }

    @Test func quietKeysAreForgotten() {
        var s = ClientWarningSummaries()
        _ = s.record(pg, now: 0)
        _ = s.record(Key(.noServer, pool: "gone"), now: 0)
        #expect(s.count == 2)
        _ = s.record(pg, now: 59 * Self.second)
        _ = s.takeDue(now: 61 * Self.second)
        #expect(s.count == 1)
    }

    @Test(arguments: ClientWarning.allCases)
    func summaryTexts(warning: ClientWarning) {
        switch warning {
        case .noServer: #expect(warning.summary(1312) == "1312 clients refused: no server available")
        case .queueTimeout: #expect(warning.summary(2) == "2 clients refused: queue timeout")
        case .proxyHeader: #expect(warning.summary(3) == "3 clients refused: cannot send the PROXY header")
        case .connectFailed:
            #expect(warning.summary(4) == "4 connect attempts failed")
            #expect(warning.countField == "attempts")
        }
        if warning != .connectFailed { #expect(warning.countField == "clients") }
    }
}
