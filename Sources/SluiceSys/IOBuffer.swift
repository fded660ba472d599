// A page-aligned scratch buffer a worker lends to one read at a time (small reads are copied
// through it instead of spliced). Unsafe memory stays in here; callers see offsets only.
import Glibc

package struct IOBuffer: ~Copyable {
    private let base: UnsafeMutableRawPointer
    package let count: Int

    package init(count: Int) {
        self.count = count
        base = .allocate(byteCount: count, alignment: 4096)
    }

    deinit { base.deallocate() }

    /// Reads at most `max` bytes (at least 1, never more than `count`) from `fd` into the
    /// start of the buffer.
    @inline(__always)
    package func read(from fd: FD, max: Int = .max) throws(Errno) -> IOResult {
        try fd.read(into: UnsafeMutableRawBufferPointer(start: base, count: Swift.min(count, Swift.max(1, max))))
    }

    /// Writes `range` of the buffer to `fd` (a socket or a pipe); the write copies the bytes.
    @inline(__always)
    package func write(_ range: Range<Int>, to fd: FD) throws(Errno) -> IOResult {
        try fd.write(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }
}
