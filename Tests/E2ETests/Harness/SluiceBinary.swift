// Finds the `sluice` executable built by SwiftPM: $SLUICE_BIN if set, else a sibling of the
// test bundle, else `.build/{debug,release}/sluice` found by walking up from this file.
import Foundation

enum SluiceBinary {
    static func path() throws -> String {
        let candidates = candidatePaths()
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw HarnessError("sluice binary not found; looked at: \(candidates.joined(separator: ", "))")
    }

    private static func candidatePaths(file: String = #filePath) -> [String] {
        var paths: [String] = []
        if let env = ProcessInfo.processInfo.environment["SLUICE_BIN"], !env.isEmpty {
            paths.append(env)
        }
        for executable in [CommandLine.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
            let url = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
            // The test bundle sits in .build/<triple>/debug; on some set-ups arguments[0] is a
            // helper inside the bundle, so look one and two levels up as well.
            var directory = url.deletingLastPathComponent()
            for _ in 0..<3 {
                paths.append(directory.appendingPathComponent("sluice").path)
                directory = directory.deletingLastPathComponent()
            }
        }
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                paths.append(directory.appendingPathComponent(".build/debug/sluice").path)
                paths.append(directory.appendingPathComponent(".build/release/sluice").path)
                break
            }
            directory = directory.deletingLastPathComponent()
        }
        return paths
    }
}
