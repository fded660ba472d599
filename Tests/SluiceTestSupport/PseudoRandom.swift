// Deterministic pseudo-random bytes (xorshift64*), fast enough in debug builds to fill tens of
// MiB: the transfer tests compare every byte against a regenerated stream; the hostile-input
// tests draw their mutations from it.
package struct PseudoRandom {
    private var state: UInt64

    package init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    package mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    package mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        let words = buffer.count / 8
        let wordBuffer = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(words * 8)])
        for i in 0..<words {
            wordBuffer.storeBytes(of: next(), toByteOffset: i * 8, as: UInt64.self)
        }
        var last = next()
        for i in (words * 8)..<buffer.count {
            buffer[i] = UInt8(truncatingIfNeeded: last)
            last >>= 8
        }
    }

    package static func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var generator = PseudoRandom(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { generator.fill($0) }
        return bytes
    }

    /// A number in 0..<bound (0 when bound < 1).
    package mutating func below(_ bound: Int) -> Int {
        Int(next() >> 33) % max(1, bound)
    }
}
