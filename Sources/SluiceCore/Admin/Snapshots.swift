// Plain values the runtime fills for `show ...` and for the Prometheus exposition. They are
// copies taken at one moment (counter by counter, not atomically across counters).

/// The operator's admin state of a server (SPEC "Server states").
package enum AdminState: String, Sendable, CaseIterable, Hashable {
    case ready, drain, maint
}

/// Health as the checks see it.
package enum Health: String, Sendable, Hashable {
    case up, down
}

package struct InfoSnapshot: Sendable, Equatable {
    package var version: String
    package var pid: Int
    package var uptimeSeconds: Int
    package var workers: Int
    package var sessionsCurrent: Int
    package var sessionsTotal: UInt64
    /// Client -> server bytes, all pools.
    package var bytesIn: UInt64
    /// Server -> client bytes, all pools.
    package var bytesOut: UInt64
    /// Log lines dropped because the log queue was full.
    package var logDropped: UInt64

    package init(
        version: String, pid: Int, uptimeSeconds: Int, workers: Int, sessionsCurrent: Int = 0,
        sessionsTotal: UInt64 = 0, bytesIn: UInt64 = 0, bytesOut: UInt64 = 0, logDropped: UInt64 = 0
    ) {
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.workers = workers
        self.sessionsCurrent = sessionsCurrent
        self.sessionsTotal = sessionsTotal
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.logDropped = logDropped
    }
}

package struct PoolSnapshot: Sendable, Equatable {
    package var name: String
    /// `tcp` or `udp` (PoolMode.rawValue).
    package var mode: String
    /// `leastconn`, `roundrobin` or `hash` (BalanceKind.rawValue).
    package var balance: String
    /// As written: `0.0.0.0:5432`, `[::]:5432`, `fd:NAME`.
    package var binds: [String]
    package var serversUp: Int
    package var serversTotal: Int
    package var sessionsCurrent: Int
    package var sessionsTotal: UInt64
    /// Clients waiting for a free server slot.
    package var queue: Int
    /// Servers passing the pool's role check (redis-master, http); nil without one. More
    /// than one is a conflict (`single-primary` keeps new sessions on one of them).
    package var primaries: Int? = nil
    /// `single-primary on`.
    package var singlePrimary = false
    /// With `single-primary on`: the server taking new sessions; nil while none is.
    package var primary: String? = nil
    // Metrics only (not columns of `show pools`):
    package var bytesIn: UInt64 = 0
    package var bytesOut: UInt64 = 0
    /// Rejected clients per reason; missing reasons count 0.
    package var rejected: [RejectReason: UInt64] = [:]
    package var udpFlows: Int = 0

    package init(
        name: String, mode: String, balance: String, binds: [String], serversUp: Int, serversTotal: Int,
        sessionsCurrent: Int = 0, sessionsTotal: UInt64 = 0, queue: Int = 0
    ) {
        self.name = name
        self.mode = mode
        self.balance = balance
        self.binds = binds
        self.serversUp = serversUp
        self.serversTotal = serversTotal
        self.sessionsCurrent = sessionsCurrent
        self.sessionsTotal = sessionsTotal
        self.queue = queue
    }
}

package struct ServerSnapshot: Sendable, Equatable {
    package var pool: String
    package var name: String
    /// `10.0.0.5:5432` or `[fd00::5]:5432`; with a host name, `db1.internal(10.0.0.5:5432)` reads well.
    package var address: String
    package var health: Health
    package var state: AdminState
    package var weight: Int
    /// The weight the balancer uses now (0 while drained or down, ramping during slowstart).
    package var effectiveWeight: Int
    package var sessionsCurrent: Int
    package var sessionsTotal: UInt64
    package var connectFailures: UInt64
    package var bytesIn: UInt64
    package var bytesOut: UInt64
    /// e.g. `ok`, `timeout`, `connection refused`, `expected +PONG`.
    package var lastCheck: String
    package var secondsSinceChange: Int
    /// Deleted (`del server` or reload): draining until its last session ends.
    package var removing: Bool
    // Metrics only:
    package var connectSeconds: HistogramSnapshot?
    package var checkSeconds: HistogramSnapshot?

    package init(
        pool: String, name: String, address: String, health: Health, state: AdminState, weight: Int,
        effectiveWeight: Int, sessionsCurrent: Int = 0, sessionsTotal: UInt64 = 0, connectFailures: UInt64 = 0,
        bytesIn: UInt64 = 0, bytesOut: UInt64 = 0, lastCheck: String = "", secondsSinceChange: Int = 0,
        removing: Bool = false, connectSeconds: HistogramSnapshot? = nil, checkSeconds: HistogramSnapshot? = nil
    ) {
        self.pool = pool
        self.name = name
        self.address = address
        self.health = health
        self.state = state
        self.weight = weight
        self.effectiveWeight = effectiveWeight
        self.sessionsCurrent = sessionsCurrent
        self.sessionsTotal = sessionsTotal
        self.connectFailures = connectFailures
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.lastCheck = lastCheck
        self.secondsSinceChange = secondsSinceChange
        self.removing = removing
        self.connectSeconds = connectSeconds
        self.checkSeconds = checkSeconds
    }
}

package struct SessionSnapshot: Sendable, Equatable {
    package var id: UInt64
    package var pool: String
    /// Empty while the session is still connecting with no server chosen.
    package var server: String
    /// `192.0.2.7:51234`
    package var client: String
    package var ageSeconds: Int
    package var bytesIn: UInt64
    package var bytesOut: UInt64

    package init(
        id: UInt64, pool: String, server: String, client: String, ageSeconds: Int, bytesIn: UInt64 = 0,
        bytesOut: UInt64 = 0
    ) {
        self.id = id
        self.pool = pool
        self.server = server
        self.client = client
        self.ageSeconds = ageSeconds
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
    }
}

/// Everything one metrics scrape needs.
package struct MetricsSnapshot: Sendable, Equatable {
    package var info: InfoSnapshot
    package var pools: [PoolSnapshot]
    package var servers: [ServerSnapshot]

    package init(info: InfoSnapshot, pools: [PoolSnapshot], servers: [ServerSnapshot]) {
        self.info = info
        self.pools = pools
        self.servers = servers
    }
}
