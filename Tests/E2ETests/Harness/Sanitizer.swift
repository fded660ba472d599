// Which sanitizer the suite runs under (`make test-asan` sets SLUICE_SANITIZER=address).
// Checks on resident memory mean nothing there: ASan keeps freed blocks in quarantine and
// shadow memory grows with every allocation, so those tests step aside.
import Foundation

enum Sanitizer {
    static var name: String? { ProcessInfo.processInfo.environment["SLUICE_SANITIZER"].flatMap { $0.isEmpty ? nil : $0 } }

    /// True when resident-memory bounds can be checked.
    static var memoryIsMeasurable: Bool { name == nil }
}
