// The admin line protocol (SPEC "Admin socket"): one line, without its `\n`, parsed into an
// `AdminRequest` or an `AdminParseError` whose `reply` is the `ERR ...` text. Pure and total:
// any bytes (binary, huge, empty) give a value, never a trap. Addresses are IP literals only:
// host names are not resolved at run time (the admin thread must not block on DNS).
import SluiceSys

/// `POOL/NAME` of a server, both `[A-Za-z0-9_.-]+`.
package struct ServerRef: Hashable, Sendable, CustomStringConvertible {
    package var pool: String
    package var server: String

    package init(pool: String, server: String) {
        self.pool = pool
        self.server = server
    }

    package var description: String { "\(pool)/\(server)" }
}

/// What `show` lists; `pool` nil means every pool.
package enum ShowTarget: Equatable, Sendable {
    case info
    case pools
    case servers(pool: String?)
    case sessions(pool: String?)
    case metrics
}

/// `add server POOL/NAME ADDR:PORT [weight N] [maxconn N] [backup]`.
package struct AddServerRequest: Equatable, Sendable {
    package var ref: ServerRef
    package var endpoint: IPEndpoint
    /// 0..1000, default 100 as in the configuration file.
    package var weight: Int = 100
    /// 0: no per-server cap.
    package var maxconn: Int = 0
    package var backup: Bool = false

    package init(ref: ServerRef, endpoint: IPEndpoint) {
        self.ref = ref
        self.endpoint = endpoint
    }
}

package enum AdminCommand: Equatable, Sendable {
    case help
    case show(ShowTarget)
    case setState(ServerRef, AdminState)
    case setWeight(ServerRef, Int)
    case addServer(AddServerRequest)
    case delServer(ServerRef)
    case killSessions(ServerRef)
    case reload
}

/// A parsed line: the command and whether the client asked for JSON (trailing `json` word).
package struct AdminRequest: Equatable, Sendable {
    package var command: AdminCommand
    package var json: Bool

    package init(_ command: AdminCommand, json: Bool = false) {
        self.command = command
        self.json = json
    }
}

package struct AdminParseError: Error, Equatable, Sendable {
    package var message: String
    package init(_ message: String) { self.message = message }
    /// The reply line for the client, without the newline.
    package var reply: String { "ERR \(message)" }
}

extension AdminRequest {
    package static let maxLineBytes = 4096
    package static let maxWeight = 1000
    package static let maxServerConn = 10_000_000

    /// Parses a line given as text.
    package static func parse(_ line: String) -> Result<AdminRequest, AdminParseError> {
        parse(bytes: Array(line.utf8))
    }

    /// Parses a raw line (no `\n`; one trailing `\r` is tolerated for `nc -C`/telnet clients).
    package static func parse(bytes: some Collection<UInt8>) -> Result<AdminRequest, AdminParseError> {
        if bytes.count > maxLineBytes {
            return .failure(AdminParseError("line too long (max \(maxLineBytes) bytes)"))
        }
        var raw = Array(bytes)
        if raw.last == UInt8(ascii: "\r") { raw.removeLast() }
        if raw.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F }) {
            return .failure(AdminParseError("line contains control or binary bytes"))
        }
        guard let text = String(validating: raw, as: UTF8.self) else {
            return .failure(AdminParseError("line is not valid UTF-8"))
        }
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !words.isEmpty else { return .failure(AdminParseError("empty command (try 'help')")) }
        var json = false
        if words.count > 1 && words.last == "json" {
            json = true
            words.removeLast()
        }
        var parser = WordParser(words: words)
        return parser.command().map { AdminRequest($0, json: json) }
    }
}

/// Walks the words of one line; each step returns a failure naming what was wrong.
private struct WordParser {
    var words: [String]
    var index = 0

    static let commands = "help, show, set, add, del, kill, reload"

    mutating func next() -> String? {
        guard index < words.count else { return nil }
        defer { index += 1 }
        return words[index]
    }

    /// Fails when words remain after a complete command.
    func finish(_ command: AdminCommand, _ usage: String) -> Result<AdminCommand, AdminParseError> {
        guard index < words.count else { return .success(command) }
        return .failure(AdminParseError("unexpected argument '\(clip(words[index]))' (usage: \(usage))"))
    }

    mutating func command() -> Result<AdminCommand, AdminParseError> {
        guard let verb = next() else { return .failure(AdminParseError("empty command (try 'help')")) }
        switch verb {
        case "help": return finish(.help, "help")
        case "reload": return finish(.reload, "reload")
        case "show": return show()
        case "set": return set()
        case "add": return add()
        case "del":
            let usage = "del server POOL/NAME"
            return keyword("server", usage).flatMap { serverRef(usage) }.flatMap { finish(.delServer($0), usage) }
        case "kill":
            let usage = "kill sessions POOL/NAME"
            return keyword("sessions", usage).flatMap { serverRef(usage) }.flatMap { finish(.killSessions($0), usage) }
        default:
            return .failure(
                AdminParseError("unknown command '\(clip(verb))' (expected one of \(Self.commands); try 'help')"))
        }
    }

    mutating func keyword(_ expected: String, _ usage: String) -> Result<Void, AdminParseError> {
        guard let word = next() else { return .failure(AdminParseError("missing '\(expected)' (usage: \(usage))")) }
        guard word == expected else {
            return .failure(AdminParseError("expected '\(expected)', got '\(clip(word))' (usage: \(usage))"))
        }
        return .success(())
    }

    mutating func show() -> Result<AdminCommand, AdminParseError> {
        let usage = "show info|pools|servers [POOL]|sessions [POOL]|metrics"
        guard let what = next() else { return .failure(AdminParseError("missing what to show (usage: \(usage))")) }
        switch what {
        case "info": return finish(.show(.info), usage)
        case "pools": return finish(.show(.pools), usage)
        case "metrics": return finish(.show(.metrics), usage)
        case "servers", "sessions":
            var pool: String?
            if let word = next() {
                guard isName(word) else { return .failure(badName("pool", word)) }
                pool = word
            }
            return finish(what == "servers" ? .show(.servers(pool: pool)) : .show(.sessions(pool: pool)), usage)
        default:
            return .failure(
                AdminParseError(
                    "unknown 'show \(clip(what))' (expected info, pools, servers, sessions or metrics)"))
        }
    }

    mutating func set() -> Result<AdminCommand, AdminParseError> {
        let usage = "set server POOL/NAME state ready|drain|maint, or set server POOL/NAME weight N"
        let ref: ServerRef
        switch keyword("server", usage).flatMap({ serverRef(usage) }) {
        case .failure(let error): return .failure(error)
        case .success(let r): ref = r
        }
        guard let property = next() else {
            return .failure(AdminParseError("missing 'state' or 'weight' (usage: \(usage))"))
        }
        switch property {
        case "state":
            guard let word = next() else {
                return .failure(AdminParseError("missing state (expected ready, drain or maint)"))
            }
            guard let state = AdminState(rawValue: word) else {
                return .failure(AdminParseError("unknown state '\(clip(word))' (expected ready, drain or maint)"))
            }
            return finish(.setState(ref, state), usage)
        case "weight":
            return number("weight", 0...AdminRequest.maxWeight).flatMap { finish(.setWeight(ref, $0), usage) }
        default:
            return .failure(AdminParseError("unknown server property '\(clip(property))' (expected state or weight)"))
        }
    }

    mutating func add() -> Result<AdminCommand, AdminParseError> {
        let usage = "add server POOL/NAME ADDR:PORT [weight N] [maxconn N] [backup]"
        let ref: ServerRef
        switch keyword("server", usage).flatMap({ serverRef(usage) }) {
        case .failure(let error): return .failure(error)
        case .success(let r): ref = r
        }
        guard let addressText = next() else { return .failure(AdminParseError("missing ADDR:PORT (usage: \(usage))")) }
        let endpoint: IPEndpoint
        switch ValueParser.endpoint(clip(addressText, 200), "address") {
        case .success(let e):
            endpoint = e
        case .failure(let e) where !e.message.contains("invalid IPv4") && !e.message.contains("invalid IPv6"):
            // Syntax: a missing port or bracket, a bad port number.
            return .failure(AdminParseError(e.message))
        case .failure:
            return .failure(
                AdminParseError(
                    "bad address '\(clip(addressText))' (expected IPv4:PORT or [IPv6]:PORT; host names are not resolved at run time)"
                ))
        }
        var request = AddServerRequest(ref: ref, endpoint: endpoint)
        var seen: Set<String> = []
        while let option = next() {
            guard !seen.contains(option) else { return .failure(AdminParseError("duplicate option '\(option)'")) }
            switch option {
            case "weight":
                switch number("weight", 0...AdminRequest.maxWeight) {
                case .success(let n): request.weight = n
                case .failure(let e): return .failure(e)
                }
            case "maxconn":
                switch number("maxconn", 0...AdminRequest.maxServerConn) {
                case .success(let n): request.maxconn = n
                case .failure(let e): return .failure(e)
                }
            case "backup":
                request.backup = true
            default:
                return .failure(
                    AdminParseError("unknown option '\(clip(option))' (expected weight N, maxconn N or backup)"))
            }
            seen.insert(option)
        }
        return .success(.addServer(request))
    }

    mutating func number(_ what: String, _ range: ClosedRange<Int>) -> Result<Int, AdminParseError> {
        guard let word = next() else {
            return .failure(AdminParseError("missing \(what) (expected \(range.lowerBound)..\(range.upperBound))"))
        }
        return ValueParser.integer(clip(word), what, range).mapError { AdminParseError($0.message) }
    }

    mutating func serverRef(_ usage: String) -> Result<ServerRef, AdminParseError> {
        guard let word = next() else { return .failure(AdminParseError("missing POOL/NAME (usage: \(usage))")) }
        let parts = word.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return .failure(AdminParseError("bad server '\(clip(word))' (expected POOL/NAME)"))
        }
        let pool = String(parts[0])
        let server = String(parts[1])
        guard isName(pool) else { return .failure(badName("pool", pool)) }
        guard isName(server) else { return .failure(badName("server", server)) }
        return .success(ServerRef(pool: pool, server: server))
    }

    func isName(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
            }
    }

    func badName(_ what: String, _ text: String) -> AdminParseError {
        AdminParseError("bad \(what) name '\(clip(text))' (expected [A-Za-z0-9_.-]+)")
    }
}

/// Keeps echoed input short so an error reply stays one readable line.
private func clip(_ text: String, _ limit: Int = 64) -> String {
    text.count <= limit ? text : String(text.prefix(limit)) + "..."
}
