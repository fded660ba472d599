// What a reload does to the servers of a pool it keeps, from the running servers and the next
// file alone (ReloadPlanTests). A changed address, backup flag, maxconn or check port replaces
// the server (the old one drains); weight and `disabled` change in place unless an operator set
// them at run time. The runtime adds `joining` before it marks `leaving`, so a worker that
// refreshes in between never sees an empty pool.

/// A running server as a reload sees it.
package struct RunningServer: Sendable, Equatable {
    /// As loaded (or added); weight and admin state live below.
    package var config: ServerConfig
    package var weight: Int
    package var weightSetAtRunTime = false
    package var adminState: AdminState
    package var adminStateSetAtRunTime = false

    package init(config: ServerConfig) {
        self.config = config
        weight = config.weight
        adminState = config.disabled ? .maint : .ready
    }
}

package struct ServerPlan: Sendable, Equatable {
    package struct Joining: Sendable, Equatable {
        package var config: ServerConfig
        /// It takes the place of a running server of the same name, which drains.
        package var replacing: Bool
    }

    package enum Reason: String, Sendable {
        case added = "server added"
        case replaced = "server replaced: old one draining"
        case removed = "server removed: draining"
    }

    package var joining: [Joining] = []
    /// Names of running servers that drain and leave.
    package var leaving: [String] = []
    /// In-place changes to running servers.
    package var weights: [(name: String, weight: Int)] = []
    package var states: [(name: String, state: AdminState)] = []
    /// What to log, in the order the file and the pool list them.
    package var changes: [(server: String, reason: Reason)] = []

    /// `running`: the pool's servers that are not already leaving, by name (the last wins).
    package init(running: [RunningServer], next: PoolConfig) {
        let byName = Dictionary(running.map { ($0.config.name, $0) }, uniquingKeysWith: { _, last in last })
        for wanted in next.servers {
            guard let server = byName[wanted.name] else {
                joining.append(Joining(config: wanted, replacing: false))
                changes.append((wanted.name, .added))
                continue
            }
            let old = server.config
            if old.address.endpoint != wanted.address.endpoint || old.backup != wanted.backup
                || old.maxconn != wanted.maxconn || old.checkPort != wanted.checkPort
            {
                leaving.append(wanted.name)
                joining.append(Joining(config: wanted, replacing: true))
                changes.append((wanted.name, .replaced))
                continue
            }
            if !server.weightSetAtRunTime && server.weight != wanted.weight {
                weights.append((wanted.name, wanted.weight))
            }
            let state: AdminState = wanted.disabled ? .maint : .ready
            if !server.adminStateSetAtRunTime && server.adminState != state { states.append((wanted.name, state)) }
        }
        let wanted = Set(next.servers.map(\.name))
        for server in running where !wanted.contains(server.config.name) {
            leaving.append(server.config.name)
            changes.append((server.config.name, .removed))
        }
    }

    package static func == (a: ServerPlan, b: ServerPlan) -> Bool {
        a.joining == b.joining && a.leaving == b.leaving
            && a.weights.elementsEqual(b.weights, by: { $0 == $1 })
            && a.states.elementsEqual(b.states, by: { $0 == $1 })
            && a.changes.elementsEqual(b.changes, by: { $0 == $1 })
    }
}
