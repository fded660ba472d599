// HostLookups with a scripted resolver that can hang like getaddrinfo on a silent name
// server: a batch ends at its deadline with "no answer" for the stuck names and the answers
// of the others; stuck threads are never more than maxThreads; a name stuck for an earlier
// batch is not looked up again but its late answer serves the later batch.
import SluiceCore
import SluiceSys
import SluiceTestSupport
import Synchronization
import Testing

@testable import SluiceRuntime

@Suite struct HostLookupsTests {
    /// Names in `table` answer at once; others hang until `release()`, then fail.
    final class Names: Sendable {
        let table: [String: IPAddress]
        let released = Atomic<Bool>(false)
        let running = Atomic<Int>(0)
        let mostAtOnce = Atomic<Int>(0)
        let asked = Mutex<[String]>([])

        init(_ table: [String: IPAddress]) { self.table = table }

        func resolve(_ host: String) -> Result<IPAddress, ResolveFailure> {
            asked.withLock { $0.append(host) }
            let now = running.add(1, ordering: .relaxed).newValue
            _ = mostAtOnce.max(now, ordering: .relaxed)
            defer { running.subtract(1, ordering: .relaxed) }
            if let address = table[host] { return .success(address) }
            while !released.load(ordering: .relaxed) { ProcessControl.sleepMillis(1) }
            return .failure(ResolveFailure("Name or service not known"))
        }

        func release() { released.store(true, ordering: .relaxed) }
    }

    /// Waits (bounded) for `batch` to finish.
    static func finish(_ batch: LookupBatch) throws {
        let start = Instant.now()
        while !batch.finished() {
            try #require(Instant.now().millis(since: start) < 20_000, "batch never finished")
            ProcessControl.sleepMillis(2)
        }
    }

    @Test func aStuckNameEndsTheBatchAtItsDeadlineWithTheOtherAnswers() throws {
        let names = Names(["db.example": IPAddress("10.0.0.1")!])
        defer { names.release() }
        let lookups = try HostLookups(resolve: names.resolve)
        let batch = lookups.start(["db.example", "stuck.example"], timeout: .milliseconds(300))
        try Self.finish(batch)
        #expect(batch.lookup("db.example") == .found(IPAddress("10.0.0.1")!))
        #expect(batch.lookup("stuck.example") == .noAnswer(within: "300ms"))
        #expect(batch.unanswered == ["stuck.example"])
    }

    @Test func stuckLookupsNeverPileUp() throws {
        let names = Names([:])
        defer { names.release() }
        let lookups = try HostLookups(resolve: names.resolve)
        let many = (0..<(HostLookups.maxThreads * 2)).map { "stuck\($0).example" }
        // Repeated reloads of the same file while the name server is silent.
        var batches: [LookupBatch] = []
        for _ in 0..<5 { batches.append(lookups.start(many, timeout: .milliseconds(200))) }
        for batch in batches { try Self.finish(batch) }
        #expect(batches.allSatisfy { $0.unanswered == many })
        #expect(names.mostAtOnce.load(ordering: .relaxed) <= HostLookups.maxThreads)
        let asked = names.asked.withLock { $0 }
        #expect(asked.count <= HostLookups.maxThreads && Set(asked).count == asked.count, "\(asked)")
    }

    @Test func aLaterBatchSharesALookupStillInFlight() throws {
        let names = Names([:])
        defer { names.release() }
        let lookups = try HostLookups(resolve: names.resolve)
        let first = lookups.start(["x.example"], timeout: .milliseconds(500))
        let start = Instant.now()
        while names.asked.withLock({ $0 }).isEmpty {
            try #require(Instant.now().millis(since: start) < 20_000, "the lookup never started")
            ProcessControl.sleepMillis(1)
        }
        try Self.finish(first)
        #expect(first.lookup("x.example") == .noAnswer(within: "500ms"))
        let later = lookups.start(["x.example"], timeout: .seconds(60))
        #expect(!later.finished())
        names.release()
        try Self.finish(later)
        #expect(later.lookup("x.example") == .failed(reason: "Name or service not known"))
        #expect(names.asked.withLock { $0 } == ["x.example"])
    }

    @Test func aFileWithoutHostNamesNeedsNoLookup() throws {
        let names = Names([:])
        let lookups = try HostLookups(resolve: names.resolve)
        let dir = ScratchDirectory()
        let file = dir.file("sluice.conf")
        let text = Array("pool p\n    bind 127.0.0.1:7000\n    server a 10.0.0.1:5432\n    server b [::1]:5432\n".utf8)
        try Files.replace(file, with: text)
        let load = try ConfigLoad(file: file, lookups: lookups)
        #expect(load.batch == nil && load.finished)
        #expect((try? load.result().get())?.pools.first?.servers.count == 2)
        #expect(names.asked.withLock { $0 }.isEmpty)
    }
}
