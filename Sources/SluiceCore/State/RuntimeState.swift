// The run-time changes an operator made through the admin socket (SPEC `state-file`): admin
// states, weights, added and deleted servers. It is a snapshot of differences from the
// configuration file, not a log: each admin command folds into it, so it stays as small as
// the set of servers that differ. Pure value; StateFileText reads and writes it.

/// `set server POOL/NAME state|weight` values set at run time; nil: the file's value.
package struct ServerOverride: Equatable, Sendable {
    package var state: AdminState?
    package var weight: Int?

    package init(state: AdminState? = nil, weight: Int? = nil) {
        self.state = state
        self.weight = weight
    }
}

package struct RuntimeState: Equatable, Sendable {
    /// Servers of the file deleted with `del server`: they stay out while the file has them.
    package var deleted: Set<ServerRef> = []
    /// Servers added with `add server`, by reference.
    package var added: [ServerRef: AddServerRequest] = [:]
    package var overrides: [ServerRef: ServerOverride] = [:]

    package init() {}

    package var isEmpty: Bool { deleted.isEmpty && added.isEmpty && overrides.isEmpty }

    /// Folds one admin command that succeeded into the snapshot; other commands change nothing.
    package mutating func record(_ command: AdminCommand) {
        switch command {
        case .setState(let ref, let state):
            overrides[ref, default: ServerOverride()].state = state
        case .setWeight(let ref, let weight):
            overrides[ref, default: ServerOverride()].weight = weight
        case .addServer(let request):
            // A name can be added again after a `del`: the old server's overrides are gone
            // with it, and a `del` of a file server stays (the added one takes its name).
            overrides[request.ref] = nil
            added[request.ref] = request
        case .delServer(let ref):
            overrides[ref] = nil
            // Deleting a server that was added at run time forgets it; deleting a server of
            // the file is remembered so it does not come back at the next start.
            if added.removeValue(forKey: ref) == nil { deleted.insert(ref) }
        case .help, .show, .killSessions, .reload:
            break
        }
    }

    /// The snapshot as the admin commands that rebuild it, in the order they must run:
    /// deletions, additions, then states and weights. Sorted so the file is stable.
    package var commands: [AdminCommand] {
        func order(_ a: ServerRef, _ b: ServerRef) -> Bool { (a.pool, a.server) < (b.pool, b.server) }
        var out: [AdminCommand] = deleted.sorted(by: order).map { .delServer($0) }
        out += added.keys.sorted(by: order).map { .addServer(added[$0]!) }
        for ref in overrides.keys.sorted(by: order) {
            let o = overrides[ref]!
            if let state = o.state { out.append(.setState(ref, state)) }
            if let weight = o.weight { out.append(.setWeight(ref, weight)) }
        }
        return out
    }
}
