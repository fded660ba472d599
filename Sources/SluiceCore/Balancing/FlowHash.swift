// Deterministic hashes for Maglev: a well-mixed 64-bit hash of a flow key, and two independent
// hashes of a server name (its permutation's offset and skip). Fixed constants and no per-process
// seed (unlike Swift's `Hasher`), so every worker, process, host and run computes the same values.
import SluiceSys

package enum FlowHash {
    /// Hash of the client address, plus its port when `includePort` (`hash-key src-port`).
    /// IPv4 keys map one-to-one onto hashes (the mixer is a bijection), so they never collide.
    @inline(__always)
    package static func hash(_ key: FlowKey, includePort: Bool) -> UInt64 {
        switch key.address {
        case .v4(let a):
            // Bits 0-31 address, 32-47 port, 48 "port included", 49 "IPv4".
            var x = UInt64(a) | 1 << 49
            if includePort { x |= UInt64(key.port) << 32 | 1 << 48 }
            return mix(x &+ 0x9E37_79B9_7F4A_7C15)
        case .v6(let hi, let lo):
            var h = mix(hi ^ 0x6A09_E667_F3BC_C908)
            h = mix(h ^ lo)
            if includePort { h = mix(h ^ (UInt64(key.port) | 1 << 48)) }
            return h
        }
    }

    /// First name hash (Maglev's offset): FNV-1a 64, finalized with the SplitMix64 mixer.
    package static func offsetHash(_ name: String) -> UInt64 {
        mix(fnv1a(name, basis: 0xCBF2_9CE4_8422_2325))
    }

    /// Second, independent name hash (Maglev's skip): FNV-1a 64 from another basis, finalized
    /// with MurmurHash3's fmix64 (different constants from `mix`).
    package static func skipHash(_ name: String) -> UInt64 {
        fmix64(fnv1a(name, basis: 0x8422_2325_CBF2_9CE5) ^ UInt64(name.utf8.count))
    }

    /// SplitMix64's finalizer: a bijection on UInt64 with full avalanche.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func fmix64(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    static func fnv1a(_ name: String, basis: UInt64) -> UInt64 {
        var h = basis
        for byte in name.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }
}
