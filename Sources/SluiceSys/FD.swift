// File descriptors: `FD` is a borrowed handle (a table key, a syscall argument); `OwnedFD`
// is the ~Copyable owner that closes exactly once. Sessions keep bare FDs in their slab, since
// Array cannot hold ~Copyable values, and close them in one place (Worker.finish).
import Glibc

package struct FD: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: CInt
    package init(rawValue: CInt) { self.rawValue = rawValue }

    @inlinable package static func == (a: FD, b: FD) -> Bool { a.rawValue == b.rawValue }

    package static let invalid = FD(rawValue: -1)
    package var isValid: Bool { rawValue >= 0 }
    package var description: String { "fd\(rawValue)" }

    /// Closes the descriptor. EINTR is ignored on purpose: on Linux the fd is released
    /// even then, and retrying could close a descriptor another thread just got (see LWN 576478).
    @inline(never)
    package func close() {
        if Glibc.close(rawValue) < 0 {
            checkBug(Errno.current, #function)
        }
    }

    @inline(never)
    package func setNonBlocking() throws(Errno) {
        let flags = try retrying { fcntl(rawValue, F_GETFL) }
        _ = try retrying { fcntl(rawValue, F_SETFL, flags | O_NONBLOCK) }
    }

    @inline(never)
    package func setCloseOnExec() throws(Errno) {
        _ = try retrying { fcntl(rawValue, F_SETFD, FD_CLOEXEC) }
    }

    /// Blocking-or-not read into `buffer`; `.eof` on 0.
    @inline(never)
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> IOResult {
        try nonBlocking(zeroIsEOF: true) { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    @inline(never)
    package func write(_ buffer: UnsafeRawBufferPointer) throws(Errno) -> IOResult {
        try nonBlocking(zeroIsEOF: false) { Glibc.write(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `bytes` on a blocking descriptor (logs, files, short replies).
    package func writeAll(_ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                Result { () throws(Errno) in try write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            switch try result.get() {
            case .done(let n): offset += n
            case .wouldBlock, .eof: throw Errno.wouldBlock
            }
        }
    }
}

/// Owns a descriptor and closes it in deinit unless released.
package struct OwnedFD: ~Copyable {
    package let fd: FD
    package init(_ fd: FD) { self.fd = fd }

    package consuming func release() -> FD {
        let fd = self.fd
        discard self
        return fd
    }

    deinit { fd.close() }
}
