// The clients of a one-shot server in a fixed number of slots, allocated once: memory does not
// grow with the number of clients seen. Each slot is on one of five intrusive FIFO lists (free,
// reading, waiting for a deferred reply, writing, lingering). Every phase has one fixed timeout
// (deferred replies share one: only `reload` has them), so a list kept in entry order is also
// in deadline order: its head is both the next deadline and the oldest client, the one to
// evict first. A generation per slot tells a stale epoll event from a live client.
import SluiceSys

enum OneShotPhase: Int {
    case reading = 0
    case writing = 1
    case lingering = 2
    /// Waiting for a reply another thread makes (out of the epoll set meanwhile).
    case waiting = 3
}

/// A client's slot and the generation it had when the client came; packs into epoll data.
struct OneShotKey: Equatable {
    let slot: Int32
    let generation: UInt32

    /// Generation 0 is never a client's: data values with it are free for the listener and
    /// the wake-up fd.
    var epollData: UInt64 { UInt64(generation) << 32 | UInt64(UInt32(bitPattern: slot)) }
}

/// Index of the free list beside the four phase lists.
private let freeList = 4

struct OneShotTable<Client> {
    private struct Meta {
        var generation: UInt32 = 0
        var list = freeList
        var prev: Int32 = -1
        var next: Int32 = -1
        var deadline = Instant.distantFuture
    }

    private var meta: [Meta]
    private var clients: [Client?]
    private var heads: [Int32] = Array(repeating: -1, count: freeList + 1)
    private var tails: [Int32] = Array(repeating: -1, count: freeList + 1)
    private(set) var count = 0

    init(capacity: Int) {
        let capacity = max(1, min(capacity, Int(Int32.max)))
        meta = Array(repeating: Meta(), count: capacity)
        clients = Array(repeating: nil, count: capacity)
        for slot in 0..<capacity { append(Int32(slot), to: freeList) }
    }

    var capacity: Int { meta.count }
    var isFull: Bool { count == meta.count }
    var isEmpty: Bool { count == 0 }

    /// The live client `data` (from epoll) names, or nil for a stale or foreign value.
    func key(epollData data: UInt64) -> OneShotKey? {
        let slot = Int(UInt32(truncatingIfNeeded: data))
        let generation = UInt32(truncatingIfNeeded: data >> 32)
        guard slot < meta.count, generation != 0, meta[slot].generation == generation,
            meta[slot].list != freeList
        else { return nil }
        return OneShotKey(slot: Int32(slot), generation: generation)
    }

    /// Puts `client` in a free slot, in the reading phase; nil when every slot is taken.
    mutating func insert(_ client: Client, deadline: Instant) -> OneShotKey? {
        let slot = heads[freeList]
        guard slot >= 0 else { return nil }
        unlink(slot)
        let i = Int(slot)
        meta[i].generation = meta[i].generation == UInt32.max ? 1 : meta[i].generation + 1
        meta[i].deadline = deadline
        clients[i] = client
        append(slot, to: OneShotPhase.reading.rawValue)
        count += 1
        return OneShotKey(slot: slot, generation: meta[i].generation)
    }

    func isLive(_ key: OneShotKey) -> Bool {
        let i = Int(key.slot)
        return i >= 0 && i < meta.count && meta[i].generation == key.generation && meta[i].list != freeList
    }

    func phase(_ key: OneShotKey) -> OneShotPhase? {
        guard isLive(key) else { return nil }
        return OneShotPhase(rawValue: meta[Int(key.slot)].list)
    }

    /// Moves the client to the end of `phase`'s list with a new deadline.
    mutating func move(_ key: OneShotKey, to phase: OneShotPhase, deadline: Instant) {
        guard isLive(key) else { return }
        unlink(key.slot)
        meta[Int(key.slot)].deadline = deadline
        append(key.slot, to: phase.rawValue)
    }

    /// Takes the client out of its slot to work on it (the slot stays taken); `put` it back.
    mutating func take(_ key: OneShotKey) -> Client? {
        guard isLive(key) else { return nil }
        return clients[Int(key.slot)].take()
    }

    mutating func put(_ key: OneShotKey, _ client: Client) {
        guard isLive(key) else { return }
        clients[Int(key.slot)] = client
    }

    /// Frees the slot; returns the client unless it was taken out.
    mutating func remove(_ key: OneShotKey) -> Client? {
        guard isLive(key) else { return nil }
        let client = clients[Int(key.slot)].take()
        unlink(key.slot)
        append(key.slot, to: freeList)
        count -= 1
        return client
    }

    /// The client that entered `phase` first (so the first whose deadline passes).
    func oldest(_ phase: OneShotPhase) -> OneShotKey? {
        let slot = heads[phase.rawValue]
        guard slot >= 0 else { return nil }
        return OneShotKey(slot: slot, generation: meta[Int(slot)].generation)
    }

    /// Every client in `phase`, oldest first.
    func keys(in phase: OneShotPhase) -> [OneShotKey] {
        var keys: [OneShotKey] = []
        var slot = heads[phase.rawValue]
        while slot >= 0 {
            keys.append(OneShotKey(slot: slot, generation: meta[Int(slot)].generation))
            slot = meta[Int(slot)].next
        }
        return keys
    }

    var nextDeadline: Instant? {
        var next: Instant?
        for phase in 0..<freeList where heads[phase] >= 0 {
            let deadline = meta[Int(heads[phase])].deadline
            if next.map({ deadline < $0 }) ?? true { next = deadline }
        }
        return next
    }

    /// A client whose deadline is at or before `now`, if any.
    func expired(at now: Instant) -> OneShotKey? {
        for phase in 0..<freeList where heads[phase] >= 0 {
            let slot = heads[phase]
            if meta[Int(slot)].deadline <= now { return OneShotKey(slot: slot, generation: meta[Int(slot)].generation) }
        }
        return nil
    }

    /// Every live client, for closing them all at shutdown.
    mutating func removeAll() -> [Client] {
        var all: [Client] = []
        for phase in 0..<freeList {
            while heads[phase] >= 0 {
                let slot = heads[phase]
                if let client = remove(OneShotKey(slot: slot, generation: meta[Int(slot)].generation)) {
                    all.append(client)
                }
            }
        }
        return all
    }

    private mutating func unlink(_ slot: Int32) {
        let i = Int(slot)
        let list = meta[i].list
        let prev = meta[i].prev
        let next = meta[i].next
        if prev >= 0 { meta[Int(prev)].next = next } else { heads[list] = next }
        if next >= 0 { meta[Int(next)].prev = prev } else { tails[list] = prev }
        meta[i].prev = -1
        meta[i].next = -1
    }

    private mutating func append(_ slot: Int32, to list: Int) {
        let i = Int(slot)
        meta[i].list = list
        meta[i].prev = tails[list]
        meta[i].next = -1
        if tails[list] >= 0 { meta[Int(tails[list])].next = slot } else { heads[list] = slot }
        tails[list] = slot
    }
}
