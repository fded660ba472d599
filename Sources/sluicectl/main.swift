// sluicectl: send one admin command to sluice's admin socket and print the reply as sent
// (the daemon renders tables and JSON). Exit 0 on success, 1 on an `ERR ` reply, 2 when the
// socket cannot be reached or the usage is wrong.
import SluiceSys

let usage = """
    usage: sluicectl [-s SOCKET] [--json] COMMAND [ARGS...]
      -s SOCKET   admin socket (default /run/sluice/admin.sock)
      --json      ask for a JSON reply
    commands: help, show info|pools|servers [POOL]|sessions [POOL]|metrics,
      set server POOL/NAME state ready|drain|maint, set server POOL/NAME weight N,
      add server POOL/NAME ADDR:PORT [weight N] [maxconn N] [backup], del server POOL/NAME,
      kill sessions POOL/NAME, reload
    """

func fail(_ message: String) -> Never {
    StdIO.errorLine("sluicectl: \(message)")
    ProcessControl.exit(2)
}

var socketPath = "/run/sluice/admin.sock"
var json = false
var words: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.first, words.isEmpty {
    arguments = arguments.dropFirst()
    switch argument {
    case "-s", "--socket":
        guard let path = arguments.first, !path.isEmpty else { fail("\(argument) needs a path\n\(usage)") }
        socketPath = path
        arguments = arguments.dropFirst()
    case "--json":
        json = true
    case "-h", "--help":
        StdIO.outputLine(usage)
        ProcessControl.exit(0)
    case "--":
        words = Array(arguments)
        arguments = []
        if words.isEmpty { fail("missing COMMAND\n\(usage)") }
    default:
        if argument.hasPrefix("-") { fail("unknown option \(argument)\n\(usage)") }
        words = [argument]
    }
}
words += arguments
guard !words.isEmpty else { fail("missing COMMAND\n\(usage)") }
if words.contains(where: { $0.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) }) {
    fail("arguments must not contain line breaks")
}
if json && words.last != "json" { words.append("json") }
let line = words.joined(separator: " ") + "\n"

let timeoutMillis = 10_000
let fd: FD
do {
    fd = try UnixSocket.connect(path: socketPath)
} catch {
    fail("cannot connect to \(socketPath): \(error)")
}
do {
    try UnixSocket.setTimeouts(fd, milliseconds: timeoutMillis)
} catch {
    fail("\(socketPath): \(error)")
}

let request = Array(line.utf8)
var sent = 0
while sent < request.count {
    switch try? fd.send(request, from: sent) {
    case .done(let n): sent += n
    case .wouldBlock: fail("\(socketPath): timed out sending the command")
    // The daemon may answer and close before reading a long line; read what it said.
    default: sent = request.count
    }
}

var reply: [UInt8] = []
readLoop: while true {
    do {
        switch try fd.receive(appendingTo: &reply, max: 65536) {
        case .done: continue
        case .eof: break readLoop
        case .wouldBlock: fail("\(socketPath): no reply within \(timeoutMillis / 1000)s")
        }
    } catch {
        // A reset after the reply (the daemon closed with our unread bytes) still leaves the reply.
        if reply.isEmpty { fail("\(socketPath): \(error)") }
        break readLoop
    }
}
fd.close()
guard !reply.isEmpty else { fail("\(socketPath): connection closed without a reply") }
try? StdIO.stdout.writeAll(reply)
let isError = reply.starts(with: Array("ERR ".utf8))
ProcessControl.exit(isError ? 1 : 0)
