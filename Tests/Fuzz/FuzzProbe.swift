// The `probe` target: every health-check reply reader and the probe scripts that use them.
// Byte 0 picks the case, byte 1 the size of the pieces a reply arrives in:
// - 0-5: one matcher (prefix +PONG, prefix +OK, RESP bulk with role:master, S/N byte,
//   HTTP status, contains) against the rest;
// - 6-10: a canned script (Probes: redis PING, redis with AUTH, redis-master INFO
//   replication, postgres SSLRequest, http GET) run against replies from the input (each
//   expect takes a length byte and that many bytes; the last takes the rest); the password,
//   path and status come from the input, and what the script sends must be well-formed;
// - 11: `check send "S" expect "E"` written into a config file (every byte escaped), parsed
//   back to exactly S and E, and its script run against the rest.
// What must hold everywhere: each expect reaches a verdict at the end of its reply, the same
// verdict and replication offset whether the reply came whole or in pieces.
import SluiceCore
import SluiceSys

enum ProbeRun {
    static let matchers: [Matcher] = [
        .prefix(Array("+PONG\r\n".utf8)), .prefix(Array("+OK\r\n".utf8)), .respBulkContains(Array("role:master".utf8)),
        .oneByteOf([UInt8(ascii: "S"), UInt8(ascii: "N")]), .httpStatus(200), .contains(Array("ok".utf8)),
    ]

    static func run(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let piece = 1 + Int(bytes[1]) % 64
        let rest = bytes[2...]
        switch Int(bytes[0]) % 12 {
        case let m where m < matchers.count:
            _ = verdict(matchers[m], rest, piece: piece)
        case 11:
            sendScript(rest, piece: piece)
        case let k:
            guard let (kind, replies) = cannedKind(k, rest) else { return }
            let script = Probes.script(for: kind)!
            // Any password goes out as one RESP bulk string, byte for byte.
            if case .redis(let password?) = kind, case .send(let auth) = script.steps[0] {
                precondition(
                    RESPArray.parse(auth) == [Array("AUTH".utf8), Array(password.utf8)], "AUTH command \(auth)")
            }
            runScript(script, replies, piece: piece)
        }
    }

    /// Feeds the reply whole and in pieces; both must end in the same verdict and offset.
    static func verdict(_ matcher: Matcher, _ reply: ArraySlice<UInt8>, piece: Int) -> (pass: Bool, offset: UInt64?) {
        var whole = MatcherState(matcher, limit: 4096)
        var cut = MatcherState(matcher, limit: 4096)
        var wholeOutcome = whole.feed(reply)
        var start = reply.startIndex
        var cutOutcome = MatchOutcome.needMore
        while start < reply.endIndex && cutOutcome == .needMore {
            let end = min(start + piece, reply.endIndex)
            cutOutcome = cut.feed(reply[start..<end])
            start = end
        }
        if wholeOutcome == .needMore { wholeOutcome = whole.end() }
        if cutOutcome == .needMore { cutOutcome = cut.end() }
        precondition(wholeOutcome != .needMore && cutOutcome != .needMore, "no verdict at the end of a reply")
        precondition((wholeOutcome == .pass) == (cutOutcome == .pass), "verdict depends on how the reply was cut")
        precondition(whole.replicationOffset == cut.replicationOffset, "offset depends on how the reply was cut")
        return (wholeOutcome == .pass, whole.replicationOffset)
    }

    /// The check kind for case `k` and the input left for its replies.
    static func cannedKind(_ k: Int, _ input: ArraySlice<UInt8>) -> (CheckKind, ArraySlice<UInt8>)? {
        guard let n = input.first else { return nil }
        let field = input.dropFirst().prefix(Int(n) % 32)
        let replies = input.dropFirst(1 + field.count)
        let text = String(decoding: field, as: UTF8.self)
        switch k {
        case 6: return (.redis(password: nil), replies)
        case 7: return (.redis(password: text), replies)
        case 8: return (.redisMaster(password: field.isEmpty ? nil : text), replies)
        case 9: return (.postgres, replies)
        default:
            let status = 100 + Int(n) % 500
            return (.http(path: "/" + text.filter { $0 > " " && $0 != "\u{7F}" }, expectStatus: status), replies)
        }
    }

    /// As the checker runs it: sends in order, each expect judged on its own reply.
    /// `canned`: Probes made the sends, so a `*` command must be a well-formed RESP array (a
    /// `check send` string is the operator's bytes, whatever they are).
    static func runScript(_ script: ProbeScript, _ input: ArraySlice<UInt8>, piece: Int, canned: Bool = true) {
        var rest = input
        let expects = script.steps.filter { if case .expect = $0 { true } else { false } }.count
        var seen = 0
        for step in script.steps {
            switch step {
            case .send(let bytes):
                if canned && bytes.first == UInt8(ascii: "*") {
                    precondition(RESPArray.parse(bytes) != nil, "malformed RESP command \(bytes)")
                }
            case .expect(let matcher):
                seen += 1
                let reply: ArraySlice<UInt8>
                if seen == expects {
                    reply = rest
                } else {
                    let n = Int(rest.first ?? 0)
                    reply = rest.dropFirst().prefix(n)
                    rest = rest.dropFirst(1 + reply.count)
                }
                guard verdict(matcher, reply, piece: piece).pass else { return }
            }
        }
    }

    /// A `check send` line with every byte escaped must read back as exactly those bytes.
    static func sendScript(_ input: ArraySlice<UInt8>, piece: Int) {
        guard let n = input.first, input.count >= 2 else { return }
        let send = Array(input.dropFirst().prefix(Int(n) % 24))
        let expect = Array(input.dropFirst(1 + send.count).prefix(Int(n) / 24 % 8 + 1))
        let replies = input.dropFirst(1 + send.count + expect.count)
        func quoted(_ bytes: [UInt8], raw: Bool) -> String {
            var out = "\""
            for b in bytes {
                let plain =
                    raw && b >= 0x21 && b < 0x7F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\")
                    && b != UInt8(ascii: "#")
                out += plain ? String(UnicodeScalar(b)) : "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
            return out + "\""
        }
        let text = """
            pool p
                bind 127.0.0.1:1
                check send \(quoted(send, raw: n & 1 == 1)) expect \(quoted(expect, raw: n & 2 == 2))
                server a 127.0.0.1:2

            """
        switch ConfigLoader.load(text: text, file: "fuzz.conf", resolve: { _ in nil }) {
        case .success(let config):
            let kind = config.pools[0].settings.check.kind
            precondition(
                kind == .send(send, expect: expect), "check send read back as \(kind), wrote \(send) / \(expect)")
            runScript(Probes.script(for: kind)!, replies, piece: piece, canned: false)
        case .failure(let errors):
            precondition(expect.isEmpty, "check send \(send) expect \(expect) refused: \(errors.errors)")
        }
    }
}

/// A RESP array of bulk strings, read back strictly (what a Redis server would accept).
enum RESPArray {
    static func parse(_ bytes: [UInt8]) -> [[UInt8]]? {
        var i = 0
        func line(_ marker: UInt8) -> Int? {
            guard i < bytes.count, bytes[i] == marker else { return nil }
            var j = i + 1
            var value = 0
            while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39, value < 1 << 20 {
                value = value * 10 + Int(bytes[j] - 0x30)
                j += 1
            }
            guard j > i + 1, j + 1 < bytes.count, bytes[j] == 0x0D, bytes[j + 1] == 0x0A else { return nil }
            i = j + 2
            return value
        }
        guard let count = line(UInt8(ascii: "*")) else { return nil }
        var out: [[UInt8]] = []
        for _ in 0..<count {
            guard let length = line(UInt8(ascii: "$")), i + length + 2 <= bytes.count,
                bytes[i + length] == 0x0D, bytes[i + length + 1] == 0x0A
            else { return nil }
            out.append(Array(bytes[i..<(i + length)]))
            i += length + 2
        }
        return i == bytes.count ? out : nil
    }
}
