// Clients and a fake handler for the admin and metrics server tests (real sockets only).
import Foundation
import Glibc
import SluiceCore
import SluiceRuntime
import SluiceSys

struct FakeAdminHandler: AdminHandler {
    static let info = InfoSnapshot(version: "0.1.0", pid: 7, uptimeSeconds: 3, workers: 2)

    func handle(_ request: AdminRequest, peer: PeerCredentials) -> AdminReplyText {
        switch request.command {
        case .help: return .help
        case .show(.info): return .info(Self.info, json: request.json)
        case .reload: return .errors("configuration has 1 error", ["x.conf:3: unknown keyword 'x'"])
        case .delServer(let ref) where ref.pool != "db": return .error("no such pool '\(ref.pool)'")
        default: return AdminReplyText("HANDLED \(request.command) json=\(request.json) uid=\(peer.uid)")
        }
    }
}

enum AdminClient {
    /// Sends `bytes` (stopping early if the server has closed) and reads until EOF.
    static func ask(
        _ path: String, _ bytes: [UInt8], halfClose: Bool = false, timeoutMillis: Int = 5000
    ) throws
        -> String
    {
        let fd = try UnixSocket.connect(path: path)
        defer { fd.close() }
        try UnixSocket.setTimeouts(fd, milliseconds: timeoutMillis)
        var sent = 0
        sending: while sent < bytes.count {
            switch try? fd.send(bytes, from: sent) {
            case .done(let n): sent += n
            default: break sending
            }
        }
        if halfClose { Socket.shutdownWrite(fd) }
        return readAll(fd)
    }

    static func ask(_ path: String, _ line: String) throws -> String { try ask(path, Array((line + "\n").utf8)) }

    /// Everything until EOF, an error or the socket's receive timeout.
    static func readAll(_ fd: FD) -> String {
        var reply: [UInt8] = []
        while case .done = (try? fd.receive(appendingTo: &reply)) ?? .eof {}
        return String(decoding: reply, as: UTF8.self)
    }
}

enum HTTPClient {
    /// Sends raw bytes to 127.0.0.1:port and returns what comes back before the close.
    static func exchange(port: UInt16, _ request: [UInt8], timeoutMillis: Int = 5000) throws -> String {
        let fd = try Socket.stream(v6: false)
        defer { fd.close() }
        _ = try Socket.connect(fd, to: IPEndpoint(.loopbackV4, port))
        _ = try Poll.writable(fd, timeoutMillis: timeoutMillis)
        var sent = 0
        while sent < request.count {
            guard try Poll.writable(fd, timeoutMillis: timeoutMillis) else { break }
            guard case .done(let n) = try? fd.send(request, from: sent) else { break }
            sent += n
        }
        var reply: [UInt8] = []
        let deadline = Date().addingTimeInterval(Double(timeoutMillis) / 1000)
        while Date() < deadline {
            guard try Poll.readable(fd, timeoutMillis: 100) else { continue }
            switch try? fd.receive(appendingTo: &reply) {
            case .done, .wouldBlock: continue
            default: return String(decoding: reply, as: UTF8.self)
            }
        }
        return String(decoding: reply, as: UTF8.self)
    }

    static func exchange(port: UInt16, _ request: String) throws -> String {
        try exchange(port: port, Array(request.utf8))
    }
}

/// Runs a program and returns its exit status and output.
func runProgram(_ path: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// The built `sluicectl`: a sibling of the test bundle, or .build/debug from the package root.
func sluicectlPath(file: String = #filePath) -> String? {
    var candidates: [String] = []
    for executable in [CommandLine.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
        var directory = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 {
            candidates.append(directory.appendingPathComponent("sluicectl").path)
            directory = directory.deletingLastPathComponent()
        }
    }
    var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
    while directory.path != "/" {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            candidates.append(directory.appendingPathComponent(".build/debug/sluicectl").path)
            break
        }
        directory = directory.deletingLastPathComponent()
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}
