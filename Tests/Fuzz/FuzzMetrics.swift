// The `metrics` target: the metrics endpoint's request reader (MetricsRequestReader) and the
// service the one-shot server runs around it (MetricsService). Byte 0 picks how the input is
// cut (one piece, pieces of a fixed size, or sizes drawn from byte 1), the rest is what a
// client sends before closing its side. What must hold: the outcome is the same whole or in
// pieces; it is decided once more than `maxHeadBytes` arrived (bounded memory); a request is
// answered only if its head ends within the limit; and the reply the service makes of the
// outcome is one framed HTTP/1.1 response whose Content-Length is its body.
import SluiceCore
import SluiceSys
@testable import SluiceRuntime

enum MetricsRun {
    static let service = MetricsService(
        rendering: MetricsRendering(window: .seconds(1), render: { "sluice_up 1\n" }))

    static func run(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let request = Array(bytes.dropFirst(2))
        let whole = outcome(request, pieces: [request.count])
        let cut = outcome(request, pieces: pieceSizes(mode: bytes[0], seed: bytes[1], total: request.count))
        precondition(whole == cut, "whole: \(whole), in pieces: \(cut)")
        if case .request(let r) = whole, r != .tooLarge, r != .incomplete {
            let end = MetricsRequestReader.headEnd(request)
            precondition(
                end != nil && end! <= MetricsRequestReader.maxHeadBytes,
                "answered \(r) without a head end within the limit")
        }
        if case .request(let r) = whole { checkReply(service.respond(to: r).bytes, r) }
    }

    static func pieceSizes(mode: UInt8, seed: UInt8, total: Int) -> [Int] {
        var sizes: [Int] = []
        var state = UInt32(seed) &* 2_654_435_761 | 1
        var left = total
        while left > 0 {
            let n: Int
            switch mode % 3 {
            case 0: n = 1
            case 1: n = 1 + Int(seed) * 41  // up to about 10 KiB: one read past the limit
            default:
                state ^= state << 13
                state ^= state >> 17
                state ^= state << 5
                n = 1 + Int(state % 700)
            }
            sizes.append(min(n, left))
            left -= n
        }
        return sizes
    }

    /// Feeds the pieces as reads would deliver them, then the client's EOF.
    static func outcome(_ request: [UInt8], pieces: [Int]) -> MetricsRequestReader.Step {
        var reader = MetricsRequestReader()
        var at = 0
        for n in pieces {
            let step = reader.feed(Array(request[at..<(at + n)]), eof: false)
            at += n
            if step != .needMore { return step }
            precondition(at <= MetricsRequestReader.maxHeadBytes, "still reading after \(at) bytes")
        }
        let last = reader.feed([], eof: true)
        precondition(last != .needMore, "no outcome at EOF")
        return last
    }

    static func checkReply(_ reply: [UInt8], _ request: MetricsRequest) {
        guard let end = MetricsRequestReader.headEnd(reply) else { preconditionFailure("reply without a head end") }
        let head = String(decoding: reply[..<end], as: UTF8.self)
        precondition(head.hasPrefix("HTTP/1.1 ") && head.hasSuffix("\r\n\r\n"), "reply head \(head)")
        let length = head.split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }.flatMap {
            Int($0.dropFirst("Content-Length: ".count))
        }
        precondition(length != nil, "reply without Content-Length")
        let headOnly = request == .metrics(headOnly: true)
        precondition(
            reply.count - end == (headOnly ? 0 : length!), "body \(reply.count - end) bytes, Content-Length \(length!)")
    }
}
