// HAProxy's single rise/fall counter as a pure value: `counter` in [0, rise+fall-1], up when
// `counter >= rise`. Going up jumps to the top (so `fall` consecutive failures take it down);
// a failure while down resets to 0 (so `rise` consecutive successes bring it up).
package enum HealthTransition: Sendable, Equatable {
    case wentUp
    case wentDown
}

/// How a server's health begins, before its first check result.
package enum HealthStart: Sendable, Equatable {
    /// `init-state up`: up before the first result; `fall` failures take it down.
    case up
    /// `init-state down`: down; needs `rise` successes like any other time.
    case down
    /// Down, but the first result, when it is a success, counts as `rise` (a fresh balancer or
    /// a newly added server serves at once).
    case fresh
}

package struct HealthState: Sendable, Equatable {
    package let rise: Int
    package let fall: Int
    package private(set) var counter: Int
    /// The first result has not arrived yet and counts as `rise` on success.
    private var firstCountsDouble: Bool

    /// `rise` and `fall` below 1 are taken as 1 (the parser rejects them; no crash here).
    package init(rise: Int, fall: Int, start: HealthStart) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        switch start {
        case .up:
            counter = self.rise + self.fall - 1
            firstCountsDouble = false
        case .down:
            counter = 0
            firstCountsDouble = false
        case .fresh:
            counter = 0
            firstCountsDouble = true
        }
    }

    package var isUp: Bool { counter >= rise }
    private var top: Int { rise + fall - 1 }

    /// Counts one check result; returns the transition it caused, if any.
    package mutating func record(success: Bool) -> HealthTransition? {
        let wasUp = isUp
        let first = firstCountsDouble
        firstCountsDouble = false
        if success {
            if wasUp {
                counter = top
                return nil
            }
            counter = first ? rise : counter + 1
            guard counter >= rise else { return nil }
            counter = top
            return .wentUp
        }
        if !wasUp {
            counter = 0
            return nil
        }
        if counter > rise {
            counter -= 1
            return nil
        }
        counter = 0
        return .wentDown
    }
}
