// Freeing removed servers. A removed server stays in its pool's table (shown as `removing`,
// its sessions counted and killable) until its last session ends; then `reclaim` drops it and
// the health checker forgets it, so its memory goes once the last reference does. Nothing
// can still pick it: workers' balancers hold members only, and a pick racing with the removal
// backs off (PoolView.pick), so a dropped server never gains a session.
import SluiceCore

/// A pool's servers in the order they were added, and the serial the next one gets.
struct ServerTable {
    var servers: [ServerRuntime]
    var nextSerial: Int

    init(_ servers: [ServerRuntime]) {
        self.servers = servers
        nextSerial = (servers.map(\.serial).max() ?? -1) + 1
    }

    /// Drops the removed servers that have no session left; returns them.
    mutating func reclaim() -> [ServerRuntime] {
        guard servers.contains(where: { $0.removing.load(ordering: .relaxed) }) else { return [] }
        var kept: [ServerRuntime] = []
        var dropped: [ServerRuntime] = []
        kept.reserveCapacity(servers.count)
        // One look per server: a server may become reclaimable between two looks.
        for server in servers {
            if server.reclaimable { dropped.append(server) } else { kept.append(server) }
        }
        if !dropped.isEmpty { servers = kept }
        return dropped
    }
}

extension PoolRuntime {
    /// Drops the removed servers whose last session ended; returns them. The members and
    /// the version do not change (workers never held removed servers in their balancers).
    package func reclaim() -> [ServerRuntime] {
        table.withLock { $0.reclaim() }
    }
}

extension SharedState {
    /// Reclaims the removed servers of every pool (removed pools too) and has the health
    /// checker forget them; returns how many were dropped. Control thread, every tick.
    @discardableResult
    package func reclaimServers() -> Int {
        var count = 0
        for pool in allPools {
            let dropped = pool.reclaim()
            guard !dropped.isEmpty else { continue }
            count += dropped.count
            health?.forget(dropped)
        }
        return count
    }
}
