// TCP sockets: listen, accept4, non-blocking connect, shutdown, options. Every socket is
// created non-blocking and close-on-exec.
import CSluiceLinux
import Glibc

package enum ConnectResult: Equatable, Sendable {
    case connected
    case inProgress
}

package enum Socket {
    /// A listening TCP socket bound to `endpoint` (SO_REUSEADDR; IPv6 sockets are v6-only so
    /// `[::]` and `0.0.0.0` can be bound side by side). The session options are set here
    /// because accepted sockets inherit them: no setsockopt per client.
    @inline(never)
    package static func listen(_ endpoint: IPEndpoint, backlog: CInt = 4096) throws(Errno) -> FD {
        let fd = try stream(v6: endpoint.address.isV6)
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if endpoint.address.isV6 { try setOption(fd, CInt(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            try setSessionOptions(fd)
            let address = SocketAddress(endpoint)
            _ = try retrying { address.withSockaddr { Glibc.bind(fd.rawValue, $0, $1) } }
            _ = try retrying { Glibc.listen(fd.rawValue, backlog) }
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    @inline(never)
    package static func stream(v6: Bool) throws(Errno) -> FD {
        let type = CInt(SOCK_STREAM.rawValue) | sluice_SOCK_NONBLOCK | sluice_SOCK_CLOEXEC
        return FD(rawValue: try retrying { Glibc.socket(v6 ? AF_INET6 : AF_INET, type, 0) })
    }

    /// The next pending connection, or nil when none is pending. ECONNABORTED (a client that
    /// reset before we accepted) is skipped, not reported.
    @inline(never)
    package static func accept(_ listener: FD, peer: inout SocketAddress) throws(Errno) -> FD? {
        while true {
            peer.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let rc = withUnsafeMutablePointer(to: &peer.storage) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sluice_accept4(listener.rawValue, $0, &peer.length, sluice_SOCK_NONBLOCK | sluice_SOCK_CLOEXEC)
                }
            }
            if rc >= 0 { return FD(rawValue: rc) }
            let err = Errno(rawValue: sluice_errno())
            if err == .interrupted || err == .connectionAborted { continue }
            if err == .wouldBlock { return nil }
            checkBug(err, #function)
            throw err
        }
    }

    /// Starts a non-blocking connect. EINPROGRESS is the normal answer, not an error.
    @inline(never)
    package static func connect(_ fd: FD, to endpoint: IPEndpoint) throws(Errno) -> ConnectResult {
        let address = SocketAddress(endpoint)
        let rc = address.withSockaddr { Glibc.connect(fd.rawValue, $0, $1) }
        if rc == 0 { return .connected }
        let err = Errno.current
        if err == .inProgress || err == .interrupted { return .inProgress }
        checkBug(err, #function)
        throw err
    }

    /// The pending error of a socket (SO_ERROR), nil when the connect succeeded.
    @inline(never)
    package static func pendingError(_ fd: FD) -> Errno? {
        var value: CInt = 0
        var len = socklen_t(MemoryLayout<CInt>.size)
        if getsockopt(fd.rawValue, SOL_SOCKET, SO_ERROR, &value, &len) < 0 { return Errno.current }
        return value == 0 ? nil : Errno(rawValue: value)
    }

    /// Half-close: the peer reads EOF once the bytes already sent are consumed.
    @inline(never)
    package static func shutdownWrite(_ fd: FD) {
        // ENOTCONN (the peer already reset) is harmless here: the session ends on its own.
        _ = Glibc.shutdown(fd.rawValue, CInt(SHUT_WR))
    }

    /// Bytes still in the kernel's queues of a TCP socket: received but not read, and sent
    /// but not acknowledged by the peer (nil when the kernel would not say). A syscall pair:
    /// for the rare decision at a session's end, not for the data path.
    @inline(never)
    package static func queuedBytes(_ fd: FD) -> (unread: Int, unsent: Int)? {
        var unread: CInt = 0
        var unsent: CInt = 0
        guard sluice_socket_queued(fd.rawValue, &unread, &unsent) == 0 else { return nil }
        return (Int(unread), Int(unsent))
    }

    /// Makes close() send RST instead of FIN: used when a session is aborted, so the other
    /// side learns the stream was cut rather than complete.
    @inline(never)
    package static func setLingerReset(_ fd: FD) {
        var lg = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
    }

    /// A SOCK_STREAM socket in the listening state (what socket activation must hand us).
    @inline(never)
    package static func isListeningStream(_ fd: FD) -> Bool {
        var type: CInt = 0
        var accepting: CInt = 0
        var len = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd.rawValue, SOL_SOCKET, SO_TYPE, &type, &len) == 0 else { return false }
        len = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd.rawValue, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 else { return false }
        return type == CInt(SOCK_STREAM.rawValue) && accepting == 1
    }

    /// What every proxied socket needs: TCP_NODELAY, so a small request leaves at once, and
    /// SO_OOBINLINE, so a TCP urgent byte stays in the stream and is forwarded as data (by
    /// default the kernel takes it out of the stream and a proxy that reads with read(2)
    /// would lose it).
    @inline(never)
    package static func setSessionOptions(_ fd: FD) throws(Errno) {
        try setOption(fd, CInt(IPPROTO_TCP), TCP_NODELAY, 1)
        try setOption(fd, SOL_SOCKET, SO_OOBINLINE, 1)
    }

    @inline(never)
    package static func setOption(_ fd: FD, _ level: CInt, _ name: CInt, _ value: CInt) throws(Errno) {
        var v = value
        _ = try retrying { setsockopt(fd.rawValue, level, name, &v, socklen_t(MemoryLayout<CInt>.size)) }
    }

    @inline(never)
    package static func localAddress(_ fd: FD) throws(Errno) -> SocketAddress {
        var address = SocketAddress()
        _ = try withUnsafeMutablePointer(to: &address.storage) { p throws(Errno) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(Errno) in
                try retrying { getsockname(fd.rawValue, sa, &address.length) }
            }
        }
        return address
    }
}
