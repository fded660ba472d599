// UDP: sockets for `mode udp` listeners and flows, and a batch of datagrams moved with
// recvmmsg/sendmmsg (the msghdr plumbing lives in the C shim, dgram.c). Listeners report
// each datagram's local address (pktinfo), so a reply leaves from the address the client
// wrote to even when the listener is bound to 0.0.0.0 or [::].
import CSluiceLinux
import Glibc

package enum DatagramSocket {
    /// A UDP socket bound to `endpoint` for a listener (IPv6 ones v6-only, as for TCP).
    @inline(never)
    package static func bind(_ endpoint: IPEndpoint) throws(Errno) -> FD {
        let fd = try create(v6: endpoint.address.isV6)
        do {
            try Socket.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if endpoint.address.isV6 { try Socket.setOption(fd, CInt(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            let address = SocketAddress(endpoint)
            _ = try retrying { address.withSockaddr { Glibc.bind(fd.rawValue, $0, $1) } }
            try prepareListener(fd)
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    /// A socket connected to a server: replies are read from it, and ICMP errors (nothing
    /// listens there) come back as ECONNREFUSED.
    @inline(never)
    package static func connected(to endpoint: IPEndpoint) throws(Errno) -> FD {
        let fd = try create(v6: endpoint.address.isV6)
        do {
            _ = try Socket.connect(fd, to: endpoint)
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    /// Makes a bound UDP socket (also one systemd passed) a listener: the kernel reports each
    /// datagram's destination address, and the receive buffer is as large as the system allows
    /// (up to 4 MiB: net.core.rmem_max caps it), since one worker drains a listener and a burst
    /// it cannot read at once is otherwise dropped (measured: an iperf3 burst at 1 Gbit/s lost
    /// 9 % of its datagrams in the default 208 KiB buffer).
    @inline(never)
    package static func prepareListener(_ fd: FD) throws(Errno) {
        let family = try Socket.localAddress(fd).family
        _ = try retrying { sluice_udp_enable_pktinfo(fd.rawValue, family == AF_INET6 ? 1 : 0) }
        try? Socket.setOption(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20)
    }

    /// A bound SOCK_DGRAM socket (what socket activation hands us for ListenDatagram=).
    @inline(never)
    package static func isBoundDatagram(_ fd: FD) -> Bool {
        var type: CInt = 0
        var len = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd.rawValue, SOL_SOCKET, SO_TYPE, &type, &len) == 0,
            type == CInt(SOCK_DGRAM.rawValue), let local = try? Socket.localAddress(fd), let endpoint = local.endpoint
        else { return false }
        return endpoint.port != 0
    }

    private static func create(v6: Bool) throws(Errno) -> FD {
        let type = CInt(SOCK_DGRAM.rawValue) | sluice_SOCK_NONBLOCK | sluice_SOCK_CLOEXEC
        return FD(rawValue: try retrying { Glibc.socket(v6 ? AF_INET6 : AF_INET, type, 0) })
    }
}

/// Room for `capacity` datagrams of up to 64 KiB, allocated on first use (a worker with no
/// UDP listener never pays for it).
package final class DatagramBatch {
    /// The largest UDP payload is 65507 bytes (IPv4); anything longer is reported truncated.
    package static let datagramSize = 65536
    package let capacity: Int
    private var handle: OpaquePointer?

    package init(capacity: Int) { self.capacity = capacity }

    deinit { sluice_dgrams_free(handle) }

    /// Receives up to `capacity` datagrams; 0 when none is waiting. An error is the pending
    /// error of the socket (ECONNREFUSED on a flow socket after an ICMP port unreachable).
    @inline(never)
    package func receive(_ fd: FD) throws(Errno) -> Int {
        if handle == nil {
            handle = sluice_dgrams_new(CUnsignedInt(capacity), CUnsignedInt(Self.datagramSize))
            guard handle != nil else { throw Errno.noMemory }
        }
        while true {
            let n = sluice_dgrams_recv(handle, fd.rawValue)
            if n >= 0 { return Int(n) }
            let err = Errno.current
            if err == .interrupted { continue }
            if err == .wouldBlock { return 0 }
            checkBug(err, #function)
            throw err
        }
    }

    @inline(__always)
    package func length(_ i: Int) -> Int { Int(sluice_dgrams_length(handle, CUnsignedInt(i))) }

    @inline(__always)
    package func truncated(_ i: Int) -> Bool { sluice_dgrams_truncated(handle, CUnsignedInt(i)) != 0 }

    /// Who sent datagram `i`.
    package func peer(_ i: Int) -> SocketAddress {
        var address = SocketAddress()
        address.length = sluice_dgrams_peer(handle, CUnsignedInt(i), &address.storage)
        return address
    }

    /// The address datagram `i` was sent to (family 0 when the socket did not say).
    package func local(_ i: Int) -> SocketAddress {
        var address = SocketAddress()
        sluice_dgrams_local(handle, CUnsignedInt(i), &address.storage)
        return address
    }

    /// Sends datagrams `from ..< from+count` on a connected socket. Returns how many left;
    /// the rest were refused for now (EAGAIN: a full socket buffer drops them, as UDP does).
    @inline(never)
    package func send(_ from: Int, _ count: Int, on fd: FD) throws(Errno) -> Int {
        try sent(sluice_dgrams_send(handle, CUnsignedInt(from), CUnsignedInt(count), fd.rawValue, nil, 0, nil))
    }

    /// Sends datagrams `from ..< from+count` to `peer`, from the local address `source`
    /// (family 0: the socket's own).
    @inline(never)
    package func send(
        _ from: Int, _ count: Int, on fd: FD, to peer: SocketAddress, source: SocketAddress
    )
        throws(Errno) -> Int
    {
        var peerStorage = peer.storage
        var sourceStorage = source.storage
        return try sent(
            sluice_dgrams_send(
                handle, CUnsignedInt(from), CUnsignedInt(count), fd.rawValue, &peerStorage, peer.length,
                &sourceStorage))
    }

    private func sent(_ rc: CInt) throws(Errno) -> Int {
        if rc >= 0 { return Int(rc) }
        let err = Errno.current
        if err == .wouldBlock || err == .noBuffers { return 0 }
        checkBug(err, #function)
        throw err
    }
}
