// Structured logs (format in Logger+Format). The caller only formats and queues a record; a
// writer thread writes it (LogWriter), so logging never blocks a worker. Per-client warnings
// go through `clientWarning`, which logs the first of a kind and summarises the rest.
import SluiceCore
import SluiceSys
import Synchronization

package final class Logger: Sendable {
    private let level: Atomic<Int>
    private let sessions: Atomic<Bool>
    private let journal: Bool
    /// nil only when no eventfd could be had at start: then lines are written by the caller,
    /// as a last resort.
    private let writer: LogWriter?

    package init(level: LogLevel = .info, logSessions: Bool = false, journal: Bool = Systemd.stderrIsJournal()) {
        self.level = Atomic(level.rawValue)
        self.sessions = Atomic(logSessions)
        self.journal = journal
        self.writer = try? LogWriter(journal: journal)
    }

    /// For tests: a writer with its own capacity and sink.
    init(level: LogLevel, writer: LogWriter) {
        self.level = Atomic(level.rawValue)
        self.sessions = Atomic(false)
        self.journal = writer.journal
        self.writer = writer
    }

    deinit { writer?.stop(timeoutMillis: 0) }

    package func configure(level: LogLevel, logSessions: Bool) {
        self.level.store(level.rawValue, ordering: .relaxed)
        self.sessions.store(logSessions, ordering: .relaxed)
    }

    @inline(__always)
    package func enabled(_ l: LogLevel) -> Bool { l.rawValue <= level.load(ordering: .relaxed) }

    package var logSessions: Bool { sessions.load(ordering: .relaxed) }

    /// Records dropped because the queue was full (sluice_log_dropped_total).
    package var droppedLines: UInt64 { writer?.droppedTotal.load(ordering: .relaxed) ?? 0 }

    package func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.error, message, fields)
    }

    package func warn(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.warn, message, fields)
    }

    package func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.info, message, fields)
    }

    package func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.debug, message, fields)
    }

    package func log(_ l: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) {
        guard enabled(l) else { return }
        emit(LogRecord.make(l, message, fields.map { $0 }, journal: journal))
    }

    /// A warning caused by one client, e.g. refused for want of a server: logged in full
    /// (`pool`, `server` when not empty, then `fields`) when it is the first of its kind for
    /// that pool and server in a second; otherwise only counted for the summary line
    /// ("1312 clients refused: no server available"). `fields` are built only when logged.
    package func clientWarning(
        _ warning: ClientWarning, pool: String, server: String = "",
        _ fields: @autoclosure () -> KeyValuePairs<String, String> = [:]
    ) {
        guard enabled(.warn) else { return }
        if let writer, !writer.admit(ClientWarningSummaries.Key(warning, pool: pool, server: server)) { return }
        var all: [(key: String, value: String)] = [("pool", pool)]
        if !server.isEmpty { all.append(("server", server)) }
        for field in fields() { all.append(field) }
        emit(LogRecord.make(.warn, warning.message, all, journal: journal))
    }

    /// Waits at most `timeoutMillis` for what is queued to be written (before a start-up error
    /// is printed directly, so the lines before it come first).
    package func flush(timeoutMillis: Int) {
        writer?.flush(timeoutMillis: timeoutMillis)
    }

    /// At exit: writes what is queued and the pending summaries, waiting at most
    /// `timeoutMillis` (stderr may be a pipe nobody reads).
    package func close(timeoutMillis: Int) {
        writer?.stop(timeoutMillis: timeoutMillis)
    }

    private func emit(_ record: LogRecord) {
        if let writer {
            writer.enqueue(record)
        } else {
            record.write()
        }
    }
}
