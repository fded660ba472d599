// Lexer: sections vs directives, comments, quoting and escapes (bytes must come out exactly,
// NUL and 0xFF included), and the errors for unterminated quotes and bad escapes.
import Testing

@testable import SluiceCore

@Suite struct ConfigLexerTests {
    private func tokens(_ line: String) -> [[UInt8]] {
        let (lines, errors) = Lexer.lex(line, file: "t.conf")
        #expect(errors.isEmpty, "\(errors)")
        return lines.first?.tokens.map(\.bytes) ?? []
    }

    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test(
        arguments: [
            ("    bind 0.0.0.0:80", [["bind"], ["0.0.0.0:80"]]),
            ("\tmode\t\ttcp   ", [["mode"], ["tcp"]]),
            ("    check tcp # a comment", [["check"], ["tcp"]]),
            ("    user sluice#comment", [["user"], ["sluice"]]),
            (#"    user "a b""#, [["user"], ["a b"]]),
            (#"    user "a # not a comment""#, [["user"], ["a # not a comment"]]),
            (#"    x "" y"#, [["x"], [""], ["y"]]),
            (#"    x ab"cd"ef"#, [["x"], ["abcdef"]]),
            (#"    x "\\ \" \t""#, [["x"], ["\\ \" \t"]]),
            (#"    x "\r\n""#, [["x"], ["\r\n"]]),
            (#"    x "\x41\x62""#, [["x"], ["Ab"]]),
            ("    x a\\b", [["x"], ["a\\b"]]),
        ] as [(String, [[String]])])
    func splitsTokens(_ line: String, _ expected: [[String]]) {
        #expect(tokens(line) == expected.map { b($0[0]) })
    }

    @Test func arbitraryBytesInQuotes() {
        #expect(tokens(#"    x "\x00\xff\xFF\x7f""#) == [b("x"), [0x00, 0xFF, 0xFF, 0x7F]])
    }

    @Test func sectionsAndDirectives() {
        let text =
            "# comment\nglobal   # trailing\n    workers 2\n\n   \n\t# indented comment\npool a\r\n\tbind [::]:1\r\n"
        let (lines, errors) = Lexer.lex(text, file: "t.conf")
        #expect(errors.isEmpty)
        #expect(lines.map(\.line) == [2, 3, 7, 8])
        #expect(lines.map(\.indented) == [false, true, false, true])
        #expect(lines[3].tokens.map(\.text) == ["bind", "[::]:1"])
        #expect(lines[3].tokens.map(\.column) == [2, 7])
        #expect(lines[1].tokens[1].line == 3)
        #expect(lines[1].tokens[1].column == 13)
    }

    @Test(arguments: [
        (#"    user "sluice"#, "t.conf:1: unterminated quoted string (opened at column 10)"),
        (#"    user "a\qb""#, #"t.conf:1: bad escape '\q' (expected \\, \", \r, \n, \t or \xHH) at column 12"#),
        (#"    user "a\x4""#, #"t.conf:1: bad escape '\x' (expected two hex digits, as in \x0a) at column 12"#),
        (#"    user "a\xg0""#, #"t.conf:1: bad escape '\x' (expected two hex digits, as in \x0a) at column 12"#),
        (#"    user "a\"#, #"t.conf:1: backslash at end of line in quoted string at column 12"#),
    ])
    func lexErrors(_ line: String, _ expected: String) {
        let (lines, errors) = Lexer.lex(line, file: "t.conf")
        #expect(errors.map(\.description) == [expected])
        #expect(lines.first?.broken == true)
    }
}
