// A TCP session's state, kept by value in the worker's slab (no allocation per session).
//
//   free --accept--> [queued: servers full] --slot freed--> connecting --connect ok--> proxying --both pumps done--> free
//                      |  ^  connect failed,                |  error/RST/idle
//                      |  +--retries left (other server)    v
//                      +--no retries left / no server--> free (client closed)
//
// Each direction is a SplicePump; half-close is a pump that is done while the other runs.
// A session holds its server (a reference: one retain at connect, one release at the end),
// which keeps a removed server alive, and its counters valid, until the session ends.
import SluiceSys

enum SessionState: UInt8 {
    /// `queued`: every usable server is at its `maxconn`; the client waits (nothing read).
    case free, queued, connecting, proxying
}

struct Session {
    var generation: UInt32 = 0
    var state: SessionState = .free
    var client: FD = .invalid
    var server: FD = .invalid
    var pool: Int = 0
    /// The server picked for this session (its session count includes it); nil before a
    /// pick and after a failed connect.
    var backend: ServerRuntime? = nil
    var attempts = 0
    /// The server whose connect failed last (the next pick avoids it).
    var lastFailed: ServerRuntime? = nil
    var id: UInt64 = 0
    var peer = IPEndpoint(.anyV4, 0)
    var started = Instant(nanoseconds: 0)
    var lastActivity = Instant(nanoseconds: 0)
    var connectDeadline = Instant.distantFuture
    var connectStarted = Instant(nanoseconds: 0)
    var queuedSince = Instant(nanoseconds: 0)
    /// Deadline of the session's live heap entry (distantFuture: none). Older entries that
    /// pop with another deadline are obsolete and skipped.
    var timerDeadline = Instant.distantFuture
    var clientReadable = false
    var clientWritable = true
    var serverReadable = false
    var serverWritable = false
    /// A hang-up or error was reported: reads go on until EOF or the error shows.
    var clientHungUp = false
    var serverHungUp = false
    /// Bytes already added to the shared counters, and when.
    var publishedIn: UInt64 = 0
    var publishedOut: UInt64 = 0
    var publishedAt = Instant(nanoseconds: 0)
    /// client -> server
    var up = SplicePump()
    /// server -> client
    var down = SplicePump()
}

extension Session {
    /// Runs both directions; returns whether any byte moved.
    mutating func pumpBoth(_ pipes: inout PipePool, _ scratch: borrowing IOBuffer) throws(Errno) -> Bool {
        let upMoved = try up.run(
            src: client, dst: server, srcReadable: &clientReadable, srcHungUp: clientHungUp,
            dstWritable: &serverWritable, pipes: &pipes, scratch: scratch, otherDone: down.done)
        let downMoved = try down.run(
            src: server, dst: client, srcReadable: &serverReadable, srcHungUp: serverHungUp,
            dstWritable: &clientWritable, pipes: &pipes, scratch: scratch, otherDone: up.done)
        return upMoved || downMoved
    }
}

/// Sessions in a slab indexed by slot; a slot's generation changes when it is freed, so
/// stale epoll events and timers for an old session are recognised and dropped.
struct SessionTable {
    private(set) var slots: ContiguousArray<Session> = []
    private var freeList: [UInt32] = []
    private(set) var live = 0

    mutating func allocate() -> UInt32 {
        live += 1
        if let slot = freeList.popLast() { return slot }
        slots.append(Session())
        return UInt32(slots.count - 1)
    }

    mutating func free(_ slot: UInt32) {
        let generation = slots[Int(slot)].generation &+ 1
        slots[Int(slot)] = Session()
        slots[Int(slot)].generation = generation & 0xFF_FFFF
        freeList.append(slot)
        live -= 1
    }

    subscript(_ slot: UInt32) -> Session {
        _read { yield slots[Int(slot)] }
        _modify { yield &slots[Int(slot)] }
    }
}
