// The timer heap pops in deadline order and only what is due.
import SluiceSys
import Testing
@testable import SluiceRuntime

@Suite struct TimerHeapTests {
    @Test func popsDueEntriesInOrder() {
        var heap = TimerHeap()
        let deadlines: [UInt64] = [50, 10, 40, 10, 30, 20, 60, 5]
        for (i, d) in deadlines.enumerated() {
            heap.push(TimerEntry(deadline: Instant(nanoseconds: d), slot: UInt32(i), generation: 0))
        }
        var popped: [UInt64] = []
        while let e = heap.popDue(Instant(nanoseconds: 40)) { popped.append(e.deadline.nanoseconds) }
        #expect(popped == [5, 10, 10, 20, 30, 40])
        #expect(heap.count == 2)
        #expect(heap.nextDeadline == Instant(nanoseconds: 50))
        #expect(heap.popDue(Instant(nanoseconds: 49)) == nil)
    }
}
