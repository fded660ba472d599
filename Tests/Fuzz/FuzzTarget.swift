// The parsers `make fuzz` drives, one per target name, and what must hold for any input: a
// value or an error, never a trap, a hang or a sanitizer report. Where a result has a shape
// to keep (a check reply ends in a verdict, a PROXY header has its fixed frame), a broken
// shape is a finding too (precondition, which libFuzzer reports like a crash).
import SluiceCore
import SluiceSys

enum FuzzTarget: String, CaseIterable {
    case config, admin, statefile, probe, proxy, pump, metrics, session

    static func fromEnvironment() -> FuzzTarget {
        guard let name = ProcessControl.environment("SLUICE_FUZZ_TARGET"), let t = FuzzTarget(rawValue: name) else {
            StdIO.errorLine("SLUICE_FUZZ_TARGET must be one of: \(allCases.map(\.rawValue).joined(separator: " "))")
            ProcessControl.exit(2)
        }
        return t
    }

    func run(_ bytes: [UInt8]) {
        switch self {
        case .config:
            if case .failure(let errors) = ConfigLoader.load(
                text: String(decoding: bytes, as: UTF8.self), file: "fuzz.conf", resolve: { _ in nil })
            {
                precondition(!errors.errors.isEmpty, "a failed load with no error")
                for e in errors.errors { precondition(e.description.hasPrefix("fuzz.conf:"), "no FILE:LINE: \(e)") }
            }
        case .admin:
            if case .failure(let error) = AdminRequest.parse(bytes: bytes) {
                precondition(!error.message.contains("\n"), "a multi-line admin error")
            }
        case .statefile:
            let (_, problems) = StateFileText.parse(String(decoding: bytes, as: UTF8.self))
            for p in problems { precondition(p.line >= 1, "a problem without a line") }
        case .probe:
            ProbeRun.run(bytes)
        case .proxy:
            ProxyRoundTrip.run(bytes)
        case .pump:
            PumpRun.run(bytes)
        case .metrics:
            MetricsRun.run(bytes)
        case .session:
            SessionRun.run(bytes)
        }
    }
}
