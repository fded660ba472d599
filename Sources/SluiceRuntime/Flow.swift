// A `mode udp` client flow: one client address:port on one listener, and a socket connected
// to the server it was given. Flows live in the slab of the worker that reads the listener;
// a map from the client's address finds them per datagram.
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
    private(set) var slots: ContiguousArray<Flow> = []
    private var freeList: [UInt32] = []
    private var index: [FlowPeer: UInt32] = [:]
    private(set) var live = 0

    func find(_ peer: FlowPeer) -> UInt32? { index[peer] }

    mutating func allocate(_ peer: FlowPeer) -> UInt32 {
        live += 1
        let slot: UInt32
        if let reused = freeList.popLast() {
            slot = reused
        } else {
            slots.append(Flow())
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

    subscript(_ slot: UInt32) -> Flow {
        _read { yield slots[Int(slot)] }
        _modify { yield &slots[Int(slot)] }
    }
}
