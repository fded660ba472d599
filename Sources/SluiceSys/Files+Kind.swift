// What sits at a path (a state file must be a regular file: a FIFO there would hang open(2))
// and creating a missing directory with its mode and owner (the default admin socket's
// /run/sluice on a machine where no systemd unit made it).
import Glibc

/// The type of a file, from stat's st_mode.
package enum FileKind: Sendable, Equatable, CustomStringConvertible {
    case regular, directory, fifo, socket, characterDevice, blockDevice, other

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .other
        }
    }

    package var description: String {
        switch self {
        case .regular: "a regular file"
        case .directory: "a directory"
        case .fifo: "a FIFO (named pipe)"
        case .socket: "a socket"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .other: "not a regular file"
        }
    }
}

/// Why `Files.readRegular` read nothing.
package enum RegularFileError: Error, Equatable, CustomStringConvertible {
    case system(Errno)
    case notRegular(FileKind)

    package var description: String {
        switch self {
        case .system(let e): "\(e)"
        case .notRegular(let kind): "is \(kind), not a regular file"
        }
    }
}

extension Files {
    /// What is at `path`, following symlinks; nil when nothing is (or it cannot be looked at).
    @inline(never)
    package static func kind(_ path: String) -> FileKind? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileKind(mode: st.st_mode)
    }

    /// Creates the directory `path` (its parent must exist) with exactly `mode`, whatever the
    /// umask, and hands it to `owner` when given.
    @inline(never)
    package static func makeDirectory(_ path: String, mode: UInt32, owner: (uid: UInt32, gid: UInt32)?) throws(Errno) {
        _ = try retrying { mkdir(path, mode_t(mode)) }
        _ = try retrying { chmod(path, mode_t(mode)) }
        if let owner { _ = try retrying { chown(path, owner.uid, owner.gid) } }
    }
}
