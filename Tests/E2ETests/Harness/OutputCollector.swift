// Drains a pipe on a background thread into memory, so a child never blocks on a full pipe and
// the test can read everything it printed so far at any time.
import Foundation
import Synchronization

final class OutputCollector: Sendable {
    private let state = Mutex<(data: [UInt8], closed: Bool)>(([], false))

    init(_ handle: FileHandle, name: String) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                state.withLock { $0.data += chunk }
            }
            state.withLock { $0.closed = true }
        }
        thread.name = name
        thread.start()
    }

    var text: String { state.withLock { String(decoding: $0.data, as: UTF8.self) } }
    /// True once the writing end is closed (the child and its descendants exited).
    var closed: Bool { state.withLock { $0.closed } }
}
