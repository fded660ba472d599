// `proxy-protocol v1|v2`: the server gets a header with the real client and listener
// addresses before any client byte, for IPv4 and IPv6 clients, and the bytes then flow.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct ProxyProtocolTests {
        @Test(arguments: ["v1", "v2"])
        func headerCarriesClientAndListenerAddresses(version: String) throws {
            let backend = try ProxyHeaderBackend()
            defer { backend.stop() }
            let port = try FreePort.tcp()
            let port6 = try FreePort.tcp(host: "::1")
            let sluice = try SluiceProcess(
                config: TestConfig.global() + """
                    pool p
                        bind 127.0.0.1:\(port)
                        bind [::1]:\(port6)
                        proxy-protocol \(version)
                        check none
                        server s 127.0.0.1:\(backend.port)
                    """)
            let client = try TestClient(port: port, source: "127.0.0.7")
            let local = try SocketAddress.localPort(of: client.fd)
            let expected4 =
                version == "v1"
                ? "v1 TCP4 127.0.0.7:\(local) 127.0.0.1:\(port)" : "v2 TCP4 127.0.0.7:\(local) 127.0.0.1:\(port)"
            #expect(try sluice.explaining { try client.readLine() } == expected4)
            try client.send("after the header\n")
            #expect(try client.readLine() == "after the header")
            client.close()

            let client6 = try TestClient(port: port6, host: "::1")
            let local6 = try SocketAddress.localPort(of: client6.fd)
            let expected6 =
                version == "v1"
                ? "v1 TCP6 ::1:\(local6) ::1:\(port6)"
                : "v2 TCP6 [0:0:0:0:0:0:0:1]:\(local6) [0:0:0:0:0:0:0:1]:\(port6)"
            #expect(try client6.readLine() == expected6)
            client6.close()
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
