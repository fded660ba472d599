// Started as root with `user`/`group`, sluice binds first and then runs as that user, and
// still serves; an unknown user is a start-up error naming it.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct PrivilegeTests {
        @Test(.enabled(if: getuid() == 0, "needs root"))
        func dropsToTheConfiguredUserAfterBinding() throws {
            let echo = try EchoBackend()
            defer { echo.stop() }
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        admin-socket none
                        user nobody
                        group nogroup
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                        server e 127.0.0.1:\(echo.port)
                    """)
            let status = try String(contentsOfFile: "/proc/\(sluice.pid)/status", encoding: .utf8)
            let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
            let gid = status.split(separator: "\n").first { $0.hasPrefix("Gid:") } ?? ""
            #expect(uid.split(whereSeparator: \.isWhitespace).dropFirst().allSatisfy { $0 == "65534" }, "\(uid)")
            #expect(gid.split(whereSeparator: \.isWhitespace).dropFirst().allSatisfy { $0 == "65534" }, "\(gid)")
            let client = try TestClient(port: port)
            try client.send("still serving\n")
            #expect(try client.readLine() == "still serving")
            client.close()
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func unknownUserIsAStartupError() throws {
            let dir = try TempDirectory()
            let port = try FreePort.tcp()
            let path = try dir.write(
                "sluice.conf",
                """
                global
                    admin-socket none
                    user no-such-user-here
                pool p
                    bind 127.0.0.1:\(port)
                    check none
                """)
            let result = try SluiceCommand.run(["-f", path])
            #expect(result.status == .exited(1))
            #expect(result.stderr.contains("user 'no-such-user-here' does not exist"), "\(result)")
        }
    }
}
