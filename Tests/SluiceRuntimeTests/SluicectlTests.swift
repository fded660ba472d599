// The built sluicectl binary against an AdminServer with a fake handler: replies printed as
// sent, exit codes 0 / 1 (ERR) / 2 (unreachable socket, usage).
import Foundation
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
import Testing

@Suite struct SluicectlTests {
    @Test func exitCodesAndOutput() throws {
        let binary = try #require(sluicectlPath(), "sluicectl not built (swift build --build-tests builds it)")
        let dir = ScratchDirectory()
        var options = AdminServer.Options(path: dir.file("admin.sock"))
        options.mode = 0o600
        let server = try AdminServer(options, handler: FakeAdminHandler())
        server.start()
        defer { server.stop() }
        let s = ["-s", server.path]

        let info = try runProgram(binary, s + ["show", "info"])
        #expect(info.status == 0)
        #expect(info.stdout == AdminReplyText.info(FakeAdminHandler.info, json: false).text)

        let json = try runProgram(binary, s + ["--json", "show", "info"])
        #expect(json.status == 0)
        #expect(json.stdout == AdminReplyText.info(FakeAdminHandler.info, json: true).text)

        let help = try runProgram(binary, s + ["help"])
        #expect(help.status == 0 && help.stdout == AdminReplyText.help.text)

        let set = try runProgram(binary, s + ["set", "server", "db/pg", "state", "maint"])
        #expect(set.status == 0)
        #expect(set.stdout.hasPrefix("HANDLED setState(db/pg"))

        let err = try runProgram(binary, s + ["frobnicate"])
        #expect(err.status == 1)
        #expect(err.stdout.hasPrefix("ERR unknown command 'frobnicate'"))

        let reload = try runProgram(binary, s + ["reload"])
        #expect(reload.status == 1)
        #expect(reload.stdout.contains("x.conf:3:"))

        let missing = try runProgram(binary, ["-s", dir.file("nothing.sock"), "show", "info"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot connect to \(dir.file("nothing.sock"))"))

        for usage in [[String](), ["-s"], ["-x", "show", "info"], ["--json"]] {
            let result = try runProgram(binary, usage)
            #expect(result.status == 2, "\(usage)")
            #expect(result.stderr.contains("usage: sluicectl"), "\(usage): \(result.stderr)")
        }
        let h = try runProgram(binary, ["-h"])
        #expect(h.status == 0 && h.stdout.contains("usage: sluicectl"))
    }
}
