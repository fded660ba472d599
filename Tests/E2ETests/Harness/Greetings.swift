// Helpers for scenarios built on GreetingBackend: connect a client and learn which server it
// reached from the greeting line.
enum Greetings {
    /// Connects, reads the greeting and returns the client (still open) and the server name.
    static func connect(port: UInt16, host: String = "127.0.0.1", source: String? = nil) throws -> (TestClient, String)
    {
        let client = try TestClient(port: port, host: host, source: source)
        return (client, try client.readLine())
    }

    /// Connects, reads the greeting, closes, returns the server name.
    static func once(port: UInt16) throws -> String {
        let (client, name) = try connect(port: port)
        client.close()
        return name
    }

    static func counts(_ names: [String]) -> [String: Int] {
        names.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }
}
