// Pure parsers for the value types of the grammar: integers, durations, sizes, keywords,
// names and endpoints. They never trap: overflow and bad text come back as a ValueError
// whose message names the directive (`what`) and what was expected.
import SluiceSys

/// A message without a location; the parser adds `FILE:LINE`.
struct ValueError: Error, Sendable, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}

enum ValueParser {
    /// Unsigned decimal digits only (no sign, no blanks); nil on anything else or on overflow.
    static func decimal(_ text: some StringProtocol) -> Int? {
        guard !text.isEmpty else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    private static func isDigits(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    static func integer(_ text: String, _ what: String, _ range: ClosedRange<Int>) -> Result<Int, ValueError> {
        guard isDigits(text) else {
            return .failure(
                ValueError("invalid \(what) '\(text)' (expected a number in \(range.lowerBound)..\(range.upperBound))"))
        }
        guard let value = decimal(text), range.contains(value) else {
            return .failure(
                ValueError("\(what) \(text) out of range (expected \(range.lowerBound)..\(range.upperBound))"))
        }
        return .success(value)
    }

    /// The largest duration accepted anywhere, so deadlines computed from it cannot overflow.
    static let maxDurationMilliseconds = 365 * 86_400_000

    /// `0`, or a number with a unit `ms s m h d`.
    static func duration(_ text: String, _ what: String) -> Result<Duration, ValueError> {
        let expected = "(expected a number with unit ms, s, m, h or d, or 0)"
        if isDigits(text) {
            if decimal(text) == 0 { return .success(.zero) }
            return .failure(ValueError("missing unit in \(what) '\(text)' (expected ms, s, m, h or d, as in \(text)s)"))
        }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        let scale: Int
        switch unit {
        case "ms": scale = 1
        case "s": scale = 1000
        case "m": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        default:
            if digits.isEmpty { return .failure(ValueError("invalid \(what) '\(text)' \(expected)")) }
            return .failure(ValueError("unknown unit '\(unit)' in \(what) '\(text)' (expected ms, s, m, h or d)"))
        }
        guard !digits.isEmpty else { return .failure(ValueError("invalid \(what) '\(text)' \(expected)")) }
        guard let count = decimal(digits), case (let ms, false) = count.multipliedReportingOverflow(by: scale),
            ms <= maxDurationMilliseconds
        else {
            return .failure(ValueError("\(what) '\(text)' out of range (at most 365d)"))
        }
        return .success(.milliseconds(ms))
    }

    /// Plain bytes, or a `k`/`m` suffix (1024, 1048576).
    static func size(_ text: String, _ what: String, _ range: ClosedRange<Int>) -> Result<Int, ValueError> {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let suffix = text.dropFirst(digits.count)
        let scale: Int
        switch suffix {
        case "": scale = 1
        case "k", "K": scale = 1024
        case "m", "M": scale = 1024 * 1024
        default: scale = 0
        }
        guard !digits.isEmpty, scale > 0 else {
            return .failure(ValueError("invalid \(what) '\(text)' (expected bytes, or a number with suffix k or m)"))
        }
        guard let count = decimal(digits), case (let bytes, false) = count.multipliedReportingOverflow(by: scale),
            range.contains(bytes)
        else {
            return .failure(
                ValueError(
                    "\(what) \(text) out of range (expected \(formatSize(range.lowerBound))..\(formatSize(range.upperBound)))"
                ))
        }
        return .success(bytes)
    }

    static func formatSize(_ bytes: Int) -> String {
        if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 { return "\(bytes / (1024 * 1024))m" }
        if bytes >= 1024 && bytes % 1024 == 0 { return "\(bytes / 1024)k" }
        return "\(bytes)"
    }

    /// One of a fixed set of words; the error lists them as "a, b or c".
    static func keyword<T>(_ text: String, _ what: String, _ choices: [(String, T)]) -> Result<T, ValueError> {
        if let hit = choices.first(where: { $0.0 == text }) { return .success(hit.1) }
        return .failure(ValueError("unknown \(what) '\(text)' (expected \(list(choices.map(\.0))))"))
    }

    static func bool(_ text: String, _ what: String) -> Result<Bool, ValueError> {
        keyword(text, what, [("on", true), ("off", false)])
    }

    /// "a", "a or b", "a, b or c".
    static func list(_ words: [String]) -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " or " + words[words.count - 1]
    }

    /// Pool, server and fd names: `[A-Za-z0-9_.-]+`.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { b in
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                    || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
                    || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
            }
    }

    static func name(_ text: String, _ what: String) -> Result<String, ValueError> {
        isName(text)
            ? .success(text)
            : .failure(ValueError("invalid \(what) '\(text)' (expected letters, digits, '_', '.' or '-')"))
    }

    /// Text for paths, user names and passwords: valid UTF-8, not empty, no NUL byte.
    static func string(_ token: Token, _ what: String) -> Result<String, ValueError> {
        guard let text = String(validating: token.bytes, as: UTF8.self) else {
            return .failure(ValueError("\(what) is not valid UTF-8"))
        }
        guard !text.isEmpty else { return .failure(ValueError("\(what) must not be empty")) }
        guard !token.bytes.contains(0) else { return .failure(ValueError("\(what) must not contain a NUL byte")) }
        return .success(text)
    }

    static func port(_ text: Substring, _ what: String) -> Result<UInt16, ValueError> {
        guard let value = decimal(text), (1...65535).contains(value) else {
            return .failure(ValueError("invalid port '\(text)' in \(what) (expected 1..65535)"))
        }
        return .success(UInt16(value))
    }

    /// Splits `HOST:PORT` or `[V6]:PORT`; returns the host without brackets and whether it had them.
    static func splitHostPort(
        _ text: String, _ what: String
    ) -> Result<
        (host: Substring, bracketed: Bool, port: UInt16), ValueError
    > {
        let expected = "(expected ADDR:PORT, with IPv6 as [ADDR]:PORT)"
        var host: Substring
        var rest: Substring
        let bracketed = text.hasPrefix("[")
        if bracketed {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(ValueError("invalid \(what) '\(text)': missing ']' \(expected)"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                return .failure(ValueError("invalid \(what) '\(text)': missing port \(expected)"))
            }
            rest = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(ValueError("invalid \(what) '\(text)': missing port \(expected)"))
            }
            host = text[..<colon]
            rest = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(
                    ValueError("invalid \(what) '\(text)': an IPv6 address needs brackets, as in [::1]:\(rest)"))
            }
        }
        guard !host.isEmpty else {
            return .failure(ValueError("invalid \(what) '\(text)': missing address \(expected)"))
        }
        switch port(rest, what) {
        case .success(let p): return .success((host, bracketed, p))
        case .failure(let e): return .failure(e)
        }
    }

    /// A literal endpoint: `a.b.c.d:port` or `[v6]:port`.
    static func endpoint(_ text: String, _ what: String) -> Result<IPEndpoint, ValueError> {
        switch splitHostPort(text, what) {
        case .failure(let e):
            return .failure(e)
        case .success(let (host, bracketed, port)):
            guard let address = IPAddress(host), address.isV6 == bracketed else {
                let kind = bracketed ? "IPv6" : "IPv4"
                return .failure(ValueError("invalid \(kind) address '\(host)' in \(what)"))
            }
            return .success(IPEndpoint(address, port))
        }
    }

    /// A host name as accepted for servers: letters, digits, '-', '_' and '.'; not all digits and dots.
    static func isHostName(_ host: Substring) -> Bool {
        isName(String(host)) && !host.allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) }
    }
}
