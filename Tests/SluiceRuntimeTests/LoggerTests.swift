// Journal records carry PRIORITY, SLUICE_POOL/SERVER/CLIENT and the message with its fields;
// the stderr form quotes what needs quoting.
import Testing
@testable import SluiceRuntime

@Suite struct LoggerTests {
    @Test func journalFieldsNameEveryKey() {
        let fields = Logger.journalFields(
            .warn, "server down",
            ["pool": "pg", "server": "pg1", "client": "10.0.0.7:5555", "reason": "timeout after 1000ms"])
        #expect(fields.contains("PRIORITY=4"))
        #expect(fields.contains("SLUICE_POOL=pg"))
        #expect(fields.contains("SLUICE_SERVER=pg1"))
        #expect(fields.contains("SLUICE_CLIENT=10.0.0.7:5555"))
        #expect(fields.contains("SLUICE_REASON=timeout after 1000ms"))
        #expect(fields.contains("SYSLOG_IDENTIFIER=sluice"))
        #expect(
            fields.last == #"MESSAGE=server down pool=pg server=pg1 client=10.0.0.7:5555 reason="timeout after 1000ms""#
        )
        #expect(Logger.journalFields(.error, "x", [:]).contains("PRIORITY=3"))
        #expect(Logger.journalFields(.debug, "x", ["bytes-in": "1"]).contains("SLUICE_BYTES_IN=1"))
    }

    @Test func stderrValuesAreQuotedWhenNeeded() {
        #expect(Logger.quoteIfNeeded("plain") == "plain")
        #expect(Logger.quoteIfNeeded("two words") == #""two words""#)
        #expect(Logger.quoteIfNeeded("") == #""""#)
        #expect(Logger.quote("a\"b\\c\nd\u{01}") == #""a\"b\\c\nd\x01""#)
    }
}
