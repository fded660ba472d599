// One load of the configuration file in two steps, so that no thread blocks in getaddrinfo:
// `init` reads the file and starts looking up its host names (HostLookups, off the calling
// thread); `result()` parses it once they answered or their deadline passed. Start-up waits
// in between (`wait`); a reload lets the control loop turn meanwhile.
import SluiceCore
import SluiceSys

package final class ConfigLoad {
    package let file: String
    private let text: String
    /// nil when the file names no host: `result()` can run at once.
    package let batch: LookupBatch?

    /// Reads `file` and starts its lookups.
    package init(file: String, lookups: HostLookups, timeout: Duration = HostLookups.timeout) throws(StartupError) {
        let bytes: [UInt8]
        do {
            bytes = try Files.read(file)
        } catch {
            throw StartupError("cannot read configuration \(file): \(error)")
        }
        self.file = file
        text = String(decoding: bytes, as: UTF8.self)
        let hosts = ConfigLoader.hostNames(text: text, file: file)
        batch = hosts.isEmpty ? nil : lookups.start(hosts, timeout: timeout)
    }

    /// Every lookup answered or timed out.
    package var finished: Bool { batch?.finished() ?? true }

    /// Blocks until `finished`, waking on `lookups.wake` (start-up only: the control loop
    /// must never call this). Returns the stop signal (SIGTERM/SIGINT) that cut the wait
    /// short, if any: the signals are blocked from the start, so without this a stop would
    /// wait for the lookup deadline. SIGHUP stays pending for the control loop.
    package func wait(_ lookups: HostLookups) -> Signal? {
        guard let batch else { return nil }
        guard let epoll = try? Epoll(), (try? epoll.add(lookups.wake.fd, [.readable], data: 0)) != nil,
            let stops = try? SignalFD([.terminate, .interrupt]), (try? epoll.add(stops.fd, [.readable], data: 1)) != nil
        else {
            while !batch.finished() { ProcessControl.sleepMillis(10) }
            return nil
        }
        var events = EpollEventBuffer(capacity: 2)
        while !batch.finished() {
            if let signal = stops.next() { return signal }
            let now = Instant.now()
            let left = batch.deadline <= now ? 0 : batch.deadline.millis(since: now) + 1
            if epoll.wait(into: &events, timeoutMillis: left) > 0 { lookups.wake.drain() }
        }
        return nil
    }

    /// Parses the file with the answers in so far; a name still unanswered is an error on
    /// each line that uses it.
    package func result() -> Result<Config, ConfigErrors> {
        ConfigLoader.load(text: text, file: file) { host in batch?.lookup(host) ?? .failed(reason: "not looked up") }
    }
}
