// Helpers shared by the balancer tests: a fake ActiveCounts backed by an array, table building
// from compact specs, and a driver that tallies picks (optionally counting each as a live session).
import SluiceSys

@testable import SluiceCore

/// Session counts held in an array, as the runtime's atomics would report them.
struct FakeCounts: ActiveCounts {
    var values: [Int]
    init(_ n: Int) { values = Array(repeating: 0, count: n) }
    init(_ values: [Int]) { self.values = values }
    func active(_ id: ServerID) -> Int { values[id] }
}

let testKey = FlowKey(address: .loopbackV4, port: 40000)

/// Servers named a, b, c, … with the given weights; `backups` lists backup indices.
func makeServers(_ weights: [Int], backups: Set<Int> = [], down: Set<Int> = []) -> [BalancerServer] {
    weights.enumerated().map { i, w in
        BalancerServer(
            name: String(letterFor(i)), weight: w, backup: backups.contains(i), usable: !down.contains(i))
    }
}

func letterFor(_ id: ServerID?) -> Character {
    guard let id else { return "-" }
    return Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(id)))
}

/// Makes `picks` picks and returns them as letters ("-" for nil). With `counts`, each pick
/// is counted as a new live session, as the runtime does right after a pick.
func sequence<B: Balancer>(
    _ balancer: inout B, _ picks: Int, avoiding: ServerID? = nil, counts: inout FakeCounts
) -> String {
    var out = ""
    for _ in 0..<picks {
        let id = balancer.pick(testKey, avoiding: avoiding, counts: counts)
        if let id { counts.values[id] += 1 }
        out.append(letterFor(id))
    }
    return out
}

/// Same, for balancers that ignore counts (or when the counts should stay fixed).
func sequence<B: Balancer>(_ balancer: inout B, _ picks: Int, avoiding: ServerID? = nil) -> String {
    var out = ""
    let counts = FakeCounts(64)  // all zero
    for _ in 0..<picks {
        out.append(letterFor(balancer.pick(testKey, avoiding: avoiding, counts: counts)))
    }
    return out
}

/// How many times each server (by index) appears in a pick sequence.
func tally(_ picks: String, servers n: Int) -> [Int] {
    var result = Array(repeating: 0, count: n)
    for c in picks where c != "-" {
        result[Int(c.asciiValue! - UInt8(ascii: "a"))] += 1
    }
    return result
}
