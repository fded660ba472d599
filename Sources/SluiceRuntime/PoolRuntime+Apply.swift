// The one way a server's shared state changes. Health results, the first-result wait, admin
// states and weights (admin socket, state file, reload), removals (del server, reload, a name
// that moved) all go through `apply`: it writes each change's atomics in their fixed order,
// then bumps the pool's version once for the whole batch, so a worker that refreshes sees a
// change whole (the slow-start skip came from a health change published in two steps).
// Membership (`add`), settings (`update`) and the single-primary gate bump it in PoolRuntime.
import SluiceCore
import SluiceSys

package enum ServerChange: Sendable, Equatable {
    /// A check result moved the server up or down; up starts its slow-start ramp.
    case health(up: Bool, at: Instant)
    /// The start state the checker gives a server it sees for the first time (`init-state`):
    /// no slow-start ramp, no state change recorded.
    case initialHealth(up: Bool)
    /// Takes no session until the first result of its (new) role check, due by `due`
    /// (`distantFuture` until the checker starts the probe); down meanwhile unless `keepHealth`.
    case awaitFirstResult(due: Instant, keepHealth: Bool)
    /// That first result is in. Apply it after the result's `health` change was applied (its
    /// own batch): a worker that sees the wait over then sees the health too.
    case firstResultIn
    /// `byOperator`: set at run time, so a reload keeps it (SPEC "Reload").
    case adminState(AdminState, byOperator: Bool)
    case weight(Int, byOperator: Bool)
    /// Deleted: takes no new session, drains, then leaves the table (PoolRuntime+Reclaim).
    case removing
}

extension PoolRuntime {
    package func apply(_ change: ServerChange, to server: ServerRuntime) {
        server.write(change)
        bumpVersion()
    }

    /// Every change in order, then one version bump (none for an empty batch).
    package func apply(_ changes: [(server: ServerRuntime, change: ServerChange)]) {
        guard !changes.isEmpty else { return }
        for (server, change) in changes { server.write(change) }
        bumpVersion()
    }

    /// No server changed, but the weights slow start computes moved with time: workers
    /// refresh to take the next step.
    package func slowStartStep() {
        bumpVersion()
    }
}

extension ServerRuntime {
    /// The writes of one change; only `PoolRuntime.apply` calls this (tests may, to stand in
    /// the window before a bump).
    func write(_ change: ServerChange) {
        switch change {
        case .health(let up, let at):
            setHealth(up: up, at: at)
        case .initialHealth(let up):
            healthy.store(up, ordering: .releasing)
        case .awaitFirstResult(let due, let keepHealth):
            firstResultDue.store(due.nanoseconds, ordering: .relaxed)
            if !keepHealth && healthy.exchange(false, ordering: .relaxed) {
                upSince.store(0, ordering: .relaxed)
                lastChange.store(Instant.now().nanoseconds, ordering: .relaxed)
            }
        case .firstResultIn:
            firstResultDue.store(0, ordering: .releasing)
        case .adminState(let state, let byOperator):
            setAdminState(state)
            if byOperator { adminStateSetAtRunTime.store(true, ordering: .relaxed) }
        case .weight(let weight, let byOperator):
            self.weight.store(weight, ordering: .relaxed)
            if byOperator { weightSetAtRunTime.store(true, ordering: .relaxed) }
            lastChange.store(Instant.now().nanoseconds, ordering: .relaxed)
        case .removing:
            markRemoving()
        }
    }
}
