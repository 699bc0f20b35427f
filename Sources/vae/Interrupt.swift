import Dispatch
import Foundation
import Synchronization
import VAEKit

/// Ctrl-C, SIGTERM or SIGHUP during training: the first signal asks training to stop after the batch
/// under way (a checkpoint is then written); a second one quits at once (exit 128 + the signal;
/// every file SwiftVAE writes is replaced atomically, so nothing is left half-written).
/// SIGTERM is what a batch scheduler sends before it kills a job, and what mpirun sends every
/// rank when it is interrupted itself: the ranks then agree on the batch to stop after (the stop
/// request travels with the gradient sum) and rank 0 saves the checkpoint.
enum Interrupt {
    private static let requested = Atomic<Int32>(0)   // the first signal, 0 if none
    private static let requestedAt = Atomic<UInt64>(0)   // when it came (uptime, ns)
    /// A second signal this soon after the first is the same request: `timeout -s INT` signals the
    /// process and then its group, twice within microseconds — taken for "Ctrl-C again", it quit
    /// at once and lost the progress since the last checkpoint.
    static let sameRequestNanoseconds: UInt64 = 250_000_000
    private static let batches = Atomic<Int>(0)
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    /// Under mpirun, SIGTERM also means that another rank died: then no batch can finish (the
    /// ranks cannot agree on a stop), and if none has within half a second of the signal this
    /// runs instead (it says so and exits). Set before `install`.
    nonisolated(unsafe) static var whenStuck: (@Sendable () -> Never)?

    /// Called after every batch (the stop check): the sign that the job is still moving.
    static func batchDone() { batches.add(1, ordering: .relaxed) }

    private static let done = Atomic<Bool>(false)
    /// Said when a signal comes once training is over (the checkpoint saved, the report being
    /// written; "" once there is nothing left to say): the command then ends at once — it went on writing the report for seconds after
    /// saying "stopping after this batch", and exited 0.
    nonisolated(unsafe) static var afterTraining: String?
    /// Training has left its loop (saving, writing the report): the stuck-job check is off.
    static func finishing() { done.store(true, ordering: .relaxed) }

    static var isRequested: Bool { requested.load(ordering: .relaxed) != 0 }
    /// 128 + the signal that stopped training (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP);
    /// 143 for a rank of an MPI job that stopped with the others, not signalled itself (it said
    /// 130 of a job stopped by SIGTERM, and mpirun passed that on).
    static var exitCode: Int32 { let s = requested.load(ordering: .relaxed); return 128 + (s != 0 ? s : SIGTERM) }

    static func install() {
        // a reader of the output that went away (`2>&1 | tee log`, stopped by the same Ctrl-C as this
        // process) fails a write with EPIPE instead of killing the run before it saves
        signal(SIGPIPE, SIG_IGN)
        // a closed terminal or a dropped ssh session (SIGHUP) stops and saves too — unless the run was
        // started to survive it (nohup: SIGHUP ignored already, and left so)
        let hangUpIgnored = unsafeBitCast(signal(SIGHUP, SIG_IGN), to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
        for sig in [SIGINT, SIGTERM] + (hangUpIgnored ? [] : [SIGHUP]) {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                if done.load(ordering: .relaxed), let said = afterTraining {
                    if !Console.quiet && !said.isEmpty { Console.write("\n\(said)\n") }
                    AtomicFile.removeTemporariesNow(); _exit(128 + sig)
                }
                let now = DispatchTime.now().uptimeNanoseconds
                if requested.compareExchange(expected: 0, desired: sig, ordering: .relaxed).exchanged {
                    requestedAt.store(now, ordering: .relaxed)
                    // under mpirun the ranks stop together and rank 0 speaks for them
                    if !Console.quiet {
                        let what = sig == SIGINT ? "interrupted: stopping after this batch and saving a checkpoint (Ctrl-C again to quit now)"
                            : sig == SIGHUP ? "hang-up (SIGHUP: the terminal closed): stopping after this batch and saving a checkpoint (run under nohup or tmux to train on)"
                            : "terminated (SIGTERM): stopping after this batch and saving a checkpoint (a second SIGTERM quits now)"
                        // (off the progress bar's line on a terminal; a log has no bar, and no blank line)
                        Console.write((Console.stderrIsTerminal ? "\n" : "") + "\(what)\n")
                    }
                    if sig == SIGTERM, let stuck = whenStuck, !done.load(ordering: .relaxed) {
                        let seen = batches.load(ordering: .relaxed)
                        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
                            if batches.load(ordering: .relaxed) == seen && !done.load(ordering: .relaxed) { stuck() }
                        }
                    }
                } else {
                    let first = requestedAt.load(ordering: .relaxed)
                    // (the first one's, sent twice; a `now` read before the first one stored its time — two
                    // signals' handlers run at once — is as soon as can be)
                    if first == 0 || now < first || now - first < sameRequestNanoseconds { return }
                    if !Console.quiet { Console.write("\nquit at once: the last checkpoint saved is kept (vae train --resume continues from it)\n") }
                    AtomicFile.removeTemporariesNow(); _exit(128 + sig)
                }
            }
            s.resume()
            sources.append(s)
        }
    }
}
