// Slowloris clients of one operator endpoint, kept at a constant number: each `tick` drips
// one more byte of an endless request from every dripping client, and replaces every client
// sluice has answered (a timeout reply) or closed (an eviction) with a new one of its kind.
// Everything is non-blocking on the test's side, so one thread keeps hundreds going.
import Glibc

final class SlowClients {
    enum Kind: CaseIterable {
        /// Sends the head of a request at once, then one byte a tick, never finishing it.
        case drip
        /// Sends the head of a request, then nothing.
        case partial
        /// Connects and says nothing.
        case silent
    }

    /// What sluice did to the clients it let go: replied (a timeout reply) or closed.
    private(set) var replied = 0
    private(set) var closed = 0
    private var clients: [(kind: Kind, fd: Int32)] = []
    private let connect: () throws -> Int32
    private let head: [UInt8]
    private let dripByte: UInt8

    /// `connect`: a new blocking connection to the endpoint; `head`: the incomplete request
    /// that dripping and partial clients start with; `dripByte`: what drips after it.
    init(each count: Int, connect: @escaping () throws -> Int32, head: String, dripByte: Character) throws {
        self.connect = connect
        self.head = Array(head.utf8)
        self.dripByte = dripByte.asciiValue!
        for kind in Kind.allCases {
            for _ in 0..<count { clients.append((kind, try open(kind))) }
        }
    }

    deinit { closeAll() }

    var count: Int { clients.count }

    private func open(_ kind: Kind) throws -> Int32 {
        let fd = try connect()
        if kind != .silent { _ = send(fd, head, head.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        return fd
    }

    /// One round: a byte from each dripping client; answered or closed clients replaced.
    func tick() throws {
        var byte = dripByte
        var scratch = [UInt8](repeating: 0, count: 4096)
        for i in clients.indices {
            let (kind, fd) = clients[i]
            var gone = false
            let n = recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
            if n > 0 {
                replied += 1
                gone = true
            } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                closed += 1
                gone = true
            } else if kind == .drip && send(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno != EAGAIN {
                closed += 1
                gone = true
            }
            if gone {
                Glibc.close(fd)
                clients[i].fd = try open(kind)
            }
        }
    }

    /// A blocking TCP connection to 127.0.0.1:`port` (the connect waits while the backlog is full).
    static func tcp(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoText())") }
        SocketIO.setTimeouts(fd, .seconds(10))
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        guard address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 else {
            let text = errnoText()
            Glibc.close(fd)
            throw HarnessError("connect :\(port): \(text)")
        }
        return fd
    }

    func closeAll() {
        for client in clients { Glibc.close(client.fd) }
        clients = []
    }
}
