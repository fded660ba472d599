// The canned probe scripts of each `check` kind (SPEC "Check kinds"): protocol checks are
// rule lists, not special code. Redis commands go out as RESP arrays so any password works.
package enum Probes {
    /// The script of `kind`; nil for `check none` (no probe at all).
    package static func script(for kind: CheckKind) -> ProbeScript? {
        switch kind {
        case .none: return nil
        case .tcp: return .connectOnly
        case .redis(let password):
            return ProbeScript(auth(password) + [.send(resp(["PING"])), .expect(.prefix(Array("+PONG\r\n".utf8)))])
        case .redisMaster(let password):
            return ProbeScript(
                auth(password) + [
                    .send(resp(["INFO", "replication"])),
                    .expect(.respBulkContains(Array("role:master".utf8))),
                ])
        case .postgres:
            return ProbeScript([.send(sslRequest), .expect(.oneByteOf([UInt8(ascii: "S"), UInt8(ascii: "N")]))])
        case .http(let path, let expectStatus):
            return ProbeScript([.send(Array("GET \(path) HTTP/1.0\r\n\r\n".utf8)), .expect(.httpStatus(expectStatus))])
        case .send(let bytes, let expect):
            return ProbeScript([.send(bytes), .expect(.contains(expect))])
        }
    }

    /// A short name for logs (`tcp`, `redis-master`, ...).
    package static func name(of kind: CheckKind) -> String {
        switch kind {
        case .none: "none"
        case .tcp: "tcp"
        case .redis: "redis"
        case .redisMaster: "redis-master"
        case .postgres: "postgres"
        case .http: "http"
        case .send: "send"
        }
    }

    /// PostgreSQL SSLRequest: length 8, code 80877103 (1234 << 16 | 5679), big-endian.
    package static let sslRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]

    /// A RESP array of bulk strings: `*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n`.
    package static func resp(_ args: [String]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for arg in args {
            out += Array("$\(arg.utf8.count)\r\n".utf8) + Array(arg.utf8) + [0x0D, 0x0A]
        }
        return out
    }

    private static func auth(_ password: String?) -> [ProbeStep] {
        guard let password else { return [] }
        return [.send(resp(["AUTH", password])), .expect(.prefix(Array("+OK\r\n".utf8)))]
    }
}
