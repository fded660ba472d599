// The `proxy` target: sluice's PROXY header writer against an independent reader
// (ProxyReader, from the spec). Endpoints come from the input; each header must keep its
// frame and read back as exactly the endpoints written, in the family the spec gives them
// (TCP4 / 0x11 when both are IPv4, else TCP6 / 0x21 with IPv4 as ::ffff:a.b.c.d). The rest
// of the input goes to the reader as a header of its own: it must not trap, and a v2 header
// it accepts (no TLVs) is exactly what the writer makes of what it read.
import SluiceCore
import SluiceSys

enum ProxyRoundTrip {
    static func run(_ bytes: [UInt8]) {
        if bytes.count >= 37 { roundTrip(bytes) }
        readForeign(bytes[...])
    }

    static func roundTrip(_ bytes: [UInt8]) {
        func word(_ i: Int) -> UInt64 { bytes[i..<i + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        let port1 = UInt16(bytes[33]) << 8 | UInt16(bytes[34])
        let port2 = UInt16(bytes[35]) << 8 | UInt16(bytes[36])
        // Bit 0: source v6, bit 1: destination v6 (mixed families included).
        let source = IPEndpoint(
            bytes[32] & 1 == 1 ? .v6(word(0), word(8)) : .v4(UInt32(truncatingIfNeeded: word(0))), port1)
        let destination = IPEndpoint(
            bytes[32] & 2 == 2 ? .v6(word(16), word(24)) : .v4(UInt32(truncatingIfNeeded: word(16))), port2)
        let expected = expectation(source, destination)

        let v1 = ProxyHeader.v1(source: source, destination: destination)
        precondition(v1.count <= ProxyHeader.v1MaxLength, "v1 header over 107 bytes")
        precondition(v1.starts(with: Array("PROXY TCP".utf8)) && v1.suffix(2) == [0x0D, 0x0A], "v1 frame")
        check(v1, expected, "v1")
        let v2 = ProxyHeader.v2(source: source, destination: destination)
        precondition(v2.starts(with: ProxyHeader.v2Signature), "v2 signature")
        let length = Int(v2[14]) << 8 | Int(v2[15])
        precondition(v2.count == 16 + length, "v2 length field \(length) for \(v2.count) bytes")
        check(v2, expected, "v2")
    }

    /// What a reader must see: both IPv4 stays TCP4; anything else is TCP6, IPv4 mapped.
    static func expectation(_ source: IPEndpoint, _ destination: IPEndpoint) -> ProxyInfo {
        if case .v4 = source.address, case .v4 = destination.address {
            return ProxyInfo(v6: false, source: source, destination: destination)
        }
        func mapped(_ e: IPEndpoint) -> IPEndpoint {
            guard case .v4(let v) = e.address else { return e }
            return IPEndpoint(.v6(0, 0x0000_FFFF_0000_0000 | UInt64(v)), e.port)
        }
        return ProxyInfo(v6: true, source: mapped(source), destination: mapped(destination))
    }

    /// Whole, every proper prefix (needMore, never a wrong header), and with trailing client
    /// bytes (the header's own length, nothing taken from the stream behind it).
    static func check(_ header: [UInt8], _ expected: ProxyInfo, _ what: String) {
        let got = ProxyReader.read(header[...])
        precondition(
            got == .header(expected, length: header.count),
            "\(what) \(String(decoding: header, as: UTF8.self)) read as \(got), wrote \(expected)")
        for cut in [1, header.count / 2, header.count - 1] where cut > 0 && cut < header.count {
            precondition(ProxyReader.read(header[..<cut]) == .needMore, "\(what) prefix of \(cut) bytes not needMore")
        }
        precondition(
            ProxyReader.read((header + [0x47, 0x45, 0x54, 0x0D, 0x0A])[...]) == got, "\(what) with bytes after it")
    }

    static func readForeign(_ bytes: ArraySlice<UInt8>) {
        guard case .header(let info, let length) = ProxyReader.read(bytes) else { return }
        precondition(length <= bytes.count, "header longer than its input")
        // v1 text has more than one spelling of an address; v2 without TLVs has exactly one.
        let isV2 = bytes.first == 0x0D
        let rewritten =
            isV2
            ? ProxyHeader.v2(source: info.source, destination: info.destination)
            : ProxyHeader.v1(source: info.source, destination: info.destination)
        if isV2 && length == rewritten.count && info.v6 == (rewritten[13] == 0x21) {
            precondition(Array(bytes.prefix(length)) == rewritten, "v2 header read and rewritten differs")
        }
        if !isV2 {
            precondition(
                ProxyReader.read(rewritten[...]) == .header(info, length: rewritten.count),
                "v1 rewrite reads back differently")
        }
    }
}
