// Parser: the SPEC example to typed values, defaults inheritance and reset, every check kind,
// quoted bytes reaching `send`, IPv6 and fd binds, and host names through a fake resolver.
import SluiceSys
import Testing

@testable import SluiceCore

/// Resolves `*.example` to 192.0.2.N (N = name length) and `v6.example` to 2001:db8::1.
func fakeResolve(_ host: String) -> IPAddress? {
    if host == "v6.example" { return IPAddress("2001:db8::1") }
    guard host.hasSuffix(".example") else { return nil }
    return .v4(0xC000_0200 | UInt32(host.count))
}

func load(_ text: String) -> Result<Config, ConfigErrors> {
    ConfigLoader.load(text: text, file: "t.conf", resolve: fakeResolve)
}

func loadOK(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Config? {
    switch load(text) {
    case .success(let config): return config
    case .failure(let errors):
        Issue.record("unexpected errors:\n\(errors)", sourceLocation: sourceLocation)
        return nil
    }
}

func ep(_ text: String, _ port: UInt16) -> IPEndpoint { IPEndpoint(IPAddress(text)!, port) }

@Suite struct ConfigParserTests {
    static let specExample = """
        global
            workers auto                 # worker epoll threads; auto = number of CPUs
            maxconn 100000               # cap on concurrent client sessions, all pools together
            admin-socket /run/sluice/admin.sock mode 0600   # 'admin-socket none' disables it
            admin-allow-uid 0 998        # peers (SO_PEERCRED) allowed besides root and sluice's own uid
            metrics 127.0.0.1:9187       # optional Prometheus endpoint: HTTP GET /metrics
            log-level info               # error | warn | info | debug
            log-sessions off             # on: one line per finished session
            pipe-size 64k                # splice pipe capacity
            user sluice                  # drop to this user/group after binding, when started as root
            group sluice
            timeout shutdown 30s         # how long SIGTERM waits for sessions
            state-file /var/lib/sluice/state   # optional: runtime changes (admin state, weight, added and
                                         # deleted servers) are saved here and applied again at start and reload

        defaults                         # any pool directive except bind and server; applies to the pools below it
            timeout connect 3s

        pool pg                          # NAME: [A-Za-z0-9_.-]+, unique
            bind 0.0.0.0:5432            # one or more; [::]:5432 for IPv6; fd:NAME = the socket(s) systemd
                                         # passed with FileDescriptorName=NAME
            mode tcp                     # tcp | udp
            balance leastconn            # leastconn | roundrobin | hash
            hash-key src                 # src (client address) | src-port (address and port); for balance hash
            timeout connect 3s           # backend connect
            timeout idle 0               # close a session after this long with no bytes either way
            timeout drain 1h             # how long sessions of a draining/removed server may live
            timeout queue 5s             # how long a client may wait for a free server slot
            timeout udp-flow 30s         # udp: forget a client flow after this idle time
            retries 2                    # connect attempts on other servers before giving up on a client
            maxconn 10000                # cap on concurrent sessions of this pool
            all-down reject              # reject (close new clients) | any (try down servers anyway)
            check tcp interval 2s timeout 1s rise 2 fall 3 jitter 10%
            observe on                   # live connect failures count as failed checks
            slowstart 0                  # ramp a server's weight from ~0 to full over this long after it comes up
            on-down keep-sessions        # keep-sessions | close-sessions (close a server's sessions when it goes down)
            proxy-protocol off           # off | v1 | v2: send a PROXY header to every server of the pool
            single-primary off           # on: with a role check (redis-master, http), new sessions go to one
                                         # primary only, even when several servers pass the check
            init-state up                # up | down: state of a server before its first check result
            resolve-interval 0           # re-resolve server host names this often (0: only at load)
            server pg1 10.0.0.1:5432 weight 50 maxconn 100 backup disabled check-port 8008 init-state down
            server pg2 db.example:5433
            server pg3 [fd00::3]:5432 init-state up check-port 1
        """

    @Test func specExampleParses() throws {
        let config = try #require(loadOK(Self.specExample))
        var global = GlobalConfig()
        global.workers = nil
        global.maxconn = 100_000
        global.adminSocket = AdminSocketConfig(path: "/run/sluice/admin.sock", mode: 0o600)
        global.adminAllowUIDs = [0, 998]
        global.metrics = ep("127.0.0.1", 9187)
        global.logLevel = .info
        global.logSessions = false
        global.pipeSize = 65536
        global.user = "sluice"
        global.group = "sluice"
        global.timeoutShutdown = .seconds(30)
        global.stateFile = "/var/lib/sluice/state"
        #expect(config.global == global)
        #expect(config.file == "t.conf")

        var pool = PoolConfig(name: "pg")
        pool.line = 19
        pool.binds = [.inet(ep("0.0.0.0", 5432))]
        var s = PoolSettings()
        s.mode = .tcp
        s.balance = .leastconn
        s.hashKey = .src
        s.timeoutConnect = .seconds(3)
        s.timeoutIdle = .zero
        s.timeoutDrain = .seconds(3600)
        s.timeoutQueue = .seconds(5)
        s.timeoutUDPFlow = .seconds(30)
        s.retries = 2
        s.maxconn = 10000
        s.allDown = .reject
        s.check = CheckConfig()
        s.observe = true
        s.onDown = .keepSessions
        s.proxyProtocol = .off
        s.singlePrimary = false
        s.initState = .up
        pool.settings = s
        var pg1 = ServerConfig(name: "pg1", address: ServerAddress(host: "10.0.0.1", endpoint: ep("10.0.0.1", 5432)))
        pg1.weight = 50
        pg1.maxconn = 100
        pg1.backup = true
        pg1.disabled = true
        pg1.checkPort = 8008
        pg1.initState = .down
        pg1.line = 42
        var pg2 = ServerConfig(
            name: "pg2", address: ServerAddress(host: "db.example", endpoint: ep("192.0.2.10", 5433)))
        pg2.line = 43
        var pg3 = ServerConfig(name: "pg3", address: ServerAddress(host: "fd00::3", endpoint: ep("fd00::3", 5432)))
        pg3.initState = .up
        pg3.checkPort = 1
        pg3.line = 44
        pool.servers = [pg1, pg2, pg3]
        #expect(config.pools == [pool])
    }

    /// A UDP service may have no TCP port to probe: without a `check` line (in the pool or
    /// its defaults) a `mode udp` pool is not checked; one that is written is kept.
    @Test func udpPoolsDefaultToCheckNone() throws {
        let config = try #require(
            loadOK(
                """
                pool dns
                    bind 127.0.0.1:53
                    mode udp
                pool tcp
                    bind 127.0.0.1:54
                defaults
                    check tcp interval 1s
                pool checked
                    bind 127.0.0.1:55
                    mode udp
                """))
        #expect(config.pools.map(\.settings.check.kind) == [.none, .tcp, .tcp])
        #expect(config.pools[2].settings.check.interval == .seconds(1))
    }

    /// A UDP pool's flows have a cap of their own (they are not in the global maxconn): its
    /// `maxconn`, from the pool or its defaults, or 10000 when none is written. A TCP pool
    /// keeps 0 (no pool cap).
    @Test func udpPoolsHaveAFlowCapOfTheirOwn() throws {
        let config = try #require(
            loadOK(
                """
                pool dns
                    bind 127.0.0.1:53
                    mode udp
                pool tcp
                    bind 127.0.0.1:54
                pool small
                    bind 127.0.0.1:55
                    mode udp
                    maxconn 50
                defaults
                    maxconn 7
                pool inherited
                    bind 127.0.0.1:56
                    mode udp
                """))
        #expect(config.pools.map(\.settings.maxconn) == [10000, 0, 50, 7])
    }

    @Test func emptyFileGivesBuiltInDefaults() throws {
        let config = try #require(loadOK("# nothing\n\n"))
        #expect(config == Config(file: "t.conf"))
    }

    @Test func defaultsInheritAndReset() throws {
        let config = try #require(
            loadOK(
                """
                pool first
                    bind 0.0.0.0:1
                defaults
                    timeout connect 5s
                    balance roundrobin
                    check redis interval 5s
                pool a
                    bind 0.0.0.0:2
                    balance hash
                pool b
                    bind 0.0.0.0:3
                defaults
                    retries 5
                pool c
                    bind 0.0.0.0:4
                """))
        let s = config.pools.map(\.settings)
        #expect(config.pools.map(\.name) == ["first", "a", "b", "c"])
        #expect(s[0] == PoolSettings())
        #expect(s[1].timeoutConnect == .seconds(5) && s[1].balance == .hash)
        #expect(s[1].check.kind == .redis(password: nil) && s[1].check.interval == .seconds(5))
        #expect(s[2].timeoutConnect == .seconds(5) && s[2].balance == .roundrobin)
        var c = PoolSettings()
        c.retries = 5
        #expect(s[3] == c)
    }

    @Test func poolMayOverrideDefaultsOnce() throws {
        let config = try #require(
            loadOK("defaults\n    mode udp\npool a\n    bind 0.0.0.0:53\n    mode tcp\npool b\n    bind 0.0.0.0:53\n"))
        #expect(config.pools.map(\.settings.mode) == [.tcp, .udp])
    }

    static func check(
        _ kind: CheckKind, interval: Duration = .seconds(2), timeout: Duration = .seconds(1), rise: Int = 2,
        fall: Int = 3, jitter: Int = 10
    ) -> CheckConfig {
        var c = CheckConfig()
        c.kind = kind
        c.interval = interval
        c.timeout = timeout
        c.rise = rise
        c.fall = fall
        c.jitterPercent = jitter
        return c
    }

    @Test(arguments: [
        ("check tcp", check(.tcp)),
        (
            "check tcp interval 500ms timeout 250ms rise 1 fall 1 jitter 0%",
            check(.tcp, interval: .milliseconds(500), timeout: .milliseconds(250), rise: 1, fall: 1, jitter: 0)
        ),
        (
            "check tcp jitter 100% fall 9 rise 4 timeout 3s interval 1m",
            check(.tcp, interval: .seconds(60), timeout: .seconds(3), rise: 4, fall: 9, jitter: 100)
        ),
        ("check redis", check(.redis(password: nil))),
        (#"check redis password "s3cr et" rise 3"#, check(.redis(password: "s3cr et"), rise: 3)),
        ("check redis-master", check(.redisMaster(password: nil))),
        ("check redis-master password pw interval 1s", check(.redisMaster(password: "pw"), interval: .seconds(1))),
        ("check postgres", check(.postgres)),
        ("check postgres timeout 2s", check(.postgres, timeout: .seconds(2))),
        ("check http /primary", check(.http(path: "/primary", expectStatus: 200))),
        ("check http /health expect-status 204 fall 2", check(.http(path: "/health", expectStatus: 204), fall: 2)),
        (#"check send "PING\r\n" expect "+PONG""#, check(.send(Array("PING\r\n".utf8), expect: Array("+PONG".utf8)))),
        (#"check send "" expect ok interval 1h"#, check(.send([], expect: Array("ok".utf8)), interval: .seconds(3600))),
        ("check none", check(.none)),
    ])
    func checkKinds(_ line: String, _ expected: CheckConfig) throws {
        let config = try #require(loadOK("pool p\n    bind 0.0.0.0:1\n    \(line)\n"))
        #expect(config.pools[0].settings.check == expected)
    }

    @Test func sendBytesAreExact() throws {
        let config = try #require(
            loadOK(#"pool p\#n    bind 0.0.0.0:1\#n    check send "\x00\xff\x01A\\" expect "\xFF\x00""#))
        #expect(config.pools[0].settings.check.kind == .send([0x00, 0xFF, 0x01, 0x41, 0x5C], expect: [0xFF, 0x00]))
    }

    @Test func bindsOfAllKinds() throws {
        let config = try #require(
            loadOK(
                """
                pool p
                    bind 0.0.0.0:5432
                    bind [::]:5432
                    bind [2001:db8::7]:65535
                    bind fd:pg-socket.1
                    bind 127.0.0.1:1
                """))
        #expect(
            config.pools[0].binds == [
                .inet(ep("0.0.0.0", 5432)), .inet(ep("::", 5432)), .inet(ep("2001:db8::7", 65535)), .fd("pg-socket.1"),
                .inet(ep("127.0.0.1", 1)),
            ])
        #expect(config.pools[0].binds[1].description == "[::]:5432")
    }

    @Test func sameAddressForTCPAndUDP() throws {
        let config = try #require(
            loadOK("pool t\n    bind 0.0.0.0:53\npool u\n    mode udp\n    bind 0.0.0.0:53\n"))
        #expect(config.pools.count == 2)
    }

    @Test func hostNamesGoThroughResolver() throws {
        let config = try #require(
            loadOK(
                """
                pool p
                    bind 0.0.0.0:1
                    server a cache.example:6379
                    server b v6.example:6379 weight 0
                    server c 10.1.2.3:1
                    server d [::1]:2
                    server e my_host-1.example:3
                """))
        let servers = config.pools[0].servers
        #expect(servers.map(\.address.host) == ["cache.example", "v6.example", "10.1.2.3", "::1", "my_host-1.example"])
        #expect(
            servers.map(\.address.endpoint) == [
                ep("192.0.2.13", 6379), ep("2001:db8::1", 6379), ep("10.1.2.3", 1), ep("::1", 2), ep("192.0.2.17", 3),
            ])
        #expect(servers.map(\.line) == [3, 4, 5, 6, 7])
        #expect(servers[1].weight == 0)
    }

    @Test func resolverSeesOnlyHostNames() {
        final class Seen: @unchecked Sendable { var names: [String] = [] }
        let seen = Seen()
        _ = ConfigLoader.load(
            text:
                "pool p\n    bind 0.0.0.0:1\n    server a 1.2.3.4:1\n    server b [::1]:1\n    server c x.example:1\n",
            file: "t.conf",
            resolve: {
                seen.names.append($0)
                return fakeResolve($0)
            })
        #expect(seen.names == ["x.example"])
    }

    @Test func globalVariants() throws {
        let config = try #require(
            loadOK(
                """
                global
                    workers 8
                    admin-socket none
                    admin-allow-uid 1000
                    admin-allow-uid 1001 1002
                    metrics [::1]:9187
                    log-level debug
                    log-sessions on
                    pipe-size 1m
                    timeout shutdown 1500ms
                """))
        #expect(config.global.workers == 8)
        #expect(config.global.adminSocket == nil)
        #expect(config.global.adminAllowUIDs == [1000, 1001, 1002])
        #expect(config.global.metrics == ep("::1", 9187))
        #expect(config.global.logLevel == .debug)
        #expect(config.global.logSessions)
        #expect(config.global.pipeSize == 1_048_576)
        #expect(config.global.timeoutShutdown == .milliseconds(1500))
        let quoted = try #require(loadOK(#"global\#n    admin-socket "/tmp/a b.sock""#))
        #expect(quoted.global.adminSocket == AdminSocketConfig(path: "/tmp/a b.sock", mode: 0o600))
    }

    @Test func poolVariants() throws {
        let config = try #require(
            loadOK(
                """
                pool p
                    bind 0.0.0.0:1
                    mode tcp
                    balance hash
                    hash-key src-port
                    timeout udp-flow 2m
                    timeout idle 1d
                    retries 0
                    maxconn 0
                    all-down any
                    check http /primary
                    single-primary on
                    slowstart 30s
                    on-down close-sessions
                    proxy-protocol v2
                    init-state down
                    resolve-interval 10m
                    observe off
                """))
        let s = config.pools[0].settings
        #expect(s.mode == .tcp && s.balance == .hash && s.hashKey == .srcPort)
        #expect(s.timeoutUDPFlow == .seconds(120) && s.timeoutIdle == .seconds(86400))
        #expect(s.retries == 0 && s.maxconn == 0 && s.allDown == .any && s.singlePrimary)
        #expect(s.slowstart == .seconds(30) && s.onDown == .closeSessions && s.proxyProtocol == .v2)
        #expect(s.initState == .down && s.resolveInterval == .seconds(600) && !s.observe)
    }

    @Test(arguments: [
        ("0", Duration.zero), ("0s", .zero), ("250ms", .milliseconds(250)), ("2s", .seconds(2)), ("10m", .seconds(600)),
        ("1h", .seconds(3600)), ("365d", .seconds(365 * 86400)),
    ])
    func durations(_ text: String, _ expected: Duration) throws {
        #expect(try ValueParser.duration(text, "x").get() == expected)
    }

    @Test(arguments: [("4096", 4096), ("64k", 65536), ("1m", 1_048_576), ("4K", 4096)])
    func sizes(_ text: String, _ expected: Int) throws {
        #expect(try ValueParser.size(text, "x", 0...Int.max).get() == expected)
    }
}
