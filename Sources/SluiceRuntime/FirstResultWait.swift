// Role-checked pools wait for their first answers: until a server's first result of a role
// check (`redis-master`, `http`) it takes no session (`init-state up` would send clients to a
// replica), and a client that finds no server while one still awaits its result waits unread
// in the pool's queue instead of being refused. Results wake the waiters; the probe's own
// timeout bounds the wait. `ServerRuntime.firstResultDue` carries the state.
import SluiceCore
import SluiceSys

extension PoolView {
    /// A server that would take sessions still awaits its first role-check result, before
    /// its deadline: a client that finds no server may wait for it (not with `timeout queue 0`).
    /// Only called when no server could be picked, so the scan stays off the common path.
    func awaitsFirstResult(_ now: Instant) -> Bool {
        guard settings.timeoutQueue != .zero else { return false }
        for server in servers
        where server.firstResultDue.load(ordering: .acquiring) > now.nanoseconds && server.adminState == .ready
            && !server.removing.load(ordering: .relaxed)
        {
            return true
        }
        return false
    }
}

extension PoolRuntime {
    /// A reload is about to give the pool a role check it did not have (or another one):
    /// every server awaits that check's first result before it takes a session, so none is
    /// picked on the old check's word meanwhile (the checker restarts its probes at once:
    /// `CheckTarget.adoptCurrentCheck`). Call before `update`.
    package func awaitFirstResults(of next: CheckKind) {
        guard next.isRoleCheck, next != settings.check.kind else { return }
        apply(
            allServers.filter { !$0.removing.load(ordering: .relaxed) }.map {
                ($0, .awaitFirstResult(due: .distantFuture, keepHealth: true))
            })
    }

    /// A first role-check result came in: every queued client tries again now (picks a
    /// server, waits on for another server's first result, or is refused). Clients queued
    /// for a full server that lose again go back to the front of the queue.
    func wakeWaiters(_ channels: [WorkerChannel]) {
        let woken: [QueuedClient] = waiting.withLock { list in
            defer { list.removeAll() }
            return list
        }
        guard !woken.isEmpty else { return }
        stats.queued.wrappingSubtract(woken.count, ordering: .relaxed)
        for entry in woken where entry.worker < channels.count {
            channels[entry.worker].send(.dequeue(entry, pool: index))
        }
    }
}
