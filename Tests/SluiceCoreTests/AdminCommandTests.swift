// The admin line parser: every command of SPEC's table, and malformed lines (binary, huge,
// wrong arity, bad names, numbers and addresses) each answered with a readable ERR.
import SluiceSys
import Testing

@testable import SluiceCore

@Suite struct AdminCommandTests {
    static let ref = ServerRef(pool: "db", server: "pg-1")

    static var add: AddServerRequest {
        var r = AddServerRequest(
            ref: ServerRef(pool: "db", server: "pg.3"), endpoint: IPEndpoint(.v4(0x0A00_0005), 5432))
        r.weight = 50
        r.maxconn = 200
        r.backup = true
        return r
    }

    static let valid: [(String, AdminRequest)] = [
        ("help", AdminRequest(.help)),
        ("help json", AdminRequest(.help, json: true)),
        ("show info", AdminRequest(.show(.info))),
        ("show info json", AdminRequest(.show(.info), json: true)),
        ("  show\tpools  ", AdminRequest(.show(.pools))),
        ("show servers", AdminRequest(.show(.servers(pool: nil)))),
        ("show servers db", AdminRequest(.show(.servers(pool: "db")))),
        ("show servers db json", AdminRequest(.show(.servers(pool: "db")), json: true)),
        ("show sessions", AdminRequest(.show(.sessions(pool: nil)))),
        ("show sessions web_1.x-y json", AdminRequest(.show(.sessions(pool: "web_1.x-y")), json: true)),
        ("show metrics", AdminRequest(.show(.metrics))),
        ("show info\r", AdminRequest(.show(.info))),
        ("set server db/pg-1 state ready", AdminRequest(.setState(ref, .ready))),
        ("set server db/pg-1 state drain", AdminRequest(.setState(ref, .drain))),
        ("set server db/pg-1 state maint json", AdminRequest(.setState(ref, .maint), json: true)),
        ("set server db/pg-1 weight 0", AdminRequest(.setWeight(ref, 0))),
        ("set server db/pg-1 weight 1000", AdminRequest(.setWeight(ref, 1000))),
        (
            "add server db/pg-1 127.0.0.1:6379",
            AdminRequest(.addServer(AddServerRequest(ref: ref, endpoint: IPEndpoint(.loopbackV4, 6379))))
        ),
        ("add server db/pg.3 10.0.0.5:5432 weight 50 maxconn 200 backup", AdminRequest(.addServer(add))),
        ("add server db/pg.3 10.0.0.5:5432 backup maxconn 200 weight 50", AdminRequest(.addServer(add))),
        (
            "add server db/pg-1 [::1]:80",
            AdminRequest(.addServer(AddServerRequest(ref: ref, endpoint: IPEndpoint(.v6(0, 1), 80))))
        ),
        ("del server db/pg-1", AdminRequest(.delServer(ref))),
        ("kill sessions db/pg-1", AdminRequest(.killSessions(ref))),
        ("reload", AdminRequest(.reload)),
        ("reload json", AdminRequest(.reload, json: true)),
    ]

    @Test(arguments: 0..<valid.count)
    func parsesValidLine(index: Int) {
        let (line, expected) = Self.valid[index]
        #expect(AdminRequest.parse(line) == .success(expected), "\(line)")
    }

    /// (line, a piece the error message must contain)
    static let malformed: [([UInt8], String)] = [
        (b(""), "empty command"),
        (b("   "), "empty command"),
        (b("\t \t"), "empty command"),
        (b("\r"), "empty command"),
        (b("json"), "unknown command 'json'"),
        (b("shw info"), "unknown command 'shw' (expected one of help, show, set"),
        (b("SHOW info"), "unknown command 'SHOW'"),
        (b("help me"), "unexpected argument 'me'"),
        (b("reload now"), "unexpected argument 'now'"),
        (b("show"), "missing what to show"),
        (b("show json"), "missing what to show"),
        (b("show everything"), "unknown 'show everything' (expected info, pools"),
        (b("show info extra"), "unexpected argument 'extra'"),
        (b("show pools db"), "unexpected argument 'db'"),
        (b("show servers db extra"), "unexpected argument 'extra'"),
        (b("show servers d/b"), "bad pool name 'd/b'"),
        (b("show sessions db!"), "bad pool name 'db!'"),
        (b("show servers dé"), "bad pool name 'dé'"),
        (b("set"), "missing 'server'"),
        (b("set pool db/pg-1 state ready"), "expected 'server', got 'pool'"),
        (b("set server"), "missing POOL/NAME"),
        (b("set server db"), "bad server 'db' (expected POOL/NAME)"),
        (b("set server db/a/b state ready"), "bad server 'db/a/b'"),
        (b("set server /pg state ready"), "bad pool name ''"),
        (b("set server db/ state ready"), "bad server name ''"),
        (b("set server d b/pg state ready"), "bad server 'd'"),
        (b("set server db/pg-1"), "missing 'state' or 'weight'"),
        (b("set server db/pg-1 status ready"), "unknown server property 'status'"),
        (b("set server db/pg-1 state"), "missing state"),
        (b("set server db/pg-1 state up"), "unknown state 'up' (expected ready, drain or maint)"),
        (b("set server db/pg-1 state READY"), "unknown state 'READY'"),
        (b("set server db/pg-1 state ready now"), "unexpected argument 'now'"),
        (b("set server db/pg-1 weight"), "missing weight (expected 0..1000)"),
        (b("set server db/pg-1 weight 1001"), "weight 1001 out of range (expected 0..1000)"),
        (b("set server db/pg-1 weight -1"), "invalid weight '-1'"),
        (b("set server db/pg-1 weight 1e3"), "invalid weight '1e3'"),
        (b("set server db/pg-1 weight 99999999999999999999999"), "out of range"),
        (b("set server db/pg-1 weight ten"), "invalid weight 'ten'"),
        (b("add server db/pg-1"), "missing ADDR:PORT"),
        (b("add server db/pg-1 10.0.0.1"), "missing port"),
        (b("add server db/pg-1 10.0.0.1:0"), "invalid port '0'"),
        (b("add server db/pg-1 10.0.0.1:65536"), "invalid port '65536'"),
        (b("add server db/pg-1 10.0.0.256:80"), "bad address '10.0.0.256:80'"),
        (b("add server db/pg-1 db.internal:5432"), "host names are not resolved at run time"),
        (b("add server db/pg-1 ::1:80"), "needs brackets"),
        (b("add server db/pg-1 [::1:80"), "missing ']'"),
        (b("add server db/pg-1 10.0.0.1:80 weight"), "missing weight"),
        (b("add server db/pg-1 10.0.0.1:80 weight 5000"), "weight 5000 out of range"),
        (b("add server db/pg-1 10.0.0.1:80 maxconn x"), "invalid maxconn 'x'"),
        (b("add server db/pg-1 10.0.0.1:80 maxconn 99999999"), "maxconn 99999999 out of range"),
        (b("add server db/pg-1 10.0.0.1:80 backup backup"), "duplicate option 'backup'"),
        (b("add server db/pg-1 10.0.0.1:80 disabled"), "unknown option 'disabled'"),
        (b("del server"), "missing POOL/NAME"),
        (b("del server db/pg-1 now"), "unexpected argument 'now'"),
        (b("del pool db"), "expected 'server', got 'pool'"),
        (b("kill sessions"), "missing POOL/NAME"),
        (b("kill session db/pg-1"), "expected 'sessions', got 'session'"),
        (b("kill sessions db"), "bad server 'db'"),
        ([0x73, 0x68, 0x6F, 0x77, 0x00, 0x69], "control or binary bytes"),
        ([0xFF, 0xFE, 0xFD], "not valid UTF-8"),
        ([0xC3, 0x28], "not valid UTF-8"),
        ([0x1B, 0x5B, 0x41], "control or binary bytes"),
        ([0x7F], "control or binary bytes"),
        (b("show info\n"), "control or binary bytes"),
        (b("show\u{0B}info"), "control or binary bytes"),
        ((0..<256).map { UInt8($0) }, "control or binary bytes"),
        (Array(repeating: 0x61, count: 4097), "line too long (max 4096 bytes)"),
        (Array(repeating: 0x00, count: 1 << 20), "line too long"),
        (b(String(repeating: "x", count: 4000)), "unknown command 'xxxxxxxx"),
    ]

    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func hasAtLeastFortyMalformedLines() { #expect(Self.malformed.count >= 40) }

    @Test(arguments: 0..<malformed.count)
    func rejectsMalformedLine(index: Int) {
        let (line, fragment) = Self.malformed[index]
        switch AdminRequest.parse(bytes: line) {
        case .success(let request):
            Issue.record("accepted \(line.prefix(40)) as \(request)")
        case .failure(let error):
            #expect(error.reply.hasPrefix("ERR "))
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(!error.message.contains("\n"))
            #expect(error.message.utf8.count < 400, "error text must stay short")
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0...64, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = AdminRequest.parse(bytes: bytes)
        }
    }
}
