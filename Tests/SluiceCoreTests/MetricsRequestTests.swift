// The metrics endpoint's request reader on its own: outcomes, and the same outcome whatever
// pieces the bytes arrive in (what the `metrics` fuzz target checks for any input).
import SluiceSys
import Testing

@testable import SluiceCore

@Suite struct MetricsRequestTests {
    static func outcome(_ text: String, piece: Int) -> MetricsRequestReader.Step {
        let bytes = Array(text.utf8)
        var reader = MetricsRequestReader()
        var at = 0
        while at < bytes.count {
            let end = min(at + piece, bytes.count)
            let step = reader.feed(Array(bytes[at..<end]), eof: false)
            if step != .needMore { return step }
            at = end
        }
        return reader.feed([], eof: true)
    }

    @Test(arguments: [
        ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", MetricsRequestReader.Step.request(.metrics(headOnly: false))),
        ("HEAD /metrics?x=1 HTTP/1.0\n\n", .request(.metrics(headOnly: true))),
        ("GET / HTTP/1.1\r\n\r\n", .request(.notFound)),
        ("POST /metrics HTTP/1.1\r\n\r\n", .request(.methodNotAllowed)),
        ("GET /metrics HTTP/1.1\r\nnocolon\r\n\r\n", .request(.malformed)),
        ("GET /metrics HTTP/1.1\r\n", .request(.incomplete)),
        ("", .close),
    ])
    func outcomes(_ text: String, _ expected: MetricsRequestReader.Step) {
        for piece in [1, 2, 3, 7, 1 << 20] { #expect(Self.outcome(text, piece: piece) == expected, "piece \(piece)") }
    }

    /// Regression (fuzz target `metrics`, corpus `long-head-end-past-limit`): a head whose end
    /// lies past the 8 KiB limit was answered when it arrived in one read and refused when it
    /// came in pieces. It is now refused either way; one ending within the limit is answered
    /// either way.
    @Test func theHeadLimitDoesNotDependOnHowReadsCutTheRequest() {
        let past = "GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 8200) + "\r\n\r\n"
        let within = "GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 8100) + "\r\n\r\n"
        for piece in [1, 100, 4096, 1 << 20] {
            #expect(Self.outcome(past, piece: piece) == .request(.tooLarge), "piece \(piece)")
            #expect(Self.outcome(within, piece: piece) == .request(.metrics(headOnly: false)), "piece \(piece)")
        }
    }

    /// A head end split across reads (`\n` | `\r\n`) is found once its last byte arrives.
    @Test func anEndSplitAcrossReadsIsFound() {
        var reader = MetricsRequestReader()
        #expect(reader.feed(Array("GET /metrics HTTP/1.1\r\n\r".utf8), eof: false) == .needMore)
        #expect(reader.feed([0x0A], eof: false) == .request(.metrics(headOnly: false)))
    }
}
