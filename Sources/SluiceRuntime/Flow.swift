// A `mode udp` client flow: one client address:port on one listener, and a socket connected
// to the server it was given. Flows live in the slab of the worker that reads the listener;
// a map from the client's address finds them per datagram. About 450 bytes a flow (slab and
// map); the pools' caps bound the table, and what a flood grew is given back once it empties.
import SluiceSys

struct Flow {
    var generation: UInt32 = 0
    var live = false
    /// Connected to the server; replies are read here.
    var socket: FD = .invalid
    var listener: Int = 0
    var pool: Int = 0
    /// The flow's server (its session count includes the flow); nil before one is given.
    var backend: ServerRuntime? = nil
    var id: UInt64 = 0
    var client = IPEndpoint(.anyV4, 0)
    /// The client's sockaddr, as replies are sent to it.
    var clientAddress = SocketAddress()
    /// The address the client wrote to: replies leave from it.
    var localAddress = SocketAddress()
    var started = Instant(nanoseconds: 0)
    var lastActivity = Instant(nanoseconds: 0)
    /// Deadline of the flow's live timer entry (see TimerHeap).
    var timerDeadline = Instant.distantFuture
    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0
}

/// Which flow a datagram belongs to.
struct FlowPeer: Hashable {
    var listener: Int
    var client: IPEndpoint
}

struct FlowTable {
    /// Slots kept when the table empties; storage past this is released then.
    static let keptSlots = 256
    private(set) var slots: ContiguousArray<Flow> = []
    private var freeList: [UInt32] = []
    private var index: [FlowPeer: UInt32] = [:]
    private(set) var live = 0
    /// Generation of slots made from now on: past every one handed out before a release.
    private var firstGeneration: UInt32 = 0

    func find(_ peer: FlowPeer) -> UInt32? { index[peer] }

    mutating func allocate(_ peer: FlowPeer) -> UInt32 {
        // Here, not in free(): loops over the slots (closeFlows) free flows as they go.
        if live == 0 && slots.count > Self.keptSlots { releaseStorage() }
        live += 1
        let slot: UInt32
        if let reused = freeList.popLast() {
            slot = reused
        } else {
            var flow = Flow()
            flow.generation = firstGeneration
            slots.append(flow)
            slot = UInt32(slots.count - 1)
        }
        slots[Int(slot)].live = true
        slots[Int(slot)].listener = peer.listener
        slots[Int(slot)].client = peer.client
        index[peer] = slot
        return slot
    }

    mutating func free(_ slot: UInt32) {
        let flow = slots[Int(slot)]
        index[FlowPeer(listener: flow.listener, client: flow.client)] = nil
        slots[Int(slot)] = Flow()
        slots[Int(slot)].generation = (flow.generation &+ 1) & 0xFF_FFFF
        freeList.append(slot)
        live -= 1
    }

    /// Every flow is gone: drops the slab, free list and map a flood grew. New slots start
    /// past every generation used, so a stale event or timer of an old slot never matches.
    private mutating func releaseStorage() {
        var highest = firstGeneration
        for flow in slots where flow.generation > highest { highest = flow.generation }
        firstGeneration = (highest &+ 1) & 0xFF_FFFF
        slots = []
        freeList = []
        index = [:]
    }

    subscript(_ slot: UInt32) -> Flow {
        _read { yield slots[Int(slot)] }
        _modify { yield &slots[Int(slot)] }
    }
}
