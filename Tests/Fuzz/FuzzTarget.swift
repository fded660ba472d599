// The parsers `make fuzz` drives, one per target name, and what must hold for any input: a
// value or an error, never a trap, a hang or a sanitizer report. Where a result has a shape
// to keep (a check reply ends in a verdict, a PROXY header has its fixed frame), a broken
// shape is a finding too (precondition, which libFuzzer reports like a crash).
import SluiceCore
import SluiceSys

enum FuzzTarget: String, CaseIterable {
    case config, admin, statefile, probe, proxy, pump

    static func fromEnvironment() -> FuzzTarget {
        guard let name = ProcessControl.environment("SLUICE_FUZZ_TARGET"), let t = FuzzTarget(rawValue: name) else {
            StdIO.errorLine("SLUICE_FUZZ_TARGET must be one of: \(allCases.map(\.rawValue).joined(separator: " "))")
            ProcessControl.exit(2)
        }
        return t
    }

    func run(_ bytes: [UInt8]) {
        switch self {
        case .config:
            if case .failure(let errors) = ConfigLoader.load(
                text: String(decoding: bytes, as: UTF8.self), file: "fuzz.conf", resolve: { _ in nil })
            {
                precondition(!errors.errors.isEmpty, "a failed load with no error")
                for e in errors.errors { precondition(e.description.hasPrefix("fuzz.conf:"), "no FILE:LINE: \(e)") }
            }
        case .admin:
            if case .failure(let error) = AdminRequest.parse(bytes: bytes) {
                precondition(!error.message.contains("\n"), "a multi-line admin error")
            }
        case .statefile:
            let (_, problems) = StateFileText.parse(String(decoding: bytes, as: UTF8.self))
            for p in problems { precondition(p.line >= 1, "a problem without a line") }
        case .probe:
            Self.probe(bytes)
        case .proxy:
            Self.proxy(bytes)
        case .pump:
            PumpRun.run(bytes)
        }
    }

    /// Byte 0 picks the matcher, byte 1 the size of the pieces the reply arrives in; the
    /// verdict must not depend on how the reply was cut, and `end()` always gives one.
    static func probe(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let matchers: [Matcher] = [
            .prefix(Array("+PONG\r\n".utf8)), .respBulkContains(Array("role:master".utf8)),
            .oneByteOf([UInt8(ascii: "S"), UInt8(ascii: "N")]), .httpStatus(200), .contains(Array("ok".utf8)),
        ]
        let matcher = matchers[Int(bytes[0]) % matchers.count]
        let piece = 1 + Int(bytes[1]) % 64
        let reply = bytes[2...]
        var whole = MatcherState(matcher, limit: 4096)
        var cut = MatcherState(matcher, limit: 4096)
        var wholeOutcome = whole.feed(reply)
        var start = reply.startIndex
        var cutOutcome = MatchOutcome.needMore
        while start < reply.endIndex && cutOutcome == .needMore {
            let end = min(start + piece, reply.endIndex)
            cutOutcome = cut.feed(reply[start..<end])
            start = end
        }
        if wholeOutcome == .needMore { wholeOutcome = whole.end() }
        if cutOutcome == .needMore { cutOutcome = cut.end() }
        precondition(wholeOutcome != .needMore && cutOutcome != .needMore, "no verdict at the end of a reply")
        precondition((wholeOutcome == .pass) == (cutOutcome == .pass), "verdict depends on how the reply was cut")
        precondition(whole.replicationOffset == cut.replicationOffset, "offset depends on how the reply was cut")
    }

    /// Endpoints from the input; both header versions keep their frame.
    static func proxy(_ bytes: [UInt8]) {
        guard bytes.count >= 37 else { return }
        func word(_ i: Int) -> UInt64 { bytes[i..<i + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        let port1 = UInt16(bytes[33]) << 8 | UInt16(bytes[34])
        let port2 = UInt16(bytes[35]) << 8 | UInt16(bytes[36])
        let v6 = bytes[32] & 1 == 1
        let source = IPEndpoint(v6 ? .v6(word(0), word(8)) : .v4(UInt32(truncatingIfNeeded: word(0))), port1)
        let destination = IPEndpoint(v6 ? .v6(word(16), word(24)) : .v4(UInt32(truncatingIfNeeded: word(16))), port2)
        let v1 = ProxyHeader.v1(source: source, destination: destination)
        precondition(v1.count <= ProxyHeader.v1MaxLength, "v1 header over 107 bytes")
        precondition(v1.starts(with: Array("PROXY TCP".utf8)) && v1.suffix(2) == [0x0D, 0x0A], "v1 frame")
        let v2 = ProxyHeader.v2(source: source, destination: destination)
        precondition(v2.starts(with: ProxyHeader.v2Signature), "v2 signature")
        let length = Int(v2[14]) << 8 | Int(v2[15])
        precondition(v2.count == 16 + length, "v2 length field \(length) for \(v2.count) bytes")
    }
}
