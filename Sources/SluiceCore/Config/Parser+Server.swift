// The `server NAME ADDR:PORT [options]` directive. ADDR is an IPv4 address, a bracketed IPv6
// address or a host name that `resolve` turns into an address now; options are each given
// at most once. A server line with any error adds no server.
import SluiceSys

extension ConfigParser {
    static let serverOptions = ["weight", "maxconn", "backup", "disabled", "check-port", "init-state"]

    mutating func server(_ d: Directive, pool index: Int) {
        let before = errors.count
        let args = d.args
        guard args.count >= 2 else {
            let missing = args.isEmpty ? "name" : "address"
            report(d.line, "missing \(missing) for server (expected server NAME ADDR:PORT [options])")
            return
        }
        let name = value(d.line, ValueParser.name(args[0].text, "server name"))
        let address = serverAddress(args[1].text, server: args[0].text, line: d.line)
        var server = ServerConfig(
            name: name ?? "", address: address ?? ServerAddress(host: "", endpoint: IPEndpoint(.anyV4, 0)))
        server.line = d.line
        var given: Set<String> = []
        var i = 2
        while i < args.count {
            let option = args[i].text
            guard Self.serverOptions.contains(option) else {
                report(d.line, "unknown server option '\(option)' (expected \(ValueParser.list(Self.serverOptions)))")
                return
            }
            guard given.insert(option).inserted else {
                report(d.line, "duplicate server option '\(option)'")
                return
            }
            if option == "backup" || option == "disabled" {
                if option == "backup" { server.backup = true } else { server.disabled = true }
                i += 1
                continue
            }
            guard i + 1 < args.count else {
                let expected = [
                    "weight": "0..1000", "maxconn": "0..\(Self.maxConnLimit)", "check-port": "1..65535",
                    "init-state": "up or down",
                ][option, default: "a value"]
                report(d.line, "missing value for server option \(option) (expected \(expected))")
                return
            }
            let text = args[i + 1].text
            switch option {
            case "weight":
                server.weight = value(d.line, ValueParser.integer(text, "weight", 0...1000)) ?? 0
            case "maxconn":
                server.maxconn = value(d.line, ValueParser.integer(text, "maxconn", 0...Self.maxConnLimit)) ?? 0
            case "check-port":
                server.checkPort = value(d.line, ValueParser.integer(text, "check-port", 1...65535)).map { UInt16($0) }
            default:
                server.initState = value(
                    d.line, ValueParser.keyword(text, "init-state", [("up", InitState.up), ("down", .down)]))
            }
            i += 2
        }
        if errors.count == before { result.pools[index].config.servers.append(server) }
    }

    /// Parses `ADDR:PORT`, resolving a host name; reports and returns nil on any problem.
    private mutating func serverAddress(_ text: String, server: String, line: Int) -> ServerAddress? {
        guard let (host, bracketed, port) = value(line, ValueParser.splitHostPort(text, "server address")) else {
            return nil
        }
        if let literal = IPAddress(host), literal.isV6 == bracketed {
            return ServerAddress(host: String(host), endpoint: IPEndpoint(literal, port))
        }
        if bracketed {
            report(line, "invalid IPv6 address '\(host)' in server address")
            return nil
        }
        guard ValueParser.isHostName(host) else {
            if host.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) {
                report(line, "invalid IPv4 address '\(host)' in server address")
            } else {
                report(
                    line, "invalid host name '\(host)' in server address (expected letters, digits, '-', '_' or '.')")
            }
            return nil
        }
        switch resolve(String(host)) {
        case .found(let address):
            return ServerAddress(host: String(host), endpoint: IPEndpoint(address, port))
        case .failed(let reason):
            report(line, "cannot resolve host '\(host)' of server '\(server)': \(reason)")
        case .noAnswer(let within):
            report(
                line,
                "cannot resolve host '\(host)' of server '\(server)': no answer within \(within) "
                    + "(name server slow or unreachable)")
        }
        return nil
    }
}
