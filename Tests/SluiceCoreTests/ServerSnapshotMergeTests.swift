// One exposition series per (pool, server name): a draining predecessor's counts fold into
// its successor's, whatever order the table lists them in; other servers are untouched.
import SluiceCore
import Testing

@Suite struct ServerSnapshotMergeTests {
    static func server(
        _ name: String, removing: Bool, sessions: Int, total: UInt64, weight: Int,
        pool: String = "p"
    ) -> ServerSnapshot {
        var s = ServerSnapshot(
            pool: pool, name: name, address: "127.0.0.1:1", health: removing ? .down : .up,
            state: .ready, weight: weight, effectiveWeight: weight, removing: removing)
        s.sessionsCurrent = sessions
        s.sessionsTotal = total
        s.connectSeconds = HistogramSnapshot(bounds: [0.1], cumulative: [total, total], sum: Double(total))
        return s
    }

    @Test(arguments: [false, true])
    func predecessorFoldsIntoSuccessor(predecessorFirst: Bool) {
        let old = Self.server("a", removing: true, sessions: 3, total: 40, weight: 10)
        let new = Self.server("a", removing: false, sessions: 1, total: 2, weight: 50)
        let other = Self.server("b", removing: false, sessions: 7, total: 9, weight: 1)
        let sameNameElsewhere = Self.server("a", removing: false, sessions: 5, total: 5, weight: 5, pool: "q")
        let input = predecessorFirst ? [old, other, new, sameNameElsewhere] : [new, other, old, sameNameElsewhere]
        let merged = ServerSnapshot.mergedByName(input)
        #expect(merged.map(\.name) == ["a", "b", "a"])
        #expect(merged[0].weight == 50 && merged[0].health == .up && !merged[0].removing)
        #expect(merged[0].sessionsCurrent == 4 && merged[0].sessionsTotal == 42)
        #expect(merged[0].connectSeconds?.cumulative == [42, 42] && merged[0].connectSeconds?.sum == 42)
        #expect(merged[1] == other && merged[2] == sameNameElsewhere)
    }
}
