// `balance hash` (Maglev): the same client address always reaches the same server, from any
// worker; clients spread over the servers; draining one server moves only its clients.
import Foundation
import Testing

extension E2E {
    @Suite struct HashTests {
        @Test func sameClientSameServerAndMinimalMoves() throws {
            let backends = try ["a", "b", "c"].map { try GreetingBackend(name: $0) }
            defer { for b in backends { b.stop() } }
            let dir = try TempDirectory(prefix: "sluice-hash")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 2
                        admin-socket \(socket)
                    pool p
                        bind 127.0.0.1:\(port)
                        balance hash
                        hash-key src
                        check none
                    \(backends.map { "    server \($0.name) 127.0.0.1:\($0.port)" }.joined(separator: "\n"))
                    """)
            let sources = (2...20).map { "127.0.0.\($0)" }
            var owner: [String: String] = [:]
            for source in sources {
                var seen: Set<String> = []
                for _ in 0..<3 {
                    let (client, name) = try sluice.explaining { try Greetings.connect(port: port, source: source) }
                    client.close()
                    seen.insert(name)
                }
                #expect(seen.count == 1, "\(source) reached \(seen)")
                owner[source] = seen.first
            }
            #expect(Set(owner.values).count == 3, "19 clients should reach all 3 servers: \(owner)")

            let drained = owner["127.0.0.2"]!
            let result = try SluiceCommand.run(
                ["-s", socket, "set", "server", "p/\(drained)", "state", "drain"], binary: "sluicectl")
            #expect(result.status == .exited(0))
            for source in sources {
                let (client, name) = try Greetings.connect(port: port, source: source)
                client.close()
                if owner[source] == drained {
                    #expect(name != drained, "\(source) still sent to the draining server")
                } else {
                    #expect(
                        name == owner[source],
                        "\(source) moved from \(owner[source]!) to \(name) though its server stayed")
                }
            }
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
