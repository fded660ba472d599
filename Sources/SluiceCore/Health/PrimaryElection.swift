// `single-primary on` as a pure value: which one server of a pool takes new sessions when its
// role check (redis-master, http) may pass on several. Keep the primary while it passes and is
// `ready`; otherwise the eligible server whose replication data is ahead, non-backups first,
// ties in config order. At most one primary, by construction (an index, not a set of flags).

/// One server as the election sees it; index = its place in the pool's server table.
package struct PrimaryCandidate: Sendable, Equatable {
    /// Up by its role check (rise/fall), checked (not `maint`) and not being removed.
    package var passing: Bool
    /// Admin state `ready`: may take new sessions.
    package var ready: Bool
    package var backup: Bool
    /// Replication offset from its last passing check (Redis `master_repl_offset`); nil when
    /// the check has none (`http`), which ranks below every known offset.
    package var offset: UInt64?
    /// Config order (lower first) for ties; servers added at run time come after the file's.
    package var order: Int

    package init(passing: Bool, ready: Bool = true, backup: Bool = false, offset: UInt64? = nil, order: Int) {
        self.passing = passing
        self.ready = ready
        self.backup = backup
        self.offset = offset
        self.order = order
    }

    /// May be chosen: passes its role check and takes new sessions.
    package var eligible: Bool { passing && ready }
}

package enum PrimaryChoice {
    /// The primary among `candidates`: `current` while it stays eligible (so a second server
    /// passing the check never takes over); else the eligible non-backup (or, with none, the
    /// eligible backup) with the highest offset, ties to the lowest `order`. nil: none eligible.
    package static func choose(current: Int?, _ candidates: [PrimaryCandidate]) -> Int? {
        if let current, candidates.indices.contains(current), candidates[current].eligible { return current }
        var best: Int?
        for (i, c) in candidates.enumerated() where c.eligible {
            guard let b = best else {
                best = i
                continue
            }
            if ranksAbove(c, candidates[b]) { best = i }
        }
        return best
    }

    /// Non-backup before backup, then the higher offset (known before unknown), then config order.
    static func ranksAbove(_ a: PrimaryCandidate, _ b: PrimaryCandidate) -> Bool {
        if a.backup != b.backup { return !a.backup }
        switch (a.offset, b.offset) {
        case (let x?, let y?) where x != y: return x > y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.order < b.order
        }
    }
}

/// What changed in one `PrimaryElection.update`, for the log.
package enum PrimaryEvent: Sendable, Equatable {
    /// A new primary; `previous` nil at the first choice (or after a time with none).
    case chosen(Int, previous: Int?)
    /// No server is eligible any more.
    case lost(previous: Int)
    /// More than one server passes the role check; `kept` is the primary.
    case conflictStarted(passing: [Int], kept: Int?)
    /// At most one server passes the role check again.
    case conflictEnded(passing: [Int])
}

/// One pool's election over time. With no history it waits until `settled` (every server had
/// its first check result, or the wait ran out) before the first choice, so the server that is
/// ahead wins rather than the one whose first answer came first.
package struct PrimaryElection: Sendable, Equatable {
    package private(set) var primary: Int?
    /// The first choice may be made (once true, stays true).
    package private(set) var settled = false
    /// More than one server passes the role check.
    package private(set) var conflict = false

    package init() {}

    /// The table the indices point into changed (a removed server left it): `primary` is now
    /// at `index`, or gone (nil).
    package mutating func renumber(primary index: Int?) {
        primary = index
    }

    package mutating func update(_ candidates: [PrimaryCandidate], settled nowSettled: Bool) -> [PrimaryEvent] {
        settled = settled || nowSettled
        guard settled else { return [] }
        var events: [PrimaryEvent] = []
        let next = PrimaryChoice.choose(current: primary, candidates)
        if next != primary {
            if let next {
                events.append(.chosen(next, previous: primary))
            } else if let primary {
                events.append(.lost(previous: primary))
            }
            primary = next
        }
        let passing = candidates.indices.filter { candidates[$0].passing }
        if (passing.count > 1) != conflict {
            conflict.toggle()
            events.append(
                conflict ? .conflictStarted(passing: passing, kept: primary) : .conflictEnded(passing: passing))
        }
        return events
    }
}
