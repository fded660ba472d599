// AF_UNIX stream sockets: the admin socket (listen at a path with a mode, stale-socket
// recovery, peer credentials) and its client (connect, blocking I/O with timeouts).
// All sockaddr_un code lives here.
import CSluiceLinux
import Glibc

/// Who is on the other end of a Unix socket (SO_PEERCRED, taken at connect time).
package struct PeerCredentials: Sendable, Equatable {
    package var pid: Int32
    package var uid: UInt32
    package var gid: UInt32
}

package enum UnixSocketError: Error, Equatable, CustomStringConvertible {
    /// Another process accepts connections at this path.
    case inUse(path: String)
    /// Something other than a socket sits at the path; it is never removed.
    case notASocket(path: String)
    case pathTooLong(path: String)
    case system(operation: String, path: String, Errno)

    package var description: String {
        switch self {
        case .inUse(let p): "\(p): in use by a running process (is another sluice running?)"
        case .notASocket(let p): "\(p): exists and is not a socket; refusing to remove it"
        case .pathTooLong(let p): "\(p): path too long for a Unix socket (max 107 bytes)"
        case .system(let op, let p, let e): "\(p): \(op): \(e)"
        }
    }
}

package enum UnixSocket {
    /// Binds and listens at `path` (non-blocking, close-on-exec), then sets `mode` and, when
    /// given, the owner. The mode is set before listen(), so no client can connect while the
    /// socket still has the umask's permissions. A socket file left by a dead process (connect
    /// refused) is removed and replaced; a live one is `.inUse`.
    @inline(never)
    package static func listen(
        path: String, mode: UInt32 = 0o600, owner: (uid: UInt32, gid: UInt32)? = nil, backlog: CInt = 64
    ) throws(UnixSocketError) -> FD {
        guard path.utf8.count < maxPathBytes, !path.isEmpty else { throw .pathTooLong(path: path) }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path: path) }
            do {
                let probe = try connect(path: path)
                probe.close()
                throw UnixSocketError.inUse(path: path)
            } catch let error as UnixSocketError {
                throw error
            } catch {
                // Refused (or vanished): nobody listens. Remove the stale file and go on.
                _ = unlink(path)
            }
        }
        let fd: FD
        do {
            fd = try socket(nonBlocking: true)
        } catch {
            throw .system(operation: "socket", path: path, error)
        }
        func fail(_ op: String, _ err: Errno) -> UnixSocketError {
            fd.close()
            return .system(operation: op, path: path, err)
        }
        if withAddress(path, { Glibc.bind(fd.rawValue, $0, $1) }) < 0 { throw fail("bind", .current) }
        if chmod(path, mode_t(mode)) < 0 { throw fail("chmod", .current) }
        if let owner, chown(path, owner.uid, owner.gid) < 0 { throw fail("chown", .current) }
        if Glibc.listen(fd.rawValue, backlog) < 0 { throw fail("listen", .current) }
        return fd
    }

    /// The next pending client (non-blocking, close-on-exec), or nil when none is pending.
    /// Works for any listening stream socket (the peer address is not asked for).
    package static func accept(_ listener: FD) throws(Errno) -> FD? {
        // sockaddr_storage holds a sockaddr_un too; the peer address is not needed here.
        var peer = SocketAddress()
        return try Socket.accept(listener, peer: &peer)
    }

    /// A blocking client socket connected to `path`; ECONNREFUSED/ENOENT when nobody listens.
    @inline(never)
    package static func connect(path: String) throws(Errno) -> FD {
        guard path.utf8.count < maxPathBytes else { throw Errno(rawValue: ENAMETOOLONG) }
        let fd = try socket(nonBlocking: false)
        while withAddress(path, { Glibc.connect(fd.rawValue, $0, $1) }) < 0 {
            let err = Errno.current
            if err == .interrupted { continue }
            fd.close()
            throw err
        }
        return fd
    }

    @inline(never)
    package static func peerCredentials(_ fd: FD) throws(Errno) -> PeerCredentials {
        var pid: UInt32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        if sluice_peercred(fd.rawValue, &pid, &uid, &gid) < 0 {
            let err = Errno(rawValue: sluice_errno())
            checkBug(err, #function)
            throw err
        }
        return PeerCredentials(pid: Int32(bitPattern: pid), uid: uid, gid: gid)
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO on a blocking socket: a read or write that waits longer
    /// fails with EAGAIN.
    @inline(never)
    package static func setTimeouts(_ fd: FD, milliseconds: Int) throws(Errno) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = try retrying { setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &tv, size) }
        _ = try retrying { setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDTIMEO, &tv, size) }
    }

    /// Removes the socket file (at shutdown); a missing file is fine.
    @inline(never)
    package static func remove(path: String) {
        _ = unlink(path)
    }

    /// sun_path holds 108 bytes including the terminating NUL.
    static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    @inline(never)
    static func socket(nonBlocking: Bool) throws(Errno) -> FD {
        let type = CInt(SOCK_STREAM.rawValue) | sluice_SOCK_CLOEXEC | (nonBlocking ? sluice_SOCK_NONBLOCK : 0)
        return FD(rawValue: try retrying { Glibc.socket(AF_UNIX, type, 0) })
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> CInt) -> CInt {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}

/// Waiting on one descriptor with a timeout (poll(2)), for short blocking exchanges.
package enum Poll {
    /// True when `fd` is readable (or at EOF/error) within `timeoutMillis`; false on timeout.
    @inline(never)
    package static func readable(_ fd: FD, timeoutMillis: Int) throws(Errno) -> Bool {
        try wait(fd, CShort(POLLIN), timeoutMillis)
    }

    /// True when `fd` is writable (or in error) within `timeoutMillis`; false on timeout.
    @inline(never)
    package static func writable(_ fd: FD, timeoutMillis: Int) throws(Errno) -> Bool {
        try wait(fd, CShort(POLLOUT), timeoutMillis)
    }

    private static func wait(_ fd: FD, _ events: CShort, _ timeoutMillis: Int) throws(Errno) -> Bool {
        var p = pollfd(fd: fd.rawValue, events: events, revents: 0)
        let n = try retrying { Glibc.poll(&p, 1, CInt(clamping: timeoutMillis)) }
        return n > 0
    }
}
