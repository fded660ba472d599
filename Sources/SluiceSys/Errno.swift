// A typed errno with readable names (swift-system style) and its message via strerror.
import Glibc

package struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: CInt
    package init(rawValue: CInt) { self.rawValue = rawValue }

    // Concrete, so errno checks on the event path do not go through RawRepresentable's
    // generic `==`.
    @inlinable package static func == (a: Errno, b: Errno) -> Bool { a.rawValue == b.rawValue }

    package static let interrupted = Errno(rawValue: EINTR)
    package static let wouldBlock = Errno(rawValue: EAGAIN)
    package static let inProgress = Errno(rawValue: EINPROGRESS)
    package static let badFD = Errno(rawValue: EBADF)
    package static let fault = Errno(rawValue: EFAULT)
    package static let invalid = Errno(rawValue: EINVAL)
    package static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    package static let connectionReset = Errno(rawValue: ECONNRESET)
    package static let brokenPipe = Errno(rawValue: EPIPE)
    package static let timedOut = Errno(rawValue: ETIMEDOUT)
    package static let addressInUse = Errno(rawValue: EADDRINUSE)
    package static let addressNotAvailable = Errno(rawValue: EADDRNOTAVAIL)
    package static let tooManyFiles = Errno(rawValue: EMFILE)
    package static let tooManyFilesSystem = Errno(rawValue: ENFILE)
    package static let noBuffers = Errno(rawValue: ENOBUFS)
    package static let noMemory = Errno(rawValue: ENOMEM)
    package static let noEntry = Errno(rawValue: ENOENT)
    package static let connectionAborted = Errno(rawValue: ECONNABORTED)
    package static let notConnected = Errno(rawValue: ENOTCONN)
    package static let hostUnreachable = Errno(rawValue: EHOSTUNREACH)
    package static let networkUnreachable = Errno(rawValue: ENETUNREACH)

    /// Out of descriptors or kernel memory: the process's own limit, not the peer's doing.
    package var isResourceShortage: Bool {
        self == .tooManyFiles || self == .tooManyFilesSystem || self == .noBuffers || self == .noMemory
    }

    /// The calling thread's errno; read it on the line right after the failing call.
    @inline(__always)
    package static var current: Errno { Errno(rawValue: Glibc.errno) }

    package var description: String {
        // glibc's strerror returns static text for every known errno (thread-safe since 2.32).
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: text)
    }
}
