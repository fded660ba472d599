// Latch: the waiter wakes at the last arrival from other threads, times out without it, and
// extra arrivals do nothing.
import SluiceSys
import Testing

@Suite struct LatchTests {
    @Test func opensAtTheLastArrivalFromOtherThreads() {
        let latch = Latch(count: 3)
        var threads: [ThreadHandle] = []
        for _ in 0..<3 { threads.append(ThreadHandle.spawn(name: "arrive") { latch.arrive() }) }
        #expect(latch.wait(until: Instant.distantFuture))
        #expect(latch.isOpen)
        for t in threads { t.join() }
    }

    @Test func timesOutShortOfItsCount() {
        let latch = Latch(count: 2)
        latch.arrive()
        let start = Instant.now()
        #expect(!latch.wait(timeoutMillis: 30))
        #expect(Instant.now().millis(since: start) >= 30)
        #expect(!latch.isOpen)
    }

    @Test func arrivalsPastTheCountAreIgnored() {
        let latch = Latch(count: 1)
        latch.arrive()
        latch.arrive()
        #expect(latch.wait(timeoutMillis: 0))
        #expect(Latch(count: 0).wait(timeoutMillis: 0))
    }
}
