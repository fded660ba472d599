// Per-worker stack of empty pipes. A direction borrows one only while bytes are in flight,
// so an idle session holds no pipe; a pipe that still holds bytes is closed, never reused.
import SluiceSys

struct PipePool {
    private var free: [PipePair] = []
    let size: Int
    let maxIdle: Int
    private(set) var created = 0

    init(size: Int, maxIdle: Int = 256) {
        self.size = size
        self.maxIdle = maxIdle
        free.reserveCapacity(maxIdle)
    }

    mutating func take() throws(Errno) -> PipePair {
        if let pipe = free.popLast() { return pipe }
        created += 1
        return try PipePair.make(size: size)
    }

    /// Returns a drained pipe to the pool.
    mutating func giveBack(_ pipe: PipePair) {
        if free.count < maxIdle {
            free.append(pipe)
        } else {
            pipe.close()
        }
    }

    mutating func closeAll() {
        for pipe in free { pipe.close() }
        free.removeAll()
    }
}
