// The `session` target: the real Worker (one, in-process, turned by the fuzzer through its
// `turn` seam) proxying real loopback clients to two real backend listeners (and a third
// server that refuses, whose clients are reset), driven by an
// input-chosen sequence of events: clients connect, either side sends (small, bulk or one
// urgent byte), reads, half-closes, resets or closes; the loop turns; timers expire (the
// clock passed to `turn` jumps past `timeout idle`); a server's sessions are killed; the
// worker is told to drain. Then every side still open half-closes and reads to the end.
// What must hold (the model in SessionSides.swift):
// - each side reads exactly its own session's next bytes (every direction of every session
//   is a distinct phase of one pattern), never more than the other side sent;
// - a session nobody cut (no reset, close, kill, idle expiry or drain deadline) delivers
//   everything both ways and ends in EOF both ways, never a reset;
// - every session ends: after the final half-closes the worker has no session left within a
//   bounded number of turns, and every side saw EOF or a reset;
// - with PROXY headers on, each backend connection starts with a header naming its client;
// - afterwards the process has exactly the fds it had before the run (no leak, no double close).
import Glibc
import SluiceCore
import SluiceSys
@testable import SluiceRuntime

/// `retries 0`: a backend connection is paired with its client when the harness accepts it (or,
/// with PROXY headers, when its header arrives), so a retry on the other server would be a
/// connection nobody can pair. A server that resets before the worker saw its connect
/// complete then ends the session (client reset), a path the target covers.
/// Sockets every run of the process shares (binding per input would churn ports): sluice's
/// listener, the listeners of two backend servers, and a port where nothing listens (a third
/// server whose connects are refused: the client is reset).
struct SessionRig: Sendable {
    static let shared = SessionRig()
    /// One logger for the process: each has a writer thread and an eventfd.
    static let logger = Logger(level: .error, journal: false)

    let front: FD
    let frontPort: UInt16
    let backends: [FD]
    let backendPorts: [UInt16]
    /// By pipe size (4k, 64k) and PROXY protocol (off, v1, v2).
    let configs: [Config]

    init() {
        func listen() -> (FD, UInt16) {
            let fd = try! Socket.listen(IPEndpoint(.loopbackV4, 0))
            return (fd, try! Socket.localAddress(fd).endpoint!.port)
        }
        let f = listen()
        let b = [listen(), listen()]
        (front, frontPort) = f
        backends = b.map(\.0)
        backendPorts = b.map(\.1)
        // Where nothing listens: server c's connects are refused.
        let gone = listen()
        gone.0.close()
        let closed = gone.1
        configs = ["4k", "64k"].flatMap { pipe in
            ["off", "v1", "v2"].map { proxy in
                let text = """
                    global
                        workers 1
                        pipe-size \(pipe)
                        log-level error
                    pool fuzz
                        bind 127.0.0.1:\(f.1)
                        balance roundrobin
                        check none
                        proxy-protocol \(proxy)
                        timeout connect 1h
                        timeout idle 1h
                        retries 0
                        server a 127.0.0.1:\(b[0].1)
                        server b 127.0.0.1:\(b[1].1)
                        server c 127.0.0.1:\(closed)

                    """
                return try! ConfigLoader.load(text: text, file: "fuzz.conf", resolve: { _ in nil }).get()
            }
        }
    }
}

struct SessionRun: ~Copyable {
    var worker: Worker
    let channel: WorkerChannel
    let shared: SharedState
    let proxy: ProxyProtocolVersion
    var pairs: [SessionPair] = []
    /// Added to the real clock the worker reads: timers expire without waiting.
    var skew: Duration = .zero
    var draining = false
    static let maxOpenPairs = 12

    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let rig = SessionRig.shared
        _ = SessionRig.logger
        signal(SIGPIPE, SIG_IGN)
        let baseline = openFDCount()
        do {
            guard var run = SessionRun(config: rig.configs[Int(first) % rig.configs.count], rig: rig) else { return }
            var i = 1
            while i + 2 < bytes.count {
                run.step(op: bytes[i], who: Int(bytes[i + 1]), arg: Int(bytes[i + 2]))
                i += 3
            }
            run.finish()
            run.tearDown()
        }
        let after = openFDCount()
        precondition(after == baseline, "fds: \(baseline) before the run, \(after) after")
    }

    init?(config: Config, rig: SessionRig) {
        guard let channel = try? WorkerChannel(index: 0), let epoll = try? Epoll() else { return nil }
        let shared = SharedState(config: config, logger: SessionRig.logger)
        self.channel = channel
        self.shared = shared
        proxy = config.pools[0].settings.proxyProtocol
        let listener = Listener(fd: rig.front, pool: 0, name: "fuzz", datagram: false)
        worker = Worker(epoll: epoll, channel: channel, peers: [channel], shared: shared, listeners: [listener])
        try! worker.start()
    }

    mutating func step(op: UInt8, who: Int, arg: Int) {
        let open = pairs.filter(\.isOpen)
        let pair = open.isEmpty ? nil : open[who % open.count]
        let side = who & 0x80 == 0 ? pair?.client : pair?.backend
        switch op % 16 {
        case 0: connect()
        case 1: if let pair { pair.send(pair.client, count: (arg + 1) * 64) }
        case 2: if let pair { pair.send(pair.backend, count: (arg + 1) * 64) }
        case 3: if let pair { pair.read(pair.client, max: (arg + 1) * 256) }
        case 4: if let pair { pair.read(pair.backend, max: (arg + 1) * 256) }
        case 5: pair?.client.shutdownWrite()
        case 6: pair?.backend.shutdownWrite()
        case 7: if let pair, let side { pair.cut(side, reset: true) }
        case 8: if let pair, let side { pair.cut(side, reset: false) }
        case 9: if let pair, let side { pair.sendUrgent(side) }
        case 10, 11: for _ in 0...(arg % 4) { turn(0) }
        case 12:
            // Past `timeout idle` (and a drain's deadline): every session may be cut.
            skew += .seconds(7200)
            for p in pairs { p.intact = false }
            turn(0)
        case 13:
            let server = arg % 2
            guard let runtime = shared.allPools[0].server(named: server == 0 ? "a" : "b") else { return }
            channel.send(.closeSessions(pool: 0, server: runtime, reason: "fuzz kill"))
            for p in pairs where p.server == server { p.intact = false }
            turn(0)
        case 14:
            guard !draining else { return }
            draining = true
            let later = arg & 1 == 1
            channel.send(.shutdown(deadline: Instant.now() + skew + (later ? .seconds(3600) : .zero)))
            if !later { for p in pairs { p.intact = false } }
            turn(0)
        default:
            // Bulk: fills socket buffers and pipes when the other side does not read.
            if let pair, let side { pair.send(side, count: 65536) }
        }
    }

    /// One loop turn, as `run()` would make it; nothing once the worker has stopped.
    mutating func turn(_ timeoutMillis: Int) {
        guard worker.running else { return }
        let skew = self.skew
        worker.turn(timeoutMillis: timeoutMillis) { Instant.now() + skew }
    }

    /// A client connects; the worker accepts it and connects to a backend, which the harness
    /// accepts: one connection in flight at a time, so the pairing is certain.
    mutating func connect() {
        guard !draining, worker.running, pairs.filter(\.isOpen).count < Self.maxOpenPairs else { return }
        let rig = SessionRig.shared
        guard let client = try? Socket.stream(v6: false) else { return }
        guard (try? Socket.connect(client, to: IPEndpoint(.loopbackV4, rig.frontPort))) != nil else {
            client.close()
            return
        }
        var peer = SocketAddress()
        for attempt in 0..<3000 {
            turn(attempt < 20 ? 0 : 1)
            for (server, listener) in rig.backends.enumerated() {
                guard case let backend?? = try? Socket.accept(listener, peer: &peer) else { continue }
                let pair = SessionPair(id: pairs.count, client: client, backend: backend, server: server)
                pairs.append(pair)
                if proxy != .off { readProxyHeader(pair) }
                return
            }
            // Refused (server c, or out of local ports): the client is reset, never left
            // hanging. Nothing else can arrive before the pairing: no backend sent yet.
            var probe: [UInt8] = []
            if attempt > 0, case .wouldBlock? = try? client.receive(appendingTo: &probe, max: 1) {
                continue
            } else if attempt > 0 {
                client.close()
                return
            }
        }
        preconditionFailure("a client was accepted but no backend connection came and the client was not reset")
    }

    /// The header arrives before any client byte (none was sent yet): it must name the client.
    mutating func readProxyHeader(_ pair: SessionPair) {
        let rig = SessionRig.shared
        guard let fd = pair.backend.fd, let local = try? Socket.localAddress(pair.client.fd!).endpoint else { return }
        var got: [UInt8] = []
        for attempt in 0..<3000 {
            switch try? fd.receive(appendingTo: &got, max: 256 - got.count) {
            case .done?, .wouldBlock?: break
            default: preconditionFailure("backend connection closed before its PROXY header")
            }
            switch ProxyReader.read(got[...]) {
            case .needMore: turn(attempt < 20 ? 0 : 1)
            case .bad(let why): preconditionFailure("PROXY header unreadable: \(why): \(got)")
            case .header(let info, let length):
                precondition(length == got.count, "bytes after the PROXY header before the client sent any")
                let front = IPEndpoint(.loopbackV4, rig.frontPort)
                precondition(
                    info == ProxyInfo(v6: false, source: local, destination: front),
                    "PROXY header \(info) for client \(local) on \(front)")
                return
            }
        }
        preconditionFailure("no PROXY header")
    }

    /// Every side still open half-closes; the worker must then end every session, and every
    /// side must see the end, within bounded turns.
    mutating func finish() {
        for p in pairs {
            p.client.shutdownWrite()
            p.backend.shutdownWrite()
        }
        for round in 0..<5000 {
            turn(round < 20 ? 0 : 1)
            var waiting = false
            for p in pairs {
                p.drain(p.client)
                p.drain(p.backend)
                waiting = waiting || !p.client.ended || !p.backend.ended
            }
            if !waiting && worker.sessions.live == 0 { break }
        }
        var peer = SocketAddress()
        for listener in SessionRig.shared.backends {
            precondition(
                (try? Socket.accept(listener, peer: &peer)) == .some(nil), "a backend connection nobody asked for")
        }
        precondition(worker.sessions.live == 0, "sessions left after every side half-closed: \(describeLive())")
        // Each session ended once: every count a session start took is given back.
        let pool = shared.allPools[0]
        let counts =
            [
                shared.active.load(ordering: .relaxed), pool.stats.current.load(ordering: .relaxed),
                channel.liveSessions.load(ordering: .relaxed),
            ] + pool.allServers.map { $0.stats.active.load(ordering: .relaxed) }
        precondition(
            counts.allSatisfy { $0 == 0 }, "session counts not back to 0 (global, pool, worker, servers): \(counts)")
        for p in pairs {
            precondition(p.client.ended && p.backend.ended, "session \(p.id): a side never saw EOF or a reset")
            guard p.intact else { continue }
            precondition(
                p.client.received == p.backend.sent && p.backend.received == p.client.sent,
                "session \(p.id) nobody cut: \(p.backend.received)/\(p.client.sent) up, \(p.client.received)/\(p.backend.sent) down"
            )
            precondition(p.client.sawEOF && p.backend.sawEOF, "session \(p.id) nobody cut did not end in EOF both ways")
        }
    }

    /// The worker's live sessions and the harness's sides, for a finding's message.
    func describeLive() -> String {
        var out: [String] = []
        for s in worker.sessions.slots where s.state != .free {
            func pump(_ p: SplicePump) -> String {
                "inPipe \(p.inPipe) srcEOF \(p.srcEOF) shut \(p.shutSent) splicing \(p.splicing) urgent \(p.urgent) bytes \(p.bytes)"
            }
            out.append(
                """
                [\(s.state) client r\(s.clientReadable) w\(s.clientWritable) hup\(s.clientHungUp) \
                server r\(s.serverReadable) w\(s.serverWritable) hup\(s.serverHungUp) \
                up {\(pump(s.up))} down {\(pump(s.down))}]
                """)
        }
        for p in pairs {
            func side(_ x: SessionSide) -> String {
                "open \(x.fd != nil) sent \(x.sent) got \(x.received) fin \(x.finSent) eof \(x.sawEOF) reset \(x.sawReset)"
            }
            out.append("pair \(p.id) intact \(p.intact) client {\(side(p.client))} backend {\(side(p.backend))}")
        }
        return out.joined(separator: "; ")
    }

    /// Closes the harness's sockets and lets the worker take its loop's exit path (pipes closed).
    mutating func tearDown() {
        for p in pairs {
            p.client.close()
            p.backend.close()
        }
        worker.running = false
        worker.run()
    }
}

/// Entries of /proc/self/fd (the directory's own fd excluded).
func openFDCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(2)) }
        if name[0] != UInt8(ascii: ".") { count += 1 }
    }
    return count - 1
}
