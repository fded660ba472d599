// Many echo sessions at once through one port: each has a writer thread that sends its bytes
// then half-closes, and a reader thread that checks every byte coming back, then EOF.
import Foundation
import Synchronization

struct EchoSession: Sendable {
    /// What the echo must return, in order.
    let expected: [UInt8]
    /// Sends the session's bytes (in whatever pieces, urgent or not); the harness half-closes after.
    let write: @Sendable (TestClient) throws -> Void
}

enum EchoSessions {
    /// Runs every session to its end; returns whether all finished within `timeout` and what failed.
    static func run(
        port: UInt16, _ sessions: [EchoSession], timeout: Int, urgentInline: Bool = false
    ) throws
        -> (finished: Bool, failures: [String])
    {
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for (index, session) in sessions.enumerated() {
            let client = try TestClient(port: port, timeout: .seconds(30))
            if urgentInline { SocketIO.keepUrgentInline(client.fd) }
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    try session.write(client)
                    client.shutdownWrite()
                } catch {
                    failures.withLock { $0.append("session \(index) writer: \(error)") }
                }
            }.start()
            group.enter()
            Thread {
                defer { group.leave() }
                if let failure = client.compareUntilEOF(with: session.expected) {
                    failures.withLock { $0.append("session \(index) reader: \(failure)") }
                }
                client.close()
            }.start()
        }
        let finished = group.wait(timeout: .now() + .seconds(timeout)) == .success
        return (finished, failures.withLock { $0 })
    }
}
