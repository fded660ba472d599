// The per-pool queue (SPEC `maxconn` on servers, `timeout queue`): when every usable server
// is at its maxconn, a client waits, unread, in a FIFO shared by the workers; a freed slot
// goes to the oldest waiter, whichever worker owns it. New clients line up behind waiters.
// Clients also wait here for a role-checked server's first result (FirstResultWait.swift).
import SluiceCore
import SluiceSys
import Synchronization

/// When a client joins the queue. The condition is checked under the queue's lock, so a
/// client never joins just after the wake-up that would have served it.
enum QueueCondition {
    /// Every usable server is full.
    case always
    /// Only behind clients already waiting (a new client does not overtake them).
    case behindOthers
    /// Only while a server's first role-check result is due (FirstResultWait.swift).
    case firstResultDue
}

extension Worker {
    /// Puts the session in its pool's queue (at the front when it was just woken and lost
    /// the slot again), or rejects it at once when `timeout queue` is 0. False, and nothing
    /// done, when `condition` does not hold.
    @discardableResult
    mutating func enqueue(_ slot: UInt32, front: Bool = false, if condition: QueueCondition = .always) -> Bool {
        let view = pools[sessions[slot].pool]
        guard view.settings.timeoutQueue != .zero else {
            view.pool.stats.reject(.queueTimeout)
            finish(slot, aborted: true, reason: "servers full")
            return true
        }
        let entry = QueuedClient(worker: channel.index, slot: slot, generation: sessions[slot].generation)
        let now = self.now
        let joined = view.pool.waiting.withLock { list -> Bool in
            switch condition {
            case .always: break
            case .behindOthers: if list.isEmpty { return false }
            case .firstResultDue: if !view.awaitsFirstResult(now) { return false }
            }
            if front { list.insert(entry, at: 0) } else { list.append(entry) }
            return true
        }
        guard joined else { return false }
        view.pool.stats.queued.add(1, ordering: .relaxed)
        sessions[slot].state = .queued
        if !front { sessions[slot].queuedSince = now }
        armTimer(slot)
        return true
    }

    /// Takes the session out of its pool's queue (timeout, kill, shutdown); false when a
    /// freed slot already claimed it (a dequeue message is on its way).
    mutating func leaveQueue(_ slot: UInt32) -> Bool {
        let pool = pools[sessions[slot].pool].pool
        let entry = QueuedClient(worker: channel.index, slot: slot, generation: sessions[slot].generation)
        let removed = pool.waiting.withLock { list -> Bool in
            guard let i = list.firstIndex(of: entry) else { return false }
            list.remove(at: i)
            return true
        }
        if removed { pool.stats.queued.wrappingSubtract(1, ordering: .relaxed) }
        return removed
    }

    /// A slot of a capped server was freed: the oldest waiter of the pool gets it.
    mutating func slotFreed(pool index: Int) {
        let pool = pools[index].pool
        guard pool.stats.queued.load(ordering: .relaxed) > 0 else { return }
        let next: QueuedClient? = pool.waiting.withLock { list in list.isEmpty ? nil : list.removeFirst() }
        guard let next else { return }
        pool.stats.queued.wrappingSubtract(1, ordering: .relaxed)
        if next.worker == channel.index {
            resumeQueued(next, pool: index)
        } else {
            peers[next.worker].send(.dequeue(next, pool: index))
        }
    }

    /// The queued client got a slot: connect it, or pass the slot on if it is gone.
    mutating func resumeQueued(_ entry: QueuedClient, pool index: Int) {
        let slot = entry.slot
        guard Int(slot) < sessions.slots.count, sessions[slot].generation == entry.generation,
            sessions[slot].state == .queued
        else {
            slotFreed(pool: index)
            return
        }
        sessions[slot].state = .connecting
        connectNext(slot, wokenFromQueue: true)
    }
}
