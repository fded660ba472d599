// Client threads a flood scenario runs side by side, and what they saw: `join` waits for all
// of them within a deadline (a hung client fails the test instead of hanging it), failures are
// collected rather than thrown across threads, and `Probe` repeats an operator request on its
// own thread until stopped, keeping the slowest answer and the count.
import Foundation
import Synchronization

/// Failures seen on other threads; the first few are kept with their total count.
final class Failures: Sendable, CustomStringConvertible {
    private let state = Mutex<(kept: [String], count: Int)>(([], 0))

    func add(_ failure: String) {
        state.withLock {
            $0.count += 1
            if $0.kept.count < 20 { $0.kept.append(failure) }
        }
    }

    var count: Int { state.withLock { $0.count } }
    var isEmpty: Bool { count == 0 }
    var description: String { state.withLock { "\($0.count) failure(s):\n" + $0.kept.joined(separator: "\n") } }
}

final class ThreadGroup: Sendable {
    private let group = DispatchGroup()

    /// Runs `body` on a new thread; an error it throws is recorded in `failures`.
    func spawn(_ name: String, failures: Failures, _ body: @escaping @Sendable () throws -> Void) {
        group.enter()
        let thread = Thread { [group] in
            defer { group.leave() }
            do { try body() } catch { failures.add("\(name): \(error)") }
        }
        thread.name = name
        thread.start()
    }

    func join(_ what: String, timeout: Duration) throws {
        let seconds = timeout.scaledForTests.seconds
        guard group.wait(timeout: .now() + seconds) == .success else {
            throw HarnessError("\(what) did not finish within \(timeout)")
        }
    }
}

/// Repeats `request` until `stop()`; the first failure ends it and is kept.
final class Probe: Sendable {
    private final class Core: Sendable {
        let stopping = Atomic<Bool>(false)
        let state = Mutex<(count: Int, slowest: Duration)>((0, .zero))
    }

    private let core = Core()
    private let group = ThreadGroup()
    let failures = Failures()

    init(_ name: String, pause: Duration = .milliseconds(2), _ request: @escaping @Sendable (Int) throws -> Void) {
        let core = core
        group.spawn(name, failures: failures) {
            var n = 0
            while !core.stopping.load(ordering: .acquiring) {
                let started = ContinuousClock.now
                try request(n)
                let took = ContinuousClock.now - started
                core.state.withLock {
                    $0.count += 1
                    $0.slowest = max($0.slowest, took)
                }
                n += 1
                Thread.sleep(forTimeInterval: pause.seconds)
            }
        }
    }

    /// Stops the thread and returns how many requests it made and the slowest one's time.
    func stop() throws -> (count: Int, slowest: Duration) {
        core.stopping.store(true, ordering: .releasing)
        try group.join("the probe", timeout: .seconds(30))
        return core.state.withLock { $0 }
    }
}
