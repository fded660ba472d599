// Config text shared by the scenarios: the `global` section every test starts with.
// No admin socket (it comes later), sessions logged so failures show where clients went.
enum TestConfig {
    static func global(workers: Int = 2, _ extra: String...) -> String {
        var lines = [
            "global",
            "    workers \(workers)",
            "    admin-socket none",
            "    log-level info",
            "    log-sessions on",
        ]
        lines += extra.map { "    " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}
