// `resolve-interval` (SPEC "pool"): servers written with a host name are looked up again
// every interval, on the HostResolver thread. When the name points somewhere new, the server
// is replaced as a reload replaces a moved server: the one at the new address joins first
// (keeping the admin state, weight and health of the old one, as HAProxy changes an address in
// place), then the old one drains its sessions. A failed lookup keeps the last good address
// and warns once per failure streak. Runs on the control thread, once per tick.
import SluiceCore
import SluiceSys

final class AddressRefresher {
    private let resolver: HostResolver
    private let logger: Logger
    private let health: HealthChecker?
    /// When each server (`POOL/NAME`) is due for its next lookup.
    private var due: [String: Instant] = [:]
    /// Servers whose last lookup failed: warned once, until a lookup succeeds again.
    private var failing: Set<String> = []

    init(resolver: HostResolver, logger: Logger, health: HealthChecker?) {
        self.resolver = resolver
        self.logger = logger
        self.health = health
    }

    /// Applies the answers that came in, then queues the lookups that are due. A server's
    /// first lookup is one interval after it is first seen: it was resolved at load.
    func tick(_ pools: [PoolRuntime], now: Instant) {
        for answer in resolver.takeAnswers() { apply(answer, pools) }
        var hosts: [String] = []
        var seen: Set<String> = []
        for (pool, server) in Self.targets(pools) {
            let key = "\(pool.name)/\(server.name)"
            let interval = pool.settings.resolveInterval
            seen.insert(key)
            guard let when = due[key] else {
                due[key] = now + interval
                continue
            }
            if when <= now {
                hosts.append(server.config.address.host)
                due[key] = now + interval
            }
        }
        due = due.filter { seen.contains($0.key) }
        failing = failing.filter { seen.contains($0) }
        if !hosts.isEmpty { resolver.submit(hosts) }
    }

    func stop() { resolver.stop() }

    /// Servers of pools with `resolve-interval` that were written with a host name.
    private static func targets(_ pools: [PoolRuntime]) -> [(PoolRuntime, ServerRuntime)] {
        pools.filter { $0.settings.resolveInterval != .zero }.flatMap { pool in
            pool.servers
                .filter { !$0.removing.load(ordering: .relaxed) && IPAddress($0.config.address.host) == nil }
                .map { (pool, $0) }
        }
    }

    private func apply(_ answer: HostResolver.Answer, _ pools: [PoolRuntime]) {
        for (pool, server) in Self.targets(pools) where server.config.address.host == answer.host {
            let key = "\(pool.name)/\(server.name)"
            switch answer.result {
            case .failure(let failure):
                let fields: KeyValuePairs<String, String> = [
                    "pool": pool.name, "server": server.name, "host": answer.host, "addr": "\(server.endpoint)",
                    "reason": failure.reason,
                ]
                logger.debug("host lookup failed", fields)
                if failing.insert(key).inserted {
                    logger.warn("cannot resolve host: keeping the last good address", fields)
                }
            case .success(let address):
                if failing.remove(key) != nil {
                    logger.info(
                        "host resolves again",
                        [
                            "pool": pool.name, "server": server.name, "host": answer.host, "addr": "\(server.endpoint)",
                        ])
                }
                if address != server.endpoint.address { replace(server, in: pool, with: address) }
            }
        }
    }

    private func replace(_ old: ServerRuntime, in pool: PoolRuntime, with address: IPAddress) {
        var config = old.config
        config.address.endpoint = IPEndpoint(address, old.endpoint.port)
        let start: HealthStart = old.healthy.load(ordering: .relaxed) ? .up : .fresh
        let added = pool.add(config, replacing: true, checkStart: start) { fresh in
            fresh.weight.store(old.weight.load(ordering: .relaxed), ordering: .relaxed)
            fresh.weightSetAtRunTime.store(old.weightSetAtRunTime.load(ordering: .relaxed), ordering: .relaxed)
            if fresh.adminState != old.adminState { fresh.setAdminState(old.adminState) }
            fresh.adminStateSetAtRunTime.store(old.adminStateSetAtRunTime.load(ordering: .relaxed), ordering: .relaxed)
        }
        guard let fresh = added else { return }
        health?.watch(pool: pool)
        pool.apply(.removing, to: old)
        logger.info(
            "server \(pool.name)/\(old.name) address \(old.endpoint) -> \(fresh.endpoint)",
            [
                "pool": pool.name, "server": old.name, "host": config.address.host,
                "sessions": "\(old.stats.active.load(ordering: .relaxed))",
            ])
    }
}
