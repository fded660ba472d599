// `single-primary` as the workers see it: one word per pool, written by the health checker
// (the only writer) before it bumps the pool's version, read by a worker when it refreshes its
// view. `only(k)` lets the server with serial k alone take new sessions, so two primaries
// cannot coexist (a serial, not a table index: removed servers leave the table).

package enum PrimaryGate: Sendable, Equatable {
    /// `single-primary off`: every usable server takes new sessions.
    case off
    /// On, and no server chosen (none passes its role check and is `ready`, or the first
    /// results are still awaited): no server takes new sessions (`all-down any` tries any).
    case noPrimary
    /// On: only this server (its `ServerRuntime.serial`) takes new sessions.
    case only(Int)

    init(code: Int) {
        switch code {
        case ..<(-1): self = .off
        case -1: self = .noPrimary
        default: self = .only(code)
        }
    }

    var code: Int {
        switch self {
        case .off: -2
        case .noPrimary: -1
        case .only(let k): k
        }
    }

    /// May the server with serial `id` take a new session? `fallback`: the `all-down any` balancer, which with
    /// no primary tries any server, but never another one than a chosen primary.
    @inline(__always)
    func admits(_ id: Int, fallback: Bool = false) -> Bool {
        switch self {
        case .off: true
        case .noPrimary: fallback
        case .only(let k): k == id
        }
    }
}
