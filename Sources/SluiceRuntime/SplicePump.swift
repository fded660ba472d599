// One direction of a session: src socket -> dst socket, by one of two paths chosen from what
// the reads look like (BASELINE.md: splice does not pay for 30-byte database requests):
// - copy: read into the worker's scratch buffer, write to dst at once. Used while reads are
//   small; a read shorter than the buffer also proves src is drained, saving the EAGAIN call.
// - splice: src -> pipe -> dst, payload never in user space. Used once a read fills the buffer.
// Bytes dst cannot take yet always wait in a pipe borrowed from the worker's pool (a copied
// remainder is written into it), so an idle direction holds no pipe. A FIN from src becomes
// shutdown(SHUT_WR) on dst once the pipe is empty, so nothing written before a close is lost.
// `inPipe` counts every byte in the pipe (each syscall's count is added before anything can
// throw) and the pool takes a pipe back only at 0: a pipe is never reused with bytes in it.
// Copy reads are at most the pool's smallest pipe, so a remainder always fits an empty one.
//
// Readiness flags are edge-triggered facts kept by the session: `srcReadable` is cleared only
// when src is known empty (EAGAIN with an empty pipe, or a short copy read before any hang-up
// or urgent data was seen); EAGAIN from a splice while the pipe holds bytes may mean the pipe
// is full, so it is retried after the next drain.
//
// TCP urgent data (sockets are SO_OOBINLINE, so the urgent byte is ordinary data here): a
// read stops short at its mark and splice(2) cannot pass it at all (EAGAIN, or 0 once the
// peer's FIN is in), so while `urgent` is set the direction copies, and only EAGAIN proves src
// drained. EPOLLPRI sets it; so does a splice EOF, which read(2) then confirms or refutes.
import SluiceSys

struct SplicePump {
    var pipe: PipePair? = nil
    var inPipe = 0
    var srcEOF = false
    var shutSent = false
    var splicing = false
    /// Set by an EPOLLPRI report or a splice EOF; cleared once a read finds src empty.
    var urgent = false
    var bytes: UInt64 = 0

    var done: Bool { shutSent }

    /// Moves what it can. Returns whether any byte moved; throws the socket error that
    /// ends the session (reset, broken pipe). `otherDone`: the other direction is over, so
    /// the session closes both sockets once this one is, and close() sends the FIN that a
    /// shutdown would (one syscall less per connection).
    mutating func run(
        src: FD, dst: FD, srcReadable: inout Bool, srcHungUp: Bool, dstWritable: inout Bool,
        pipes: inout PipePool, scratch: borrowing IOBuffer, otherDone: Bool = false
    ) throws(Errno) -> Bool {
        var moved = false
        while true {
            var progressed = false
            if inPipe > 0 && dstWritable, let p = pipe {
                switch try Splice.move(from: p.read, to: dst, max: inPipe) {
                case .done(let n):
                    inPipe -= n
                    bytes &+= UInt64(n)
                    progressed = true
                case .wouldBlock, .eof:
                    dstWritable = false
                }
            }
            if inPipe == 0, let p = pipe {
                pipes.giveBack(p, holding: inPipe)
                pipe = nil
            }
            if !srcEOF && srcReadable {
                if (!splicing || urgent) && inPipe == 0 && dstWritable {
                    progressed =
                        try copy(src, dst, &srcReadable, srcHungUp, &dstWritable, &pipes, scratch) || progressed
                } else if !urgent {
                    progressed =
                        try spliceIn(
                            src, &srcReadable, srcHungUp, &pipes, min(scratch.count, pipes.smallestCapacity))
                        || progressed
                }
            }
            if srcEOF && inPipe == 0 && !shutSent {
                if let p = pipe {
                    pipes.giveBack(p, holding: inPipe)
                    pipe = nil
                }
                if !otherDone { Socket.shutdownWrite(dst) }
                shutSent = true
            }
            if !progressed { return moved }
            moved = true
        }
    }

    private mutating func copy(
        _ src: FD, _ dst: FD, _ srcReadable: inout Bool, _ srcHungUp: Bool, _ dstWritable: inout Bool,
        _ pipes: inout PipePool, _ scratch: borrowing IOBuffer
    ) throws(Errno) -> Bool {
        // Never more than one empty pipe takes, should dst refuse part of it.
        let limit = min(scratch.count, pipes.smallestCapacity)
        switch try scratch.read(from: src, max: limit) {
        case .eof:
            srcEOF = true
            return true
        case .wouldBlock:
            srcReadable = false
            urgent = false
            return false
        case .done(let n):
            if n == limit {
                splicing = true  // bulk: the next reads go through the pipe
            } else if !srcHungUp && !urgent {
                // A stream socket returns everything queued: a short read drained it, and
                // edge-triggered epoll reports the next arrival.
                srcReadable = false
            }
            var written = 0
            switch try scratch.write(0..<n, to: dst) {
            case .done(let m): written = m
            case .wouldBlock, .eof: break
            }
            bytes &+= UInt64(written)
            if written < n {
                dstWritable = false
                try park(scratch, written..<n, &pipes)
            }
            return true
        }
    }

    /// Keeps bytes dst refused in a pipe (a copy: the scratch buffer is reused at once).
    private mutating func park(
        _ scratch: borrowing IOBuffer, _ range: Range<Int>, _ pipes: inout PipePool
    ) throws(Errno) {
        if pipe == nil { pipe = try pipes.take() }
        // The pipe is empty and the range no larger than the smallest pipe: one write fits,
        // unless the kernel made a pipe smaller than any before (its limits changed) or is
        // short of memory. Then the session ends, with what was written counted, so
        // release() closes the pipe instead of pooling it.
        let result = try scratch.write(range, to: pipe!.write)
        if case .done(let n) = result { inPipe += n }
        guard case .done(let n) = result, n == range.count else { throw Errno.noBuffers }
    }

    private mutating func spliceIn(
        _ src: FD, _ srcReadable: inout Bool, _ srcHungUp: Bool, _ pipes: inout PipePool, _ smallRead: Int
    ) throws(Errno) -> Bool {
        if pipe == nil { pipe = try pipes.take() }
        let wasEmpty = inPipe == 0
        switch try Splice.move(from: src, to: pipe!.write, max: pipes.size) {
        case .done(let n):
            inPipe += n
            // Small reads again (the bulk transfer ended): copy the next ones.
            if wasEmpty && n < smallRead / 4 { splicing = false }
            return true
        case .eof:
            urgent = true  // maybe an urgent mark: the copy path's next read tells
            splicing = false
            return true
        case .wouldBlock:
            if inPipe == 0 {
                srcReadable = false
            } else if srcHungUp, let error = Socket.pendingError(src) {
                // A full pipe answers EAGAIN before src's reset shows: ask, or a stalled dst
                // would keep the session (and its bytes) after the peer is gone.
                throw error
            }
            return false
        }
    }

    /// At the session's end (maybe an error): the pipe goes back only if both the count and
    /// the kernel say it is empty; bytes stranded in it close it.
    mutating func release(_ pipes: inout PipePool) {
        guard let p = pipe else { return }
        pipes.recycle(p, holding: inPipe)
        pipe = nil
        inPipe = 0
    }
}
