// What every balancing algorithm promises the runtime, checked once for all of them.
import Testing
@testable import SluiceCore

@Suite struct BalancerContractTests {
    static let empty: [(servers: [BalancerServer], label: String)] = [
        (makeServers([]), "empty table"),
        (makeServers([1, 2], down: [0, 1]), "all down"),
        (makeServers([0, 0]), "all weight 0"),
        (makeServers([0, 1], backups: [1], down: [1]), "backup down, primary weight 0"),
    ]

    static func expectNothingPicked<B: Balancer>(_ balancer: inout B, _ label: String) {
        #expect(sequence(&balancer, 3) == "---", "\(B.self): \(label)")
        #expect(sequence(&balancer, 1, avoiding: 0) == "-", "\(B.self): \(label)")
    }

    @Test(arguments: empty.indices)
    func nilWhenNothingEligible(_ index: Int) {
        let (servers, label) = Self.empty[index]
        var lc = LeastConn(servers: servers)
        Self.expectNothingPicked(&lc, label)
        var rr = SmoothWeightedRoundRobin(servers: servers)
        Self.expectNothingPicked(&rr, label)
        var maglev = Maglev(servers: servers, tableSize: 251)
        Self.expectNothingPicked(&maglev, label)
    }
}
