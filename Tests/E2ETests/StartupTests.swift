// Start-up on a machine set up by hand (issue #13 items 10 and 14): a `state-file` that is a
// FIFO or a directory is refused at once with a clear error (a FIFO used to hang open(2)); the
// default admin socket's directory /run/sluice is created when missing (0755, owned by the
// user sluice drops to), and when it cannot be, the error says what to set. /run is a private
// tmpfs (`unshare -m`) so the machine's /run is never touched.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct StartupTests {
        @Test func aStateFileThatIsNotARegularFileIsRefusedAtOnce() throws {
            let dir = try TempDirectory(prefix: "sluice-startup")
            let fifo = dir.path("state.fifo")
            #expect(mkfifo(fifo, 0o600) == 0)
            let folder = dir.path("state.d")
            #expect(mkdir(folder, 0o755) == 0)
            for (path, what) in [(fifo, "a FIFO (named pipe)"), (folder, "a directory")] {
                let conf = try dir.write(
                    "sluice.conf",
                    """
                    global
                        admin-socket none
                        state-file \(path)
                    pool p
                        bind 127.0.0.1:\(try FreePort.tcp())
                        server a 127.0.0.1:5432
                    """)
                // Before the fix a FIFO hung in open(2) until the timeout here killed it.
                let result = try SluiceCommand.run(["-f", conf], timeout: .seconds(20))
                #expect(result.status == .exited(1), "\(result)")
                #expect(result.stderr.contains("state-file \(path): is \(what), not a regular file"), "\(result)")
            }
        }

        /// Runs sluice with a fresh tmpfs on /run; `setup` is shell run there first.
        static func privateRun(_ setup: String = "true") -> [String] {
            [
                "/usr/bin/unshare", "-m", "--", "/bin/sh", "-c",
                #"mount -t tmpfs -o mode=0755 tmpfs /run && \#(setup) && exec "$@""#, "sh",
            ]
        }

        @Test(.enabled(if: getuid() == 0, "unshare -m and mount need root"))
        func theDefaultAdminSocketDirectoryIsCreatedForTheRunUser() throws {
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 1
                        user nobody
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                        server a 127.0.0.1:5432
                    """, launcher: Self.privateRun())
            try sluice.explaining { () throws in
                // The namespace's /run, seen from outside through the process's root.
                let directory = "/proc/\(sluice.pid)/root/run/sluice"
                var st = stat()
                #expect(stat(directory, &st) == 0, "\(directory): \(errnoText())")
                #expect(
                    st.st_mode & 0o7777 == 0o755 && st.st_uid == 65534,
                    "mode \(String(st.st_mode, radix: 8)) uid \(st.st_uid)")
                let info = try UnixClient.exchange(directory + "/admin.sock", Array("show info\n".utf8))
                #expect(info.contains("pid  ") || info.contains("pid "), "\(info)")
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test(.enabled(if: getuid() == 0, "unshare -m and mount need root"))
        func aDefaultAdminSocketThatCannotBeMadeSaysWhatToSet() throws {
            let dir = try TempDirectory(prefix: "sluice-startup")
            let conf = """
                global
                    workers 1
                pool p
                    bind 127.0.0.1:\(try FreePort.tcp())
                    server a 127.0.0.1:5432
                """
            // A file where the directory should be: nothing can be created there.
            let child = try SluiceProcess(
                config: conf, in: dir, launcher: Self.privateRun("touch /run/sluice"), waitForReady: false)
            defer { child.kill() }
            #expect(try child.waitForExit(timeout: .seconds(20)) == .exited(1))
            #expect(child.stderr.contains("/run/sluice/admin.sock (the default)"), "\(child.stderr)")
            #expect(
                child.stderr.contains("set 'admin-socket PATH' or 'admin-socket none' in the global section"),
                "\(child.stderr)")
        }
    }
}
