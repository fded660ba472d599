// AF_UNIX sockets against the real kernel: listen with a mode, accept, peer credentials,
// connect, stale-socket recovery and refusal to steal a live or non-socket path.
import Glibc
import SluiceTestSupport
import Testing

@testable import SluiceSys

@Suite struct UnixSocketTests {
    @Test func listenSetsModeAcceptsAndReportsPeer() throws {
        let dir = ScratchDirectory()
        let path = dir.file("admin.sock")
        let listener = try UnixSocket.listen(path: path, mode: 0o660)
        defer { listener.close() }
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
        #expect(st.st_mode & 0o777 == 0o660)
        #expect(try UnixSocket.accept(listener) == nil)

        let client = try UnixSocket.connect(path: path)
        defer { client.close() }
        var server: FD?
        for _ in 0..<100 where server == nil {
            server = try UnixSocket.accept(listener)
            if server == nil { usleep(1000) }
        }
        let accepted = try #require(server)
        defer { accepted.close() }
        let peer = try UnixSocket.peerCredentials(accepted)
        #expect(peer.uid == getuid())
        #expect(peer.gid == getgid())
        #expect(peer.pid == getpid())

        #expect(try client.send(Array("ping\n".utf8)) == .done(5))
        #expect(try Poll.readable(accepted, timeoutMillis: 1000))
        var got: [UInt8] = []
        #expect(try accepted.receive(appendingTo: &got) == .done(5))
        #expect(got == Array("ping\n".utf8))
        #expect(try accepted.receive(appendingTo: &got) == .wouldBlock)
    }

    @Test func connectToMissingPathFails() {
        let dir = ScratchDirectory()
        #expect(throws: Errno.noEntry) { try UnixSocket.connect(path: dir.file("none.sock")) }
    }

    @Test func staleSocketIsReplaced() throws {
        let dir = ScratchDirectory()
        let path = dir.file("stale.sock")
        // A socket file whose owner is gone: bound, never listening, closed.
        let old = try UnixSocket.listen(path: path)
        old.close()
        #expect(throws: Errno.connectionRefused) { try UnixSocket.connect(path: path) }
        let fresh = try UnixSocket.listen(path: path)
        defer { fresh.close() }
        let client = try UnixSocket.connect(path: path)
        client.close()
    }

    @Test func liveSocketIsNotStolen() throws {
        let dir = ScratchDirectory()
        let path = dir.file("live.sock")
        let live = try UnixSocket.listen(path: path)
        defer { live.close() }
        #expect(throws: UnixSocketError.inUse(path: path)) { try UnixSocket.listen(path: path) }
        // The live one still answers.
        let client = try UnixSocket.connect(path: path)
        client.close()
        #expect(UnixSocketError.inUse(path: path).description.contains("in use by a running process"))
    }

    @Test func regularFileIsNeverRemoved() throws {
        let dir = ScratchDirectory()
        let path = dir.file("not-a-socket")
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        close(fd)
        #expect(throws: UnixSocketError.notASocket(path: path)) { try UnixSocket.listen(path: path) }
        #expect(access(path, F_OK) == 0)
    }

    @Test func overlongPathIsRefused() {
        let path = "/tmp/" + String(repeating: "x", count: 200)
        #expect(throws: UnixSocketError.pathTooLong(path: path)) { try UnixSocket.listen(path: path) }
        #expect(throws: Errno(rawValue: ENAMETOOLONG)) { try UnixSocket.connect(path: path) }
    }

    @Test func receiveTimesOutOnBlockingSocket() throws {
        let dir = ScratchDirectory()
        let path = dir.file("slow.sock")
        let listener = try UnixSocket.listen(path: path)
        defer { listener.close() }
        let client = try UnixSocket.connect(path: path)
        defer { client.close() }
        try UnixSocket.setTimeouts(client, milliseconds: 100)
        var bytes: [UInt8] = []
        #expect(try client.receive(appendingTo: &bytes) == .wouldBlock)
        #expect(try !Poll.readable(client, timeoutMillis: 10))
        #expect(try Poll.writable(client, timeoutMillis: 10))
    }
}
