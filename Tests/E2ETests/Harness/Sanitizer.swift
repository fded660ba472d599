// Which sanitizer the suite runs under (`make test-asan` sets SLUICE_SANITIZER=address,
// `make test-tsan` thread). Checks on resident memory mean nothing there: ASan keeps freed
// blocks in quarantine and shadow memory grows with every allocation, so those tests step
// aside. Under TSan a suppressed report can start llvm-symbolizer as a child of sluice, which
// keeps the two pipe ends it talks over: fd checks allow for them.
import Foundation

enum Sanitizer {
    static var name: String? {
        ProcessInfo.processInfo.environment["SLUICE_SANITIZER"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// True when resident-memory bounds can be checked.
    static var memoryIsMeasurable: Bool { name == nil }

    /// Pipe fds sluice may hold beyond its own: TSan's symbolizer's.
    static var symbolizerPipeFDs: Int { name == "thread" ? 2 : 0 }
}
