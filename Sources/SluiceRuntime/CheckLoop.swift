// The checker thread: an epoll set for probe sockets, a timer heap for schedules and probe
// deadlines, and one CheckTarget per server (CheckTarget.swift). `single-primary` choices
// are made here too (HealthChecker+Primary), before each result is applied.
import SluiceCore
import SluiceSys

final class CheckLoop {
    let checker: HealthChecker
    let epoll: Epoll
    var heap = TimerHeap()
    var targets: [CheckTarget?] = []
    var slots: [ObjectIdentifier: Int] = [:]
    /// Slots of dropped targets, with the generation the next target there starts from (so
    /// the old one's pending timers stay stale).
    var freeSlots: [(slot: UInt32, generation: UInt32)] = []
    var nextRescan = Instant.now()
    var random = SystemRandomNumberGenerator()
    /// `single-primary` pools, by pool identity.
    var elections: [ObjectIdentifier: PoolElection] = [:]
    static let wakeData = UInt64.max
    /// The most bytes one probe reads before its reply counts as too long.
    static let readLimit = 65536

    init(checker: HealthChecker) throws(Errno) {
        self.checker = checker
        epoll = try Epoll()
        try epoll.add(checker.wake.fd, [.readable], data: Self.wakeData)
    }

    func run() {
        var events = EpollEventBuffer(capacity: 64)
        defer {
            for case let target? in targets { target.probe?.fd.close() }
        }
        while !checker.stopping.load(ordering: .acquiring) {
            intake()
            if checker.reelect.exchange(false, ordering: .acquiringAndReleasing) {
                restartNewRoleChecks()
                electAll()
            }
            var now = Instant.now()
            let next = min(heap.nextDeadline ?? nextRescan, nextRescan, nextElectionDeadline ?? nextRescan)
            let timeout = next <= now ? 0 : next.millis(since: now) + 1
            let n = epoll.wait(into: &events, timeoutMillis: min(timeout, 1000))
            for i in 0..<n {
                let data = events.data(at: i)
                if data == Self.wakeData {
                    checker.wake.drain()
                    continue
                }
                let slot = Int(data >> 32)
                guard slot < targets.count, let target = targets[slot], target.probe != nil,
                    UInt32(truncatingIfNeeded: data) == target.generation
                else { continue }
                advance(target, events.events(at: i))
            }
            now = Instant.now()
            while let entry = heap.popDue(now) {
                guard Int(entry.slot) < targets.count, let target = targets[Int(entry.slot)],
                    entry.generation == target.generation
                else { continue }
                if target.probe != nil {
                    finish(target, success: false, reason: "timeout after \(target.check.timeout.milliseconds)ms")
                } else {
                    target.scheduled = false
                    begin(target, now)
                }
            }
            electOverdue(now)
            if nextRescan <= now {
                checker.rescan()
                restartNewRoleChecks()
                electAll()
                nextRescan = now + .seconds(1)
            }
        }
    }

    /// New servers from `watch`/rescans, and failures workers observed.
    private func intake() {
        for new in checker.takeArrived() {
            let target = place(new)
            guard target.script != nil else { continue }
            // A single-primary pool checks all its servers at once, so its first choice waits
            // about one probe, not a whole interval (HealthChecker+Primary); so does a server
            // whose first role-check result clients wait for, at most its probe's timeout.
            if target.awaitingFirst {
                new.server.firstResultDue.store((Instant.now() + target.check.timeout).nanoseconds, ordering: .relaxed)
            }
            let offset =
                target.pool.settings.singlePrimary || target.awaitingFirst
                ? 0 : Self.firstCheckOffset(interval: target.check.interval.nanoseconds, using: &random)
            schedule(target, at: Instant.now() + .nanoseconds(offset))
        }
        for (server, reason) in checker.takeObserved() {
            guard let slot = slots[ObjectIdentifier(server)], let target = targets[slot],
                target.pool.settings.observe, server.adminState != .maint
            else { continue }
            let transition = target.health.record(success: false)
            let result = HealthResult(
                success: false, reason: reason, duration: nil, observed: true, transition: transition,
                up: target.health.isUp)
            report(target, result)
            // `check none`: probe (connect only) until it is back up.
            if target.script == nil && target.probe == nil && !target.scheduled && !target.health.isUp {
                schedule(target, at: Instant.now() + target.check.interval)
            }
        }
        // After the arrivals: a server is enrolled before it can be reclaimed.
        dropDeparted()
    }

    /// A reload gave a pool a new role check: its servers probe with it at once (a probe of
    /// the old check in flight is dropped), since they take no session until it answers.
    private func restartNewRoleChecks() {
        var kinds: [ObjectIdentifier: CheckKind] = [:]
        for case let target? in targets {
            let key = ObjectIdentifier(target.pool)
            let kind = kinds[key] ?? target.pool.settings.check.kind
            kinds[key] = kind
            guard kind != target.check.kind, kind.isRoleCheck else { continue }
            if let run = target.probe {
                run.fd.close()
                target.probe = nil
            }
            target.adoptCurrentCheck()
            schedule(target, at: Instant.now())
        }
    }

    /// The first check of each server falls somewhere in the first interval, so 500 servers
    /// never fire in the same millisecond.
    static func firstCheckOffset(interval: UInt64, using random: inout some RandomNumberGenerator) -> UInt64 {
        interval > 0 ? UInt64.random(in: 0..<interval, using: &random) : 0
    }

    private func schedule(_ target: CheckTarget, at deadline: Instant) {
        target.generation &+= 1
        target.scheduled = true
        heap.push(TimerEntry(deadline: deadline, slot: target.slot, generation: target.generation))
    }

    /// The next check: `interval` after this one started, give or take `jitter` percent.
    private func scheduleNext(_ target: CheckTarget, after started: Instant) {
        if target.script == nil && target.health.isUp { return }
        let interval = target.check.interval.nanoseconds
        let spread = interval / 100 * UInt64(max(0, min(100, target.check.jitterPercent)))
        var next = started.nanoseconds &+ interval
        if spread > 0 {
            let shift = UInt64.random(in: 0...(2 * spread), using: &random)
            next = next &+ shift &- spread
        }
        let now = Instant.now()
        schedule(target, at: Instant(nanoseconds: max(next, now.nanoseconds)))
    }

    /// Starts a probe, unless the server is in maint (checks stop) or removed (dropped).
    private func begin(_ target: CheckTarget, _ now: Instant) {
        if target.server.removing.load(ordering: .relaxed) { return retire(target) }
        if target.server.adminState == .maint {
            scheduleNext(target, after: now)
            return
        }
        target.adoptCurrentCheck()
        if target.script == nil && !target.health.isUp && target.pool.settings.mode == .udp {
            // Nothing to connect to: a UDP server observed down is tried again after each
            // interval, and comes back after `rise` of them (nginx's fail_timeout).
            return conclude(target, started: now, success: true, reason: "udp: retried after interval")
        }
        guard let script = target.script ?? (target.health.isUp ? nil : .connectOnly) else { return }
        let fd: FD
        do { fd = try Socket.stream(v6: target.endpoint.address.isV6) } catch {
            // Out of fds says nothing about the server: no result, try again next interval.
            if error.isResourceShortage {
                checker.logger.warn(
                    "health check skipped: no socket",
                    [
                        "pool": target.pool.name, "server": target.server.name, "error": "\(error)",
                    ])
                return scheduleNext(target, after: now)
            }
            return conclude(target, started: now, success: false, reason: "socket: \(error)")
        }
        let connect: ConnectResult
        do { connect = try Socket.connect(fd, to: target.endpoint) } catch {
            fd.close()
            return conclude(target, started: now, success: false, reason: Self.connectReason(error))
        }
        target.generation &+= 1
        target.probe = ProbeRun(fd: fd, started: now, script: script, connected: connect == .connected)
        do { try epoll.add(fd, .sessionSocket, data: target.epollData) } catch {
            return finish(target, success: false, reason: "epoll: \(error)")
        }
        heap.push(TimerEntry(deadline: now + target.check.timeout, slot: target.slot, generation: target.generation))
        if connect == .connected { advance(target, []) }
    }

    /// Drives the probe as far as the socket allows (edge-triggered: until it would block).
    private func advance(_ target: CheckTarget, _ events: EpollEvents) {
        guard var run = target.probe else { return }
        if !run.connected {
            if let error = Socket.pendingError(run.fd) {
                return finish(target, success: false, reason: Self.connectReason(error))
            }
            guard events.writeSide else { return }
            run.connected = true
        }
        while run.step < run.script.steps.count {
            switch run.script.steps[run.step] {
            case .send(let bytes):
                while run.sent < bytes.count {
                    let r: IOResult
                    do { r = try run.fd.send(bytes, from: run.sent) } catch {
                        return finish(target, success: false, reason: Self.ioReason("send", error))
                    }
                    guard case .done(let n) = r else {
                        target.probe = run
                        return
                    }
                    run.sent += n
                }
                run.sent = 0
                run.step += 1
            case .expect(let matcher):
                var state = run.matcher ?? MatcherState(matcher, limit: Self.readLimit)
                var outcome = MatchOutcome.needMore
                while outcome == .needMore {
                    var chunk: [UInt8] = []
                    let r: IOResult
                    do { r = try run.fd.receive(appendingTo: &chunk, max: 16384) } catch {
                        return finish(target, success: false, reason: Self.ioReason("read", error))
                    }
                    switch r {
                    case .done: outcome = state.feed(chunk)
                    case .eof: outcome = state.end()
                    case .wouldBlock:
                        run.matcher = state
                        target.probe = run
                        return
                    }
                }
                if case .fail(let reason) = outcome { return finish(target, success: false, reason: reason) }
                if let offset = state.replicationOffset { run.offset = offset }
                run.matcher = nil
                run.step += 1
            }
        }
        finish(target, success: true, reason: "ok", offset: run.offset)
    }

    /// Ends the probe in flight (closing its socket) and counts the result.
    private func finish(_ target: CheckTarget, success: Bool, reason: String, offset: UInt64? = nil) {
        guard let run = target.probe else { return }
        target.probe = nil
        run.fd.close()
        conclude(target, started: run.started, success: success, reason: reason, offset: offset)
    }

    private func conclude(_ target: CheckTarget, started: Instant, success: Bool, reason: String, offset: UInt64? = nil)
    {
        let now = Instant.now()
        let transition = target.health.record(success: success)
        if success { target.offset = offset }
        let result = HealthResult(
            success: success, reason: reason,
            duration: .nanoseconds(Int64(clamping: now.nanoseconds &- started.nanoseconds)),
            transition: transition, up: target.health.isUp, replicationOffset: success ? offset : nil)
        report(target, result)
        scheduleNext(target, after: started)
    }

    /// Hands a result to the runtime; a single-primary pool chooses first, with the server's
    /// new health, so workers never see the old primary gone before its successor is set.
    private func report(_ target: CheckTarget, _ result: HealthResult) {
        var result = result
        if target.awaitingFirst && !result.observed {
            // The wait ends in `apply`, after the result's health is published.
            target.awaitingFirst = false
            result.firstAwaited = true
        }
        target.reported = true
        target.lastSuccess = result.success
        if result.success || target.kindChanged {
            target.server.checkPassed.store(result.success, ordering: .relaxed)
            target.kindChanged = false
        }
        if target.pool.settings.singlePrimary || elections[ObjectIdentifier(target.pool)] != nil {
            elect(target.pool, reporting: (target.server, result.up))
        }
        checker.deliver(target.server, target.pool, result)
        // A result hook that did not end the wait (HealthChecker.apply does) must not leave
        // the server waiting for ever.
        if result.firstAwaited && target.server.firstResultDue.load(ordering: .relaxed) != 0 {
            HealthChecker.endFirstResultWait(target.server, target.pool)
        }
    }

    static func connectReason(_ error: Errno) -> String {
        switch error {
        case .connectionRefused: "connect refused"
        case .timedOut: "connect timed out"
        default: "connect: \(error)"
        }
    }

    static func ioReason(_ what: String, _ error: Errno) -> String {
        switch error {
        case .connectionReset: "connection reset"
        case .brokenPipe: "connection closed"
        default: "\(what): \(error)"
        }
    }
}
