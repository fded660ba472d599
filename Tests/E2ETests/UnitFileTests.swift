// The shipped systemd units: `systemd-analyze verify` accepts them (with ExecStart pointing
// at the built binary), and the service keeps the properties the SPEC promises.
import Foundation
import Testing

extension E2E {
    @Suite struct UnitFileTests {
        static func repoFile(_ path: String, file: String = #filePath) -> URL {
            var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
            while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                directory = directory.deletingLastPathComponent()
            }
            return directory.appendingPathComponent(path)
        }

        @Test func unitsVerify() throws {
            let dir = try TempDirectory(prefix: "sluice-units")
            let service = try String(contentsOf: Self.repoFile("Systemd/sluice.service"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/sluice", with: try SluiceBinary.path())
            _ = try dir.write("sluice.service", service)
            _ = try dir.write(
                "sluice.socket", try String(contentsOf: Self.repoFile("Systemd/sluice.socket"), encoding: .utf8))
            let verify = Process()
            verify.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
            verify.arguments = ["verify", dir.path("sluice.service"), dir.path("sluice.socket")]
            verify.currentDirectoryURL = dir.url
            let err = Pipe()
            verify.standardError = err
            verify.standardOutput = err
            try verify.run()
            let output = OutputCollector(err.fileHandleForReading, name: "verify")
            verify.waitUntilExit()
            try waitUntil("systemd-analyze output", timeout: .seconds(2)) { output.closed }
            #expect(verify.terminationStatus == 0, "\(output.text)")
            #expect(!output.text.contains("sluice.s"), "warnings about our units: \(output.text)")
        }

        @Test func serviceIsNotifyWatchdogAndUnprivileged() throws {
            let lines = try String(contentsOf: Self.repoFile("Systemd/sluice.service"), encoding: .utf8)
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            for required in [
                "Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "CapabilityBoundingSet=",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
                "MemoryDenyWriteExecute=yes", "RuntimeDirectory=sluice", "StateDirectory=sluice", "DynamicUser=yes",
            ] {
                #expect(lines.contains(required), "sluice.service lacks \(required)")
            }
            #expect(lines.contains { $0.hasPrefix("WatchdogSec=") } && lines.contains { $0.hasPrefix("LimitNOFILE=") })
            let socket = try String(contentsOf: Self.repoFile("Systemd/sluice.socket"), encoding: .utf8)
            #expect(socket.contains("ListenStream=") && socket.contains("FileDescriptorName="))
        }
    }
}
