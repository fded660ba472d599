// Applying a run-time snapshot to a freshly loaded configuration (start and reload): deleted
// servers leave the file's list, added servers join it, weights replace the file's. What no
// longer applies (its pool is gone, the server left the file, the file took the name) is
// dropped with a reason, so the snapshot never grows stale entries. Admin states cannot be
// written in a ServerConfig (`drain` has no file form): the runtime sets them afterwards.
import SluiceSys

extension RuntimeState {
    package struct Applied: Sendable {
        /// The configuration to run: the file's, with the snapshot's servers and weights.
        package var config: Config
        /// The entries that applied; the ones in `dropped` are gone from it.
        package var state: RuntimeState
        /// One line per dropped entry: the record, then why.
        package var dropped: [String]
    }

    package func applied(to config: Config) -> Applied {
        var out = config
        var kept = RuntimeState()
        var dropped: [String] = []
        func order(_ a: ServerRef, _ b: ServerRef) -> Bool { (a.pool, a.server) < (b.pool, b.server) }
        func pool(_ ref: ServerRef, _ record: String) -> Int? {
            if let i = out.pools.firstIndex(where: { $0.name == ref.pool }) { return i }
            dropped.append("\(record): pool '\(ref.pool)' is not in the configuration any more")
            return nil
        }

        for ref in deleted.sorted(by: order) {
            let record = StateFileText.line(.delServer(ref))
            guard let p = pool(ref, record) else { continue }
            guard let i = out.pools[p].servers.firstIndex(where: { $0.name == ref.server }) else {
                dropped.append("\(record): the configuration has no server '\(ref.server)' any more")
                continue
            }
            out.pools[p].servers.remove(at: i)
            kept.deleted.insert(ref)
        }
        for ref in added.keys.sorted(by: order) {
            let request = added[ref]!
            let record = StateFileText.line(.addServer(request))
            guard let p = pool(ref, record) else { continue }
            guard !out.pools[p].servers.contains(where: { $0.name == ref.server }) else {
                dropped.append("\(record): the configuration now has a server of that name")
                continue
            }
            var server = ServerConfig(
                name: ref.server,
                address: ServerAddress(host: "\(request.endpoint.address)", endpoint: request.endpoint))
            server.weight = request.weight
            server.maxconn = request.maxconn
            server.backup = request.backup
            out.pools[p].servers.append(server)
            kept.added[ref] = request
        }
        for ref in overrides.keys.sorted(by: order) {
            let o = overrides[ref]!
            let record = [
                o.state.map { StateFileText.line(.setState(ref, $0)) },
                o.weight.map { StateFileText.line(.setWeight(ref, $0)) },
            ]
            .compactMap { $0 }.joined(separator: ", ")
            guard let p = pool(ref, record) else { continue }
            guard let i = out.pools[p].servers.firstIndex(where: { $0.name == ref.server }) else {
                dropped.append("\(record): no server '\(ref.server)' in pool '\(ref.pool)' any more")
                continue
            }
            if let weight = o.weight { out.pools[p].servers[i].weight = weight }
            kept.overrides[ref] = o
        }
        return Applied(config: out, state: kept, dropped: dropped)
    }
}
