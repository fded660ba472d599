// Structured logs: to stderr as `TIME LEVEL key=value ... msg="..."`, one write per line; or,
// when stderr is the journal stream systemd set up (JOURNAL_STREAM), as native journal
// records with PRIORITY, SLUICE_POOL, SLUICE_SERVER, SLUICE_CLIENT and the other fields.
import SluiceCore
import SluiceSys
import Synchronization

package final class Logger: Sendable {
    private let level: Atomic<Int>
    private let sessions: Atomic<Bool>
    private let journal: Bool

    package init(level: LogLevel = .info, logSessions: Bool = false, journal: Bool = Systemd.stderrIsJournal()) {
        self.level = Atomic(level.rawValue)
        self.sessions = Atomic(logSessions)
        self.journal = journal
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
        if journal {
            Systemd.journal(Logger.journalFields(l, message, fields))
            return
        }
        var line = WallClock.timestamp() + " " + l.name
        for (key, value) in fields {
            line += " " + key + "=" + Logger.quoteIfNeeded(value)
        }
        line += " msg=" + Logger.quote(message)
        StdIO.errorLine(line)
    }

    static func journalFields(_ l: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) -> [String] {
        let priority = switch l {
        case .error: 3
        case .warn: 4
        case .info: 6
        case .debug: 7
        }
        var text = message
        var out = ["PRIORITY=\(priority)", "SYSLOG_IDENTIFIER=sluice"]
        for (key, value) in fields {
            text += " " + key + "=" + quoteIfNeeded(value)
            let name = key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            out.append("SLUICE_" + String(name) + "=" + value)
        }
        out.append("MESSAGE=" + text)
        return out
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
