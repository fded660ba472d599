// The operator's way in stays open under abuse: with 1000 idle connections held on the metrics
// port and 1000 on the admin socket, scrapes and `show info` still succeed and sluice holds a
// bounded number of them until their deadlines; 64 scrapers that never read a 2000-server
// exposition pin bounded memory, and sluice gives it back once they are gone.
import Foundation
import Glibc
import Testing

extension E2E {
    @Suite struct OperatorEndpointTests {
        /// One GET /metrics; the whole response until the server closes.
        static func scrape(_ port: UInt16) throws -> [UInt8] {
            let client = try TestClient(port: port, timeout: .seconds(20))
            defer { client.close() }
            try client.send("GET /metrics HTTP/1.0\r\n\r\n")
            return try client.readToEOF()
        }

        /// Nil when `response` is a 200 whose body has exactly Content-Length bytes and carries
        /// `sample`; otherwise what is wrong with it.
        static func problem(_ response: [UInt8], sample: String) -> String? {
            let text = String(decoding: response, as: UTF8.self)
            guard text.hasPrefix("HTTP/1.1 200 OK\r\n"), let blank = text.range(of: "\r\n\r\n") else {
                return "not a 200 response (\(response.count) bytes): \(text.prefix(120))"
            }
            let head = text[..<blank.lowerBound]
            let body = text[blank.upperBound...]
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }
                .flatMap { Int($0.dropFirst("Content-Length: ".count)) }
            guard let length, length == body.utf8.count else {
                return "Content-Length \(length.map(String.init) ?? "missing"), body \(body.utf8.count) bytes"
            }
            return body.contains(sample + "\n") ? nil : "no '\(sample)' line in the body"
        }

        /// Holds `idleCount` silent connections on each endpoint, then checks that scrapes and
        /// `show info` succeed, that sluice holds at most `maxHeld` of them, and that it closes
        /// them all by their deadlines while the test still keeps them open.
        func idleFlood(idleCount: Int = 1000, launcher: [String] = [], maxHeld: Int) throws {
            try HeldConnections.ensureFileLimit(2 * idleCount + 256)
            let sockets = try TempDirectory(prefix: "sluice-idle")
            let socket = sockets.path("admin.sock")
            let metricsPort = try FreePort.tcp()
            let port = try FreePort.tcp()
            let sluice = try SluiceProcess(
                config: """
                    global
                        workers 1
                        admin-socket \(socket) mode 0600
                        metrics 127.0.0.1:\(metricsPort)
                    pool p
                        bind 127.0.0.1:\(port)
                        check none
                        server a 127.0.0.1:1
                    """, launcher: launcher)
            // Both endpoint threads answer (each has opened its epoll fd) before the count.
            #expect(Self.problem(try Self.scrape(metricsPort), sample: "sluice_workers 1") == nil)
            #expect(try UnixClient.exchange(socket, Array("show info\n".utf8)).hasPrefix("version "))
            let files = try ProcStatus.openFiles(sluice.pid)
            let before = ProcStatus.describeFiles(sluice.pid)
            let idle = HeldConnections()
            defer { idle.closeAll() }
            try sluice.explaining {
                for _ in 0..<idleCount {
                    _ = try idle.tcp(port: metricsPort)
                    _ = try idle.unix(socket)
                }
            }
            // The connections are all still open on the test's side: every operator request
            // below arrives with both endpoints' slots full.
            for attempt in 0..<5 {
                let response = try Self.scrape(metricsPort)
                #expect(Self.problem(response, sample: "sluice_workers 1") == nil, "scrape \(attempt)")
                let info = try UnixClient.exchange(socket, Array("show info\n".utf8))
                #expect(
                    info.hasPrefix("version ") && info.contains("\nworkers           1\n"),
                    "show info \(attempt): \(info)")
            }
            let held = try ProcStatus.openFiles(sluice.pid) - files
            #expect(held <= maxHeld, "sluice holds \(held) operator connections")
            let filesBefore = before
            var last = 0
            try waitUntil(
                "sluice to close the idle connections", timeout: .seconds(30), interval: .milliseconds(50),
                lastSeen: {
                    "\(last) fds open, \(files) before: \(filesBefore); now: \(ProcStatus.describeFiles(sluice.pid))"
                }
            ) {
                last = try ProcStatus.openFiles(sluice.pid)
                return last <= files
            }
            #expect(try sluice.stop() == .exited(0))
        }

        @Test func idleConnectionsDoNotShutOutTheOperator() throws {
            // 256 slots per endpoint.
            try idleFlood(maxHeld: 2 * 256)
        }

        /// Out of open files, accept() fails and the clients wait in the backlog; an idle
        /// client gives its fd to the next one instead (before, connects stalled for good).
        @Test(.enabled(if: access("/usr/bin/prlimit", X_OK) == 0, "needs prlimit"))
        func idleConnectionsGiveWayWhenOutOfFiles() throws {
            try idleFlood(launcher: ["/usr/bin/prlimit", "--nofile=128:128", "--"], maxHeld: 128)
        }

        @Test(.enabled(if: Sanitizer.memoryIsMeasurable, "RSS bounds mean nothing under a sanitizer"))
        func slowMetricsReadersHoldBoundedMemoryAndGiveItBack() throws {
            let metricsPort = try FreePort.tcp()
            var config = "global\n    workers 1\n    admin-socket none\n    metrics 127.0.0.1:\(metricsPort)\n"
            for pool in 0..<4 {
                config += "pool p\(pool)\n    bind 127.0.0.1:\(try FreePort.tcp())\n    check none\n"
                for server in 0..<500 {
                    config += "    server s\(server) 127.0.0.\(1 + server % 250):\(10000 + server)\n"
                }
            }
            let sluice = try SluiceProcess(config: config, readyTimeout: .seconds(30))
            let first = try Self.scrape(metricsPort)
            #expect(Self.problem(first, sample: "sluice_workers 1") == nil)
            let size = first.count
            #expect(size > 4 << 20, "2000 servers make a scrape of \(size) bytes")
            let baseline = try ProcStatus.residentBytes(sluice.pid)
            let files = try ProcStatus.openFiles(sluice.pid)

            let readers = HeldConnections()
            defer { readers.closeAll() }
            for _ in 0..<64 {
                let fd = try readers.tcp(port: metricsPort, receiveBuffer: 4096)
                try SocketIO.sendAll(fd, Array("GET /metrics HTTP/1.0\r\n\r\n".utf8))
            }
            // Accepted in order, so once this scrape is answered the 64 are in sluice's hands.
            #expect(Self.problem(try Self.scrape(metricsPort), sample: "sluice_workers 1") == nil)
            var peak = baseline
            var open = 0
            try waitUntil(
                "sluice to drop the readers that never read", timeout: .seconds(60), interval: .milliseconds(20),
                lastSeen: { "\(open) fds open, \(files) before" }
            ) {
                peak = max(peak, try ProcStatus.residentBytes(sluice.pid))
                open = try ProcStatus.openFiles(sluice.pid)
                return open <= files
            }
            // Held replies are capped at 32 MiB; add one rendering in progress (text, its
            // growth, the response) and allocator slack. Before, each reader held its own copy.
            let bound = (32 << 20) + 4 * size + (16 << 20)
            #expect(peak - baseline < bound, "resident memory grew by \(peak - baseline) bytes (baseline \(baseline))")
            var now = 0
            try waitUntil(
                "resident memory to come back down", timeout: .seconds(10),
                lastSeen: { "\(now) bytes resident, \(baseline) before the readers" }
            ) {
                now = try ProcStatus.residentBytes(sluice.pid)
                return now <= baseline + size
            }
            #expect(Self.problem(try Self.scrape(metricsPort), sample: "sluice_workers 1") == nil)
            #expect(try sluice.stop() == .exited(0))
        }
    }
}
