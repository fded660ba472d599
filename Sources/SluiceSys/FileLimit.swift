// The open-files limit: every session holds two sockets, so it bounds how many sessions fit.
// A shell or a default systemd unit often starts with a soft limit of 1024 under a much higher
// hard one; sluice raises the soft limit as far as it may, as HAProxy and nginx do.
import Glibc

package enum FileLimit {
    /// Raises the soft limit to the hard one and returns the limit now in force (nil: unknown).
    package static func raiseToHard() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest value: no limit
    }
}
