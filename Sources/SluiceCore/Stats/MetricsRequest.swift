// The metrics endpoint's HTTP/1.x request reader, apart from its sockets (MetricsServer feeds
// it what each read returns, the `metrics` fuzz target feeds it any bytes in any pieces).
// The outcome depends only on the bytes, never on how reads cut them: a head must end
// (`\r\n\r\n` or bare `\n\n`) within its first `maxHeadBytes` bytes, and no more than that
// (plus one byte, to know it overflowed) is ever kept.
package enum MetricsRequest: Equatable, Sendable {
    /// GET or HEAD /metrics (any query string).
    case metrics(headOnly: Bool)
    case notFound
    case methodNotAllowed
    /// Bytes that are not a request line and `Name: value` headers.
    case malformed
    /// No end of head within `maxHeadBytes`.
    case tooLarge
    /// The client closed its side in the middle of a head.
    case incomplete
}

package struct MetricsRequestReader: Sendable {
    package enum Step: Equatable, Sendable {
        case needMore
        /// The client closed without sending anything: nothing to answer.
        case close
        case request(MetricsRequest)
    }

    package static let maxHeadBytes = 8192
    private var head: [UInt8] = []
    private var overflowed = false
    /// Where the next search for the head's end starts: a request sent a byte at a time is
    /// scanned once, not once per byte.
    private var scanned = 0

    package init() {}

    /// `bytes` just read (maybe none); `eof`: the client closed its write side.
    package mutating func feed(_ bytes: [UInt8], eof: Bool) -> Step {
        let room = Self.maxHeadBytes - head.count
        if bytes.count > room { overflowed = true }
        head.append(contentsOf: bytes.prefix(max(0, room)))
        if let end = Self.headEnd(head, from: scanned) { return .request(Self.parse(head[..<end])) }
        // An end may start in the last two bytes and finish in the next read.
        scanned = max(0, head.count - 2)
        if overflowed { return .request(.tooLarge) }
        if eof { return head.isEmpty ? .close : .request(.incomplete) }
        return .needMore
    }

    /// Index just past the blank line ending the head (`\r\n\r\n`, or bare `\n\n`), if present.
    package static func headEnd(_ bytes: [UInt8], from start: Int = 0) -> Int? {
        var i = start
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { return i + 2 }
                if i + 2 < bytes.count && bytes[i + 1] == 0x0D && bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// A complete head: request line `METHOD /path HTTP/1.x`, then `Name: value` lines.
    package static func parse(_ head: ArraySlice<UInt8>) -> MetricsRequest {
        // Header bytes must be printable ASCII, blanks, CR or LF.
        guard head.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) else {
            return .malformed
        }
        // Split on bytes: as Characters, "\r\n" is one grapheme and would not split on "\n".
        let lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        guard let requestLine = lines.first else { return .malformed }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }),
            parts[1].hasPrefix("/"), parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0"
        else { return .malformed }
        for header in lines.dropFirst() where !header.isEmpty {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex,
                !header[..<colon].contains(" ")
            else { return .malformed }
        }
        let method = parts[0]
        guard method == "GET" || method == "HEAD" else { return .methodNotAllowed }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard path == "/metrics" else { return .notFound }
        return .metrics(headOnly: method == "HEAD")
    }
}
