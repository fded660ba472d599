// libsystemd, wrapped: sockets passed by socket activation, sd_notify, the watchdog interval
// and native journal records. Everything here is a no-op outside systemd.
import CSystemd
import Glibc

package enum Systemd {
    /// Sockets systemd passed (LISTEN_FDS/LISTEN_FDNAMES), with their FileDescriptorName.
    /// Clears the environment variables so child processes do not inherit them.
    package static func listenFDs() -> [(name: String, fd: FD)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        var result: [(name: String, fd: FD)] = []
        for i in 0..<Int(count) {
            let fd = FD(rawValue: SD_LISTEN_FDS_START + CInt(i))
            var name = "unknown"
            if let names, let cName = names[i] {
                name = String(cString: cName)
                free(cName)
            }
            result.append((name, fd))
        }
        free(names)
        return result
    }

    /// Sends `state` (e.g. "READY=1\nSTATUS=...") to NOTIFY_SOCKET; false outside systemd.
    @discardableResult
    package static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// Half of WATCHDOG_USEC (how often to send WATCHDOG=1), or nil when no watchdog is set.
    package static func watchdogPingInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec / 2))
    }

    /// CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC.
    package static var monotonicMicroseconds: UInt64 { Instant.now().nanoseconds / 1000 }

    /// Whether stderr is the journal stream systemd connected (JOURNAL_STREAM=dev:ino).
    package static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        let parts = String(cString: value).split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    /// Sends one record to the journal; `fields` are `NAME=value` strings (MESSAGE, PRIORITY...).
    package static func journal(_ fields: [String]) {
        var blob: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = blob.count
            blob += field.utf8
            ranges.append(start..<blob.count)
        }
        blob.withUnsafeMutableBytes { raw in
            let iovecs = ranges.map { iovec(iov_base: raw.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            _ = sd_journal_sendv(iovecs, CInt(iovecs.count))
        }
    }
}
