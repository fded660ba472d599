// The immutable, validated configuration model (SPEC "Configuration file"). Built by
// ConfigLoader from text; every value here is already typed and range-checked, and the
// built-in defaults of the grammar live here so docs, parser and runtime agree.
import SluiceSys

package struct Config: Sendable, Equatable {
    package var file: String
    package var global: GlobalConfig
    package var pools: [PoolConfig]

    package init(file: String, global: GlobalConfig = GlobalConfig(), pools: [PoolConfig] = []) {
        self.file = file
        self.global = global
        self.pools = pools
    }
}

package enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case error = 0, warn, info, debug

    package static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
    package var name: String {
        switch self {
        case .error: "error"
        case .warn: "warn"
        case .info: "info"
        case .debug: "debug"
        }
    }
}

package struct AdminSocketConfig: Sendable, Equatable {
    package var path: String
    package var mode: UInt32
    /// Where the socket is when the file has no `admin-socket` line.
    package static let defaultPath = "/run/sluice/admin.sock"

    package init(path: String, mode: UInt32 = 0o600) {
        self.path = path
        self.mode = mode
    }
}

package struct GlobalConfig: Sendable, Equatable {
    /// nil means `auto`: one worker per CPU.
    package var workers: Int? = nil
    package var maxconn: Int = 100_000
    /// nil means `admin-socket none`.
    package var adminSocket: AdminSocketConfig? = AdminSocketConfig(path: AdminSocketConfig.defaultPath)
    package var adminAllowUIDs: [UInt32] = []
    package var metrics: IPEndpoint? = nil
    package var logLevel: LogLevel = .info
    package var logSessions: Bool = false
    package var pipeSize: Int = 65536
    package var user: String? = nil
    package var group: String? = nil
    package var timeoutShutdown: Duration = .seconds(30)
    package var stateFile: String? = nil

    package init() {}
}

package enum PoolMode: String, Sendable { case tcp, udp }
package enum BalanceKind: String, Sendable { case leastconn, roundrobin, hash }
package enum HashKey: String, Sendable { case src, srcPort = "src-port" }
package enum AllDownPolicy: String, Sendable { case reject, any }
package enum OnDownPolicy: String, Sendable { case keepSessions = "keep-sessions", closeSessions = "close-sessions" }
package enum ProxyProtocolVersion: String, Sendable { case off, v1, v2 }
package enum InitState: String, Sendable { case up, down }

package enum BindTarget: Hashable, Sendable, CustomStringConvertible {
    case inet(IPEndpoint)
    /// Sockets passed by systemd with `FileDescriptorName=NAME`.
    case fd(String)

    package var description: String {
        switch self {
        case .inet(let e): e.description
        case .fd(let name): "fd:\(name)"
        }
    }
}

package enum CheckKind: Sendable, Equatable {
    case tcp
    case redis(password: String?)
    case redisMaster(password: String?)
    case postgres
    case http(path: String, expectStatus: Int)
    case send([UInt8], expect: [UInt8])
    case none

    /// A check that tells the primary from the others (`redis-master`; `http`, as against
    /// Patroni's `/primary`): `single-primary` needs one, `sluice_pool_primaries` counts it.
    package var isRoleCheck: Bool {
        switch self {
        case .redisMaster, .http: true
        default: false
        }
    }
}

package struct CheckConfig: Sendable, Equatable {
    package var kind: CheckKind = .tcp
    package var interval: Duration = .seconds(2)
    package var timeout: Duration = .seconds(1)
    package var rise: Int = 2
    package var fall: Int = 3
    /// Percent of `interval`, 0...100.
    package var jitterPercent: Int = 10

    package init() {}
}

/// A server's address as written (`host`) and as resolved at load (`endpoint`).
package struct ServerAddress: Sendable, Equatable {
    package var host: String
    package var endpoint: IPEndpoint

    package init(host: String, endpoint: IPEndpoint) {
        self.host = host
        self.endpoint = endpoint
    }
}

package struct ServerConfig: Sendable, Equatable {
    package var name: String
    package var address: ServerAddress
    package var weight: Int = 100
    /// 0: no per-server cap.
    package var maxconn: Int = 0
    package var backup: Bool = false
    package var disabled: Bool = false
    package var checkPort: UInt16? = nil
    /// nil: the pool's `init-state`.
    package var initState: InitState? = nil
    package var line: Int = 0

    package init(name: String, address: ServerAddress) {
        self.name = name
        self.address = address
    }
}

/// Every pool directive but `bind` and `server`; `defaults` sections fill one of these.
package struct PoolSettings: Sendable, Equatable {
    package var mode: PoolMode = .tcp
    package var balance: BalanceKind = .leastconn
    package var hashKey: HashKey = .src
    package var timeoutConnect: Duration = .seconds(3)
    package var timeoutIdle: Duration = .zero
    package var timeoutDrain: Duration = .seconds(3600)
    package var timeoutQueue: Duration = .seconds(5)
    package var timeoutUDPFlow: Duration = .seconds(30)
    package var retries: Int = 2
    /// 0: no pool cap (the global `maxconn` still applies). A `mode udp` pool caps its flows
    /// with it, `udpDefaultMaxconn` when not written (0 is refused there).
    package var maxconn: Int = 0
    package var allDown: AllDownPolicy = .reject
    package var check: CheckConfig = CheckConfig()
    package var observe: Bool = false
    package var slowstart: Duration = .zero
    package var onDown: OnDownPolicy = .keepSessions
    package var proxyProtocol: ProxyProtocolVersion = .off
    package var singlePrimary: Bool = false
    package var initState: InitState = .up
    package var resolveInterval: Duration = .zero

    package init() {}

    /// A UDP pool's flow cap when its `maxconn` is not written: flows are not in the global
    /// TCP budget, and each holds a socket (and about half a KiB in its worker's table).
    package static let udpDefaultMaxconn = 10_000
}

package struct PoolConfig: Sendable, Equatable {
    package var name: String
    package var binds: [BindTarget] = []
    package var settings: PoolSettings = PoolSettings()
    package var servers: [ServerConfig] = []
    package var line: Int = 0

    package init(name: String) { self.name = name }
}
