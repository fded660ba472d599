// Splits configuration text into lines of tokens. A line starting in column 0 opens a section,
// an indented one is a directive; `#` outside quotes starts a comment. Quoted parts take the
// escapes `\\ \" \r \n \t \xHH`, so token values are bytes (they may hold NUL or 0xFF).

/// One word of a line: its bytes after quote removal and escape decoding.
struct Token: Sendable, Equatable {
    var bytes: [UInt8]
    /// Some part of the token was written in double quotes.
    var quoted: Bool
    var line: Int
    /// 1-based byte column of the token's first byte.
    var column: Int

    /// The bytes as text; invalid UTF-8 shows as U+FFFD (use `ValueParser.string` to reject it).
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A non-empty line: a section header (`indented == false`) or a directive.
struct LexedLine: Sendable, Equatable {
    var line: Int
    var indented: Bool
    var tokens: [Token]
    /// The line had a lexical error (already reported); its tokens are incomplete.
    var broken: Bool = false
}

enum Lexer {
    static func lex(_ text: String, file: String) -> (lines: [LexedLine], errors: [ConfigError]) {
        var lines: [LexedLine] = []
        var errors: [ConfigError] = []
        let bytes = Array(text.utf8)
        var start = 0
        var number = 0
        while start < bytes.count {
            number += 1
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            var line = lexLine(bytes[start..<lineEnd], number: number)
            if let message = line.error {
                errors.append(ConfigError(file: file, line: number, message: message))
                line.result.broken = true
            }
            if !line.result.tokens.isEmpty || line.result.broken { lines.append(line.result) }
            start = end + 1
        }
        return (lines, errors)
    }

    private static func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }

    private static func lexLine(_ line: ArraySlice<UInt8>, number: Int) -> (result: LexedLine, error: String?) {
        let base = line.startIndex
        let indented = line.first.map(isBlank) ?? false
        var result = LexedLine(line: number, indented: indented, tokens: [])
        var i = base
        while i < line.endIndex {
            if isBlank(line[i]) {
                i += 1
                continue
            }
            if line[i] == UInt8(ascii: "#") { break }
            var token = Token(bytes: [], quoted: false, line: number, column: i - base + 1)
            while i < line.endIndex && !isBlank(line[i]) && line[i] != UInt8(ascii: "#") {
                if line[i] != UInt8(ascii: "\"") {
                    token.bytes.append(line[i])
                    i += 1
                    continue
                }
                let open = i
                token.quoted = true
                i += 1
                var closed = false
                while i < line.endIndex {
                    let b = line[i]
                    if b == UInt8(ascii: "\"") {
                        closed = true
                        i += 1
                        break
                    }
                    if b != UInt8(ascii: "\\") {
                        token.bytes.append(b)
                        i += 1
                        continue
                    }
                    switch unescape(line, at: i) {
                    case .success(let (value, next)):
                        token.bytes.append(value)
                        i = next
                    case .failure(let error):
                        return (result, "\(error.message) at column \(i - base + 1)")
                    }
                }
                if !closed {
                    return (result, "unterminated quoted string (opened at column \(open - base + 1))")
                }
            }
            result.tokens.append(token)
        }
        return (result, nil)
    }

    /// Decodes the escape starting with the backslash at `i`; returns the byte and the next index.
    private static func unescape(_ line: ArraySlice<UInt8>, at i: Int) -> Result<(UInt8, Int), ValueError> {
        guard i + 1 < line.endIndex else { return .failure(ValueError("backslash at end of line in quoted string")) }
        switch line[i + 1] {
        case UInt8(ascii: "\\"): return .success((UInt8(ascii: "\\"), i + 2))
        case UInt8(ascii: "\""): return .success((UInt8(ascii: "\""), i + 2))
        case UInt8(ascii: "r"): return .success((0x0D, i + 2))
        case UInt8(ascii: "n"): return .success((0x0A, i + 2))
        case UInt8(ascii: "t"): return .success((0x09, i + 2))
        case UInt8(ascii: "x"):
            guard i + 3 < line.endIndex, let hi = hexValue(line[i + 2]), let lo = hexValue(line[i + 3]) else {
                return .failure(ValueError("bad escape '\\x' (expected two hex digits, as in \\x0a)"))
            }
            return .success((hi << 4 | lo, i + 4))
        case let other:
            let shown = other >= 0x21 && other < 0x7F ? String(UnicodeScalar(other)) : "\\x" + hex(other)
            return .failure(ValueError("bad escape '\\\(shown)' (expected \\\\, \\\", \\r, \\n, \\t or \\xHH)"))
        }
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 0xF)]])
    }
}
