// A `reload` reply made on another thread (DeferredReply) over a real admin socket: while one
// client waits for it, others are answered; the waiting client gets the reply once it is
// fulfilled, or the deferred reply's timeout text if it never is; a client that hangs up
// while waiting does not stop the server.
import Glibc
import SluiceCore
import SluiceRuntime
import SluiceSys
import SluiceTestSupport
import Synchronization
import Testing

@Suite struct AdminDeferredReplyTests {
    /// `reload` is answered later through the reply the test holds; the rest as the fake does.
    final class LaterHandler: AdminHandler {
        let timeout: Duration
        let issued = Mutex<[DeferredReply]>([])

        init(timeout: Duration) { self.timeout = timeout }

        func handle(_ request: AdminRequest, peer: PeerCredentials) -> AdminReplyText {
            FakeAdminHandler().handle(request, peer: peer)
        }

        func handleLater(_ request: AdminRequest, peer: PeerCredentials) -> DeferredReply? {
            guard request.command == .reload else { return nil }
            let reply = DeferredReply(timeout: timeout, timeoutReply: Array("ERR too late\n".utf8))
            issued.withLock { $0.append(reply) }
            return reply
        }

        /// The reply of the `n`th reload, once the admin thread has asked for it.
        func reply(_ n: Int) throws -> DeferredReply {
            let start = Instant.now()
            while true {
                if let reply = issued.withLock({ $0.count > n ? $0[n] : nil }) { return reply }
                try #require(Instant.now().millis(since: start) < 10_000, "no reload reached the handler")
                ProcessControl.sleepMillis(1)
            }
        }
    }

    static func serve(_ dir: ScratchDirectory, _ handler: LaterHandler) throws -> AdminServer {
        let server = try AdminServer(AdminServer.Options(path: dir.file("admin.sock")), handler: handler)
        server.start()
        return server
    }

    @Test func otherClientsAreServedWhileAReloadWaits() throws {
        let dir = ScratchDirectory()
        let handler = LaterHandler(timeout: .seconds(60))
        let server = try Self.serve(dir, handler)
        defer { server.stop() }
        let reloadReply = Mutex<String?>(nil)
        let waiter = ThreadHandle.spawn(name: "reload-client") {
            let text = (try? AdminClient.ask(server.path, "reload")) ?? "no reply"
            reloadReply.withLock { $0 = text }
        }
        let pending = try handler.reply(0)
        for _ in 0..<3 {
            #expect(
                try AdminClient.ask(server.path, "show info")
                    == AdminReplyText.info(FakeAdminHandler.info, json: false).text)
        }
        #expect(reloadReply.withLock { $0 } == nil)
        pending.fulfil(Array("OK\n".utf8))
        waiter.join()
        #expect(reloadReply.withLock { $0 } == "OK\n")
    }

    @Test func aReplyThatNeverComesGetsTheTimeoutTextAndAHangUpIsHarmless() throws {
        let dir = ScratchDirectory()
        let handler = LaterHandler(timeout: .milliseconds(200))
        let server = try Self.serve(dir, handler)
        defer { server.stop() }
        #expect(try AdminClient.ask(server.path, "reload") == "ERR too late\n")

        // A client that sends reload and closes at once: its reply comes to nobody.
        let fd = try UnixSocket.connect(path: server.path)
        _ = try? fd.send(Array("reload\n".utf8), from: 0)
        _ = try handler.reply(1)
        fd.close()
        handler.issued.withLock { $0[1] }.fulfil(Array("OK\n".utf8))
        #expect(try AdminClient.ask(server.path, "show info").hasPrefix("version"))
    }
}
