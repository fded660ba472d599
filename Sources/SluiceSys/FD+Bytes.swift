// Byte-array I/O on sockets for the control plane (admin, metrics, sluicectl): no caller
// outside SluiceSys touches a buffer pointer. Sends use MSG_NOSIGNAL, so a peer that went
// away is EPIPE even where SIGPIPE is not ignored (tests, sluicectl).
import Glibc

extension FD {
    /// Reads up to `max` bytes and appends them to `bytes`; `.done(n)` counts the new bytes.
    @inline(never)
    package func receive(appendingTo bytes: inout [UInt8], max: Int = 16384) throws(Errno) -> IOResult {
        var chunk = [UInt8](repeating: 0, count: max)
        let result = chunk.withUnsafeMutableBytes { raw in
            Result { () throws(Errno) in
                try nonBlocking(zeroIsEOF: true) { Glibc.recv(rawValue, raw.baseAddress, raw.count, 0) }
            }
        }
        let r = try result.get()
        if case .done(let n) = r { bytes.append(contentsOf: chunk[0..<n]) }
        return r
    }

    /// Sends `bytes[offset...]` once; `.done(n)` is how many went out.
    @inline(never)
    package func send(_ bytes: [UInt8], from offset: Int = 0) throws(Errno) -> IOResult {
        guard offset < bytes.count else { return .done(0) }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(Errno) in
                try nonBlocking(zeroIsEOF: false) {
                    Glibc.send(rawValue, raw.baseAddress! + offset, raw.count - offset, CInt(MSG_NOSIGNAL))
                }
            }
        }
        return try result.get()
    }
}
