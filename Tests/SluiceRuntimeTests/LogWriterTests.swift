// The writer thread: callers never wait for it, a full queue drops and counts, the count is
// reported once the sink takes lines again, and per-client warnings are summarised.
import Foundation
import Synchronization
import Testing
import SluiceCore
@testable import SluiceRuntime

@Suite struct LogWriterTests {
    /// A sink that blocks (like a pipe nobody reads) until `open`, and keeps what it writes.
    final class StuckSink: Sendable {
        let gate = DispatchSemaphore(value: 0)
        let lines = Mutex<[String]>([])

        func write(_ record: LogRecord) {
            gate.wait()
            gate.signal()
            guard case .line(let bytes) = record else { return }
            lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) }
        }

        func open() { gate.signal() }
        var written: [String] { lines.withLock { $0 } }
    }

    @Test func aStuckSinkNeverBlocksTheCallerAndDropsAreReported() throws {
        let sink = StuckSink()
        let logger = Logger(level: .info, writer: try LogWriter(capacity: 4096, journal: false) { sink.write($0) })
        // Every call returns although nothing can be written: the sink is stuck.
        for i in 0..<1000 { logger.info("line \(i)", ["n": "\(i)"]) }
        let dropped = logger.droppedLines
        #expect(dropped > 0)
        #expect(sink.written.isEmpty)

        sink.open()
        logger.close(timeoutMillis: 10_000)
        let lines = sink.written
        let kept = lines.filter { $0.contains(#"msg="line "#) }
        #expect(kept.count + Int(dropped) == 1000)
        // What was kept is the oldest, in order: a full queue drops the newest.
        #expect(
            kept.enumerated().allSatisfy {
                $0.element.hasSuffix(#" info n=\#($0.offset) msg="line \#($0.offset)""# + "\n")
            })
        // One report per time the writer found drops: they add up to the counter, each
        // well formed, and the last line is one.
        let reports = lines.filter { $0.contains("log lines dropped") }
        let counts = reports.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("dropped=") }.flatMap {
                UInt64($0.dropFirst("dropped=".count))
            }
        }
        #expect(counts.reduce(0, +) == dropped, "\(reports)")
        #expect(
            zip(reports, counts).allSatisfy {
                $0.hasSuffix(#" warn dropped=\#($1) msg="\#($1) log lines dropped""# + "\n")
            })
        #expect(lines.last?.contains("log lines dropped") == true)
        #expect(logger.droppedLines == dropped)
    }

    @Test func clientWarningsAreLoggedOnceThenSummarised() throws {
        let sink = StuckSink()
        sink.open()
        let logger = Logger(level: .warn, writer: try LogWriter(journal: false) { sink.write($0) })
        let built = Atomic<Int>(0)
        func client(_ i: Int) -> String {
            built.add(1, ordering: .relaxed)
            return "10.0.\(i / 256).\(i % 256):5432"
        }
        for i in 0..<500 { logger.clientWarning(.noServer, pool: "pg", ["client": client(i)]) }
        for i in 0..<3 {
            logger.clientWarning(.connectFailed, pool: "pg", server: "pg1", ["client": client(i), "error": "refused"])
        }
        logger.clientWarning(.noServer, pool: "redis", ["client": client(7)])
        logger.close(timeoutMillis: 10_000)
        let lines = sink.written
        func count(_ message: String) -> Int {
            lines.filter { $0.hasSuffix("msg=\"\(message)\"\n") }.count
        }
        func summed(_ field: String, _ suffix: String) -> Int {
            lines.filter { $0.hasSuffix(suffix) }.compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix(field + "=") }.flatMap {
                    Int($0.dropFirst(field.count + 1))
                }
            }.reduce(0, +)
        }
        // Whatever the timing, every warning is in a full line or a summary, and the fields of
        // a counted one were never built.
        let pgFull = lines.filter {
            $0.contains(" warn pool=pg client=") && $0.hasSuffix("msg=\"no server available\"\n")
        }
        #expect(
            pgFull.first?.hasSuffix(#" warn pool=pg client=10.0.0.0:5432 msg="no server available""# + "\n") == true)
        #expect(pgFull.count + summed("clients", "clients refused: no server available\"\n") == 500)
        #expect(count("connect failed") + summed("attempts", "connect attempts failed\"\n") == 3)
        #expect(
            lines.contains {
                $0.hasSuffix(
                    #" warn pool=pg server=pg1 client=10.0.0.0:5432 error=refused msg="connect failed""# + "\n")
            })
        #expect(
            lines.contains { $0.hasSuffix(#" warn pool=redis client=10.0.0.7:5432 msg="no server available""# + "\n") })
        #expect(built.load(ordering: .relaxed) == lines.filter { $0.contains(" client=") }.count)
        #expect(
            lines.contains {
                $0.hasSuffix(#" warn pool=pg clients=499 msg="499 clients refused: no server available""# + "\n")
            }
                || pgFull.count > 1, "\(lines)")
    }

    @Test func aSummaryComesDueWithoutAnotherLine() throws {
        let sink = StuckSink()
        sink.open()
        let logger = Logger(level: .warn, writer: try LogWriter(journal: false) { sink.write($0) })
        for _ in 0..<3 { logger.clientWarning(.queueTimeout, pool: "q") }
        // Nothing else is logged: the writer wakes by itself when the second is over.
        let deadline = ContinuousClock.now + .seconds(10)
        while !sink.written.contains(where: { $0.contains("clients refused: queue timeout") })
            && ContinuousClock.now < deadline
        {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let lines = sink.written
        #expect(lines.first?.hasSuffix(#" warn pool=q msg="queue timeout""# + "\n") == true, "\(lines)")
        let summary = try #require(lines.last { $0.contains("clients refused: queue timeout") }, "no summary: \(lines)")
        let n = lines.filter { $0.hasSuffix(#"msg="queue timeout""# + "\n") }.count
        // Two of three counted, unless this thread slept a whole second between the calls.
        #expect(
            summary.hasSuffix(#" warn pool=q clients=\#(3 - n) msg="\#(3 - n) clients refused: queue timeout""# + "\n"),
            "\(lines)")
        logger.close(timeoutMillis: 10_000)
    }

    @Test func underTheJournalSummariesAndDropReportsAreRecordsWithFields() throws {
        let records = Mutex<[[String]]>([])
        let gate = DispatchSemaphore(value: 0)
        let writer = try LogWriter(capacity: 600, journal: true) { record in
            gate.wait()
            gate.signal()
            if case .journal(let fields) = record { records.withLock { $0.append(fields) } }
        }
        let logger = Logger(level: .info, writer: writer)
        for _ in 0..<3 { logger.clientWarning(.noServer, pool: "pg", ["client": "10.0.0.1:5000"]) }
        for i in 0..<20 { logger.info("filler \(i)") }
        let dropped = logger.droppedLines
        #expect(dropped > 0)
        gate.signal()
        logger.close(timeoutMillis: 10_000)
        let all = records.withLock { $0 }
        let full = try #require(all.first)
        #expect(
            full == [
                "PRIORITY=4", "SYSLOG_IDENTIFIER=sluice", "SLUICE_POOL=pg", "SLUICE_CLIENT=10.0.0.1:5000",
                "MESSAGE=no server available pool=pg client=10.0.0.1:5000",
            ])
        let reports = all.filter { $0.last?.contains("log lines dropped") == true }
        #expect(
            reports.reduce(0) { total, r in
                total + (r.first { $0.hasPrefix("SLUICE_DROPPED=") }.flatMap { UInt64($0.dropFirst(15)) } ?? 0)
            } == dropped)
        #expect(reports.allSatisfy { $0.first == "PRIORITY=4" })
        let summaries = all.filter { $0.last?.contains("clients refused") == true }
        let n = 3 - all.filter { $0.last?.hasPrefix("MESSAGE=no server available") == true }.count
        #expect(
            summaries == [
                [
                    "PRIORITY=4", "SYSLOG_IDENTIFIER=sluice", "SLUICE_POOL=pg", "SLUICE_CLIENTS=\(n)",
                    "MESSAGE=\(n) clients refused: no server available pool=pg clients=\(n)",
                ]
            ])
    }
}
