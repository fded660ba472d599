// IPv4/IPv6 addresses as plain values, with text parsing and formatting in pure Swift so
// the config parser and the tests need no libc. Conversion to sockaddr lives in SocketAddress.
package enum IPAddress: Hashable, Sendable {
    /// Host byte order.
    case v4(UInt32)
    /// Host byte order, high 64 bits first.
    case v6(UInt64, UInt64)

    package static let anyV4 = IPAddress.v4(0)
    package static let loopbackV4 = IPAddress.v4(0x7F00_0001)

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (no brackets, no zone).
    package init?(_ text: Substring) {
        if text.contains(":") {
            guard let v6 = IPAddress.parseV6(text) else { return nil }
            self = v6
        } else {
            guard let v4 = IPAddress.parseV4(text) else { return nil }
            self = .v4(v4)
        }
    }

    package init?(_ text: String) { self.init(text[...]) }

    package var isV6: Bool {
        if case .v6 = self { return true }
        return false
    }

    static func parseV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func parseV6(_ text: Substring) -> IPAddress? {
        // At most one "::" splits the text into a head and a tail of 16-bit groups;
        // only the last group of the whole address may be a dotted IPv4 tail.
        let halves = text.split(separator: "::", maxSplits: 2, omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring, last: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, field) in fields.enumerated() {
                if last && i == fields.count - 1 && field.contains(".") {
                    guard let v4 = parseV4(field) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                } else {
                    guard !field.isEmpty, field.count <= 4, let g = UInt16(field, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        var all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], last: false), let tail = groups(halves[1], last: true),
                head.count + tail.count <= 7
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let only = groups(halves[0], last: true), only.count == 8 else { return nil }
            all = only
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        return .v6(hi, lo)
    }
}

extension IPAddress: CustomStringConvertible {
    package var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        case .v6(let hi, let lo):
            var groups: [UInt16] = []
            for i in stride(from: 48, through: 0, by: -16) {
                groups.append(UInt16(truncatingIfNeeded: hi >> UInt64(i)))
            }
            for i in stride(from: 48, through: 0, by: -16) {
                groups.append(UInt16(truncatingIfNeeded: lo >> UInt64(i)))
            }
            // RFC 5952: compress the longest run (>= 2) of zero groups, first one on ties.
            var bestStart = -1
            var bestLen = 1
            var i = 0
            while i < 8 {
                if groups[i] == 0 {
                    var j = i
                    while j < 8 && groups[j] == 0 { j += 1 }
                    if j - i > bestLen { bestStart = i; bestLen = j - i }
                    i = j
                } else {
                    i += 1
                }
            }
            func hex(_ range: Range<Int>) -> String {
                groups[range].map { String($0, radix: 16) }.joined(separator: ":")
            }
            if bestStart < 0 { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
        }
    }
}

/// An address and a port, as written `1.2.3.4:80` or `[::1]:80`.
package struct IPEndpoint: Hashable, Sendable, CustomStringConvertible {
    package var address: IPAddress
    package var port: UInt16

    package init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    package var description: String {
        address.isV6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
