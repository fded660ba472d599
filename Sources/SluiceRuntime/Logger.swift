// Structured logs to stderr as `TIME LEVEL key=value ... msg="..."`, one write per line.
// The journal backend (issue: systemd) plugs in here later.
import SluiceCore
import SluiceSys
import Synchronization

package final class Logger: Sendable {
    private let level: Atomic<Int>
    private let sessions: Atomic<Bool>

    package init(level: LogLevel = .info, logSessions: Bool = false) {
        self.level = Atomic(level.rawValue)
        self.sessions = Atomic(logSessions)
    }

    package func configure(level: LogLevel, logSessions: Bool) {
        self.level.store(level.rawValue, ordering: .relaxed)
        self.sessions.store(logSessions, ordering: .relaxed)
    }

    @inline(__always)
    package func enabled(_ l: LogLevel) -> Bool { l.rawValue <= level.load(ordering: .relaxed) }

    package var logSessions: Bool { sessions.load(ordering: .relaxed) }

    package func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.error, message, fields)
    }

    package func warn(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.warn, message, fields)
    }

    package func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.info, message, fields)
    }

    package func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(.debug, message, fields)
    }

    package func log(_ l: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) {
        guard enabled(l) else { return }
        var line = WallClock.timestamp() + " " + l.name
        for (key, value) in fields {
            line += " " + key + "=" + Logger.quoteIfNeeded(value)
        }
        line += " msg=" + Logger.quote(message)
        StdIO.errorLine(line)
    }

    static func quoteIfNeeded(_ value: String) -> String {
        let plain = !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") }
        return plain ? value : quote(value)
    }

    static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count == 1 ? "0" : "") + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
