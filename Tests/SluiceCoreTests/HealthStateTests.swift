// HealthState: HAProxy's rise/fall counter, table-driven over the sequences that matter,
// including the start-up rules (init-state up/down, a fresh server's first success).
import SluiceCore
import Testing

@Suite struct HealthStateTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let rise: Int
        let fall: Int
        let start: HealthStart
        /// "S" success, "F" failure.
        let results: String
        /// After each result: "u" up, "d" down; capital when that result was a transition.
        let expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "fresh: first success counts as rise", rise: 2, fall: 3, start: .fresh, results: "S", expected: "U"),
        Case(
            name: "fresh: then fall failures take it down", rise: 2, fall: 3, start: .fresh, results: "SFFF",
            expected: "UuuD"),
        Case(
            name: "fresh: a first failure ends the bonus", rise: 2, fall: 3, start: .fresh, results: "FSS",
            expected: "ddU"),
        Case(name: "fresh: bonus only once", rise: 3, fall: 2, start: .fresh, results: "SFFSSS", expected: "UuDddU"),
        Case(name: "down: needs rise successes", rise: 2, fall: 3, start: .down, results: "SS", expected: "dU"),
        Case(name: "down: rise 3", rise: 3, fall: 3, start: .down, results: "SSS", expected: "ddU"),
        Case(
            name: "down: a failure resets the rise count", rise: 3, fall: 2, start: .down, results: "SSFSSS",
            expected: "dddddU"),
        Case(
            name: "down: failures stay down quietly", rise: 2, fall: 3, start: .down, results: "FFFF", expected: "dddd"),
        Case(
            name: "up: before any result, fall failures down", rise: 2, fall: 3, start: .up, results: "FFF",
            expected: "uuD"),
        Case(
            name: "up: a success restores the full fall budget", rise: 2, fall: 3, start: .up, results: "FFSFFF",
            expected: "uuuuuD"),
        Case(name: "up: successes change nothing", rise: 2, fall: 3, start: .up, results: "SSS", expected: "uuu"),
        Case(name: "flapping: down then up again", rise: 2, fall: 2, start: .up, results: "FFSSFF", expected: "uDdUuD"),
        Case(name: "rise 1 fall 1", rise: 1, fall: 1, start: .down, results: "SFSF", expected: "UDUD"),
        Case(name: "rise 1 fall 1 from up", rise: 1, fall: 1, start: .up, results: "FSS", expected: "DUu"),
        Case(name: "rise 0 fall 0 are taken as 1", rise: 0, fall: 0, start: .down, results: "SF", expected: "UD"),
        Case(name: "long rise", rise: 5, fall: 1, start: .down, results: "SSSSSF", expected: "ddddUD"),
    ]

    @Test(arguments: cases) func sequence(_ c: Case) {
        var state = HealthState(rise: c.rise, fall: c.fall, start: c.start)
        #expect(state.isUp == (c.start == .up))
        var seen = ""
        for r in c.results {
            let t = state.record(success: r == "S")
            switch (t, state.isUp) {
            case (.wentUp, true): seen += "U"
            case (.wentDown, false): seen += "D"
            case (nil, true): seen += "u"
            case (nil, false): seen += "d"
            default: seen += "?"
            }
            #expect(state.counter >= 0 && state.counter <= state.rise + state.fall - 1)
        }
        #expect(seen == c.expected)
    }
}
