// The parent suite of every end-to-end scenario. `.serialized` runs the scenarios one at a
// time: they start real processes on loopback ports and some measure timeouts, so running
// them side by side would make them interfere.
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
enum E2E {}
