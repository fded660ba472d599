// Command line: -c (check), --version, -h, usage errors and a missing config file.
import Foundation
import Testing

extension E2E {
    @Suite struct CLITests {
        @Test func versionPrintsTheVersionLine() throws {
            let result = try SluiceCommand.run(["--version"])
            #expect(result.status == .exited(0), "\(result)")
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "sluice 0.1.0", "\(result)")
        }

        @Test func helpPrintsUsage() throws {
            let result = try SluiceCommand.run(["-h"])
            #expect(result.status == .exited(0), "\(result)")
            let text = (result.stdout + result.stderr).lowercased()
            #expect(text.contains("usage"), "\(result)")
            #expect(text.contains("-f") && text.contains("-c"), "\(result)")
        }

        @Test(arguments: [["--bogus"], ["-x"], ["-f"]])
        func badUsageExitsTwo(arguments: [String]) throws {
            let result = try SluiceCommand.run(arguments)
            #expect(result.status == .exited(2), "\(result)")
            #expect(!result.stderr.isEmpty, "a usage error must say what is wrong\n\(result)")
        }

        @Test func checkAcceptsAValidFile() throws {
            let directory = try TempDirectory()
            let path = try directory.write(
                "valid.conf",
                TestConfig.global() + """
                    defaults
                        timeout connect 2s

                    pool web
                        bind 127.0.0.1:18080
                        bind [::1]:18080
                        balance roundrobin
                        retries 1
                        maxconn 100
                        timeout idle 30s
                        check none
                        server a 127.0.0.1:18081 weight 5
                        server b 127.0.0.1:18082 weight 1 maxconn 10
                        server c 127.0.0.1:18083 backup
                        server d 127.0.0.1:18084 disabled
                    """)
            let result = try SluiceCommand.run(["-c", "-f", path])
            #expect(result.status == .exited(0), "\(result)")
            #expect(result.stdout.contains("configuration valid"), "\(result)")
        }

        @Test func checkReportsEveryErrorWithFileAndLine() throws {
            let directory = try TempDirectory()
            let path = try directory.write(
                "broken.conf",
                """
                global
                    workers 1
                    admin-socket none
                    frobnicate yes
                pool web
                    bind 127.0.0.1:18080
                    balance leastconnn
                    server a 127.0.0.1:18081 weight 5000
                """)
            let result = try SluiceCommand.run(["-c", "-f", path])
            #expect(result.status == .exited(1), "\(result)")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("\(path):") }
            #expect(errors.count == 3, "expected 3 errors, one per bad line\n\(result)")
            for line in [4, 7, 8] {
                #expect(errors.contains { $0.hasPrefix("\(path):\(line):") }, "no error for line \(line)\n\(result)")
            }
            #expect(!result.stdout.contains("configuration valid"), "\(result)")
        }

        @Test(arguments: [true, false])
        func missingFileExitsOneNamingThePath(checkOnly: Bool) throws {
            let directory = try TempDirectory()
            let path = directory.path("does-not-exist.conf")
            let result = try SluiceCommand.run((checkOnly ? ["-c"] : []) + ["-f", path])
            #expect(result.status == .exited(1), "\(result)")
            #expect(result.stderr.contains(path), "\(result)")
        }
    }
}
