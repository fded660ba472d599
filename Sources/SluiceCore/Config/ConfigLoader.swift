// The entry point from text to Config: lex, parse, validate (three separate steps, R8), then
// report every error of every step as one list sorted by line.
import SluiceSys

package enum ConfigLoader {
    /// `file` is the path as the user gave it; it prefixes every error. `resolve` turns a server
    /// host name into an address (nil: cannot resolve), called once per host name written.
    package static func load(
        text: String, file: String, resolve: (String) -> IPAddress?
    ) -> Result<Config, ConfigErrors> {
        withoutActuallyEscaping(resolve) { resolve in
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
}
