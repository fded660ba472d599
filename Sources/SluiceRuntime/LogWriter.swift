// The log writer: a bounded queue of formatted records and one thread that writes them, so no
// worker or control thread ever blocks on a stuck stderr pipe or journal socket. A record that
// does not fit is dropped and counted (sluice_log_dropped_total); the writer reports the count
// as a line of its own once it can write again. It also emits the per-client warning summaries
// when they fall due (ClientWarningSummaries).
import SluiceCore
import SluiceSys
import Synchronization

final class LogWriter: Sendable {
    /// Bytes of formatted records queued or being written, at most.
    static let defaultCapacity = 1 << 20

    private struct State {
        var records: [LogRecord] = []
        /// Queued plus taken by the writer and not yet written.
        var bytes = 0
        /// Dropped since the last report.
        var dropped: UInt64 = 0
        var summaries = ClientWarningSummaries()
        /// The writer sleeps (or is about to) and needs the eventfd to notice new work.
        var writerWaiting = false
        var stopping = false
    }

    let capacity: Int
    let journal: Bool
    /// Every record dropped since start.
    let droppedTotal = Atomic<UInt64>(0)
    private let state = Mutex(State())
    private let wake: EventFD
    private let finished = Atomic<Bool>(false)
    /// Writes one record, blocking as long as it takes; replaced in tests.
    private let sink: @Sendable (LogRecord) -> Void

    init(
        capacity: Int = LogWriter.defaultCapacity, journal: Bool,
        sink: @escaping @Sendable (LogRecord) -> Void = { $0.write() }
    ) throws(Errno) {
        self.capacity = capacity
        self.journal = journal
        self.sink = sink
        wake = try EventFD()
        // Signals stay blocked: the writer may start before the control thread blocks them.
        ThreadHandle.spawn(name: "sluice-log", signalsBlocked: true) { [self] in run() }.detach()
    }

    /// Queues `record`, or drops and counts it when the queue is full. Never blocks: a short
    /// lock, and an eventfd write only when the writer is asleep.
    func enqueue(_ record: LogRecord) {
        let size = record.byteCount
        let (accepted, signal) = state.withLock { s -> (Bool, Bool) in
            guard s.bytes + size <= capacity else {
                s.dropped += 1
                return (false, false)
            }
            s.bytes += size
            s.records.append(record)
            defer { s.writerWaiting = false }
            return (true, s.writerWaiting)
        }
        if !accepted { droppedTotal.add(1, ordering: .relaxed) }
        if signal { wake.signal() }
    }

    /// Counts one per-client warning; true when it is to be logged in full now.
    func admit(_ key: ClientWarningSummaries.Key) -> Bool {
        let now = Instant.now().nanoseconds
        let (full, signal) = state.withLock { s -> (Bool, Bool) in
            let full = s.summaries.record(key, now: now)
            // A counted one makes a summary due: a sleeping writer must set its timer.
            guard !full else { return (true, false) }
            defer { s.writerWaiting = false }
            return (false, s.writerWaiting)
        }
        if signal { wake.signal() }
        return full
    }

    /// Waits (at most `timeoutMillis`) until everything queued so far is written.
    func flush(timeoutMillis: Int) {
        wake.signal()
        waitUntil(timeoutMillis) { state.withLock { $0.bytes == 0 && $0.dropped == 0 } }
    }

    /// Writes what is queued and every pending summary, then ends the thread; waits for that
    /// at most `timeoutMillis` (0: not at all). The writer may be stuck on a pipe nobody reads.
    func stop(timeoutMillis: Int) {
        state.withLock { $0.stopping = true }
        wake.signal()
        waitUntil(timeoutMillis) { finished.load(ordering: .acquiring) }
    }

    private func waitUntil(_ timeoutMillis: Int, _ done: () -> Bool) {
        let start = Instant.now()
        while !done() && Instant.now().millis(since: start) < timeoutMillis {
            ProcessControl.sleepMillis(1)
        }
    }

    private func run() {
        var batch: [LogRecord] = []
        while true {
            let now = Instant.now().nanoseconds
            typealias Due = [(key: ClientWarningSummaries.Key, count: Int)]
            let (dropped, due, sleep, stop) = state.withLock { s -> (UInt64, Due, Int?, Bool) in
                swap(&s.records, &batch)
                let dropped = s.dropped
                s.dropped = 0
                let due = s.summaries.takeDue(now: now, all: s.stopping)
                guard batch.isEmpty && dropped == 0 && due.isEmpty else {
                    s.writerWaiting = false
                    return (dropped, due, nil, false)
                }
                if s.stopping { return (0, [], nil, true) }
                s.writerWaiting = true
                // Round up, so a summary is not woken for a millisecond early and spins.
                let sleep = s.summaries.nextDue.map { Int(($0 > now ? $0 - now : 0) / 1_000_000) + 1 } ?? -1
                return (0, [], sleep, false)
            }
            if stop { break }
            if let sleep {
                wake.wait(timeoutMillis: sleep)
                continue
            }
            var written = 0
            for record in batch {
                sink(record)
                written += record.byteCount
            }
            batch.removeAll(keepingCapacity: true)
            if dropped > 0 {
                sink(
                    LogRecord.make(.warn, "\(dropped) log lines dropped", [("dropped", "\(dropped)")], journal: journal)
                )
            }
            for (key, count) in due {
                var fields: [(key: String, value: String)] = [("pool", key.pool)]
                if !key.server.isEmpty { fields.append(("server", key.server)) }
                fields.append((key.warning.countField, "\(count)"))
                sink(LogRecord.make(.warn, key.warning.summary(count), fields, journal: journal))
            }
            if written > 0 { state.withLock { $0.bytes -= written } }
        }
        finished.store(true, ordering: .releasing)
    }
}
