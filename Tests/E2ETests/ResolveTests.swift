// `resolve-interval` (SPEC "pool"): a server's host name moves from 127.0.0.2 to 127.0.0.3;
// new sessions go to the new address while a session on the old one goes on byte-exact, and
// a failed lookup keeps the address and warns once. sluice runs in its own mount namespace
// with a private /etc/hosts (`unshare -m` and a bind mount, which need root), so the test
// changes what the name resolves to without touching the machine's resolver.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite(.enabled(if: getuid() == 0, "unshare -m and mount need root")) struct ResolveTests {
        static let host = "sluice-resolve.test"

        /// Overwrites the start of the hosts file in place: the bind mount shows this inode, so
        /// the file must not be replaced. Every line the test writes has the same length and
        /// differs in one byte, so a lookup at that moment reads the old line or the new one.
        static func setHosts(_ path: String, _ line: String) throws {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { throw HarnessError("open \(path): errno \(errno)") }
            defer { close(fd) }
            let bytes = Array(line.utf8)
            guard pwrite(fd, bytes, bytes.count, 0) == bytes.count else {
                throw HarnessError("pwrite \(path): errno \(errno)")
            }
        }

        @Test func aMovedNameDrainsTheOldAddressAndServesTheNewOne() throws {
            let old = try EchoBackend(name: "old", host: "127.0.0.2")
            defer { old.stop() }
            let new = try EchoBackend(name: "new", host: "127.0.0.3", port: old.port)
            defer { new.stop() }
            let dir = try TempDirectory(prefix: "sluice-resolve")
            let hosts = try dir.write("hosts", "127.0.0.2 \(Self.host)\n")
            let socket = dir.path("admin.sock")
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 2
                        admin-socket \(socket)
                        log-level debug
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                        resolve-interval 1s
                        server a \(Self.host):\(old.port) weight 30
                    """,
                launcher: [
                    "/usr/bin/unshare", "-m", "--", "/bin/sh", "-c", #"mount --bind "$0" /etc/hosts && exec "$@""#,
                    hosts,
                ])
            let ctl = { (args: [String]) throws -> String in
                try SluiceCommand.run(["-s", socket] + args, binary: "sluicectl").stdout
            }
            try sluice.explaining { () throws in
                let held = try TestClient(port: port)
                try E2E.DrainTests.exchange(held, rounds: 3, seed: 1)
                #expect(old.currentConnections == 1)
                #expect(try ctl(["set", "server", "p/a", "state", "drain"]) == "OK\n")
                #expect(try ctl(["set", "server", "p/a", "state", "ready"]) == "OK\n")

                // The name moves: the server at the new address takes new sessions at once.
                try Self.setHosts(hosts, "127.0.0.3 \(Self.host)\n")
                try sluice.waitForLog(
                    "server p/a address 127.0.0.2:\(old.port) -> 127.0.0.3:\(old.port)", timeout: .seconds(10))
                let fresh = try TestClient(port: port)
                try E2E.DrainTests.exchange(fresh, rounds: 3, seed: 2)
                #expect(new.currentConnections == 1 && old.totalConnections == 1)
                let servers = try ctl(["show", "servers"])
                #expect(
                    servers.contains("\(Self.host)(127.0.0.2:\(old.port))") && servers.contains("removing"),
                    "\(servers)")
                #expect(servers.contains("\(Self.host)(127.0.0.3:\(old.port))"), "\(servers)")
                #expect(
                    servers.split(separator: "\n").contains {
                        $0.contains("127.0.0.3") && $0.contains(" ready ") && $0.contains(" 30 ")
                    },
                    "weight and state carry over: \(servers)")

                // The old session drains: it goes on byte-exact, and its server leaves with it.
                try E2E.DrainTests.exchange(held, rounds: 5, seed: 3)
                held.shutdownWrite()
                #expect(try held.receive() == .eof)
                held.close()
                var last = ""
                try waitUntil("the old address to leave show servers", lastSeen: { last }) {
                    last = try ctl(["show", "servers"])
                    return !last.contains("127.0.0.2")
                }

                // Failed lookups keep the last good address and warn once per streak.
                try Self.setHosts(hosts, "127.0.0.3 \(Self.host.dropLast())x\n")
                try sluice.waitForLog("host lookup failed", count: 3, timeout: .seconds(15))
                let warnings = sluice.logLines(containing: "cannot resolve host: keeping the last good address")
                #expect(warnings.count == 1)
                #expect(warnings.first?.contains("reason=") == true, "the resolver's reason: \(warnings)")
                try E2E.DrainTests.exchange(fresh, rounds: 2, seed: 4)
                let again = try TestClient(port: port)
                try E2E.DrainTests.exchange(again, rounds: 2, seed: 5)
                #expect(new.totalConnections == 2 && old.totalConnections == 1)
                try Self.setHosts(hosts, "127.0.0.3 \(Self.host)\n")
                try sluice.waitForLog(#"msg="host resolves again""#, timeout: .seconds(10))
                fresh.close()
                again.close()
            }
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
