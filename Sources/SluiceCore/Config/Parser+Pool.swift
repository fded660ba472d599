// Directives of `pool` and `defaults` sections: the PoolSettings ones (shared by both) and
// `bind`, which only pools take. Single-valued settings may appear once per section; a pool
// may override what its `defaults` set. `check` and `server` live in their own files.
import SluiceSys

extension ConfigParser {
    static let poolTimeouts = ["connect", "idle", "drain", "queue", "udp-flow"]

    /// Applies one settings directive; returns false when `d.name` is not one.
    mutating func poolSetting(_ d: Directive, _ s: inout PoolSettings) -> Bool {
        switch d.name {
        case "mode":
            keywordSetting(d, [("tcp", PoolMode.tcp), ("udp", .udp)]) { s.mode = $0 }
        case "balance":
            keywordSetting(d, [("leastconn", BalanceKind.leastconn), ("roundrobin", .roundrobin), ("hash", .hash)]) {
                s.balance = $0
            }
        case "hash-key":
            keywordSetting(d, [("src", HashKey.src), ("src-port", .srcPort)]) { s.hashKey = $0 }
        case "all-down":
            keywordSetting(d, [("reject", AllDownPolicy.reject), ("any", .any)]) { s.allDown = $0 }
        case "on-down":
            keywordSetting(d, [("keep-sessions", OnDownPolicy.keepSessions), ("close-sessions", .closeSessions)]) {
                s.onDown = $0
            }
        case "proxy-protocol":
            keywordSetting(d, [("off", ProxyProtocolVersion.off), ("v1", .v1), ("v2", .v2)]) { s.proxyProtocol = $0 }
        case "init-state":
            keywordSetting(d, [("up", InitState.up), ("down", .down)]) { s.initState = $0 }
        case "observe":
            keywordSetting(d, [("on", true), ("off", false)]) { s.observe = $0 }
        case "single-primary":
            keywordSetting(d, [("on", true), ("off", false)]) { s.singlePrimary = $0 }
        case "slowstart":
            durationSetting(d, d.name) { s.slowstart = $0 }
        case "resolve-interval":
            durationSetting(d, d.name) { s.resolveInterval = $0 }
        case "retries":
            integerSetting(d, 0...100) { s.retries = $0 }
        case "maxconn":
            integerSetting(d, 0...Self.maxConnLimit) { s.maxconn = $0 }
        case "timeout":
            let kinds = ValueParser.list(Self.poolTimeouts)
            guard let kind = d.args.first else {
                report(d.line, "missing value for timeout (expected \(kinds), then a duration)")
                return true
            }
            guard Self.poolTimeouts.contains(kind.text) else {
                let belongs = kind.text == "shutdown" ? " (it belongs in the global section)" : ""
                report(d.line, "unknown timeout '\(kind.text)' (expected \(kinds))" + belongs)
                return true
            }
            let name = "timeout \(kind.text)"
            durationSetting(Directive(name: name, args: Array(d.args.dropFirst()), line: d.line), name) { value in
                switch kind.text {
                case "connect": s.timeoutConnect = value
                case "idle": s.timeoutIdle = value
                case "drain": s.timeoutDrain = value
                case "queue": s.timeoutQueue = value
                default: s.timeoutUDPFlow = value
                }
            }
        case "check":
            if once("check", d.line), let check = check(d) { s.check = check }
        default:
            return false
        }
        return true
    }

    private mutating func keywordSetting<T>(_ d: Directive, _ choices: [(String, T)], _ apply: (T) -> Void) {
        guard let text = singleOnce(d, d.name, expected: ValueParser.list(choices.map(\.0))),
            let v = value(d.line, ValueParser.keyword(text, d.name, choices))
        else { return }
        apply(v)
    }

    private mutating func durationSetting(_ d: Directive, _ what: String, _ apply: (Duration) -> Void) {
        guard let text = singleOnce(d, what, expected: "a duration, as in 2s, or 0"),
            let v = value(d.line, ValueParser.duration(text, what))
        else { return }
        apply(v)
    }

    private mutating func integerSetting(_ d: Directive, _ range: ClosedRange<Int>, _ apply: (Int) -> Void) {
        guard let text = singleOnce(d, d.name, expected: "\(range.lowerBound)..\(range.upperBound)"),
            let v = value(d.line, ValueParser.integer(text, d.name, range))
        else { return }
        apply(v)
    }

    /// `bind a.b.c.d:port`, `bind [v6]:port` or `bind fd:NAME`.
    mutating func bind(_ d: Directive, pool index: Int) {
        guard let token = single(d, "bind", expected: "ADDR:PORT, [ADDR]:PORT or fd:NAME") else { return }
        let text = token.text
        let target: BindTarget
        if text.hasPrefix("fd:") {
            guard let name = value(d.line, ValueParser.name(String(text.dropFirst(3)), "fd name in bind")) else {
                return
            }
            target = .fd(name)
        } else {
            guard let endpoint = value(d.line, ValueParser.endpoint(text, "bind")) else { return }
            target = .inet(endpoint)
        }
        result.pools[index].config.binds.append(target)
        result.pools[index].bindLines.append(d.line)
    }
}
