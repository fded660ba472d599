// A count-down latch: a thread waits, with a deadline, until `count` arrivals (every worker
// started, every worker let go of a listener, a reply produced). It replaces loops that polled
// an atomic every millisecond: the waiter wakes at the last arrival, not at a tick, and
// ThreadSanitizer sees the hand-off (a pthread condition, where Synchronization's Mutex waits
// on a bare futex it cannot see). Never on the data path.
import Glibc

package final class Latch: @unchecked Sendable {
    // pthread objects must not move: allocated once, destroyed in deinit.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// Arrivals still expected; read and written under `mutex` only.
    private var pending: Int

    package init(count: Int) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Deadlines on the monotonic clock: a wall-clock step must not stretch or cut a wait.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        pending = max(0, count)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// One arrival; arrivals past the count are ignored (a worker may report twice).
    package func arrive() {
        pthread_mutex_lock(mutex)
        if pending > 0 {
            pending -= 1
            if pending == 0 { pthread_cond_broadcast(condition) }
        }
        pthread_mutex_unlock(mutex)
    }

    package var isOpen: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return pending == 0
    }

    /// Waits until every arrival came or `deadline` passed; true when they all came.
    package func wait(until deadline: Instant) -> Bool {
        var until = timespec(
            tv_sec: Int(clamping: deadline.nanoseconds / 1_000_000_000),
            tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while pending > 0 {
            if pthread_cond_timedwait(condition, mutex, &until) == ETIMEDOUT { break }
        }
        return pending == 0
    }

    /// As `wait(until:)`, for at most `timeoutMillis` from now.
    package func wait(timeoutMillis: Int) -> Bool {
        wait(until: Instant.now() + .milliseconds(max(0, timeoutMillis)))
    }
}
