// Directives of the `global` section: process-wide settings (workers, caps, admin socket,
// metrics, logging, privileges). Each is typed and range-checked into GlobalConfig.
import SluiceSys

extension ConfigParser {
    static let maxConnLimit = 10_000_000
    /// sun_path holds 108 bytes including the terminating NUL.
    static let maxUnixPathBytes = 107

    mutating func globalDirective(_ d: Directive) {
        var g = result.global
        defer { result.global = g }
        switch d.name {
        case "workers":
            guard let text = singleOnce(d, "workers", expected: "auto or 1..1024", global: true) else { return }
            if text == "auto" {
                g.workers = nil
            } else if !text.allSatisfy({ $0.isASCII && $0.isNumber }) {
                report(d.line, "invalid workers '\(text)' (expected auto or 1..1024)")
            } else if let n = value(d.line, ValueParser.integer(text, "workers", 1...1024)) {
                g.workers = n
            }
        case "maxconn":
            guard let text = singleOnce(d, "maxconn", expected: "1..\(Self.maxConnLimit)", global: true),
                let n = value(d.line, ValueParser.integer(text, "maxconn", 1...Self.maxConnLimit))
            else { return }
            g.maxconn = n
        case "admin-socket":
            adminSocket(d, &g)
        case "admin-allow-uid":
            guard !d.args.isEmpty else {
                report(d.line, "missing value for admin-allow-uid (expected one or more uids)")
                return
            }
            for token in d.args {
                if let uid = value(d.line, ValueParser.integer(token.text, "uid", 0...4_294_967_294)) {
                    g.adminAllowUIDs.append(UInt32(uid))
                }
            }
        case "metrics":
            guard let text = singleOnce(d, "metrics", expected: "ADDR:PORT", global: true),
                let endpoint = value(d.line, ValueParser.endpoint(text, "metrics"))
            else { return }
            g.metrics = endpoint
        case "log-level":
            let levels = LogLevel.allCases.map { ($0.name, $0) }
            guard let text = singleOnce(d, "log-level", expected: "error, warn, info or debug", global: true),
                let level = value(d.line, ValueParser.keyword(text, "log-level", levels))
            else { return }
            g.logLevel = level
        case "log-sessions":
            guard let text = singleOnce(d, "log-sessions", expected: "on or off", global: true),
                let on = value(d.line, ValueParser.bool(text, "log-sessions"))
            else { return }
            g.logSessions = on
        case "pipe-size":
            guard let text = singleOnce(d, "pipe-size", expected: "4k..1m", global: true),
                let size = value(d.line, ValueParser.size(text, "pipe-size", 4096...1_048_576))
            else { return }
            g.pipeSize = size
        case "user", "group":
            guard let token = single(d, d.name, expected: "a name"), once(d.name, d.line, global: true),
                let name = value(d.line, ValueParser.string(token, d.name))
            else { return }
            if d.name == "user" { g.user = name } else { g.group = name }
        case "state-file":
            guard let token = single(d, "state-file", expected: "a path"), once("state-file", d.line, global: true),
                let path = value(d.line, ValueParser.string(token, "state-file path"))
            else { return }
            g.stateFile = path
        case "timeout":
            guard let kind = d.args.first else {
                report(d.line, "missing value for timeout (expected timeout shutdown DURATION)")
                return
            }
            guard kind.text == "shutdown" else {
                let belongs = Self.poolTimeouts.contains(kind.text) ? " (it belongs in a pool or defaults section)" : ""
                report(d.line, "unknown global timeout '\(kind.text)' (expected shutdown)" + belongs)
                return
            }
            let rest = Directive(name: "timeout shutdown", args: Array(d.args.dropFirst()), line: d.line)
            guard let text = singleOnce(rest, "timeout shutdown", expected: "a duration", global: true),
                let duration = value(d.line, ValueParser.duration(text, "timeout shutdown"))
            else { return }
            g.timeoutShutdown = duration
        default:
            let belongs =
                Self.poolDirectives.contains(d.name) ? " (it belongs in a pool or defaults section)" : ""
            report(d.line, "unknown global directive '\(d.name)'" + belongs)
        }
    }

    /// `admin-socket PATH [mode OCTAL]` or `admin-socket none`.
    private mutating func adminSocket(_ d: Directive, _ g: inout GlobalConfig) {
        guard let first = d.args.first else {
            report(d.line, "missing value for admin-socket (expected a path or none)")
            return
        }
        guard once("admin-socket", d.line, global: true) else { return }
        if first.text == "none" && !first.quoted {
            if d.args.count > 1 { report(d.line, "unexpected '\(d.args[1].text)' after admin-socket none") }
            g.adminSocket = nil
            return
        }
        guard let path = value(d.line, ValueParser.string(first, "admin-socket path")) else { return }
        if path.utf8.count > Self.maxUnixPathBytes {
            report(d.line, "admin-socket path is \(path.utf8.count) bytes long (at most \(Self.maxUnixPathBytes))")
            return
        }
        var socket = AdminSocketConfig(path: path)
        var rest = d.args.dropFirst()
        if let option = rest.first {
            guard option.text == "mode" else {
                report(d.line, "unexpected '\(option.text)' after admin-socket path (expected mode OCTAL)")
                return
            }
            rest = rest.dropFirst()
            guard let modeToken = rest.first else {
                report(d.line, "missing value for admin-socket mode (expected octal permissions, as in 0660)")
                return
            }
            let text = modeToken.text
            let octal = text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }
            guard !text.isEmpty, octal, text.count <= 4, let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                report(
                    d.line, "invalid admin-socket mode '\(text)' (expected octal permissions 0000..0777, as in 0660)")
                return
            }
            if rest.count > 1 {
                report(d.line, "unexpected '\(rest[rest.startIndex + 1].text)' after admin-socket mode")
                return
            }
            socket.mode = mode
        }
        g.adminSocket = socket
    }
}
