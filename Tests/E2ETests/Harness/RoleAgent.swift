// A Patroni-like HTTP agent for `check http /primary` with `check-port`: answers every request
// with the status it is set to (200 primary, 503 not) and closes, as Patroni's REST API does.
// `hold()` makes it read requests but keep the answers until `release()` (a slow first check).
import Glibc
import Synchronization

final class RoleAgent: Sendable {
    private final class State: Sendable {
        let status = Atomic<Int>(200)
        let held = Atomic<Bool>(false)
    }

    let server: TestServer
    private let state: State

    init(primary: Bool, held: Bool = false) throws {
        let state = State()
        state.status.store(primary ? 200 : 503, ordering: .relaxed)
        state.held.store(held, ordering: .relaxed)
        self.state = state
        server = try TestServer(name: "agent") { fd in RoleAgent.serve(fd, state) }
    }

    var port: UInt16 { server.port }
    func set(primary: Bool) { state.status.store(primary ? 200 : 503, ordering: .relaxed) }
    func stop() { server.stop() }
    func hold() { state.held.store(true, ordering: .relaxed) }
    func release() { state.held.store(false, ordering: .relaxed) }

    /// Reads the request head up to its blank line, then answers with the current status.
    private static func serve(_ fd: Int32, _ state: State) {
        var head: [UInt8] = []
        let end = Array("\r\n\r\n".utf8)
        while !head.suffix(4).elementsEqual(end) {
            guard head.count < 8192, case .bytes(let more)? = try? SocketIO.receive(fd, max: 1024) else { return }
            head += more
        }
        // A handler thread of the agent, not the test, waits here (bounded).
        let deadline = Deadline(.seconds(60))
        while state.held.load(ordering: .relaxed) && !deadline.expired { usleep(1000) }
        let code = state.status.load(ordering: .relaxed)
        _ = try? SocketIO.sendAll(
            fd, Array("HTTP/1.0 \(code) \(code == 200 ? "OK" : "Service Unavailable")\r\n\r\n".utf8))
    }
}
