// The parent suite of every end-to-end scenario. `.serialized` runs the scenarios one at a
// time: they start real processes on loopback ports and some measure timeouts, so running
// them side by side would make them interfere.
//
// Every backend a scenario starts is followed by `defer { backend.stop() }`: Swift may end an
// object's lifetime after its last use, and a backend released mid-test resets its sessions.
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
enum E2E {}
