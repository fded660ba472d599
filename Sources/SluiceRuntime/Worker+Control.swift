// Control messages a worker acts on between events: closing the sessions of one server and
// reporting its sessions for `show sessions`.
import SluiceCore
import SluiceSys

extension Worker {
    mutating func closeSessions(pool index: Int, server: ServerRuntime, reason: String) {
        guard let id = pools[index].servers.firstIndex(where: { $0 === server }) else { return }
        var closed = 0
        for slot in 0..<UInt32(sessions.slots.count)
        where sessions[slot].state != .free && sessions[slot].pool == index && sessions[slot].serverID == id {
            finish(slot, aborted: true, reason: reason)
            closed += 1
        }
        if closed > 0 {
            log.info("sessions closed", ["pool": shared.pools[index].name, "server": server.name,
                                         "sessions": "\(closed)", "reason": reason, "worker": "\(channel.index)"])
        }
    }

    func report(into report: SessionReport, pool: Int?) {
        defer { report.workerDone() }
        var rows: [SessionSnapshot] = []
        let room = report.room
        for slot in 0..<UInt32(sessions.slots.count) where rows.count < room {
            let s = sessions[slot]
            guard s.state != .free, pool == nil || s.pool == pool else { continue }
            rows.append(SessionSnapshot(
                id: s.id, pool: shared.pools[s.pool].name,
                server: s.serverID >= 0 ? pools[s.pool].servers[s.serverID].name : "",
                client: "\(s.peer)", ageSeconds: now.millis(since: s.started) / 1000,
                bytesIn: s.up.bytes, bytesOut: s.down.bytes))
        }
        report.add(rows)
    }
}
