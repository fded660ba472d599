// Exact text of admin replies: JSON encoding, aligned tables, OK/ERR, help.
import Testing

@testable import SluiceCore

@Suite struct AdminReplyTests {
    @Test func jsonEscapesAndOrders() {
        let value = JSON.object([
            .init("z", .string("a\"b\\c\n\t\u{01}\u{1F}é")), .init("a", .int(-3)), .init("u", .uint(UInt64.max)),
            .init("d", .double(0.25)), .init("inf", .double(.infinity)), .init("t", .bool(true)), .init("n", .null),
            .init("arr", .array([.int(1), .array([]), .object([])])),
        ])
        #expect(
            value.text
                == #"{"z":"a\"b\\c\u000a\u0009\u0001\u001fé","a":-3,"u":18446744073709551615,"d":0.25,"inf":null,"t":true,"n":null,"arr":[1,[],{}]}"#
        )
    }

    @Test func okErrorAndHelp() {
        #expect(AdminReplyText.ok.text == "OK\n")
        #expect(AdminReplyText.error("no such pool 'x'").text == "ERR no such pool 'x'\n")
        #expect(AdminReplyText.error("two\nlines").text == "ERR two lines\n")
        #expect(AdminReplyText.error(AdminParseError("bad")).isError)
        #expect(
            AdminReplyText.errors("configuration has 2 errors", ["a.conf:1: x", "a.conf:2: y"]).text
                == "ERR configuration has 2 errors\na.conf:1: x\na.conf:2: y\n")
        for word in ["show info", "set server POOL/NAME state", "add server", "del server", "kill sessions", "reload"] {
            #expect(AdminReplyText.help.text.contains(word))
        }
    }

    @Test func tableAlignsColumns() {
        let text = TextTable.render(header: ["A", "LONGER", "C"], rows: [["xxxx", "", "z"], ["y", "1", ""]])
        #expect(text == "A     LONGER  C\nxxxx  -       z\ny     1       -\n")
    }

    static let info = InfoSnapshot(
        version: "0.1.0", pid: 42, uptimeSeconds: 7, workers: 2, sessionsCurrent: 3, sessionsTotal: 10,
        bytesIn: 100, bytesOut: 2000)

    @Test func infoTextAndJSON() {
        #expect(
            AdminReplyText.info(Self.info, json: false).text == """
                version           0.1.0
                pid               42
                uptime_seconds    7
                workers           2
                sessions_current  3
                sessions_total    10
                bytes_in          100
                bytes_out         2000

                """)
        #expect(
            AdminReplyText.info(Self.info, json: true).text
                == #"{"version":"0.1.0","pid":42,"uptime_seconds":7,"workers":2,"sessions_current":3,"sessions_total":10,"bytes_in":100,"bytes_out":2000}"#
                + "\n")
    }

    @Test func poolsTextAndJSON() {
        let pools = [
            PoolSnapshot(
                name: "db", mode: "tcp", balance: "leastconn", binds: ["0.0.0.0:5432", "[::]:5432"], serversUp: 2,
                serversTotal: 3, sessionsCurrent: 5, sessionsTotal: 1234, queue: 0),
            Self.primaryPool(name: "cache", binds: ["fd:redis"], up: 1, total: 1, primaries: 2, primary: "r2"),
            Self.primaryPool(name: "pg", binds: ["fd:pg"], up: 0, total: 2, primaries: 0, primary: nil),
        ]
        #expect(
            AdminReplyText.pools(pools, json: false).text == """
                POOL   MODE  BALANCE    BINDS                   SERVERS  SESSIONS  TOTAL  QUEUE  PRIMARIES  PRIMARY
                db     tcp   leastconn  0.0.0.0:5432,[::]:5432  2/3      5         1234   0      -          -
                cache  tcp   hash       fd:redis                1/1      0         0      0      2          r2
                pg     tcp   leastconn  fd:pg                   0/2      0         0      0      0          none

                """)
        #expect(
            AdminReplyText.pools(Array(pools.prefix(1)), json: true).text
                == #"[{"name":"db","mode":"tcp","balance":"leastconn","binds":["0.0.0.0:5432","[::]:5432"],"servers_up":2,"servers_total":3,"sessions_current":5,"sessions_total":1234,"queue":0,"primaries":null,"single_primary":false,"primary":null}]"#
                + "\n")
        #expect(
            AdminReplyText.pools(Array(pools[1...]), json: true).text
                == #"[{"name":"cache","mode":"tcp","balance":"hash","binds":["fd:redis"],"servers_up":1,"servers_total":1,"sessions_current":0,"sessions_total":0,"queue":0,"primaries":2,"single_primary":true,"primary":"r2"},"#
                + #"{"name":"pg","mode":"tcp","balance":"leastconn","binds":["fd:pg"],"servers_up":0,"servers_total":2,"sessions_current":0,"sessions_total":0,"queue":0,"primaries":0,"single_primary":true,"primary":null}]"#
                + "\n")
        #expect(AdminReplyText.pools([], json: true).text == "[]\n")
        #expect(
            AdminReplyText.pools([], json: false).text
                == "POOL  MODE  BALANCE  BINDS  SERVERS  SESSIONS  TOTAL  QUEUE  PRIMARIES  PRIMARY\n")
    }

    /// A pool with a role check and `single-primary on`.
    static func primaryPool(
        name: String, binds: [String], up: Int, total: Int, primaries: Int, primary: String?
    ) -> PoolSnapshot {
        var p = PoolSnapshot(
            name: name, mode: "tcp", balance: name == "cache" ? "hash" : "leastconn", binds: binds, serversUp: up,
            serversTotal: total)
        p.primaries = primaries
        p.singlePrimary = true
        p.primary = primary
        return p
    }

    @Test func serversTextAndJSON() {
        let servers = [
            ServerSnapshot(
                pool: "db", name: "pg-1", address: "10.0.0.1:5432", health: .up, state: .ready, weight: 100,
                effectiveWeight: 100, sessionsCurrent: 4, sessionsTotal: 99, connectFailures: 1, bytesIn: 10,
                bytesOut: 20, lastCheck: "ok", secondsSinceChange: 30),
            ServerSnapshot(
                pool: "db", name: "pg-2", address: "10.0.0.2:5432", health: .down, state: .drain, weight: 50,
                effectiveWeight: 0, lastCheck: "connection refused", secondsSinceChange: 5, removing: true),
        ]
        #expect(
            AdminReplyText.servers(servers, json: false).text == """
                POOL  SERVER  ADDRESS        HEALTH  STATE     WEIGHT  EWEIGHT  SESSIONS  TOTAL  FAILS  BYTES_IN  BYTES_OUT  SINCE  LAST_CHECK
                db    pg-1    10.0.0.1:5432  up      ready     100     100      4         99     1      10        20         30     ok
                db    pg-2    10.0.0.2:5432  down    removing  50      0        0         0      0      0         0          5      connection refused

                """)
        #expect(
            AdminReplyText.servers(Array(servers.suffix(1)), json: true).text
                == #"[{"pool":"db","name":"pg-2","address":"10.0.0.2:5432","health":"down","state":"drain","removing":true,"weight":50,"effective_weight":0,"sessions_current":0,"sessions_total":0,"connect_failures":0,"bytes_in":0,"bytes_out":0,"last_check":"connection refused","seconds_since_change":5}]"#
                + "\n")
    }

    @Test func sessionsTextJSONAndCap() {
        let one = SessionSnapshot(
            id: 7, pool: "db", server: "pg-1", client: "192.0.2.7:51234", ageSeconds: 12, bytesIn: 1, bytesOut: 2)
        #expect(
            AdminReplyText.sessions([one], json: false).text == """
                ID  POOL  SERVER  CLIENT           AGE  BYTES_IN  BYTES_OUT
                7   db    pg-1    192.0.2.7:51234  12   1         2

                """)
        #expect(
            AdminReplyText.sessions([one], json: true).text
                == #"[{"id":7,"pool":"db","server":"pg-1","client":"192.0.2.7:51234","age_seconds":12,"bytes_in":1,"bytes_out":2}]"#
                + "\n")
        let many = (0..<1500).map {
            SessionSnapshot(id: UInt64($0), pool: "p", server: "s", client: "c", ageSeconds: 0)
        }
        #expect(AdminReplyText.sessions(many, json: false).text.split(separator: "\n").count == 1001)
    }
}
