// The `check KIND [args] [options]` directive. The kind's own arguments come first, then the
// options `interval timeout rise fall jitter` in any order, each at most once. A check line is
// complete: options it does not give take the built-in defaults, not those of `defaults`.

extension ConfigParser {
    static let checkKinds = ["tcp", "redis", "redis-master", "postgres", "http", "send", "none"]
    static let checkOptions = ["interval", "timeout", "rise", "fall", "jitter"]

    /// Returns nil when the line had errors (already reported).
    mutating func check(_ d: Directive) -> CheckConfig? {
        let before = errors.count
        var config = CheckConfig()
        let args = d.args
        guard let kindToken = args.first else {
            report(d.line, "missing value for check (expected \(ValueParser.list(Self.checkKinds)))")
            return nil
        }
        var i = 1
        /// The argument after `args[i]`, or a "missing value" error naming `what`.
        func operand(_ what: String, _ expected: String) -> Token? {
            guard i + 1 < args.count else {
                report(d.line, "missing value for \(what) (expected \(expected))")
                return nil
            }
            return args[i + 1]
        }
        switch kindToken.text {
        case "tcp":
            config.kind = .tcp
        case "postgres":
            config.kind = .postgres
        case "none":
            config.kind = .none
            if args.count > 1 {
                report(d.line, "unexpected '\(args[1].text)' after check none (it takes no options)")
                return nil
            }
        case "redis", "redis-master":
            var password: String?
            if i < args.count && args[i].text == "password" {
                guard let token = operand("check \(kindToken.text) password", "a string") else { return nil }
                password = value(d.line, ValueParser.string(token, "check password"))
                i += 2
            }
            config.kind = kindToken.text == "redis" ? .redis(password: password) : .redisMaster(password: password)
        case "http":
            guard i < args.count else {
                report(d.line, "missing value for check http (expected a path, as in /health)")
                return nil
            }
            let path = args[i].text
            if let path = value(d.line, ValueParser.string(args[i], "check http path")) {
                if !path.hasPrefix("/") {
                    report(d.line, "invalid check http path '\(path)' (expected a path starting with '/')")
                } else if path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
                    report(d.line, "invalid check http path '\(path)' (spaces and control characters are not allowed)")
                }
            }
            i += 1
            var status = 200
            if i < args.count && args[i].text == "expect-status" {
                guard let token = operand("check http expect-status", "100..599") else { return nil }
                status = value(d.line, ValueParser.integer(token.text, "expect-status", 100...599)) ?? 0
                i += 2
            }
            config.kind = .http(path: path, expectStatus: status)
        case "send":
            guard i < args.count else {
                report(d.line, "missing value for check send (expected send STR expect STR)")
                return nil
            }
            let send = args[i].bytes
            i += 1
            guard i < args.count, args[i].text == "expect" else {
                let found = i < args.count ? "'\(args[i].text)'" : "end of line"
                report(d.line, "expected 'expect STR' after check send STR, found \(found)")
                return nil
            }
            guard let expect = operand("check send expect", "a string") else { return nil }
            if expect.bytes.isEmpty { report(d.line, "check send expect string must not be empty") }
            i += 2
            config.kind = .send(send, expect: expect.bytes)
        default:
            report(d.line, "unknown check '\(kindToken.text)' (expected \(ValueParser.list(Self.checkKinds)))")
            return nil
        }
        var given: Set<String> = []
        while i < args.count {
            let option = args[i].text
            guard Self.checkOptions.contains(option) else {
                report(d.line, "unknown check option '\(option)' (expected \(ValueParser.list(Self.checkOptions)))")
                return nil
            }
            guard given.insert(option).inserted else {
                report(d.line, "duplicate check option '\(option)'")
                return nil
            }
            guard let token = operand("check \(option)", option == "jitter" ? "a percentage, as in 10%" : "a value")
            else { return nil }
            let text = token.text
            switch option {
            case "interval", "timeout":
                if let v = value(d.line, ValueParser.duration(text, "check \(option)")) {
                    if v == .zero {
                        report(d.line, "check \(option) must be more than 0")
                    } else if option == "interval" {
                        config.interval = v
                    } else {
                        config.timeout = v
                    }
                }
            case "rise", "fall":
                if let v = value(d.line, ValueParser.integer(text, "check \(option)", 1...1000)) {
                    if option == "rise" { config.rise = v } else { config.fall = v }
                }
            default:
                guard text.hasSuffix("%") else {
                    report(d.line, "invalid check jitter '\(text)' (expected a percentage 0%..100%, as in 10%)")
                    break
                }
                if let v = value(d.line, ValueParser.integer(String(text.dropLast()), "check jitter", 0...100)) {
                    config.jitterPercent = v
                }
            }
            i += 2
        }
        return errors.count == before ? config : nil
    }
}
