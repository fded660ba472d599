// Matchers judge replies split at every byte boundary the same way; the canned scripts of
// each check kind carry the right bytes. Garbage, cut-short and overlong replies fail with a
// reason.
import SluiceCore
import Testing

@Suite struct HealthProbeTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let matcher: Matcher
        let reply: String
        /// nil: pass; "" : must fail (any reason); else the exact failure reason.
        let failure: String?
        /// The outcome at EOF when the reply alone does not decide.
        var atEOF = false
        var testDescription: String { name }
    }

    static let bulkMaster = "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
    static let bulkSlave = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n"

    static let cases: [Case] = [
        Case(name: "PONG", matcher: .prefix(Array("+PONG\r\n".utf8)), reply: "+PONG\r\n", failure: nil),
        Case(
            name: "NOAUTH", matcher: .prefix(Array("+PONG\r\n".utf8)), reply: "-NOAUTH Authentication required.\r\n",
            failure: "unexpected reply \"-NOAUTH Authentication required.\""),
        Case(
            name: "PONG cut short", matcher: .prefix(Array("+PONG\r\n".utf8)), reply: "+PO",
            failure: "connection closed after 3 bytes", atEOF: true),
        Case(
            name: "nothing", matcher: .prefix(Array("+OK\r\n".utf8)), reply: "",
            failure: "connection closed without a reply", atEOF: true),
        Case(
            name: "master", matcher: .respBulkContains(Array("role:master".utf8)),
            reply: "$\(bulkMaster.utf8.count)\r\n\(bulkMaster)\r\n", failure: nil),
        Case(
            name: "slave", matcher: .respBulkContains(Array("role:master".utf8)),
            reply: "$\(bulkSlave.utf8.count)\r\n\(bulkSlave)\r\n", failure: "role:slave"),
        Case(
            name: "bulk lacks key", matcher: .respBulkContains(Array("role:master".utf8)),
            reply: "$5\r\nhello\r\n", failure: "no role:master in reply"),
        Case(
            name: "bulk error reply", matcher: .respBulkContains(Array("role:master".utf8)),
            reply: "-NOAUTH Authentication required.\r\n",
            failure: "unexpected reply \"-NOAUTH Authentication required.\""),
        Case(
            name: "bulk nil", matcher: .respBulkContains(Array("role:master".utf8)), reply: "$-1\r\n",
            failure: "nil reply"),
        Case(
            name: "bulk bad length", matcher: .respBulkContains(Array("role:master".utf8)), reply: "$x1\r\n",
            failure: "bad RESP length line"),
        Case(
            name: "bulk too long", matcher: .respBulkContains(Array("role:master".utf8)), reply: "$99999999\r\n",
            failure: "reply too long (over 65536 bytes)"),
        Case(
            name: "bulk cut short", matcher: .respBulkContains(Array("role:master".utf8)), reply: "$20\r\nrole:mas",
            failure: "connection closed after 13 bytes", atEOF: true),
        Case(
            name: "bulk bad end", matcher: .respBulkContains(Array("role:master".utf8)), reply: "$11\r\nrole:masterXY",
            failure: "bad RESP bulk string end"),
        Case(name: "pg S", matcher: .oneByteOf(Array("SN".utf8)), reply: "S", failure: nil),
        Case(name: "pg N", matcher: .oneByteOf(Array("SN".utf8)), reply: "N", failure: nil),
        Case(name: "pg E", matcher: .oneByteOf(Array("SN".utf8)), reply: "E", failure: "unexpected reply byte \"E\""),
        Case(name: "http 200", matcher: .httpStatus(200), reply: "HTTP/1.0 200 OK\r\n\r\n", failure: nil),
        Case(name: "http 200 bare LF", matcher: .httpStatus(200), reply: "HTTP/1.1 200 OK\n", failure: nil),
        Case(
            name: "http 503", matcher: .httpStatus(200), reply: "HTTP/1.1 503 Service Unavailable\r\n\r\n",
            failure: "status 503"),
        Case(
            name: "http expect 503", matcher: .httpStatus(503), reply: "HTTP/1.1 503 Service Unavailable\r\n",
            failure: nil),
        Case(
            name: "http garbage", matcher: .httpStatus(200), reply: "SSH-2.0-OpenSSH\r\n", failure: "not an HTTP reply"),
        Case(
            name: "http bad code", matcher: .httpStatus(200), reply: "HTTP/1.1 2x0 OK\r\n",
            failure: "bad HTTP status line"),
        Case(
            name: "http 4-digit code", matcher: .httpStatus(200), reply: "HTTP/1.1 2000 OK\r\n",
            failure: "bad HTTP status line"),
        Case(
            name: "http cut", matcher: .httpStatus(200), reply: "HTTP/1.1 20",
            failure: "connection closed after 11 bytes", atEOF: true),
        Case(name: "contains", matcher: .contains(Array("READY".utf8)), reply: "hello\nREADY now\n", failure: nil),
        Case(
            name: "contains absent", matcher: .contains(Array("READY".utf8)), reply: "hello\nREAD",
            failure: "connection closed after 10 bytes", atEOF: true),
    ]

    /// Feeds `reply` in two pieces split at `split` (and at EOF calls end()).
    static func run(_ c: Case, split: Int) -> MatchOutcome {
        var state = MatcherState(c.matcher)
        let bytes = Array(c.reply.utf8)
        var outcome = state.feed(bytes[..<split])
        if outcome == .needMore { outcome = state.feed(bytes[split...]) }
        if outcome == .needMore { outcome = state.end() }
        return outcome
    }

    @Test(arguments: cases) func everySplit(_ c: Case) {
        let count = c.reply.utf8.count
        for split in 0...count {
            let outcome = Self.run(c, split: split)
            switch c.failure {
            case nil: #expect(outcome == .pass, "split \(split)")
            case let reason?: #expect(outcome == .fail(reason), "split \(split)")
            }
        }
        // One byte at a time.
        var state = MatcherState(c.matcher)
        var outcome = MatchOutcome.needMore
        for b in c.reply.utf8 where outcome == .needMore { outcome = state.feed([b]) }
        if c.atEOF { #expect(outcome == .needMore) }
        if outcome == .needMore { outcome = state.end() }
        #expect(outcome == (c.failure.map { .fail($0) } ?? .pass))
    }

    /// Shaped like redis 7.0's `INFO replication` of a master with a replica; offset at UInt64.max.
    static let masterWithReplica =
        [
            "# Replication", "role:master", "connected_slaves:1",
            "slave0:ip=127.0.0.1,port=17002,state=online,offset=1234,lag=0", "master_failover_state:no-failover",
            "master_replid:2cf9866042c46b02a66dcc5bc611ee443f2adb76",
            "master_replid2:0000000000000000000000000000000000000000", "master_repl_offset:18446744073709551615",
            "second_repl_offset:-1", "repl_backlog_active:1",
        ].joined(separator: "\r\n") + "\r\n"

    @Test(arguments: [
        (HealthProbeTests.masterWithReplica, UInt64?.some(.max)),
        ("# Replication\r\nrole:master\r\nmaster_repl_offset:0\r\n", 0),
        ("master_repl_offset:42\nrole:master\n", 42),  // first line, bare LF
        ("# Replication\r\nrole:master\r\n", nil),  // no such line
        ("role:master\r\nmaster_repl_offset:\r\n", nil),  // empty
        ("role:master\r\nmaster_repl_offset:12x\r\n", nil),  // not a number
        ("role:master\r\nmaster_repl_offset:18446744073709551616\r\n", nil),  // over UInt64.max
        ("role:master\r\nx_master_repl_offset:7\r\n", nil),  // another key ending the same way
    ])
    func replicationOffsetAtEverySplit(_ body: String, _ expected: UInt64?) {
        let reply = Array("$\(body.utf8.count)\r\n\(body)\r\n".utf8)
        for split in 0...reply.count {
            var state = MatcherState(.respBulkContains(Array("role:master".utf8)))
            var outcome = state.feed(reply[..<split])
            #expect(state.replicationOffset == nil || outcome == .pass, "no offset before the reply is whole")
            if outcome == .needMore { outcome = state.feed(reply[split...]) }
            #expect(outcome == .pass, "split \(split)")
            #expect(state.replicationOffset == expected, "split \(split)")
        }
        // One byte at a time.
        var state = MatcherState(.respBulkContains(Array("role:master".utf8)))
        var outcome = MatchOutcome.needMore
        for b in reply where outcome == .needMore { outcome = state.feed([b]) }
        #expect(outcome == .pass && state.replicationOffset == expected)
    }

    @Test func aFailingRoleCheckCarriesNoOffset() {
        let body = "# Replication\r\nrole:slave\r\nmaster_repl_offset:99\r\n"
        var state = MatcherState(.respBulkContains(Array("role:master".utf8)))
        #expect(state.feed(Array("$\(body.utf8.count)\r\n\(body)\r\n".utf8)) == .fail("role:slave"))
        #expect(state.replicationOffset == nil)
    }

    @Test func containsGivesUpAfterLimit() {
        var state = MatcherState(.contains(Array("needle".utf8)), limit: 1000)
        var outcome = MatchOutcome.needMore
        for _ in 0..<100 where outcome == .needMore { outcome = state.feed([UInt8](repeating: 0x61, count: 37)) }
        #expect(outcome == .fail("no match in 1000 bytes"))
        #expect(state.bytesSeen == 1000)
        // A match straddling two reads within the limit passes.
        var split = MatcherState(.contains(Array("needle".utf8)))
        #expect(split.feed(Array("xxxnee".utf8)) == .needMore)
        #expect(split.feed(Array("dleyy".utf8)) == .pass)
    }

    @Test func prefixGarbageWithoutNewlineFailsAtLimit() {
        var state = MatcherState(.prefix(Array("+PONG\r\n".utf8)))
        let outcome = state.feed([UInt8](repeating: 0xFF, count: 300))
        guard case .fail(let reason) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(reason.hasPrefix("unexpected reply \"\\xff\\xff"))
        #expect(reason.hasSuffix("...\""))
    }

    @Test func scripts() {
        #expect(Probes.script(for: .none) == nil)
        #expect(Probes.script(for: .tcp) == ProbeScript([]))
        #expect(
            Probes.script(for: .redis(password: nil))
                == ProbeScript([
                    .send(Array("*1\r\n$4\r\nPING\r\n".utf8)), .expect(.prefix(Array("+PONG\r\n".utf8))),
                ]))
        #expect(
            Probes.script(for: .redis(password: "s e"))
                == ProbeScript([
                    .send(Array("*2\r\n$4\r\nAUTH\r\n$3\r\ns e\r\n".utf8)), .expect(.prefix(Array("+OK\r\n".utf8))),
                    .send(Array("*1\r\n$4\r\nPING\r\n".utf8)), .expect(.prefix(Array("+PONG\r\n".utf8))),
                ]))
        #expect(
            Probes.script(for: .redisMaster(password: nil))
                == ProbeScript([
                    .send(Array("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n".utf8)),
                    .expect(.respBulkContains(Array("role:master".utf8))),
                ]))
        #expect(
            Probes.script(for: .postgres)
                == ProbeScript([
                    .send([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]), .expect(.oneByteOf(Array("SN".utf8))),
                ]))
        #expect(80877103 == (1234 << 16) | 5679)
        #expect(
            Probes.script(for: .http(path: "/primary", expectStatus: 200))
                == ProbeScript([
                    .send(Array("GET /primary HTTP/1.0\r\n\r\n".utf8)), .expect(.httpStatus(200)),
                ]))
        #expect(
            Probes.script(for: .send(Array("hi".utf8), expect: Array("yo".utf8)))
                == ProbeScript([
                    .send(Array("hi".utf8)), .expect(.contains(Array("yo".utf8))),
                ]))
    }
}
