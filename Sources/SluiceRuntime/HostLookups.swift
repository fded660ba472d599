// Host name lookups for loading the configuration (start and reload), each with a deadline.
// getaddrinfo cannot be cancelled and blocks 20-30 s when a name server never answers, so
// lookups run on detached helper threads and the caller only waits until the batch's deadline;
// a thread still stuck then finishes on its own, never joined. At most `maxThreads` exist at
// once and a name being looked up is never looked up twice: repeated reloads cannot pile up.
import SluiceCore
import SluiceSys
import Synchronization

package final class HostLookups: Sendable {
    /// How long a start or reload waits for the names of its file (docs/configuration.md).
    package static let timeout: Duration = .seconds(5)
    package static let maxThreads = 8

    private struct State {
        /// Names waiting for a thread, oldest first.
        var queue: [String] = []
        /// Batches waiting for each queued or in-flight name.
        var waiting: [String: [LookupBatch]] = [:]
        var threads = 0
    }

    private let resolve: @Sendable (String) -> Result<IPAddress, ResolveFailure>
    private let state = Mutex(State())
    /// Signalled when a batch has all its answers (the control loop waits on it).
    package let wake: EventFD

    /// `resolve` is `Resolver.lookup` in sluice; tests give their own.
    package init(
        resolve: @escaping @Sendable (String) -> Result<IPAddress, ResolveFailure> = Resolver.lookup
    ) throws(Errno) {
        self.resolve = resolve
        wake = try EventFD()
    }

    /// Starts looking up `hosts`; the batch collects the answers that come before `timeout`.
    package func start(_ hosts: [String], timeout: Duration = HostLookups.timeout) -> LookupBatch {
        let batch = LookupBatch(hosts: hosts, deadline: Instant.now() + timeout, timeout: timeout)
        let spawn = state.withLock { s -> Int in
            for host in batch.hosts {
                // Already queued or in flight (a stuck lookup of an earlier reload): share it.
                if s.waiting[host] == nil { s.queue.append(host) }
                s.waiting[host, default: []].append(batch)
            }
            let spawn = max(0, min(s.queue.count, Self.maxThreads - s.threads))
            s.threads += spawn
            return spawn
        }
        for _ in 0..<spawn { ThreadHandle.spawn(name: "sluice-lookup") { [self] in work() }.detach() }
        return batch
    }

    /// Looks up queued names until none is left, then ends.
    private func work() {
        while let host = next() {
            let answer = resolve(host)
            let batches = state.withLock { $0.waiting.removeValue(forKey: host) ?? [] }
            var completed = false
            for batch in batches where batch.deliver(host, answer) { completed = true }
            if completed { wake.signal() }
        }
    }

    /// The next queued name some batch still waits for; nil (and one thread fewer) when none.
    private func next() -> String? {
        state.withLock { s in
            let now = Instant.now()
            while !s.queue.isEmpty {
                let host = s.queue.removeFirst()
                if s.waiting[host]?.contains(where: { now < $0.deadline }) == true { return host }
                s.waiting[host] = nil
            }
            s.threads -= 1
            return nil
        }
    }
}

/// The lookups of one configuration load: the answers in so far and the deadline.
package final class LookupBatch: Sendable {
    package let hosts: [String]
    package let deadline: Instant
    let timeout: Duration
    private let answers = Mutex<[String: Result<IPAddress, ResolveFailure>]>([:])

    init(hosts: [String], deadline: Instant, timeout: Duration) {
        var seen: Set<String> = []
        self.hosts = hosts.filter { seen.insert($0).inserted }
        self.deadline = deadline
        self.timeout = timeout
    }

    /// Records an answer; true when it was the last one.
    func deliver(_ host: String, _ answer: Result<IPAddress, ResolveFailure>) -> Bool {
        answers.withLock { a in
            guard a[host] == nil else { return false }
            a[host] = answer
            return a.count == hosts.count
        }
    }

    /// Every name answered, or the deadline passed.
    package func finished(now: Instant = Instant.now()) -> Bool {
        deadline <= now || answers.withLock { $0.count } == hosts.count
    }

    /// What the load sees for `host`: its answer, or no answer within the timeout.
    package func lookup(_ host: String) -> HostLookup {
        switch answers.withLock({ $0[host] }) {
        case .success(let address): .found(address)
        case .failure(let failure): .failed(reason: failure.reason)
        case .none:
            .noAnswer(
                within: timeout.milliseconds % 1000 == 0
                    ? "\(timeout.milliseconds / 1000)s" : "\(timeout.milliseconds)ms")
        }
    }

    /// The names without an answer yet.
    package var unanswered: [String] {
        answers.withLock { a in hosts.filter { a[$0] == nil } }
    }
}
