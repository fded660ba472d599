// Many raw connections a test opens and keeps open (idle operators' endpoints, readers that
// never read), closed together; and what /proc says about a process: resident memory and open
// fds. Raises the test process's own open-files limit, as sluice does for itself.
import Foundation
import Glibc

final class HeldConnections {
    private(set) var fds: [Int32] = []

    deinit { closeAll() }

    /// The soft open-files limit raised to the hard one; fails when fewer than `needed` fit.
    static func ensureFileLimit(_ needed: Int) throws {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw HarnessError("getrlimit: \(errnoText())")
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        guard limit.rlim_cur >= rlim_t(needed) else {
            throw HarnessError("this test needs \(needed) open files; the hard limit is \(limit.rlim_max) (ulimit -Hn)")
        }
    }

    /// A TCP connection to 127.0.0.1:`port`; `receiveBuffer` (SO_RCVBUF, set before connect)
    /// keeps a client that never reads from soaking up the reply in its own kernel buffer.
    /// `timeout` bounds the connect too (a full listen backlog makes it wait).
    func tcp(port: UInt16, receiveBuffer: Int32? = nil, timeout: Duration = .seconds(10)) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoText())") }
        fds.append(fd)
        SocketIO.setTimeouts(fd, timeout)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            throw HarnessError("connect :\(port): \(errnoText())")
        }
        return fd
    }

    /// A Unix stream connection to `path`; `timeout` bounds the connect (SO_SNDTIMEO).
    func unix(_ path: String, timeout: Duration = .seconds(10)) throws -> Int32 {
        let fd = try UnixClient.connect(path, timeout: timeout)
        fds.append(fd)
        return fd
    }

    func closeAll() {
        for fd in fds { close(fd) }
        fds = []
    }
}

enum ProcStatus {
    /// VmRSS of `pid` in bytes.
    static func residentBytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw HarnessError("no VmRSS in /proc/\(pid)/status:\n\(status)") }
        return kib * 1024
    }

    /// How many fds `pid` has open.
    static func openFiles(_ pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    /// `fd -> target` for each open fd of `pid`, for failure messages.
    static func describeFiles(_ pid: Int32) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return names.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.map { name in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(name)")) ?? "?"
            return "\(name) -> \(target)"
        }.joined(separator: ", ")
    }
}
