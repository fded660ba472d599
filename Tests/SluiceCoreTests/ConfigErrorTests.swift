// Every mistake is a `FILE:LINE: message` naming what was wrong and what was expected; all
// errors of a file are reported, sorted by line. One row per distinct mistake.
import SluiceSys
import Testing

@testable import SluiceCore

@Suite struct ConfigErrorTests {
    private func errors(_ text: String) -> [String] {
        switch load(text) {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    /// A pool header and bind on lines 1-2, so the line under test is line 3.
    private static let pool = "pool p\n    bind 0.0.0.0:1\n"

    static let mistakes: [(String, [String])] = [
        ("global\n    workerz 4\n", ["t.conf:2: unknown global directive 'workerz'"]),
        (
            "global\n    bind 0.0.0.0:1\n",
            ["t.conf:2: unknown global directive 'bind' (it belongs in a pool or defaults section)"]
        ),
        (
            pool + "    balance leastconnn\n",
            ["t.conf:3: unknown balance 'leastconnn' (expected leastconn, roundrobin or hash)"]
        ),
        (
            pool + "    timeout connect 2\n",
            ["t.conf:3: missing unit in timeout connect '2' (expected ms, s, m, h or d, as in 2s)"]
        ),
        (
            pool + "    timeout connect 2x\n",
            ["t.conf:3: unknown unit 'x' in timeout connect '2x' (expected ms, s, m, h or d)"]
        ),
        (
            pool + "    slowstart fast\n",
            ["t.conf:3: invalid slowstart 'fast' (expected a number with unit ms, s, m, h or d, or 0)"]
        ),
        (
            pool + "    timeout drain 99999999999999999999999d\n",
            ["t.conf:3: timeout drain '99999999999999999999999d' out of range (at most 365d)"]
        ),
        (pool + "    timeout drain 366d\n", ["t.conf:3: timeout drain '366d' out of range (at most 365d)"]),
        (
            pool + "    timeout shutdown 1s\n",
            [
                "t.conf:3: unknown timeout 'shutdown' (expected connect, idle, drain, queue or udp-flow) (it belongs in the global section)"
            ]
        ),
        (
            pool + "    timeout\n",
            ["t.conf:3: missing value for timeout (expected connect, idle, drain, queue or udp-flow, then a duration)"]
        ),
        (
            "global\n    timeout connect 1s\n",
            [
                "t.conf:2: unknown global timeout 'connect' (expected shutdown) (it belongs in a pool or defaults section)"
            ]
        ),
        (
            "    workers 4\nglobal\n",
            ["t.conf:1: directive 'workers' outside a section (expected global, defaults or pool first)"]
        ),
        (
            "frontend web\n    bind 0.0.0.0:80\n",
            ["t.conf:1: unknown section 'frontend' (expected global, defaults or pool; directives must be indented)"]
        ),
        ("defaults\n    bind 0.0.0.0:1\n", ["t.conf:2: 'bind' is not allowed in defaults (only in a pool section)"]),
        (
            "defaults\n    server a 1.2.3.4:5\n",
            ["t.conf:2: 'server' is not allowed in defaults (only in a pool section)"]
        ),
        ("defaults\n    frobnicate on\n", ["t.conf:2: unknown defaults directive 'frobnicate'"]),
        (pool + "    user nobody\n", ["t.conf:3: unknown pool directive 'user' (it belongs in the global section)"]),
        (
            "pool p\n    mode tcp\n",
            ["t.conf:1: pool 'p' has no bind (expected at least one 'bind ADDR:PORT' or 'bind fd:NAME')"]
        ),
        ("pool\n    bind 0.0.0.0:1\n", ["t.conf:1: missing name for pool (expected pool NAME)"]),
        (
            "pool a/b\n    bind 0.0.0.0:1\n",
            ["t.conf:1: invalid pool name 'a/b' (expected letters, digits, '_', '.' or '-')"]
        ),
        ("pool a b\n    bind 0.0.0.0:1\n", ["t.conf:1: unexpected 'b' after pool name"]),
        ("global x\n", ["t.conf:1: unexpected 'x' after global (the section takes no name)"]),
        (pool + "pool p\n    bind 0.0.0.0:2\n", ["t.conf:3: duplicate pool 'p' (first at line 1)"]),
        (pool + "pool q\n    bind 0.0.0.0:1\n", ["t.conf:4: bind 0.0.0.0:1 is already used at line 2 (pool 'p')"]),
        (
            pool + "    bind fd:web\npool q\n    bind fd:web\n",
            ["t.conf:5: bind fd:web is already used at line 3 (pool 'p')"]
        ),
        (pool + "    bind 0.0.0.0:0\n", ["t.conf:3: invalid port '0' in bind (expected 1..65535)"]),
        (pool + "    bind 0.0.0.0:65536\n", ["t.conf:3: invalid port '65536' in bind (expected 1..65535)"]),
        (
            pool + "    bind ::1:80\n",
            ["t.conf:3: invalid bind '::1:80': an IPv6 address needs brackets, as in [::1]:80"]
        ),
        (
            pool + "    bind [::1:80\n",
            ["t.conf:3: invalid bind '[::1:80': missing ']' (expected ADDR:PORT, with IPv6 as [ADDR]:PORT)"]
        ),
        (
            pool + "    bind 0.0.0.0\n",
            ["t.conf:3: invalid bind '0.0.0.0': missing port (expected ADDR:PORT, with IPv6 as [ADDR]:PORT)"]
        ),
        (pool + "    bind 1.2.3.256:80\n", ["t.conf:3: invalid IPv4 address '1.2.3.256' in bind"]),
        (pool + "    bind [1.2.3.4]:80\n", ["t.conf:3: invalid IPv6 address '1.2.3.4' in bind"]),
        (pool + "    bind localhost:80\n", ["t.conf:3: invalid IPv4 address 'localhost' in bind"]),
        (
            pool + "    bind fd:a:b\n",
            ["t.conf:3: invalid fd name in bind 'a:b' (expected letters, digits, '_', '.' or '-')"]
        ),
        ("global\n    workers 0\n", ["t.conf:2: workers 0 out of range (expected 1..1024)"]),
        ("global\n    workers many\n", ["t.conf:2: invalid workers 'many' (expected auto or 1..1024)"]),
        (
            "global\n    maxconn 99999999999999999999999\n",
            ["t.conf:2: maxconn 99999999999999999999999 out of range (expected 1..10000000)"]
        ),
        ("global\n    maxconn -1\n", ["t.conf:2: invalid maxconn '-1' (expected a number in 1..10000000)"]),
        ("global\n    pipe-size 2k\n", ["t.conf:2: pipe-size 2k out of range (expected 4k..1m)"]),
        (
            "global\n    pipe-size 64q\n",
            ["t.conf:2: invalid pipe-size '64q' (expected bytes, or a number with suffix k or m)"]
        ),
        (
            "global\n    pipe-size 99999999999999999999m\n",
            ["t.conf:2: pipe-size 99999999999999999999m out of range (expected 4k..1m)"]
        ),
        ("global\n    log-level\n", ["t.conf:2: missing value for log-level (expected error, warn, info or debug)"]),
        ("global\n    log-level info debug\n", ["t.conf:2: unexpected 'debug' after log-level value"]),
        (
            "global\n    log-level verbose\n",
            ["t.conf:2: unknown log-level 'verbose' (expected error, warn, info or debug)"]
        ),
        ("global\n    log-sessions yes\n", ["t.conf:2: unknown log-sessions 'yes' (expected on or off)"]),
        (
            "global\n    admin-socket /a mode 0999\n",
            ["t.conf:2: invalid admin-socket mode '0999' (expected octal permissions 0000..0777, as in 0660)"]
        ),
        (
            "global\n    admin-socket /a owner root\n",
            ["t.conf:2: unexpected 'owner' after admin-socket path (expected mode OCTAL)"]
        ),
        ("global\n    admin-socket none extra\n", ["t.conf:2: unexpected 'extra' after admin-socket none"]),
        ("global\n    admin-allow-uid\n", ["t.conf:2: missing value for admin-allow-uid (expected one or more uids)"]),
        ("global\n    admin-allow-uid 0 root\n", ["t.conf:2: invalid uid 'root' (expected a number in 0..4294967294)"]),
        ("global\n    metrics localhost:9187\n", ["t.conf:2: invalid IPv4 address 'localhost' in metrics"]),
        ("global\n    user \"\"\n", ["t.conf:2: user must not be empty"]),
        ("global\n    state-file \"/x\\x00y\"\n", ["t.conf:2: state-file path must not contain a NUL byte"]),
        ("global\n    user \"\\xff\"\n", ["t.conf:2: user is not valid UTF-8"]),
        ("global\n    user \"sluice\n", ["t.conf:2: unterminated quoted string (opened at column 10)"]),
        (
            "global\n    user \"a\\qb\"\n",
            [#"t.conf:2: bad escape '\q' (expected \\, \", \r, \n, \t or \xHH) at column 12"#]
        ),
        ("global\n    workers 2\n    workers 4\n", ["t.conf:3: duplicate 'workers' (first at line 2)"]),
        (
            "global\n    workers 2\nglobal\n    workers 4\n",
            ["t.conf:3: duplicate global section (first at line 1)", "t.conf:4: duplicate 'workers' (first at line 2)"]
        ),
        (pool + "    mode tcp\n    mode udp\n", ["t.conf:4: duplicate 'mode' (first at line 3)"]),
        (pool + "    timeout idle 1s\n    timeout idle 2s\n", ["t.conf:4: duplicate 'timeout idle' (first at line 3)"]),
        (pool + "    retries 101\n", ["t.conf:3: retries 101 out of range (expected 0..100)"]),
        (pool + "    observe yes\n", ["t.conf:3: unknown observe 'yes' (expected on or off)"]),
        (pool + "    proxy-protocol v3\n", ["t.conf:3: unknown proxy-protocol 'v3' (expected off, v1 or v2)"]),
        (pool + "    hash-key dst\n", ["t.conf:3: unknown hash-key 'dst' (expected src or src-port)"]),
        (
            pool + "    check mysql\n",
            ["t.conf:3: unknown check 'mysql' (expected tcp, redis, redis-master, postgres, http, send or none)"]
        ),
        (
            pool + "    check\n",
            ["t.conf:3: missing value for check (expected tcp, redis, redis-master, postgres, http, send or none)"]
        ),
        (
            pool + "    check tcp jitter 10\n",
            ["t.conf:3: invalid check jitter '10' (expected a percentage 0%..100%, as in 10%)"]
        ),
        (pool + "    check tcp jitter 101%\n", ["t.conf:3: check jitter 101 out of range (expected 0..100)"]),
        (pool + "    check tcp interval 0\n", ["t.conf:3: check interval must be more than 0"]),
        (pool + "    check tcp rise\n", ["t.conf:3: missing value for check rise (expected a value)"]),
        (pool + "    check tcp rise 0\n", ["t.conf:3: check rise 0 out of range (expected 1..1000)"]),
        (pool + "    check tcp fall 2 fall 3\n", ["t.conf:3: duplicate check option 'fall'"]),
        (
            pool + "    check tcp port 80\n",
            ["t.conf:3: unknown check option 'port' (expected interval, timeout, rise, fall or jitter)"]
        ),
        (
            pool + "    check redis interval 2s password x\n",
            ["t.conf:3: unknown check option 'password' (expected interval, timeout, rise, fall or jitter)"]
        ),
        (pool + "    check redis password\n", ["t.conf:3: missing value for check redis password (expected a string)"]),
        (pool + "    check http\n", ["t.conf:3: missing value for check http (expected a path, as in /health)"]),
        (
            pool + "    check http health\n",
            ["t.conf:3: invalid check http path 'health' (expected a path starting with '/')"]
        ),
        (
            pool + "    check http \"/a b\"\n",
            ["t.conf:3: invalid check http path '/a b' (spaces and control characters are not allowed)"]
        ),
        (
            pool + "    check http / expect-status 600\n",
            ["t.conf:3: expect-status 600 out of range (expected 100..599)"]
        ),
        (pool + "    check send PING\n", ["t.conf:3: expected 'expect STR' after check send STR, found end of line"]),
        (
            pool + "    check send PING want PONG\n",
            ["t.conf:3: expected 'expect STR' after check send STR, found 'want'"]
        ),
        (pool + "    check send PING expect \"\"\n", ["t.conf:3: check send expect string must not be empty"]),
        (
            pool + "    check none interval 2s\n",
            ["t.conf:3: unexpected 'interval' after check none (it takes no options)"]
        ),
        (pool + "    check tcp\n    check none\n", ["t.conf:4: duplicate 'check' (first at line 3)"]),
        (
            pool + "    single-primary on\n",
            [
                "t.conf:1: pool 'p' has single-primary on without a role check (expected check redis-master or check http)"
            ]
        ),
        (
            pool + "    mode udp\n    maxconn 0\n",
            [
                "t.conf:4: pool 'p' has mode udp with maxconn 0 (a udp pool needs a cap on its flows: 1..10000000; without maxconn it is 10000)"
            ]
        ),
        (
            pool + "    mode udp\n    maxconn -1\n",
            ["t.conf:4: invalid maxconn '-1' (expected a number in 0..10000000)"]
        ),
        (
            "defaults\n    maxconn 0\npool p\n    bind 0.0.0.0:1\n    mode udp\n",
            [
                "t.conf:2: pool 'p' has mode udp with maxconn 0 (a udp pool needs a cap on its flows: 1..10000000; without maxconn it is 10000)"
            ]
        ),
        (
            pool + "    mode udp\n    proxy-protocol v2\n",
            ["t.conf:4: pool 'p' has mode udp with proxy-protocol v2 (PROXY headers are sent on TCP pools only)"]
        ),
        (pool + "    server\n", ["t.conf:3: missing name for server (expected server NAME ADDR:PORT [options])"]),
        (pool + "    server a\n", ["t.conf:3: missing address for server (expected server NAME ADDR:PORT [options])"]),
        (
            pool + "    server a/b 1.2.3.4:5\n",
            ["t.conf:3: invalid server name 'a/b' (expected letters, digits, '_', '.' or '-')"]
        ),
        (pool + "    server a 1.2.3.4:5 weight 1001\n", ["t.conf:3: weight 1001 out of range (expected 0..1000)"]),
        (pool + "    server a 1.2.3.4:5 weight 1 weight 2\n", ["t.conf:3: duplicate server option 'weight'"]),
        (pool + "    server a 1.2.3.4:5 backup backup\n", ["t.conf:3: duplicate server option 'backup'"]),
        (
            pool + "    server a 1.2.3.4:5 weight\n",
            ["t.conf:3: missing value for server option weight (expected 0..1000)"]
        ),
        (
            pool + "    server a 1.2.3.4:5 primary\n",
            [
                "t.conf:3: unknown server option 'primary' (expected weight, maxconn, backup, disabled, check-port or init-state)"
            ]
        ),
        (pool + "    server a 1.2.3.4:5 check-port 0\n", ["t.conf:3: check-port 0 out of range (expected 1..65535)"]),
        (
            pool + "    server a 1.2.3.4:5 init-state maybe\n",
            ["t.conf:3: unknown init-state 'maybe' (expected up or down)"]
        ),
        (
            pool + "    server a nowhere.test:5\n",
            ["t.conf:3: cannot resolve host 'nowhere.test' of server 'a': no address"]
        ),
        (pool + "    server a 10.0.0.300:5\n", ["t.conf:3: invalid IPv4 address '10.0.0.300' in server address"]),
        (pool + "    server a [fe80::zz]:5\n", ["t.conf:3: invalid IPv6 address 'fe80::zz' in server address"]),
        (
            pool + "    server a bad!host:5\n",
            ["t.conf:3: invalid host name 'bad!host' in server address (expected letters, digits, '-', '_' or '.')"]
        ),
        (
            pool + "    server a 1.2.3.4\n",
            ["t.conf:3: invalid server address '1.2.3.4': missing port (expected ADDR:PORT, with IPv6 as [ADDR]:PORT)"]
        ),
        (
            pool + "    server a 1.2.3.4:5\n    server a 1.2.3.4:6\n",
            ["t.conf:4: duplicate server 'a' in pool 'p' (first at line 3)"]
        ),
    ]

    @Test(arguments: mistakes)
    func mistake(_ text: String, _ expected: [String]) {
        #expect(errors(text) == expected)
    }

    @Test func tableCoversManyDistinctMistakes() {
        #expect(Set(Self.mistakes.map(\.1)).count >= 25)
    }

    @Test func allErrorsOfAFileAreReportedInLineOrder() {
        let text = """
            global
                workers 0
                log-level loud
            pool a
                bind 0.0.0.0:80
                balance leastconnn
                server s1 10.0.0.1:80 weight 5000
                server s1 10.0.0.2:80
                user "unterminated
            pool b
                bind 0.0.0.0:80
                timeout connect 2
            frontend x
                anything goes here
            pool a
            """
        #expect(
            errors(text) == [
                "t.conf:2: workers 0 out of range (expected 1..1024)",
                "t.conf:3: unknown log-level 'loud' (expected error, warn, info or debug)",
                "t.conf:6: unknown balance 'leastconnn' (expected leastconn, roundrobin or hash)",
                "t.conf:7: weight 5000 out of range (expected 0..1000)",
                "t.conf:9: unterminated quoted string (opened at column 10)",
                "t.conf:11: bind 0.0.0.0:80 is already used at line 5 (pool 'a')",
                "t.conf:12: missing unit in timeout connect '2' (expected ms, s, m, h or d, as in 2s)",
                "t.conf:13: unknown section 'frontend' (expected global, defaults or pool; directives must be indented)",
                "t.conf:15: duplicate pool 'a' (first at line 4)",
                "t.conf:15: pool 'a' has no bind (expected at least one 'bind ADDR:PORT' or 'bind fd:NAME')",
            ])
    }

    @Test func errorsRenderOnePerLine() {
        let errs = ConfigErrors([
            ConfigError(file: "/etc/sluice/sluice.conf", line: 3, message: "a"),
            ConfigError(file: "/etc/sluice/sluice.conf", line: 7, message: "b"),
        ])
        #expect(errs.description == "/etc/sluice/sluice.conf:3: a\n/etc/sluice/sluice.conf:7: b")
    }
}
