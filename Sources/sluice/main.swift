// sluice: argument parsing and wiring only (SPEC "Programs"). Exit codes: 0 clean stop,
// 1 configuration or start-up error, 2 usage.
import SluiceCore
import SluiceRuntime
import SluiceSys

// First of all: a SIGHUP or SIGTERM during start-up (host lookups, the state file) stays
// pending for the control loop instead of killing the process; threads inherit the mask.
SignalFD.blockEarly([.hangup, .terminate, .interrupt])

let usage = """
    usage: sluice [-f FILE]       run the balancer in the foreground
           sluice -c [-f FILE]    check the configuration only
           sluice --version       print the version
           sluice -h              print this help
    FILE defaults to /etc/sluice/sluice.conf. Signals: SIGHUP reloads, SIGTERM/SIGINT stop gracefully.
    The contract (configuration grammar, admin commands, metrics) is in docs/ and SPEC.md.
    """

func fail(_ message: String, code: Int32) -> Never {
    StdIO.errorLine(message)
    ProcessControl.exit(code)
}

var file = "/etc/sluice/sluice.conf"
var checkOnly = false
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "-f":
        guard let value = args.popFirst(), !value.isEmpty else { fail("sluice: -f needs a FILE\n\(usage)", code: 2) }
        file = value
    case "-c": checkOnly = true
    case "--version", "-v":
        StdIO.outputLine("sluice \(SluiceVersion.string)")
        ProcessControl.exit(0)
    case "-h", "--help":
        StdIO.outputLine(usage)
        ProcessControl.exit(0)
    default:
        fail("sluice: unknown argument '\(arg)'\n\(usage)", code: 2)
    }
}

// Host names are looked up on helper threads, each within HostLookups.timeout.
let lookups: HostLookups
let load: ConfigLoad
do {
    lookups = try HostLookups()
    load = try ConfigLoad(file: file, lookups: lookups)
} catch {
    fail("sluice: \(error)", code: 1)
}
if let stop = load.wait(lookups) {
    // Nothing runs yet: a stop now is a clean one (but no verdict for -c).
    StdIO.errorLine("sluice: stopped by \(stop) during start-up, while looking up host names")
    ProcessControl.exit(checkOnly ? 1 : 0)
}
let config: Config
switch load.result() {
case .success(let loaded):
    config = loaded
case .failure(let errors):
    for e in errors.errors { StdIO.errorLine(e.description) }
    ProcessControl.exit(1)
}

if checkOnly {
    StdIO.outputLine("configuration valid")
    ProcessControl.exit(0)
}

// Lines still queued are written before exit, unless stderr stays stuck for 2 s.
let logger = Logger(level: config.global.logLevel, logSessions: config.global.logSessions)
let code: Int32
do {
    code = try Supervisor(config: config, logger: logger, lookups: lookups).run()
} catch {
    logger.close(timeoutMillis: 2000)
    fail("sluice: cannot start: \(error)", code: 1)
}
logger.close(timeoutMillis: 2000)
ProcessControl.exit(code)
