// A binary min-heap of (deadline, slot, generation). Entries are never removed early: a
// fired entry whose session moved on (new generation, later deadline) is re-armed or dropped
// by the caller, so activity never touches the heap.
import SluiceSys

struct TimerEntry {
    var deadline: Instant
    var slot: UInt32
    var generation: UInt32
}

struct TimerHeap {
    private var heap: ContiguousArray<TimerEntry> = []

    init() { heap.reserveCapacity(1024) }

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextDeadline: Instant? { heap.first?.deadline }

    mutating func push(_ entry: TimerEntry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[parent].deadline <= heap[child].deadline { break }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(_ now: Instant) -> TimerEntry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
