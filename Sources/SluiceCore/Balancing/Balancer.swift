// The small interface every balancing algorithm implements (modeled on HAProxy's lb_ops).
// Algorithms are pure and deterministic: no I/O, clocks or locks. Each worker owns its own
// instance; shared facts (live session counts) come in through `ActiveCounts`.
import SluiceSys

/// Index of a server in its pool's server table; stable for the life of that table.
package typealias ServerID = Int

/// What the hash algorithms key on: the client address and, for `hash-key src-port`, its port.
package struct FlowKey: Sendable, Hashable {
    package var address: IPAddress
    package var port: UInt16

    package init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }
}

/// The balancer's view of one server.
package struct BalancerServer: Sendable, Equatable {
    package var name: String
    /// Effective weight, 0...1000 (0 takes no new sessions).
    package var weight: Int
    package var backup: Bool
    /// Up by health checks and `ready` by admin state.
    package var usable: Bool

    package init(name: String, weight: Int, backup: Bool = false, usable: Bool = true) {
        self.name = name
        self.weight = weight
        self.backup = backup
        self.usable = usable
    }

    /// Whether this server may take a new session at all.
    package var eligible: Bool { usable && weight > 0 }
}

/// Live session counts per server, shared by all workers (atomics in the runtime).
package protocol ActiveCounts {
    func active(_ id: ServerID) -> Int
}

package protocol Balancer {
    init(servers: [BalancerServer])

    /// The server for a new session, or nil when none is eligible. `avoiding` is the server
    /// that just failed a connect (retries go elsewhere when another server is eligible).
    /// Backup servers are chosen only while no eligible non-backup server exists.
    mutating func pick<C: ActiveCounts>(_ key: FlowKey, avoiding: ServerID?, counts: C) -> ServerID?

    /// Health or admin state changed (`usable`).
    mutating func setUsable(_ id: ServerID, _ usable: Bool)

    /// Effective weight changed (admin `weight`, slow start).
    mutating func setWeight(_ id: ServerID, _ weight: Int)

    mutating func connectionTaken(_ id: ServerID)
    mutating func connectionDropped(_ id: ServerID)
}

extension Balancer {
    package mutating func connectionTaken(_ id: ServerID) {}
    package mutating func connectionDropped(_ id: ServerID) {}
}
