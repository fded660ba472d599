// How a log record looks: a stderr line `TIME LEVEL key=value ... msg="..."`, or a native
// journal record (PRIORITY, SLUICE_POOL, SLUICE_SERVER, SLUICE_CLIENT, ..., MESSAGE) when
// stderr is the journal stream. Formatted by the caller, written by the log writer thread.
import SluiceCore
import SluiceSys

/// One formatted record waiting for the writer.
enum LogRecord: Sendable {
    /// A stderr line, newline included.
    case line([UInt8])
    /// `NAME=value` journal fields.
    case journal([String])

    /// What it costs the queue.
    var byteCount: Int {
        switch self {
        case .line(let bytes): bytes.count
        case .journal(let fields): fields.reduce(0) { $0 + $1.utf8.count }
        }
    }

    /// Blocks until written (or lost: stderr closed); only the writer thread calls this.
    func write() {
        switch self {
        case .line(let bytes): _ = StdIO.writeErrorWaiting(bytes)
        case .journal(let fields): Systemd.journal(fields)
        }
    }

    static func make(
        _ l: LogLevel, _ message: String, _ fields: some Sequence<(key: String, value: String)>, journal: Bool
    ) -> LogRecord {
        if journal { return .journal(Logger.journalRecord(l, message, fields)) }
        var line = WallClock.timestamp() + " " + l.name
        for (key, value) in fields {
            line += " " + key + "=" + Logger.quoteIfNeeded(value)
        }
        line += " msg=" + Logger.quote(message) + "\n"
        return .line(Array(line.utf8))
    }
}

extension Logger {
    static func journalFields(_ l: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) -> [String] {
        journalRecord(l, message, fields.map { $0 })
    }

    static func journalRecord(
        _ l: LogLevel, _ message: String, _ fields: some Sequence<(key: String, value: String)>
    ) -> [String] {
        let priority =
            switch l {
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
        let plain =
            !value.isEmpty
            && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") }
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
