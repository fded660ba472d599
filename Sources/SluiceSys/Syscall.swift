// The one errno policy (after swift-nio's System.swift): retry EINTR, turn EAGAIN into a
// value, crash on EBADF/EFAULT (a bug in sluice, never a runtime condition), throw the rest.
import Glibc

package enum IOResult: Equatable, Sendable {
    case done(Int)
    case wouldBlock
    /// The peer closed its write side (a read of 0 bytes).
    case eof
}

@inline(__always)
func checkBug(_ err: Errno, _ function: StaticString) {
    precondition(err != .badFD && err != .fault, "\(function): \(err) (bug in sluice)")
}

/// Calls `body` until it does not fail with EINTR. Returns the non-negative result or throws.
@inline(__always)
func retrying<T: BinaryInteger>(_ function: StaticString = #function, _ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let err = Errno.current
        if err == .interrupted { continue }
        checkBug(err, function)
        throw err
    }
}

/// Like `retrying`, but EAGAIN becomes `.wouldBlock` and a zero result `.eof` when `zeroIsEOF`.
@inline(__always)
func nonBlocking(_ function: StaticString = #function, zeroIsEOF: Bool, _ body: () -> Int) throws(Errno) -> IOResult {
    while true {
        let result = body()
        if result > 0 { return .done(result) }
        if result == 0 { return zeroIsEOF ? .eof : .done(0) }
        let err = Errno.current
        if err == .interrupted { continue }
        if err == .wouldBlock { return .wouldBlock }
        checkBug(err, function)
        throw err
    }
}
