// Forgetting servers their pool reclaimed (PoolRuntime+Reclaim): the registry stops knowing
// them (an ObjectIdentifier may name a new server once the old one is freed), and on the
// checker thread their target, probe socket, slot and last result go. Slots are reused, so
// the target table stays as large as the most servers checked at once.
import SluiceCore

extension HealthChecker {
    /// Drops every trace of `servers` (removed, without sessions); any thread.
    package func forget(_ servers: [ServerRuntime]) {
        guard !servers.isEmpty else { return }
        registry.withLock { reg in
            for server in servers { reg.known.remove(ObjectIdentifier(server)) }
            reg.departed += servers
        }
        wake.signal()
    }

    func takeDeparted() -> [ServerRuntime] {
        registry.withLock { reg in
            defer { reg.departed = [] }
            return reg.departed
        }
    }
}

extension CheckLoop {
    /// A target for a newly watched server, in a free slot if there is one.
    func place(_ new: HealthChecker.NewTarget) -> CheckTarget {
        let target: CheckTarget
        if let free = freeSlots.popLast() {
            target = CheckTarget(new, slot: free.slot)
            target.generation = free.generation
            targets[Int(free.slot)] = target
        } else {
            target = CheckTarget(new, slot: UInt32(targets.count))
            targets.append(target)
        }
        slots[ObjectIdentifier(new.server)] = Int(target.slot)
        return target
    }

    /// Stops checking the target's server and frees its slot (its probe, if any, is closed).
    func retire(_ target: CheckTarget) {
        let slot = Int(target.slot)
        guard slot < targets.count, targets[slot] === target else { return }
        if let run = target.probe {
            target.probe = nil
            run.fd.close()
        }
        targets[slot] = nil
        slots[ObjectIdentifier(target.server)] = nil
        freeSlots.append((target.slot, target.generation &+ 1))
    }

    /// The servers reclaimed since the last turn: target and last result go.
    func dropDeparted() {
        let departed = checker.takeDeparted()
        guard !departed.isEmpty else { return }
        for server in departed {
            if let slot = slots[ObjectIdentifier(server)], let target = targets[slot], target.server === server {
                retire(target)
            }
        }
        checker.results.withLock { results in
            for server in departed where results[ObjectIdentifier(server)]?.0 === server {
                results[ObjectIdentifier(server)] = nil
            }
        }
    }
}
