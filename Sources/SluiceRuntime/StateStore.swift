// The `state-file` (SPEC "global"): the run-time snapshot held in memory, written after every
// change made through the admin socket (on the admin thread, never a worker) and applied to
// the configuration at start and at every reload (on the control thread). The file rarely
// stops sluice: a missing file is a first start, a bad line is logged as PATH:LINE and
// skipped, a failed write is logged and the admin command still succeeds. Only something
// that is not a regular file at the path (a FIFO would hang open(2)) fails start or reload.
import SluiceCore
import SluiceSys
import Synchronization

package final class StateStore: Sendable {
    package let path: String
    private let logger: Logger

    private struct Inner: Sendable {
        var state = RuntimeState()
        /// The last write failed: the file is older than `state`, so a reload must not read it.
        var stale = false
    }

    /// One lock for the snapshot and the file: admin commands and reloads are serialised on
    /// it, so the file always ends with the newest snapshot.
    private let inner = Mutex(Inner())

    package init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// The snapshot in memory (tests, `applyStates`).
    package var snapshot: RuntimeState { inner.withLock { $0.state } }

    /// Reads the file (or keeps the newer snapshot in memory after a failed write), applies
    /// it to `config` and hands the result to `run`, which puts it in force. Only when `run`
    /// returns does the snapshot become what applied: a reload that fails keeps it whole.
    /// The lock is held throughout, so an admin change made meanwhile is folded in after.
    package func applying<R>(to config: Config, _ run: (Config) throws -> R) throws -> R {
        try inner.withLock { inner in
            let source = inner.stale ? inner.state : try read()
            if inner.stale {
                logger.warn(
                    "state file is older than the last change (its write failed): applying the state held in memory",
                    ["file": path])
            }
            let applied = source.applied(to: config)
            let result = try run(applied.config)
            for reason in applied.dropped {
                logger.info("state file entry dropped: \(reason)", ["file": path])
            }
            inner.state = applied.state
            if !applied.dropped.isEmpty || inner.stale { write(&inner) }
            return result
        }
    }

    /// Sets the snapshot's admin states and weights on the live servers; call once the
    /// configuration `applying` returned is in force (`drain` has no configuration form).
    package func applyStates(to pools: [PoolRuntime]) {
        for (ref, o) in snapshot.overrides {
            guard let pool = pools.first(where: { $0.name == ref.pool }), let server = pool.server(named: ref.server)
            else {
                continue
            }
            var changes: [(server: ServerRuntime, change: ServerChange)] = []
            if let state = o.state { changes.append((server, .adminState(state, byOperator: true))) }
            if let weight = o.weight { changes.append((server, .weight(weight, byOperator: true))) }
            pool.apply(changes)
        }
    }

    /// After an admin command succeeded: folds it into the snapshot and rewrites the file.
    package func record(_ command: AdminCommand) {
        inner.withLock { inner in
            inner.state.record(command)
            write(&inner)
        }
    }

    private func read() throws(StartupError) -> RuntimeState {
        let bytes: [UInt8]
        do {
            bytes = try Files.readRegular(path)
        } catch .system(let errno) where errno == .noEntry {
            logger.info("no state file yet: it is written at the first change through the admin socket", ["file": path])
            return RuntimeState()
        } catch .notRegular(let kind) {
            throw StartupError(
                "state-file \(path): is \(kind), not a regular file "
                    + "(sluice writes this file itself: remove what is there or set state-file to another path)")
        } catch {
            logger.error(
                "cannot read state file: run-time changes of earlier runs are not applied",
                ["file": path, "error": "\(error)"])
            return RuntimeState()
        }
        let (state, problems) = StateFileText.parse(String(decoding: bytes, as: UTF8.self))
        for problem in problems {
            logger.warn("\(path):\(problem.line): \(problem.message) (line skipped)")
        }
        return state
    }

    private func write(_ inner: inout Inner) {
        do {
            try Files.replace(path, with: Array(StateFileText.render(inner.state).utf8))
            if inner.stale { logger.info("state file written again", ["file": path]) }
            inner.stale = false
        } catch {
            logger.error(
                "cannot write state file: the change applies but will not survive a restart",
                ["file": path, "error": "\(error)"])
            inner.stale = true
        }
    }
}
