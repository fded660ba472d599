// The state file's text (docs/configuration.md "State file"): a version line, then one admin
// command per line, from the four that change servers (`del server`, `add server`,
// `set server ... state|weight`). Reading replays the lines in order, as if typed at the admin
// socket, so the format needs no grammar of its own and stays readable by hand. A line that
// does not parse is reported with its number and skipped; the others still count.

package enum StateFileText {
    package static let header = "# sluice state v1"
    private static let versionPrefix = "# sluice state "

    /// A line that was skipped, with its 1-based number.
    package struct Problem: Equatable, Sendable {
        package var line: Int
        package var message: String

        package init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    package static func render(_ state: RuntimeState) -> String {
        var text = header + "\n"
        text += "# Written by sluice after every change made through the admin socket; read at start and reload.\n"
        for command in state.commands { text += line(command) + "\n" }
        return text
    }

    /// The admin command line of a state record.
    package static func line(_ command: AdminCommand) -> String {
        switch command {
        case .delServer(let ref):
            return "del server \(ref)"
        case .addServer(let r):
            var text = "add server \(r.ref) \(r.endpoint)"
            if r.weight != 100 { text += " weight \(r.weight)" }
            if r.maxconn != 0 { text += " maxconn \(r.maxconn)" }
            if r.backup { text += " backup" }
            return text
        case .setState(let ref, let state):
            return "set server \(ref) state \(state.rawValue)"
        case .setWeight(let ref, let weight):
            return "set server \(ref) weight \(weight)"
        case .help, .show, .killSessions, .reload:
            preconditionFailure("not a state record: \(command)")
        }
    }

    /// The snapshot the text describes, and the lines that were skipped.
    package static func parse(_ text: String) -> (RuntimeState, [Problem]) {
        var state = RuntimeState()
        var problems: [Problem] = []
        // An empty file is what a first start sees after `touch`: nothing to report.
        if text.allSatisfy(\.isWhitespace) { return (state, problems) }
        // "\r\n" is one Character in Swift: split on it too so CRLF files keep their line numbers.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            var trimmed = raw.drop { $0 == " " || $0 == "\t" }
            if trimmed.last == "\r" { trimmed = trimmed.dropLast() }
            if number == 1 && trimmed != header[...] {
                if trimmed.hasPrefix(versionPrefix) {
                    // Another version may mean other records: none of its lines is trusted.
                    let version = trimmed.dropFirst(versionPrefix.count)
                    return (
                        state,
                        [
                            Problem(
                                line: 1,
                                message:
                                    "unsupported state file version '\(version.prefix(20))' (expected v1); file ignored"
                            )
                        ]
                    )
                }
                problems.append(Problem(line: 1, message: "missing the first line '\(header)'"))
            }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            switch AdminRequest.parse(String(raw)) {
            case .failure(let error):
                problems.append(Problem(line: number, message: error.message))
            case .success(let request) where request.json:
                problems.append(Problem(line: number, message: "unexpected 'json' in a state record"))
            case .success(let request):
                switch request.command {
                case .setState, .setWeight, .addServer, .delServer:
                    state.record(request.command)
                case .help, .show, .killSessions, .reload:
                    let verb = raw.split(separator: " ").first.map(String.init) ?? ""
                    problems.append(
                        Problem(
                            line: number,
                            message:
                                "'\(verb.prefix(20))' is not a state record (expected set server, add server or del server)"
                        ))
                }
            }
        }
        return (state, problems)
    }
}
