// Probes as data (tcpcheck-style rules): a script of sends and expects, and the incremental
// matchers that judge a reply as its bytes arrive, in pieces of any size. A reply that is
// garbage, too long or cut short is a failure with a reason, never a crash.
package enum ProbeStep: Sendable, Equatable {
    case send([UInt8])
    case expect(Matcher)
}

package struct ProbeScript: Sendable, Equatable {
    package var steps: [ProbeStep]
    package init(_ steps: [ProbeStep]) { self.steps = steps }
    /// Connect only.
    package static let connectOnly = ProbeScript([])
}

package enum Matcher: Sendable, Equatable {
    /// The reply starts with these bytes (`+PONG\r\n`).
    case prefix([UInt8])
    /// A RESP bulk string (`$<len>\r\n<bytes>\r\n`) whose body contains these bytes.
    case respBulkContains([UInt8])
    /// A single byte, one of these (PostgreSQL's SSLRequest answer `S` or `N`).
    case oneByteOf([UInt8])
    /// An HTTP status line (`HTTP/1.x NNN ...`) with this status code.
    case httpStatus(Int)
    /// The reply contains these bytes somewhere within the read limit.
    case contains([UInt8])
}

package enum MatchOutcome: Sendable, Equatable {
    case needMore
    case pass
    case fail(String)
}

/// One matcher's progress through a reply. Feed it bytes as they arrive; at EOF call `end()`.
package struct MatcherState: Sendable {
    package let matcher: Matcher
    package let limit: Int
    private var buffer: [UInt8] = []
    /// Where the next `contains` search starts (bytes before it cannot begin a match).
    private var searchFrom = 0
    /// The reply is already known to be wrong; waiting for its first line to report it.
    private var mismatched = false
    private var outcome = MatchOutcome.needMore
    /// `master_repl_offset:` of a passing RESP bulk reply (Redis `INFO replication`), for
    /// `single-primary`; nil when the reply has no such line or it is not a number.
    package private(set) var replicationOffset: UInt64?

    /// `limit`: the most bytes read before the reply counts as too long (64 KiB by default).
    package init(_ matcher: Matcher, limit: Int = 65536) {
        self.matcher = matcher
        self.limit = max(1, limit)
    }

    package var bytesSeen: Int { buffer.count }

    package mutating func feed<C: Collection>(_ bytes: C) -> MatchOutcome where C.Element == UInt8 {
        guard outcome == .needMore else { return outcome }
        let room = limit - buffer.count
        buffer.append(contentsOf: bytes.prefix(room))
        outcome = evaluate()
        if outcome == .needMore && (bytes.count > room || buffer.count >= limit) {
            outcome = .fail(tooLongReason)
        }
        return outcome
    }

    /// The peer closed (or the script needs an answer now): the final outcome.
    package mutating func end() -> MatchOutcome {
        guard outcome == .needMore else { return outcome }
        if mismatched, !buffer.isEmpty {
            outcome = .fail(Self.unexpected(buffer[...]))
        } else {
            outcome = .fail(
                buffer.isEmpty ? "connection closed without a reply" : "connection closed after \(buffer.count) bytes")
        }
        return outcome
    }

    private var tooLongReason: String {
        switch matcher {
        case .contains: "no match in \(limit) bytes"
        default: mismatched ? Self.unexpected(buffer[...]) : "reply too long (over \(limit) bytes)"
        }
    }

    private mutating func evaluate() -> MatchOutcome {
        switch matcher {
        case .prefix(let expected): return evaluatePrefix(expected)
        case .respBulkContains(let needle): return evaluateBulk(needle)
        case .oneByteOf(let allowed):
            guard let first = buffer.first else { return .needMore }
            if allowed.contains(first) { return .pass }
            return .fail("unexpected reply byte \"\(Self.printable([first][...]))\"")
        case .httpStatus(let code): return evaluateHTTP(code)
        case .contains(let needle): return evaluateContains(needle)
        }
    }

    private mutating func evaluatePrefix(_ expected: [UInt8]) -> MatchOutcome {
        if !mismatched {
            let n = min(buffer.count, expected.count)
            if buffer[0..<n].elementsEqual(expected[0..<n]) {
                return buffer.count >= expected.count ? .pass : .needMore
            }
            mismatched = true
        }
        return failOnFirstLine()
    }

    /// Waits for the reply's first line, then fails quoting it (`-NOAUTH Authentication required.`).
    private func failOnFirstLine() -> MatchOutcome {
        guard let newline = buffer.firstIndex(of: 0x0A) else {
            return buffer.count >= 256 ? .fail(Self.unexpected(buffer[...])) : .needMore
        }
        return .fail(Self.unexpected(buffer[..<newline]))
    }

    private mutating func evaluateBulk(_ needle: [UInt8]) -> MatchOutcome {
        guard let first = buffer.first else { return .needMore }
        guard first == UInt8(ascii: "$") else {
            mismatched = true
            return failOnFirstLine()
        }
        guard let lf = buffer.firstIndex(of: 0x0A) else {
            return buffer.count > 24 ? .fail("bad RESP length line") : .needMore
        }
        guard lf >= 2, buffer[lf - 1] == 0x0D, let length = Self.decimal(buffer[1..<(lf - 1)], allowMinus: true) else {
            return .fail("bad RESP length line")
        }
        if length < 0 { return .fail("nil reply") }
        let bodyStart = lf + 1
        guard length <= limit - bodyStart - 2 else { return .fail("reply too long (over \(limit) bytes)") }
        guard buffer.count >= bodyStart + length + 2 else { return .needMore }
        let body = buffer[bodyStart..<(bodyStart + length)]
        guard buffer[bodyStart + length] == 0x0D, buffer[bodyStart + length + 1] == 0x0A else {
            return .fail("bad RESP bulk string end")
        }
        guard Self.find(needle, in: body) != nil else { return .fail(Self.missingReason(needle, in: body)) }
        replicationOffset = Self.unsignedField(Self.replicationOffsetKey, in: body)
        return .pass
    }

    private func evaluateHTTP(_ code: Int) -> MatchOutcome {
        let prefix = Array("HTTP/".utf8)
        let n = min(buffer.count, prefix.count)
        guard buffer[0..<n].elementsEqual(prefix[0..<n]) else { return .fail("not an HTTP reply") }
        guard let lf = buffer.firstIndex(of: 0x0A) else {
            return buffer.count >= 8192 ? .fail("HTTP status line too long") : .needMore
        }
        let line = buffer[..<lf]
        // HTTP/1.1 200 OK: the code is the three digits after the first space.
        guard let space = line.firstIndex(of: 0x20), space + 4 <= line.endIndex,
            let status = Self.decimal(line[(space + 1)..<(space + 4)], allowMinus: false),
            space + 4 == line.endIndex || line[space + 4] == 0x20 || line[space + 4] == 0x0D
        else { return .fail("bad HTTP status line") }
        return status == code ? .pass : .fail("status \(status)")
    }

    private mutating func evaluateContains(_ needle: [UInt8]) -> MatchOutcome {
        guard !needle.isEmpty else { return .pass }
        if let _ = Self.find(needle, in: buffer[searchFrom...]) { return .pass }
        searchFrom = max(0, buffer.count - needle.count + 1)
        return .needMore
    }

    // MARK: helpers

    static let replicationOffsetKey = Array("master_repl_offset:".utf8)

    /// The unsigned decimal value of the line `key...` (key includes its colon) of an INFO
    /// body; nil when the line is missing, empty, not all digits or over UInt64.max.
    static func unsignedField(_ key: [UInt8], in body: ArraySlice<UInt8>) -> UInt64? {
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            let lineEnd = body[lineStart...].firstIndex(of: 0x0A) ?? body.endIndex
            var line = body[lineStart..<lineEnd]
            if line.last == 0x0D { line = line.dropLast() }
            if line.starts(with: key) {
                let digits = line.dropFirst(key.count)
                guard !digits.isEmpty else { return nil }
                var value: UInt64 = 0
                for d in digits {
                    guard d >= 0x30 && d <= 0x39 else { return nil }
                    let (times, o1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times.addingReportingOverflow(UInt64(d - 0x30))
                    guard !o1 && !o2 else { return nil }
                    value = sum
                }
                return value
            }
            lineStart = lineEnd + 1
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard !needle.isEmpty else { return haystack.startIndex }
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while i <= last {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func decimal(_ digits: ArraySlice<UInt8>, allowMinus: Bool) -> Int? {
        var slice = digits
        var negative = false
        if allowMinus, slice.first == UInt8(ascii: "-") {
            negative = true
            slice = slice.dropFirst()
        }
        guard !slice.isEmpty, slice.count <= 9 else { return nil }
        var value = 0
        for d in slice {
            guard d >= 0x30 && d <= 0x39 else { return nil }
            value = value * 10 + Int(d - 0x30)
        }
        return negative ? -value : value
    }

    /// For `key:value` needles, the line of the same key (`role:slave`); else a generic text.
    static func missingReason(_ needle: [UInt8], in body: ArraySlice<UInt8>) -> String {
        if let colon = needle.firstIndex(of: UInt8(ascii: ":")) {
            let key = Array(needle[...colon])
            var lineStart = body.startIndex
            while lineStart < body.endIndex {
                let lineEnd = body[lineStart...].firstIndex(of: 0x0A) ?? body.endIndex
                var line = body[lineStart..<lineEnd]
                if line.last == 0x0D { line = line.dropLast() }
                if line.starts(with: key) { return printable(line) }
                lineStart = lineEnd + 1
            }
        }
        return "no \(printable(needle[...])) in reply"
    }

    static func unexpected(_ bytes: ArraySlice<UInt8>) -> String {
        var line = bytes
        if line.last == 0x0D { line = line.dropLast() }
        return "unexpected reply \"\(printable(line))\""
    }

    /// At most 80 characters, control and non-ASCII bytes as `\xNN`.
    static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        var out = ""
        for b in bytes.prefix(80) {
            if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += describe(byte: b)
            }
        }
        return bytes.count > 80 ? out + "..." : out
    }

    static func describe(byte b: UInt8) -> String {
        let hex = String(b, radix: 16)
        return "\\x" + (hex.count == 1 ? "0" : "") + hex
    }
}
