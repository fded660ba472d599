// A PROXY protocol reader written from HAProxy's proxy-protocol.txt (v1 text, v2 binary), as a
// receiving server would parse sluice's headers. Test code only: sluice writes headers and
// never reads them, so this is the independent half of the `proxy` target's round trip and
// identifies the client behind each backend connection in the `session` target. It is
// strict where the spec is (lengths, ports, the family byte) and uses no sluice parser.
import SluiceSys

struct ProxyInfo: Equatable {
    /// TCP6 / family 0x21 (else TCP4 / 0x11).
    var v6: Bool
    var source: IPEndpoint
    var destination: IPEndpoint
}

enum ProxyRead: Equatable {
    case needMore
    case bad(String)
    /// The header and how many bytes it took (TLVs of a v2 header included).
    case header(ProxyInfo, length: Int)
}

enum ProxyReader {
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// Reads a header at the start of `bytes` (either version, told apart by the first byte).
    static func read(_ bytes: ArraySlice<UInt8>) -> ProxyRead {
        guard let first = bytes.first else { return .needMore }
        return first == 0x0D ? v2(bytes) : v1(bytes)
    }

    // MARK: v1: "PROXY TCP4 1.2.3.4 5.6.7.8 80 443\r\n", at most 107 bytes with the CRLF.

    static func v1(_ bytes: ArraySlice<UInt8>) -> ProxyRead {
        let prefix = Array("PROXY ".utf8)
        let n = min(prefix.count, bytes.count)
        guard bytes.prefix(n).elementsEqual(prefix[..<n]) else { return .bad("no PROXY prefix") }
        guard let lf = bytes.prefix(107).firstIndex(of: 0x0A) else {
            return bytes.count >= 107 ? .bad("v1 line over 107 bytes") : .needMore
        }
        guard lf > bytes.startIndex, bytes[lf - 1] == 0x0D else { return .bad("v1 line without CRLF") }
        let line = String(decoding: bytes[bytes.startIndex..<(lf - 1)], as: UTF8.self)
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard words.count == 6 else { return .bad("v1 line with \(words.count) fields") }
        let v6: Bool
        switch words[1] {
        case "TCP4": v6 = false
        case "TCP6": v6 = true
        default: return .bad("v1 protocol \(words[1])")
        }
        let parse: (String) -> IPAddress? = v6 ? { parseV6($0) } : { parseV4($0) }
        guard let src = parse(words[2]), let dst = parse(words[3]) else { return .bad("v1 address") }
        guard let sport = parsePort(words[4]), let dport = parsePort(words[5]) else { return .bad("v1 port") }
        let info = ProxyInfo(v6: v6, source: IPEndpoint(src, sport), destination: IPEndpoint(dst, dport))
        return .header(info, length: lf - bytes.startIndex + 1)
    }

    /// Dotted quad, four decimal parts 0-255 without leading zeros.
    static func parseV4(_ text: String) -> IPAddress? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for p in parts {
            guard let n = decimal(p, max: 255) else { return nil }
            value = value << 8 | UInt32(n)
        }
        return .v4(value)
    }

    static func parsePort(_ text: String) -> UInt16? { decimal(text[...], max: 65535).map { UInt16($0) } }

    static func decimal(_ text: Substring, max: Int) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard text.count == 1 || text.first != "0" else { return nil }
        guard let n = Int(text), n <= max else { return nil }
        return n
    }

    /// RFC 4291 text: up to eight hex groups, one `::`, an embedded dotted quad at the end.
    static func parseV6(_ text: String) -> IPAddress? {
        guard text.utf8.count <= 45 else { return nil }
        let halves = text.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring, allowQuad: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (i, f) in fields.enumerated() {
                if allowQuad && i == fields.count - 1 && f.contains(".") {
                    guard case .v4(let q)? = parseV4(String(f)) else { return nil }
                    out += [UInt16(q >> 16), UInt16(q & 0xFFFF)]
                } else {
                    guard !f.isEmpty, f.count <= 4, let g = UInt16(f, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        var all: [UInt16]
        if halves.count == 1 {
            guard let g = groups(halves[0], allowQuad: true), g.count == 8 else { return nil }
            all = g
        } else {
            guard let head = groups(halves[0], allowQuad: false), let tail = groups(halves[1], allowQuad: true),
                head.count + tail.count <= 7
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        let hi = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let lo = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return .v6(hi, lo)
    }

    // MARK: v2: signature, version/command, family, length, addresses, TLVs.

    static func v2(_ bytes: ArraySlice<UInt8>) -> ProxyRead {
        let n = min(12, bytes.count)
        guard bytes.prefix(n).elementsEqual(v2Signature[..<n]) else { return .bad("no v2 signature") }
        guard bytes.count >= 16 else { return .needMore }
        let b = Array(bytes.prefix(16))
        guard b[12] >> 4 == 2 else { return .bad("v2 version \(b[12] >> 4)") }
        guard b[12] & 0x0F == 1 else { return .bad("v2 command \(b[12] & 0x0F) (sluice sends PROXY)") }
        let length = Int(b[14]) << 8 | Int(b[15])
        let v6: Bool
        switch b[13] {
        case 0x11: v6 = false
        case 0x21: v6 = true
        default: return .bad("v2 family \(b[13])")
        }
        let addressBytes = v6 ? 36 : 12
        guard length >= addressBytes else { return .bad("v2 length \(length) below \(addressBytes)") }
        guard bytes.count >= 16 + length else { return .needMore }
        let a = Array(bytes.dropFirst(16).prefix(addressBytes))
        func be(_ at: Int, _ count: Int) -> UInt64 { a[at..<(at + count)].reduce(0) { $0 << 8 | UInt64($1) } }
        let src: IPAddress
        let dst: IPAddress
        let ports: Int
        if v6 {
            src = .v6(be(0, 8), be(8, 8))
            dst = .v6(be(16, 8), be(24, 8))
            ports = 32
        } else {
            src = .v4(UInt32(be(0, 4)))
            dst = .v4(UInt32(be(4, 4)))
            ports = 8
        }
        let info = ProxyInfo(
            v6: v6, source: IPEndpoint(src, UInt16(be(ports, 2))),
            destination: IPEndpoint(dst, UInt16(be(ports + 2, 2))))
        return .header(info, length: 16 + length)
    }
}

extension String {
    /// Splits on every `::` (a valid address has at most one).
    fileprivate func components(separatedByDoubleColon: ()) -> [Substring] {
        var out: [Substring] = []
        var start = startIndex
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == ":" && next < endIndex && self[next] == ":" {
                out.append(self[start..<i])
                start = index(after: next)
                i = start
            } else {
                i = next
            }
        }
        out.append(self[start...])
        return out
    }
}
