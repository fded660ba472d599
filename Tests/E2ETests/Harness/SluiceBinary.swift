// Finds an executable built by SwiftPM (`sluice`, `sluicectl`): $SLUICE_BIN for sluice if set,
// else a sibling of the test bundle, else `.build/{debug,release}/NAME` found by walking up
// from this file.
import Foundation

enum SluiceBinary {
    static func path(_ name: String = "sluice") throws -> String {
        let candidates = candidatePaths(name)
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw HarnessError("\(name) binary not found; looked at: \(candidates.joined(separator: ", "))")
    }

    private static func candidatePaths(_ name: String, file: String = #filePath) -> [String] {
        var paths: [String] = []
        if name == "sluice", let env = ProcessInfo.processInfo.environment["SLUICE_BIN"], !env.isEmpty {
            paths.append(env)
        }
        for executable in [CommandLine.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
            let url = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
            // The test bundle sits in .build/<triple>/debug; on some set-ups arguments[0] is a
            // helper inside the bundle, so look one and two levels up as well.
            var directory = url.deletingLastPathComponent()
            for _ in 0..<3 {
                paths.append(directory.appendingPathComponent(name).path)
                directory = directory.deletingLastPathComponent()
            }
        }
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                paths.append(directory.appendingPathComponent(".build/debug/\(name)").path)
                paths.append(directory.appendingPathComponent(".build/release/\(name)").path)
                break
            }
            directory = directory.deletingLastPathComponent()
        }
        return paths
    }
}
