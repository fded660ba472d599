// Whole-file reads and atomic whole-file replacement (config and state files), and
// process-level output (stdout/stderr). What sits at a path and directory creation are in
// Files+Kind.swift.
import Glibc

package enum Files {
    /// The bytes of the file at `path`, or the errno that prevented reading it.
    @inline(never)
    package static func read(_ path: String) throws(Errno) -> [UInt8] {
        let fd = FD(rawValue: try retrying { open(path, O_RDONLY | O_CLOEXEC) })
        defer { fd.close() }
        return try readAll(fd)
    }

    /// Like `read`, but only a regular file (or a symlink to one) is read. O_NONBLOCK makes
    /// open(2) return at once on a FIFO, which would otherwise wait for a writer forever; the
    /// fstat of the opened fd then tells what it is, with no window for a swap in between.
    @inline(never)
    package static func readRegular(_ path: String) throws(RegularFileError) -> [UInt8] {
        let raw: CInt
        do {
            raw = try retrying { open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) }
        } catch {
            // A socket file cannot be opened (ENXIO): name what it is rather than the errno.
            if let kind = Files.kind(path), kind != .regular { throw .notRegular(kind) }
            throw .system(error)
        }
        let fd = FD(rawValue: raw)
        defer { fd.close() }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else { throw .system(.current) }
        let kind = FileKind(mode: st.st_mode)
        guard kind == .regular else { throw .notRegular(kind) }
        do {
            return try readAll(fd)
        } catch {
            throw .system(error)
        }
    }

    private static func readAll(_ fd: FD) throws(Errno) -> [UInt8] {
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

    /// Replaces the file at `path` with `bytes` so that a reader, or the next start after a
    /// crash or power loss, finds either the old file or the new one, never a mix: write
    /// `PATH.tmp`, fsync it, rename it over `path`, then fsync the directory (the rename is
    /// durable only once the directory is). `mode` applies when the file is created (umask too).
    @inline(never)
    package static func replace(_ path: String, with bytes: [UInt8], mode: UInt32 = 0o644) throws(Errno) {
        let temporary = path + ".tmp"
        let fd = FD(rawValue: try retrying { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode)) })
        do {
            defer { fd.close() }
            try fd.writeAll(bytes)
            _ = try retrying { fsync(fd.rawValue) }
        } catch {
            unlink(temporary)
            throw error
        }
        do {
            _ = try retrying { rename(temporary, path) }
        } catch {
            unlink(temporary)
            throw error
        }
        let directory = FD(
            rawValue: try retrying { open(Files.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
        defer { directory.close() }
        _ = try retrying { fsync(directory.rawValue) }
    }

    /// The directory part of `path`: "." for a bare name, "/" for a file in the root.
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

package enum StdIO {
    package static let stdout = FD(rawValue: 1)
    package static let stderr = FD(rawValue: 2)

    /// Writes a line to stderr in one write(2) so lines from threads never interleave.
    /// (A closed stderr loses the line rather than trapping on EBADF.)
    package static func errorLine(_ text: String) {
        _ = writeWaiting(stderr, Array((text + "\n").utf8))
    }

    package static func outputLine(_ text: String) {
        _ = writeWaiting(stdout, Array((text + "\n").utf8))
    }
}
