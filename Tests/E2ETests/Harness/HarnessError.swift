// The one error type the harness throws: a message that says what was expected and what was
// last seen, so a failing end-to-end test explains itself without a debugger.
struct HarnessError: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) {
        self.description = message
    }
}
