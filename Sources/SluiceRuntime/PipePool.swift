// Per-worker stack of empty pipes. A direction borrows one only while bytes are in flight,
// so an idle session holds no pipe. A pipe comes back only with a byte count of 0 (checked
// with FIONREAD too when a session ends); one that may hold bytes is closed, never reused:
// the next session would send another client's data. Pipes may be smaller than asked (the
// kernel's per-user limits): `smallestCapacity` bounds copy reads so a remainder always fits.
import SluiceSys

struct PipePool {
    private var free: [PipePair] = []
    /// The capacity asked for (`pipe-size`).
    let size: Int
    let maxIdle: Int
    private(set) var created = 0
    /// Pipes closed instead of pooled because they held (or may have held) bytes.
    private(set) var discarded = 0
    /// The smallest capacity among the pipes made so far; a page (the kernel's floor) before
    /// the first, so copy reads never exceed what one empty pipe of this pool takes.
    private(set) var smallestCapacity: Int
    /// What `PipePair.make` asks for: `size`, or in debug builds SLUICE_DEBUG_PIPE_BYTES.
    private let requested: Int

    init(size: Int, maxIdle: Int = 256) {
        self.size = size
        self.maxIdle = maxIdle
        var requested = size
        #if DEBUG
        // Test hook: pipes as small as an unprivileged user past pipe-user-pages-* gets.
        if let text = ProcessControl.environment("SLUICE_DEBUG_PIPE_BYTES"), let n = Int(text), n > 0 {
            requested = n
        }
        #endif
        self.requested = requested
        smallestCapacity = min(requested, PipePair.minimumCapacity)
        free.reserveCapacity(maxIdle)
    }

    mutating func take() throws(Errno) -> PipePair {
        if let pipe = free.popLast() { return pipe }
        let pipe = try PipePair.make(size: requested)
        created += 1
        // Once per pipe made (pipes are reused): learn what the kernel granted.
        let capacity = pipe.capacity
        if created == 1 || (capacity > 0 && capacity < smallestCapacity) {
            smallestCapacity = max(PipePair.minimumCapacity, capacity)
        }
        return pipe
    }

    /// Returns a pipe whose byte count says it is empty (the data path: no syscall). A
    /// non-zero count closes it instead.
    mutating func giveBack(_ pipe: PipePair, holding bytes: Int) {
        guard bytes == 0 else { return discard(pipe) }
        keep(pipe)
    }

    /// For a session that ends (maybe on an error): pooled only when both the count and the
    /// kernel (FIONREAD) say the pipe is empty.
    mutating func recycle(_ pipe: PipePair, holding bytes: Int) {
        guard bytes == 0, pipe.buffered == 0 else { return discard(pipe) }
        keep(pipe)
    }

    private mutating func keep(_ pipe: PipePair) {
        if free.count < maxIdle { free.append(pipe) } else { pipe.close() }
    }

    private mutating func discard(_ pipe: PipePair) {
        discarded += 1
        pipe.close()
    }

    mutating func closeAll() {
        for pipe in free { pipe.close() }
        free.removeAll()
    }
}
