// Every parser that reads what someone else wrote (the config file, admin lines, the state
// file, health-check replies from backends) gets thousands of seeded mutations of valid
// input: byte flips, cuts, repeats, huge numbers, NULs, quotes, line breaks. Whatever comes
// in, the answer is a value (an error that names its line, a failed check), never a trap.
// SLUICE_HOSTILE_SCALE=N runs N times as many mutations (a longer local hunt).
import Foundation
import SluiceSys
import SluiceTestSupport
import Testing

@testable import SluiceCore

@Suite struct HostileInputTests {
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["SLUICE_HOSTILE_SCALE"] ?? "") ?? 1)

    /// Seeded edits of `seed`, 1 to 4 at a time.
    struct Mutator {
        var random: PseudoRandom
        static let tokens: [[UInt8]] = [
            [0], [0xFF], Array("\r\n".utf8), Array("\n".utf8), Array("\"".utf8), Array("#".utf8), Array("\\".utf8),
            Array(" ".utf8), Array("\t".utf8), Array("99999999999999999999999".utf8), Array("-1".utf8),
            Array("0".utf8), Array(":".utf8), Array("[".utf8), Array("]".utf8), Array("/".utf8), Array("$".utf8),
            Array("$-1\r\n".utf8), Array("*3\r\n".utf8), Array("4294967296".utf8), Array("1e9".utf8),
            Array("ms".utf8), Array("9223372036854775807".utf8), Array("\u{00e9}".utf8),
        ]

        init(seed: UInt64) { random = PseudoRandom(seed: seed) }

        mutating func next(_ bound: Int) -> Int { random.below(bound) }

        mutating func mutate(_ seed: [UInt8]) -> [UInt8] {
            var bytes = seed
            for _ in 0...next(4) {
                let at = next(bytes.count + 1)
                switch next(6) {
                case 0 where at < bytes.count: bytes[at] = UInt8(next(256))
                case 1: bytes.insert(contentsOf: Self.tokens[next(Self.tokens.count)], at: at)
                case 2 where at < bytes.count: bytes.removeSubrange(at..<min(bytes.count, at + 1 + next(16)))
                case 3: bytes.removeSubrange(at..<bytes.count)
                case 4 where at < bytes.count:
                    let run = Array(bytes[at..<min(bytes.count, at + 1 + next(64))])
                    bytes.insert(contentsOf: run, at: at)
                default: bytes.insert(UInt8(next(256)), at: at)
                }
            }
            return bytes
        }
    }

    /// Lines as the parsers count them: "\r\n" and "\n" both end one.
    static func lineCount(_ bytes: [UInt8]) -> Int { bytes.count { $0 == UInt8(ascii: "\n") } + 1 }

    static let exampleConfig: [UInt8] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Conf/sluice.conf")
        return Array((try? Data(contentsOf: url)) ?? Data())
    }()

    static let richConfig = Array(
        """
        global
            workers 2
            maxconn 1000
            admin-socket /run/sluice/admin.sock
            admin-allow-uid 1000
            log-level info
            timeout shutdown 30s
            state-file /var/lib/sluice/state
        pool db
            bind 127.0.0.1:5432
            bind [::1]:5432
            mode tcp
            balance hash
            hash-key src-port
            maxconn 200
            timeout connect 2s
            timeout idle 1h
            timeout queue 500ms
            timeout drain 10m
            retries 2
            proxy-protocol v2
            check postgres interval 2s timeout 1s rise 2 fall 3
            slowstart 30s
            observe on
            on-down close-sessions
            server pg1 10.0.0.1:5432 weight 10 maxconn 50 init-state down
            server pg2 10.0.0.2:5432 backup disabled
        pool cache
            bind fd:redis
            balance leastconn
            single-primary on
            check redis-master password "s3cr\\"et\\x41" interval 1s jitter 5%
            all-down any
            server r1 127.0.0.1:6379 check-port 6380
        pool dns
            bind 0.0.0.0:53
            mode udp
            timeout udp-flow 30s
            server d1 127.0.0.1:5353
        """.utf8)

    @Test(arguments: [(exampleConfig, UInt64(1)), (richConfig, UInt64(2))])
    func configErrorsAlwaysNameTheirLine(seed: [UInt8], salt: UInt64) {
        #expect(!seed.isEmpty)
        var mutator = Mutator(seed: salt)
        for _ in 0..<1500 * Self.scale {
            let bytes = mutator.mutate(seed)
            let text = String(decoding: bytes, as: UTF8.self)
            guard case .failure(let errors) = ConfigLoader.load(text: text, file: "x.conf", resolve: { _ in nil })
            else {
                continue
            }
            #expect(!errors.errors.isEmpty)
            for error in errors.errors {
                // Line 0 is the file as a whole (nothing to serve, say); otherwise a line of it.
                #expect(
                    error.file == "x.conf" && error.line >= 0 && error.line <= Self.lineCount(bytes) + 1
                        && !error.message.isEmpty,
                    "\(error) for:\n\(text)")
            }
        }
    }

    @Test func adminLinesAlwaysGetAnAnswer() {
        let seeds = [
            "show info json", "show servers db", "show sessions db json", "show metrics",
            "set server db/pg-1 state drain", "set server db/pg-1 weight 1000",
            "add server db/pg.3 10.0.0.5:5432 weight 50 maxconn 200 backup", "add server db/pg-1 [::1]:80",
            "del server db/pg-1", "kill sessions db/pg-1", "reload", "help",
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: 3)
        for i in 0..<6000 * Self.scale {
            let line = mutator.mutate(seeds[i % seeds.count])
            switch AdminRequest.parse(bytes: line) {
            case .success: break
            case .failure(let error):
                #expect(!error.message.isEmpty && !error.reply.contains("\n"), "\(error) for \(line)")
            }
        }
    }

    @Test func stateFilesSkipWhatTheyCannotRead() {
        var state = RuntimeState()
        for line in [
            "set server p/a state drain", "set server p/a weight 50", "del server p/b",
            "add server p/x 127.0.0.9:80 weight 7 backup", "add server p/y [::1]:80",
        ] {
            guard case .success(let request) = AdminRequest.parse(line) else { Issue.record("\(line)"); return }
            state.record(request.command)
        }
        let seed = Array(StateFileText.render(state).utf8)
        var mutator = Mutator(seed: 4)
        for _ in 0..<2000 * Self.scale {
            let text = String(decoding: mutator.mutate(seed), as: UTF8.self)
            let (_, problems) = StateFileText.parse(text)
            let lines = Self.lineCount(Array(text.utf8))
            for problem in problems {
                #expect(
                    problem.line >= 1 && problem.line <= lines + 1 && !problem.message.isEmpty,
                    "\(problem) for:\n\(text)")
            }
        }
    }

    /// Backends answer health checks with anything, in pieces of any size: every reply ends
    /// as a pass or a failure with a reason once the connection closes.
    @Test func checkRepliesAlwaysEndInAVerdict() {
        let cases: [(Matcher, String)] = [
            (.prefix(Array("+PONG\r\n".utf8)), "+PONG\r\n"),
            (
                .respBulkContains(Array("role:master".utf8)),
                "$60\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_repl_offset:1234\r\n\r\n"
            ),
            (.oneByteOf(Array("SN".utf8)), "S"),
            (.httpStatus(200), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            (.contains(Array("ready".utf8)), "status: ready\n"),
        ]
        var mutator = Mutator(seed: 5)
        for i in 0..<5000 * Self.scale {
            let (matcher, reply) = cases[i % cases.count]
            let bytes = mutator.mutate(Array(reply.utf8))
            var state = MatcherState(matcher, limit: 1 + mutator.next(256))
            var outcome = MatchOutcome.needMore
            var offset = 0
            while offset < bytes.count && outcome == .needMore {
                let piece = 1 + mutator.next(8)
                outcome = state.feed(bytes[offset..<min(bytes.count, offset + piece)])
                offset += piece
            }
            if outcome == .needMore { outcome = state.end() }
            switch outcome {
            case .pass: break
            case .fail(let reason): #expect(!reason.isEmpty)
            case .needMore: Issue.record("no verdict after EOF for \(matcher) and \(bytes)")
            }
        }
    }
}
