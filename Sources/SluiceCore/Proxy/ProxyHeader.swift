// PROXY protocol headers (HAProxy proxy-protocol.txt, v1 text and v2 binary) announcing the
// client's source and the address it connected to, for TCP only (command PROXY, never LOCAL).
// Mixed families (an IPv4 client on an IPv6 listener, or the reverse) are announced in the
// IPv6 form with the IPv4 side as `::ffff:a.b.c.d`, as HAProxy does; UNKNOWN is never sent.
// A v1 line is at most 104 bytes (spec limit 107); a v2 header is 28 (IPv4) or 52 (IPv6).
import SluiceSys

package enum ProxyHeader {
    /// The 12-byte v2 signature `\r\n\r\n\0\r\nQUIT\n`.
    package static let v2Signature: [UInt8] = [
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
    ]
    /// Longest v1 line a receiver must accept, CRLF included.
    package static let v1MaxLength = 107

    /// `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`, or `TCP6` when either side is IPv6.
    package static func v1(source: IPEndpoint, destination: IPEndpoint) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(v1MaxLength)
        if case .v4(let src) = source.address, case .v4(let dst) = destination.address {
            out.append(contentsOf: "PROXY TCP4 ".utf8)
            appendDottedQuad(src, to: &out)
            out.append(0x20)
            appendDottedQuad(dst, to: &out)
        } else {
            out.append(contentsOf: "PROXY TCP6 ".utf8)
            appendV6Text(mappedV6(source.address), to: &out)
            out.append(0x20)
            appendV6Text(mappedV6(destination.address), to: &out)
        }
        out.append(0x20)
        appendDecimal(UInt32(source.port), to: &out)
        out.append(0x20)
        appendDecimal(UInt32(destination.port), to: &out)
        out.append(0x0D)
        out.append(0x0A)
        return out
    }

    /// Signature, 0x21 (v2, PROXY), 0x11 (TCP/IPv4) or 0x21 (TCP/IPv6), big-endian length,
    /// then source address, destination address, source port, destination port, all big-endian.
    package static func v2(source: IPEndpoint, destination: IPEndpoint) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + 36)
        out.append(contentsOf: v2Signature)
        out.append(0x21)
        if case .v4(let src) = source.address, case .v4(let dst) = destination.address {
            out.append(0x11)
            appendBigEndian(UInt16(12), to: &out)
            appendBigEndian(src, to: &out)
            appendBigEndian(dst, to: &out)
        } else {
            let (srcHi, srcLo) = mappedV6(source.address)
            let (dstHi, dstLo) = mappedV6(destination.address)
            out.append(0x21)
            appendBigEndian(UInt16(36), to: &out)
            for half in [srcHi, srcLo, dstHi, dstLo] { appendBigEndian(half, to: &out) }
        }
        appendBigEndian(source.port, to: &out)
        appendBigEndian(destination.port, to: &out)
        return out
    }

    /// IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`); IPv6 unchanged. Returns (hi, lo).
    static func mappedV6(_ address: IPAddress) -> (UInt64, UInt64) {
        switch address {
        case .v4(let v): return (0, 0x0000_FFFF_0000_0000 | UInt64(v))
        case .v6(let hi, let lo): return (hi, lo)
        }
    }

    static func appendDottedQuad(_ v: UInt32, to out: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) {
            appendDecimal(v >> UInt32(shift) & 0xFF, to: &out)
            if shift != 0 { out.append(0x2E) }
        }
    }

    /// RFC 5952 text; IPv4-mapped addresses in their recommended `::ffff:a.b.c.d` form.
    /// At most 39 bytes.
    static func appendV6Text(_ address: (UInt64, UInt64), to out: inout [UInt8]) {
        let (hi, lo) = address
        if hi == 0 && lo >> 32 == 0xFFFF {
            out.append(contentsOf: "::ffff:".utf8)
            appendDottedQuad(UInt32(truncatingIfNeeded: lo), to: &out)
        } else {
            out.append(contentsOf: IPAddress.v6(hi, lo).description.utf8)
        }
    }

    static func appendDecimal(_ value: UInt32, to out: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &out) }
        out.append(0x30 + UInt8(value % 10))
    }

    /// Appends `value` most significant byte first (network order).
    static func appendBigEndian<T: FixedWidthInteger & UnsignedInteger>(
        _ value: T, to out: inout [UInt8]
    ) {
        for shift in stride(from: T.bitWidth - 8, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> T(shift)))
        }
    }
}
