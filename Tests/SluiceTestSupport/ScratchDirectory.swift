// A fresh directory under /tmp for sockets and files of one test, removed with its files.
import Glibc

package final class ScratchDirectory {
    package let path: String

    /// `mode` 0o755 lets another uid (tests run clients as nobody) reach sockets inside.
    package init(mode: mode_t = 0o700) {
        var template = Array("/tmp/sluice-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(path, mode)
    }

    package func file(_ name: String) -> String { path + "/" + name }

    deinit {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(file(name)) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}
