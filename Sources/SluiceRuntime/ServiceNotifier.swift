// What systemd hears from sluice (SPEC "systemd"): READY=1 once listeners accept, a STATUS=
// line refreshed every few seconds, RELOADING=1/READY=1 around reloads, STOPPING=1, and
// WATCHDOG=1 only while every worker loop is alive. A worker idle in epoll_wait is woken
// with a ping when its heartbeat has not moved; one that still has not moved by the next
// tick is wedged, and the pings stop so systemd restarts the service.
import SluiceSys

final class ServiceNotifier {
    let watchdogInterval: Duration?
    private var lastStatus = Instant(nanoseconds: 0)
    private var lastWatchdog = Instant(nanoseconds: 0)
    private var lastBeats: [UInt64] = []
    private var pinged: [Bool] = []
    private var wedgedReported = false

    init() {
        watchdogInterval = Systemd.watchdogPingInterval()
    }

    /// How long the control loop may sleep between ticks.
    var tickMillis: Int {
        guard let interval = watchdogInterval else { return 1000 }
        return max(10, min(1000, Int(interval.milliseconds)))
    }

    func ready(status: String) {
        Systemd.notify("READY=1\nSTATUS=\(status)")
        lastStatus = Instant.now()
    }

    func stopping() { Systemd.notify("STOPPING=1\nSTATUS=stopping") }

    func reloading() { Systemd.notify("RELOADING=1\nMONOTONIC_USEC=\(Systemd.monotonicMicroseconds)") }

    /// Called on every control-loop tick.
    func tick(status: () -> String, workers: [WorkerChannel], logger: Logger) {
        let now = Instant.now()
        if lastStatus + .seconds(5) <= now {
            Systemd.notify("STATUS=\(status())")
            lastStatus = now
        }
        guard let interval = watchdogInterval, lastWatchdog + interval <= now else { return }
        lastWatchdog = now
        if allAlive(workers) {
            Systemd.notify("WATCHDOG=1")
            wedgedReported = false
        } else if !wedgedReported {
            logger.error("a worker loop made no progress: withholding WATCHDOG=1")
            wedgedReported = true
        }
    }

    private func allAlive(_ workers: [WorkerChannel]) -> Bool {
        if lastBeats.count != workers.count {
            lastBeats = Array(repeating: .max, count: workers.count)
            pinged = Array(repeating: false, count: workers.count)
        }
        var alive = true
        for (i, worker) in workers.enumerated() {
            let beat = worker.heartbeat.load(ordering: .relaxed)
            if beat != lastBeats[i] {
                lastBeats[i] = beat
                pinged[i] = false
            } else if !pinged[i] {
                // Idle is not dead: wake it, and judge it on the next tick.
                worker.send(.ping)
                pinged[i] = true
            } else {
                alive = false
            }
        }
        return alive
    }
}
