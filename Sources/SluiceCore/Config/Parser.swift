// Turns lexed lines into a ParsedConfig: sections, directive dispatch and argument helpers.
// Every mistake is recorded with its line and parsing goes on with the next line, so one run
// reports all errors. Semantic checks across sections live in Validate.swift.
import SluiceSys

/// A pool as parsed, with what validation needs beyond the model.
struct ParsedPool: Sendable {
    var config: PoolConfig
    /// Line of each entry of `config.binds`.
    var bindLines: [Int] = []
    /// A `check` line applies (in the pool or its defaults): a `mode udp` pool without one
    /// gets `check none`, since a UDP service may have no TCP port to probe.
    var checkWritten = false
    /// Line of the `maxconn` that applies (the pool's or its defaults'); nil: none was
    /// written, and a `mode udp` pool gets its default flow cap.
    var maxconnLine: Int? = nil
    /// Single-valued directives written in the pool section itself, and their lines.
    var lines: [String: Int] = [:]
}

struct ParsedConfig: Sendable {
    var global = GlobalConfig()
    var pools: [ParsedPool] = []
}

/// One directive line: its keyword and the tokens after it.
struct Directive {
    var name: String
    var args: [Token]
    var line: Int
}

struct ConfigParser {
    enum Section { case none, global, defaults, pool, skipped }

    let file: String
    let resolve: (String) -> HostLookup
    var errors: [ConfigError] = []
    var result = ParsedConfig()
    /// The pool settings of the current `defaults` section (built-in ones before any).
    var defaults = PoolSettings()
    var defaultsWriteCheck = false
    var defaultsMaxconnLine: Int? = nil
    var section = Section.none
    /// Single-valued directives already given in the current section, and where.
    var seen: [String: Int] = [:]
    var globalSeen: [String: Int] = [:]
    var globalLine: Int?

    init(file: String, resolve: @escaping (String) -> HostLookup) {
        self.file = file
        self.resolve = resolve
    }

    mutating func parse(_ lines: [LexedLine]) {
        for line in lines {
            if line.indented {
                if line.broken { continue }
                directive(Directive(name: line.tokens[0].text, args: Array(line.tokens.dropFirst()), line: line.line))
            } else if line.broken {
                section = .skipped
            } else {
                header(line)
            }
        }
    }

    private mutating func header(_ line: LexedLine) {
        let keyword = line.tokens[0].text
        let args = line.tokens.dropFirst()
        seen = [:]
        switch keyword {
        case "global", "defaults":
            if let extra = args.first {
                report(line.line, "unexpected '\(extra.text)' after \(keyword) (the section takes no name)")
            }
            if keyword == "defaults" {
                section = .defaults
                defaults = PoolSettings()
                defaultsWriteCheck = false
                defaultsMaxconnLine = nil
                return
            }
            section = .global
            if let first = globalLine {
                report(line.line, "duplicate global section (first at line \(first))")
            } else {
                globalLine = line.line
            }
        case "pool":
            guard let nameToken = args.first else {
                report(line.line, "missing name for pool (expected pool NAME)")
                section = .skipped
                return
            }
            if args.count > 1 {
                report(line.line, "unexpected '\(args[args.startIndex + 1].text)' after pool name")
            }
            let name = nameToken.text
            if !ValueParser.isName(name) {
                report(line.line, "invalid pool name '\(name)' (expected letters, digits, '_', '.' or '-')")
            }
            var pool = PoolConfig(name: name)
            pool.settings = defaults
            pool.line = line.line
            result.pools.append(
                ParsedPool(config: pool, checkWritten: defaultsWriteCheck, maxconnLine: defaultsMaxconnLine))
            section = .pool
        default:
            report(
                line.line,
                "unknown section '\(keyword)' (expected global, defaults or pool; directives must be indented)")
            section = .skipped
        }
    }

    private mutating func directive(_ d: Directive) {
        switch section {
        case .none:
            report(d.line, "directive '\(d.name)' outside a section (expected global, defaults or pool first)")
        case .skipped:
            break  // the section header was already reported
        case .global:
            globalDirective(d)
        case .defaults:
            if d.name == "bind" || d.name == "server" {
                report(d.line, "'\(d.name)' is not allowed in defaults (only in a pool section)")
                return
            }
            var settings = defaults
            if d.name == "check" { defaultsWriteCheck = true }
            let errorsBefore = errors.count
            if !poolSetting(d, &settings) {
                report(d.line, "unknown defaults directive '\(d.name)'" + hint(d.name, not: .defaults))
            }
            // Only a value that parsed: a bad one is reported once, not again as a udp cap.
            if d.name == "maxconn" && errors.count == errorsBefore { defaultsMaxconnLine = d.line }
            defaults = settings
        case .pool:
            let index = result.pools.count - 1
            switch d.name {
            case "bind":
                bind(d, pool: index)
            case "server":
                server(d, pool: index)
            default:
                var settings = result.pools[index].config.settings
                if d.name == "check" { result.pools[index].checkWritten = true }
                let errorsBefore = errors.count
                if !poolSetting(d, &settings) {
                    report(d.line, "unknown pool directive '\(d.name)'" + hint(d.name, not: .pool))
                }
                if d.name == "maxconn" && errors.count == errorsBefore { result.pools[index].maxconnLine = d.line }
                result.pools[index].config.settings = settings
                result.pools[index].lines = seen
            }
        }
    }

    static let globalDirectives: Set<String> = [
        "workers", "maxconn", "admin-socket", "admin-allow-uid", "metrics", "log-level", "log-sessions",
        "pipe-size", "user", "group", "timeout", "state-file",
    ]
    static let poolDirectives: Set<String> = [
        "bind", "mode", "balance", "hash-key", "timeout", "retries", "maxconn", "all-down", "check", "observe",
        "slowstart", "on-down", "proxy-protocol", "single-primary", "init-state", "resolve-interval", "server",
    ]

    /// Says where a directive unknown here belongs, when it belongs somewhere else.
    private func hint(_ name: String, not section: Section) -> String {
        if section != .global && Self.globalDirectives.contains(name) && !Self.poolDirectives.contains(name) {
            return " (it belongs in the global section)"
        }
        if section == .global && Self.poolDirectives.contains(name) {
            return " (it belongs in a pool or defaults section)"
        }
        return ""
    }

    // MARK: - Helpers shared by the directive parsers

    mutating func report(_ line: Int, _ message: String) {
        errors.append(ConfigError(file: file, line: line, message: message))
    }

    /// Unwraps a value parser's result, reporting its error at `line`.
    mutating func value<T>(_ line: Int, _ result: Result<T, ValueError>) -> T? {
        switch result {
        case .success(let v): return v
        case .failure(let e):
            report(line, e.message)
            return nil
        }
    }

    /// Records a single-valued directive; reports and returns false when it was already given.
    mutating func once(_ key: String, _ line: Int, global: Bool = false) -> Bool {
        if let first = global ? globalSeen[key] : seen[key] {
            report(line, "duplicate '\(key)' (first at line \(first))")
            return false
        }
        if global { globalSeen[key] = line } else { seen[key] = line }
        return true
    }

    /// The directive's only argument; reports a missing value or extra tokens.
    mutating func single(_ d: Directive, _ what: String, expected: String) -> Token? {
        guard let token = d.args.first else {
            report(d.line, "missing value for \(what) (expected \(expected))")
            return nil
        }
        guard d.args.count == 1 else {
            report(d.line, "unexpected '\(d.args[1].text)' after \(what) value")
            return nil
        }
        return token
    }

    /// A directive whose key may appear once per section and that takes exactly one value.
    mutating func singleOnce(_ d: Directive, _ what: String, expected: String, global: Bool = false) -> String? {
        guard let token = single(d, what, expected: expected), once(what, d.line, global: global) else { return nil }
        return token.text
    }
}
