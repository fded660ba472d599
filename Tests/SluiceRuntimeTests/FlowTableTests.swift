// The worker's UDP flow table: a flood's peak is not kept for good. Once every flow is gone
// the slab, free list and map are released, and slots made after that carry generations past
// every old one, so stale epoll events and timers of old flows never match a new flow.
import SluiceSys
import Testing
@testable import SluiceRuntime

@Suite struct FlowTableTests {
    static func peer(_ i: Int) -> FlowPeer {
        FlowPeer(listener: 0, client: IPEndpoint(.v4(0x7F00_0001), UInt16(truncatingIfNeeded: 1024 + i)))
    }

    @Test func storageAFloodGrewIsReleasedOnceTheTableEmpties() {
        var table = FlowTable()
        let flood = 2 * FlowTable.keptSlots + 100
        let slots = (0..<flood).map { table.allocate(Self.peer($0)) }
        for slot in slots { table.free(slot) }
        let oldGenerations = table.slots.map(\.generation)
        #expect(table.live == 0)

        let slot = table.allocate(Self.peer(0))
        #expect(table.slots.count == 1, "the flood's \(flood) slots are kept")
        #expect(table.find(Self.peer(0)) == slot)
        #expect(table.find(Self.peer(1)) == nil)
        #expect(oldGenerations.allSatisfy { $0 < table[slot].generation }, "a new slot reuses an old generation")
    }

    @Test func aTableWithLiveFlowsOrFewSlotsKeepsThem() {
        var table = FlowTable()
        let slots = (0..<(2 * FlowTable.keptSlots)).map { table.allocate(Self.peer($0)) }
        for slot in slots.dropFirst() { table.free(slot) }
        // One flow is live: nothing moves, the kept flow is still found where it was.
        let next = table.allocate(Self.peer(99_999))
        #expect(table.slots.count == 2 * FlowTable.keptSlots)
        #expect(table.find(Self.peer(0)) == slots[0] && table[slots[0]].live)
        table.free(next)
        table.free(slots[0])

        var small = FlowTable()
        let few = (0..<10).map { small.allocate(Self.peer($0)) }
        for slot in few { small.free(slot) }
        _ = small.allocate(Self.peer(0))
        #expect(small.slots.count == 10, "a small table is kept as it is")
    }
}
