// A bound listening socket and the pool it feeds.
import SluiceSys

struct Listener: Sendable {
    let fd: FD
    let pool: Int
    let name: String
}
