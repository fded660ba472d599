// One direction of a session: src socket -> pipe -> dst socket. Bytes wait in a pipe
// borrowed from the worker's pool only while dst cannot take them; a FIN from src becomes
// shutdown(SHUT_WR) on dst once the pipe is empty, so nothing written before a close is lost.
//
// Readiness flags are edge-triggered facts kept by the session: `srcReadable` is cleared
// only when src itself is known empty (EAGAIN with an empty pipe); EAGAIN while the pipe
// still holds bytes may mean the pipe is full, so it is retried after the next drain.
import SluiceSys

struct SplicePump {
    var pipe: PipePair? = nil
    var inPipe = 0
    var srcEOF = false
    var shutSent = false
    var bytes: UInt64 = 0

    var done: Bool { shutSent }

    /// Moves what it can. Returns whether any byte moved; throws the socket error that
    /// ends the session (reset, broken pipe).
    mutating func run(
        src: FD, dst: FD, srcReadable: inout Bool, dstWritable: inout Bool, pipes: inout PipePool
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
                pipes.giveBack(p)
                pipe = nil
            }
            if !srcEOF && srcReadable {
                if pipe == nil { pipe = try pipes.take() }
                switch try Splice.move(from: src, to: pipe!.write, max: pipes.size) {
                case .done(let n):
                    inPipe += n
                    progressed = true
                case .eof:
                    srcEOF = true
                    progressed = true
                case .wouldBlock:
                    if inPipe == 0 { srcReadable = false }
                }
            }
            if srcEOF && inPipe == 0 && !shutSent {
                if let p = pipe {
                    pipes.giveBack(p)
                    pipe = nil
                }
                Socket.shutdownWrite(dst)
                shutSent = true
            }
            if !progressed { return moved }
            moved = true
        }
    }

    /// Gives the pipe back if empty, closes it if bytes are stranded in it.
    mutating func release(_ pipes: inout PipePool) {
        guard let p = pipe else { return }
        if inPipe == 0 { pipes.giveBack(p) } else { p.close() }
        pipe = nil
        inPipe = 0
    }
}
