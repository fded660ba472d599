// ProxyHeader: byte-exact v1/v2 headers written out from HAProxy's proxy-protocol.txt, and a
// small strict decoder (tests only) to round-trip IPv4, IPv6 and mixed pairs, edge ports and
// the longest v1 line (must stay within the spec's 107 bytes).
import SluiceCore
import SluiceSys
import Testing

/// What a receiver would learn from a header.
struct DecodedProxyHeader: Equatable, CustomStringConvertible {
    var tcp6: Bool
    var source: IPEndpoint
    var destination: IPEndpoint
    var description: String { "\(tcp6 ? "TCP6" : "TCP4") \(source) -> \(destination)" }
}

/// Strict decoders following the spec's receiver rules; nil for anything malformed.
enum ProxyHeaderDecoder {
    static func v1(_ bytes: [UInt8]) -> DecodedProxyHeader? {
        guard bytes.count <= 107, bytes.count >= 2, bytes.suffix(2) == [0x0D, 0x0A] else { return nil }
        let body = bytes.dropLast(2)
        guard !body.contains(0x0D), !body.contains(0x0A), body.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
        else { return nil }
        let fields = String(decoding: body, as: UTF8.self).split(
            separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == "PROXY", fields[1] == "TCP4" || fields[1] == "TCP6" else {
            return nil
        }
        let tcp6 = fields[1] == "TCP6"
        func address(_ text: Substring) -> IPAddress? {
            guard let a = IPAddress(text), a.isV6 == tcp6 else { return nil }
            return a
        }
        func port(_ text: Substring) -> UInt16? {
            guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
                text == "0" || !text.hasPrefix("0")
            else { return nil }
            return UInt16(text)
        }
        guard let sa = address(fields[2]), let da = address(fields[3]), let sp = port(fields[4]),
            let dp = port(fields[5])
        else { return nil }
        return DecodedProxyHeader(
            tcp6: tcp6, source: IPEndpoint(sa, sp), destination: IPEndpoint(da, dp))
    }

    static func v2(_ bytes: [UInt8]) -> DecodedProxyHeader? {
        guard bytes.count >= 16, Array(bytes[0..<12]) == ProxyHeader.v2Signature, bytes[12] == 0x21
        else { return nil }
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard bytes.count == 16 + length else { return nil }
        func uint(_ at: Int, _ width: Int) -> UInt64 {
            bytes[at..<at + width].reduce(0) { $0 << 8 | UInt64($1) }
        }
        switch bytes[13] {
        case 0x11:
            guard length == 12 else { return nil }
            return DecodedProxyHeader(
                tcp6: false,
                source: IPEndpoint(.v4(UInt32(uint(16, 4))), UInt16(uint(24, 2))),
                destination: IPEndpoint(.v4(UInt32(uint(20, 4))), UInt16(uint(26, 2))))
        case 0x21:
            guard length == 36 else { return nil }
            return DecodedProxyHeader(
                tcp6: true,
                source: IPEndpoint(.v6(uint(16, 8), uint(24, 8)), UInt16(uint(48, 2))),
                destination: IPEndpoint(.v6(uint(32, 8), uint(40, 8)), UInt16(uint(50, 2))))
        default:
            return nil
        }
    }
}

private func proxyEndpoint(_ address: String, _ port: UInt16) -> IPEndpoint {
    IPEndpoint(IPAddress(address)!, port)
}

/// What the receiver should see: IPv4 stays IPv4 only when both sides are IPv4.
private func expected(_ source: IPEndpoint, _ destination: IPEndpoint) -> DecodedProxyHeader {
    let tcp6 = source.address.isV6 || destination.address.isV6
    func map(_ e: IPEndpoint) -> IPEndpoint {
        guard tcp6, case .v4(let v) = e.address else { return e }
        return IPEndpoint(.v6(0, 0x0000_FFFF_0000_0000 | UInt64(v)), e.port)
    }
    return DecodedProxyHeader(tcp6: tcp6, source: map(source), destination: map(destination))
}

private let signature: [UInt8] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
]

@Suite struct ProxyHeaderTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let source: IPEndpoint
        let destination: IPEndpoint
        let v1: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "IPv4", source: proxyEndpoint("192.168.0.1", 56324),
            destination: proxyEndpoint("192.168.0.11", 443),
            v1: "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
        Case(
            name: "IPv4 ports 0 and 65535", source: proxyEndpoint("0.0.0.0", 0),
            destination: proxyEndpoint("255.255.255.255", 65535),
            v1: "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"),
        Case(
            name: "IPv4 longest (spec: 56 bytes)", source: proxyEndpoint("255.255.255.255", 65535),
            destination: proxyEndpoint("255.255.255.255", 65535),
            v1: "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"),
        Case(
            name: "IPv6", source: proxyEndpoint("2001:db8::1", 40000),
            destination: proxyEndpoint("2001:db8:0:0:1::2", 8080),
            v1: "PROXY TCP6 2001:db8::1 2001:db8::1:0:0:2 40000 8080\r\n"),
        Case(
            name: "IPv6 ports 65535 and 0", source: proxyEndpoint("::1", 65535),
            destination: proxyEndpoint("::", 0),
            v1: "PROXY TCP6 ::1 :: 65535 0\r\n"),
        Case(
            name: "IPv6 longest (spec: 104 bytes)",
            source: proxyEndpoint("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
            destination: proxyEndpoint("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
            v1:
                "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
        ),
        Case(
            name: "mixed: IPv4 client on an IPv6 listener", source: proxyEndpoint("10.0.0.1", 65535),
            destination: proxyEndpoint("2001:db8::1", 0),
            v1: "PROXY TCP6 ::ffff:10.0.0.1 2001:db8::1 65535 0\r\n"),
        Case(
            name: "mixed: IPv6 client to an IPv4 destination", source: proxyEndpoint("fe80::1:2", 1234),
            destination: proxyEndpoint("255.255.255.255", 65535),
            v1: "PROXY TCP6 fe80::1:2 ::ffff:255.255.255.255 1234 65535\r\n"),
        Case(
            name: "IPv4-mapped IPv6 pair", source: proxyEndpoint("::ffff:1.2.3.4", 1),
            destination: proxyEndpoint("::ffff:5.6.7.8", 2),
            v1: "PROXY TCP6 ::ffff:1.2.3.4 ::ffff:5.6.7.8 1 2\r\n"),
    ]

    @Test(arguments: cases) func v1Exact(_ c: Case) {
        let line = ProxyHeader.v1(source: c.source, destination: c.destination)
        #expect(line == Array(c.v1.utf8))
        #expect(line.count <= 107)
        #expect(ProxyHeaderDecoder.v1(line) == expected(c.source, c.destination))
    }

    @Test(arguments: cases) func v2RoundTrip(_ c: Case) {
        let header = ProxyHeader.v2(source: c.source, destination: c.destination)
        let decoded = ProxyHeaderDecoder.v2(header)
        #expect(decoded == expected(c.source, c.destination))
        let tcp6 = decoded?.tcp6 ?? true
        #expect(Array(header.prefix(12)) == signature)
        #expect(header[12] == 0x21)
        #expect(header[13] == (tcp6 ? 0x21 : 0x11))
        #expect(Int(header[14]) << 8 | Int(header[15]) == (tcp6 ? 36 : 12))
        #expect(header.count == (tcp6 ? 52 : 28))
    }

    @Test func v1LiteralBytes() {
        // "PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n", byte by byte.
        let expectedBytes: [UInt8] = [
            0x50, 0x52, 0x4F, 0x58, 0x59, 0x20, 0x54, 0x43, 0x50, 0x34, 0x20,  // "PROXY TCP4 "
            0x31, 0x2E, 0x32, 0x2E, 0x33, 0x2E, 0x34, 0x20,  // "1.2.3.4 "
            0x35, 0x2E, 0x36, 0x2E, 0x37, 0x2E, 0x38, 0x20,  // "5.6.7.8 "
            0x30, 0x20, 0x36, 0x35, 0x35, 0x33, 0x35, 0x0D, 0x0A,  // "0 65535\r\n"
        ]
        #expect(
            ProxyHeader.v1(
                source: proxyEndpoint("1.2.3.4", 0), destination: proxyEndpoint("5.6.7.8", 65535))
                == expectedBytes)
    }

    @Test func v2LiteralIPv4() {
        let expectedBytes: [UInt8] = [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,  // signature
            0x21,  // version 2, PROXY
            0x11,  // AF_INET, STREAM
            0x00, 0x0C,  // 12 address bytes
            0xC0, 0xA8, 0x00, 0x01,  // src 192.168.0.1
            0xC0, 0xA8, 0x00, 0x0B,  // dst 192.168.0.11
            0xDC, 0x04,  // src port 56324
            0x01, 0xBB,  // dst port 443
        ]
        #expect(
            ProxyHeader.v2(
                source: proxyEndpoint("192.168.0.1", 56324), destination: proxyEndpoint("192.168.0.11", 443)
            ) == expectedBytes)
    }

    @Test func v2LiteralMixed() {
        // IPv6 client on port 0 to an IPv4 destination on 65535: the IPv4 side as ::ffff:10.0.0.1.
        let expectedBytes: [UInt8] = [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,  // signature
            0x21,  // version 2, PROXY
            0x21,  // AF_INET6, STREAM
            0x00, 0x24,  // 36 address bytes
            0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x01,  // 2001:db8::1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x0A, 0x00, 0x00,
            0x01,  // ::ffff:10.0.0.1
            0x00, 0x00,  // src port 0
            0xFF, 0xFF,  // dst port 65535
        ]
        #expect(
            ProxyHeader.v2(
                source: proxyEndpoint("2001:db8::1", 0), destination: proxyEndpoint("10.0.0.1", 65535))
                == expectedBytes)
    }

    /// Every pair from a mix of short, long and edge addresses and ports: both versions
    /// decode to what went in, and no v1 line is longer than the spec's 107 bytes.
    @Test func roundTripAllPairs() {
        let addresses = [
            "0.0.0.0", "1.2.3.4", "255.255.255.255", "::", "::1", "2001:db8::1",
            "1111:2222:3333:4444:5555:6666:7777:8888", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255", "fe80::ffff:ffff:ffff:ffff",
        ]
        let ports: [UInt16] = [0, 1, 80, 65535]
        var longest = 0
        for sa in addresses {
            for da in addresses {
                for sp in ports {
                    for dp in ports {
                        let s = proxyEndpoint(sa, sp)
                        let d = proxyEndpoint(da, dp)
                        let line = ProxyHeader.v1(source: s, destination: d)
                        longest = max(longest, line.count)
                        #expect(line.count <= ProxyHeader.v1MaxLength)
                        #expect(ProxyHeaderDecoder.v1(line) == expected(s, d), "v1 \(s) -> \(d)")
                        #expect(
                            ProxyHeaderDecoder.v2(ProxyHeader.v2(source: s, destination: d)) == expected(s, d),
                            "v2 \(s) -> \(d)")
                    }
                }
            }
        }
        #expect(longest == 104)
    }

    @Test func decoderRejectsMalformed() {
        #expect(ProxyHeaderDecoder.v1(Array("PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n".utf8)) == nil)
        #expect(ProxyHeaderDecoder.v1(Array("PROXY TCP4 1.2.3.4 5.6.7.8 80 80\n".utf8)) == nil)
        #expect(ProxyHeaderDecoder.v1(Array("PROXY TCP4 ::1 5.6.7.8 80 80\r\n".utf8)) == nil)
        var v2 = ProxyHeader.v2(
            source: proxyEndpoint("1.2.3.4", 1), destination: proxyEndpoint("5.6.7.8", 2))
        v2[15] = 13
        #expect(ProxyHeaderDecoder.v2(v2) == nil)
    }
}
