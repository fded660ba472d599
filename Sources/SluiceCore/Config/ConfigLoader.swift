// The entry point from text to Config: lex, parse, validate (three separate steps, R8), then
// report every error of every step as one list sorted by line.
import SluiceSys

package enum ConfigLoader {
    /// `file` is the path as the user gave it; it prefixes every error. `resolve` turns a server
    /// host name into an address (nil: cannot resolve), called once per host name written.
    package static func load(
        text: String, file: String, resolve: (String) -> IPAddress?
    ) -> Result<Config, ConfigErrors> {
        load(text: text, file: file, lookup: { resolve($0).map(HostLookup.found) ?? .failed(reason: "no address") })
    }

    /// As `load`, with lookups that can also report that no answer came in time.
    package static func load(
        text: String, file: String, lookup: (String) -> HostLookup
    ) -> Result<Config, ConfigErrors> {
        withoutActuallyEscaping(lookup) { resolve in
            let (lines, lexErrors) = Lexer.lex(text, file: file)
            var parser = ConfigParser(file: file, resolve: resolve)
            parser.parse(lines)
            let (config, semanticErrors) = ConfigValidator.validate(parser.result, file: file)
            // A stable sort keeps the errors of one line in the order they were found.
            let all = (lexErrors + parser.errors + semanticErrors).enumerated()
                .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
                .map(\.element)
            return all.isEmpty ? .success(config) : .failure(ConfigErrors(all))
        }
    }

    /// The host names the servers of `text` are written with (IP literals and malformed
    /// names left out), each once, in order: what to look up before `load` (off the control
    /// thread, with a deadline). The file's other errors are ignored here; `load` reports them.
    package static func hostNames(text: String, file: String) -> [String] {
        var names: [String] = []
        var seen: Set<String> = []
        let (lines, _) = Lexer.lex(text, file: file)
        var parser = ConfigParser(file: file) { host in
            if seen.insert(host).inserted { names.append(host) }
            return .failed(reason: "not looked up")
        }
        parser.parse(lines)
        return names
    }
}

/// The outcome of looking up one host name.
package enum HostLookup: Sendable, Equatable {
    case found(IPAddress)
    /// The name does not exist, or has no address: the resolver's reason.
    case failed(reason: String)
    /// The name server did not answer within this (a description such as `5s`).
    case noAnswer(within: String)
}
