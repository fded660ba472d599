// Whole-file reads and process-level output (config files, stdout/stderr).
import Glibc

package enum Files {
    /// The bytes of the file at `path`, or the errno that prevented reading it.
    @inline(never)
    package static func read(_ path: String) throws(Errno) -> [UInt8] {
        let fd = FD(rawValue: try retrying { open(path, O_RDONLY | O_CLOEXEC) })
        defer { fd.close() }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let result = chunk.withUnsafeMutableBytes { buf in Result { () throws(Errno) in try fd.read(into: buf) } }
            switch try result.get() {
            case .done(let n): out.append(contentsOf: chunk[0..<n])
            case .eof, .wouldBlock: return out
            }
        }
    }
}

package enum StdIO {
    package static let stdout = FD(rawValue: 1)
    package static let stderr = FD(rawValue: 2)

    /// Writes a line to stderr in one write(2) so lines from threads never interleave.
    package static func errorLine(_ text: String) {
        try? stderr.writeAll(Array((text + "\n").utf8))
    }

    package static func outputLine(_ text: String) {
        try? stdout.writeAll(Array((text + "\n").utf8))
    }
}
