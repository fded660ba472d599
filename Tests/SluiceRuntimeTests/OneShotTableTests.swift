// The one-shot servers' slot table without a kernel: eviction order (oldest first per phase),
// deadlines in order, stale keys after a slot is reused, and the ledger counting a shared
// reply once.
@testable import SluiceRuntime
import SluiceSys
import Testing

@Suite struct OneShotTableTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000)
    static func at(_ ms: UInt64) -> Instant { Instant(nanoseconds: t0.nanoseconds + ms * 1_000_000) }

    static func insert<C>(_ table: inout OneShotTable<C>, _ client: C, deadline: Instant) throws -> OneShotKey {
        let key = table.insert(client, deadline: deadline)
        return try #require(key)
    }

    @Test func oldestFirstAndDeadlinesInOrder() throws {
        var table = OneShotTable<String>(capacity: 3)
        let a = try Self.insert(&table, "a", deadline: Self.at(100))
        let b = try Self.insert(&table, "b", deadline: Self.at(200))
        let c = try Self.insert(&table, "c", deadline: Self.at(300))
        #expect(table.isFull && table.insert("d", deadline: Self.at(400)) == nil)
        #expect(table.oldest(.reading) == a && table.nextDeadline == Self.at(100))
        // a starts writing (deadline later than everyone's): b becomes the oldest reader.
        table.move(a, to: .writing, deadline: Self.at(5000))
        #expect(table.oldest(.reading) == b && table.oldest(.writing) == a)
        #expect(table.nextDeadline == Self.at(200))
        #expect(table.expired(at: Self.at(199)) == nil && table.expired(at: Self.at(250)) == b)
        #expect(table.remove(b) == "b" && table.oldest(.reading) == c)
        // The freed slot is reused with a new generation: the old key and its epoll data are stale.
        let d = try Self.insert(&table, "d", deadline: Self.at(400))
        #expect(d.slot == b.slot && d.generation != b.generation)
        #expect(table.key(epollData: b.epollData) == nil && table.key(epollData: d.epollData) == d)
        #expect(table.take(b) == nil && table.remove(b) == nil && table.count == 3)
        #expect(table.oldest(.reading) == c, "a newcomer is the last to be evicted")
        // Listener and wake-up data (generation 0) never name a client.
        #expect(table.key(epollData: 0) == nil && table.key(epollData: 1) == nil)
        #expect(table.key(epollData: UInt64.max) == nil)
    }

    @Test func takenClientsStayInTheirSlot() throws {
        var table = OneShotTable<[UInt8]>(capacity: 2)
        let a = try Self.insert(&table, [1], deadline: Self.at(10))
        let taken = table.take(a)
        var client = try #require(taken)
        client.append(2)
        #expect(table.phase(a) == .reading && table.count == 1)
        table.put(a, client)
        #expect(table.take(a) == [1, 2])
        #expect(table.remove(a) == nil, "taken out: the caller disposes of it")
        #expect(table.isEmpty && table.nextDeadline == nil)
        _ = table.insert([3], deadline: Self.at(20))
        _ = table.insert([4], deadline: Self.at(30))
        #expect(table.removeAll().sorted { $0[0] < $1[0] } == [[3], [4]] && table.isEmpty)
    }

    @Test func ledgerCountsASharedReplyOnce() {
        var ledger = OneShotReplyLedger()
        let shared = OneShotReply(Array(repeating: 7, count: OneShotReplyLedger.largeReply))
        let small = OneShotReply("OK\n")
        for _ in 0..<64 { ledger.hold(shared) }
        ledger.hold(small)
        #expect(ledger.bytes == shared.count + 3)
        for _ in 0..<63 { ledger.release(shared) }
        #expect(ledger.bytes == shared.count + 3 && !ledger.takeLargeRelease())
        ledger.release(shared)
        #expect(ledger.bytes == 3 && !ledger.takeLargeRelease(), "something is still held")
        ledger.release(small)
        ledger.release(small)
        #expect(ledger.bytes == 0 && ledger.takeLargeRelease() && !ledger.takeLargeRelease())
    }
}

extension OneShotTableTests {
    /// Many replies just under the large size add up: 40 unread `show metrics` of 850 KiB
    /// freed together are worth a trim (seen: 30 MiB kept resident after such clients left).
    @Test func repliesJustUnderTheLargeSizeAddUpToATrim() {
        var ledger = OneShotReplyLedger()
        let replies = (0..<4).map { _ in OneShotReply(Array(repeating: 1, count: OneShotReplyLedger.largeReply / 3)) }
        for r in replies { ledger.hold(r) }
        ledger.release(replies[0])
        ledger.release(replies[1])
        ledger.release(replies[2])
        let early = ledger.takeLargeRelease()
        #expect(!early, "one is still held")
        ledger.release(replies[3])
        let first = ledger.takeLargeRelease()
        let second = ledger.takeLargeRelease()
        #expect(first && !second)
    }
}
