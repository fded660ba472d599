// One checked server on the checker thread. A target is either idle (one timer: its next
// check) or probing (a ProbeRun: one socket and one timer, the probe's hard deadline); every
// change bumps its generation, so the CheckLoop drops stale timers and epoll events.
import SluiceCore
import SluiceSys

final class CheckTarget {
    let server: ServerRuntime
    let pool: PoolRuntime
    let slot: UInt32
    private(set) var check: CheckConfig
    /// nil: `check none` (no probe while up; a connect-only probe while observed down, or
    /// for a UDP pool just the passing of intervals).
    private(set) var script: ProbeScript?
    let endpoint: IPEndpoint
    var health: HealthState
    var generation: UInt32 = 0
    var probe: ProbeRun?
    /// A timer for the next check is pending.
    var scheduled = false
    /// A check result (or observed failure) has arrived since the target was created.
    var reported = false
    /// The last result was a success.
    var lastSuccess = false
    /// Replication offset of the last passing check, when the check reports one.
    var offset: UInt64?
    /// A reload changed the check's kind; its next result sets `checkPassed` either way.
    var kindChanged = false
    /// The pool waits for this server's first role-check result (`firstResultDue`).
    var awaitingFirst: Bool

    init(_ new: HealthChecker.NewTarget, slot: UInt32) {
        server = new.server
        pool = new.pool
        self.slot = slot
        check = new.pool.settings.check
        script = Probes.script(for: check.kind)
        var endpoint = new.server.endpoint
        if let port = new.server.config.checkPort { endpoint.port = port }
        self.endpoint = endpoint
        health = HealthState(rise: check.rise, fall: check.fall, start: new.start)
        awaitingFirst = new.server.firstResultDue.load(ordering: .relaxed) != 0
    }

    var epollData: UInt64 { UInt64(slot) << 32 | UInt64(generation) }

    /// A reload changed the pool's check: the next probe uses the new one. The server keeps
    /// its up/down state and the rise/fall count starts again, except for a new role check,
    /// whose first result alone decides (as at start-up), the server taking no session before.
    func adoptCurrentCheck() {
        let current = pool.settings.check
        guard current != check else { return }
        let previous = check
        check = current
        script = Probes.script(for: current.kind)
        health = HealthState(rise: current.rise, fall: current.fall, start: health.isUp ? .up : .down)
        if current.kind != previous.kind {
            kindChanged = true  // the new kind must pass on its own (`checkPassed`)
            offset = nil
            if current.kind.isRoleCheck { awaitFirstResult() }
        }
    }

    /// Down until the first result of the (new) role check, which counts as `rise`.
    private func awaitFirstResult() {
        health = HealthState(rise: check.rise, fall: check.fall, start: .fresh)
        awaitingFirst = true
        pool.apply(.awaitFirstResult(due: Instant.now() + check.timeout, keepHealth: false), to: server)
    }
}

struct ProbeRun {
    let fd: FD
    let started: Instant
    let script: ProbeScript
    var connected = false
    var step = 0
    var sent = 0
    var matcher: MatcherState?
    /// What the last passing expect found (`master_repl_offset`).
    var offset: UInt64?
}
