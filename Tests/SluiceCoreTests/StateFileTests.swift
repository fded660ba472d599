// The state file's pure parts: admin commands folding into the snapshot, the text round trip,
// bad lines reported by number and skipped, and the snapshot applied to a configuration
// (entries that no longer apply dropped with a reason).
import SluiceSys
import Testing

@testable import SluiceCore

@Suite struct StateFileTests {
    static func ref(_ text: String) -> ServerRef {
        let parts = text.split(separator: "/")
        return ServerRef(pool: String(parts[0]), server: String(parts[1]))
    }

    static func command(_ line: String) -> AdminCommand {
        guard case .success(let request) = AdminRequest.parse(line) else { preconditionFailure(line) }
        return request.command
    }

    static func state(_ lines: [String]) -> RuntimeState {
        var s = RuntimeState()
        for line in lines { s.record(command(line)) }
        return s
    }

    @Test func commandsFoldIntoASnapshot() {
        let s = Self.state([
            "set server p/a state drain", "set server p/a weight 50", "set server p/a state maint",
            "del server p/b", "add server p/x 127.0.0.9:80 weight 7 backup", "set server p/x weight 9",
            "add server p/y 127.0.0.10:80", "del server p/y",  // added then deleted: forgotten
            "del server p/c", "add server p/c 127.0.0.11:81",  // a file server replaced by hand
            "kill sessions p/a", "show servers",
        ])
        #expect(
            s.overrides == [
                Self.ref("p/a"): ServerOverride(state: .maint, weight: 50), Self.ref("p/x"): ServerOverride(weight: 9),
            ])
        #expect(s.deleted == [Self.ref("p/b"), Self.ref("p/c")])
        #expect(Set(s.added.keys) == [Self.ref("p/x"), Self.ref("p/c")])
        #expect(s.added[Self.ref("p/x")]?.weight == 7 && s.added[Self.ref("p/x")]?.backup == true)

        var t = s
        t.record(Self.command("del server p/a"))  // deleting drops its overrides
        #expect(t.overrides[Self.ref("p/a")] == nil && t.deleted.contains(Self.ref("p/a")))
    }

    @Test func textRoundTripsInApplyOrder() {
        let s = Self.state([
            "set server p/a weight 50", "add server q/x [::1]:80 maxconn 3", "del server p/b",
            "set server p/a state drain", "del server p/c", "add server p/c 127.0.0.11:81",
        ])
        let text = StateFileText.render(s)
        #expect(
            text == """
                # sluice state v1
                # Written by sluice after every change made through the admin socket; read at start and reload.
                del server p/b
                del server p/c
                add server p/c 127.0.0.11:81
                add server q/x [::1]:80 maxconn 3
                set server p/a state drain
                set server p/a weight 50

                """)
        let (back, problems) = StateFileText.parse(text)
        #expect(back == s && problems == [])
    }

    @Test func badLinesAreReportedByNumberAndSkipped() {
        let text =
            "# sluice state v1\r\n"
            + "set server p/a state drian\r\n"
            + "\n   # a comment\n"
            + "set server p/a weight 30\n"
            + "show servers\n"
            + "add server p/x db.internal:5432\n"
            + "set server p/b state maint json\n"
            + "del server p/c\n"
        let (s, problems) = StateFileText.parse(text)
        #expect(problems.map(\.line) == [2, 6, 7, 8])
        #expect(problems[0].message == "unknown state 'drian' (expected ready, drain or maint)")
        #expect(problems[1].message.contains("not a state record"))
        #expect(problems[2].message.contains("host names are not resolved"))
        #expect(s.overrides == [Self.ref("p/a"): ServerOverride(weight: 30)] && s.deleted == [Self.ref("p/c")])
    }

    @Test func headerProblems() {
        #expect(StateFileText.parse("") == (RuntimeState(), []))
        #expect(StateFileText.parse("\n\n") == (RuntimeState(), []))
        let (noHeader, p1) = StateFileText.parse("del server p/a\n")
        #expect(
            noHeader.deleted == [Self.ref("p/a")]
                && p1 == [.init(line: 1, message: "missing the first line '# sluice state v1'")])
        let (future, p2) = StateFileText.parse("# sluice state v2\ndel server p/a\n")
        #expect(
            future.isEmpty && p2.count == 1 && p2[0].line == 1
                && p2[0].message.contains("unsupported state file version 'v2'"))
        let (binary, p3) = StateFileText.parse("# sluice state v1\n\u{1}\u{2}zz\n")
        #expect(binary.isEmpty && p3.map(\.line) == [2])
    }

    @Test func applyingToAConfigurationDropsWhatNoLongerApplies() throws {
        let config = try #require(
            loadOK(
                """
                pool p
                    bind 127.0.0.1:1
                    server a 127.0.0.1:10
                    server b 127.0.0.1:11 disabled
                    server c 127.0.0.1:12
                pool q
                    bind 127.0.0.1:2
                    server a 127.0.0.1:20
                """))
        let s = Self.state([
            "del server p/b", "add server p/x 127.0.0.9:80 weight 7", "set server p/a weight 5",
            "set server p/c state drain",
            "add server q/a 127.0.0.9:81",  // the file has q/a: dropped
            "add server gone/x 127.0.0.9:82", "set server gone/y state maint", "del server gone/z",  // no pool gone
            "del server p/zz", "set server p/nope weight 1",  // no such server in the file
        ])
        let applied = s.applied(to: config)
        #expect(applied.config.pools[0].servers.map(\.name) == ["a", "c", "x"])
        #expect(applied.config.pools[0].servers.map(\.weight) == [5, 100, 7])
        #expect(
            applied.config.pools[0].servers[2].address
                == ServerAddress(host: "127.0.0.9", endpoint: ep("127.0.0.9", 80)))
        #expect(
            applied.config.pools[1].servers.map(\.name) == ["a"]
                && applied.config.pools[1].servers[0].endpoint == ep("127.0.0.1", 20))
        #expect(
            applied.state
                == Self.state([
                    "del server p/b", "add server p/x 127.0.0.9:80 weight 7", "set server p/a weight 5",
                    "set server p/c state drain",
                ]))
        #expect(
            applied.dropped == [
                "del server gone/z: pool 'gone' is not in the configuration any more",
                "del server p/zz: the configuration has no server 'zz' any more",
                "add server gone/x 127.0.0.9:82: pool 'gone' is not in the configuration any more",
                "add server q/a 127.0.0.9:81: the configuration now has a server of that name",
                "set server gone/y state maint: pool 'gone' is not in the configuration any more",
                "set server p/nope weight 1: no server 'nope' in pool 'p' any more",
            ])
        // Applying what applied again changes nothing and drops nothing.
        let again = applied.state.applied(to: config)
        #expect(again.config == applied.config && again.dropped == [])
    }
}

extension ServerConfig {
    fileprivate var endpoint: IPEndpoint { address.endpoint }
}
