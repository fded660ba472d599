// Socket buffer sizes. A fixed SO_SNDBUF turns off the kernel's send-buffer autotuning (up to
// tcp_wmem's maximum, megabytes per socket), bounding what a client that never reads pins in
// kernel memory. Set on a listener, accepted sockets inherit it.
import Glibc

extension Socket {
    @inline(never)
    package static func setSendBuffer(_ fd: FD, bytes: Int) throws(Errno) {
        try setOption(fd, SOL_SOCKET, SO_SNDBUF, CInt(clamping: bytes))
    }
}
