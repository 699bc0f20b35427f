import ArgumentParser
import Foundation
import VAEKit

/// `mpirun -np N vae train …`: the flags of data-parallel training.
struct MPIOptions: ParsableArguments {
    @Option(name: .customLong("bucket-kb"), help: ArgumentHelp("Under mpirun: size of a gradient all-reduce bucket, in KiB (default 256).", valueName: "KiB"))
    var bucketKB: Int?
    @Flag(name: .customLong("no-overlap"), help: "Under mpirun: sum the gradients after the backward instead of during it.")
    var noOverlap = false

    func validate() throws {
        if let b = bucketKB, !(1...(1 << 21)).contains(b) { throw ValidationError("--bucket-kb must be between 1 and 2097152") }
    }

    var settings: DataParallel.Settings {
        var s = DataParallel.Settings()
        s.bucketBytes = (bucketKB ?? 256) << 10
        s.overlap = !noOverlap
        return s
    }

    /// Said when training runs in one process: these flags shape the gradient sum between ranks,
    /// and there is none.
    var unusedNote: String? {
        let given = (bucketKB == nil ? [] : ["--bucket-kb"]) + (noOverlap ? ["--no-overlap"] : [])
        guard !given.isEmpty else { return nil }
        return "note: \(given.joined(separator: " and ")) shape\(given.count == 1 ? "s" : "") the gradient sum between the processes of `mpirun -np N vae train …`; this is one process, started without mpirun, so \(given.count == 1 ? "it changes" : "they change") nothing"
    }
}

/// This process's MPI job, when it was started by mpirun.
enum MPIJob {
    nonisolated(unsafe) private(set) static var comm: Communicator?
    /// The run folder, for the message when the job is stopped from outside.
    nonisolated(unsafe) static var runFolder: String? {
        didSet { if let c = comm { setStopMessage(rank: c.rank, size: c.size) } }
    }
    /// The job trains with --no-report: the line that continues it says so too (set before
    /// `runFolder`).
    nonisolated(unsafe) static var noReport = false

    private static func setStopMessage(rank: Int, size: Int) {
        let kept = runFolder.map { "; \($0) holds the last checkpoint saved (continue with: \(Train.resumeLine($0, noReport: noReport)), which also starts a run that has no checkpoint yet)" } ?? ""
        let old = mpiStopMessage
        // rank 0 alone says it: a rank's own error is its line, and every other rank stopped for it
        // added one more ("the docs promise one line") — and rank 1 when rank 0 itself is gone (on
        // this machine: its process no longer there), which left the job's end without a word
        mpiStopMessage = rank == 0 ? strdup("error: rank \(rank) of \(size): the job was stopped by mpirun (another rank ended, or mpirun was interrupted) before this rank could finish a batch\(kept)\n")
            : rank == 1 && leaderPID > 0 ? strdup("error: rank 1 of \(size): the job was stopped by mpirun after rank 0 ended (killed?)\(kept)\n") : nil
        free(old)
    }

    /// Rank 0's process id when it runs on this machine (0 otherwise): rank 1 speaks for the job
    /// when it is gone.
    nonisolated(unsafe) private static var leaderPID: pid_t = 0

    /// Joins the job if mpirun started this process; only rank 0 then prints notes.
    static func join() throws -> Communicator? {
        guard let c = try Communicator.joinIfLaunched() else { return nil }
        comm = c
        Console.quiet = !c.isLeader
        // rank 0's pid and machine, for rank 1 to tell whether rank 0 is gone when mpirun stops it
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let hostHash = host.prefix(strlen(host)).reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64(UInt8(bitPattern: $1))) &* 0x100_0000_01b3 }
        let seen = try c.allgather([UInt64(getpid()), hostHash])
        leaderPID = c.rank == 1 && seen[0][1] == hostHash ? pid_t(seen[0][0]) : 0
        // mpirun ends the job with SIGTERM when a rank dies or mpirun is interrupted (SIGKILL
        // follows a second later): say so at once, from the signal handler itself.
        setStopMessage(rank: c.rank, size: c.size)
        // A write to a dead rank's socket must fail with EPIPE (an MPI error), not kill this one.
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &set, nil)  // a launcher may hand it down blocked
        signal(SIGTERM) { _ in MPIJob.stoppedByMPIRun() }
        return c
    }

    /// Says that mpirun stopped the job (and where the last checkpoint is) and exits 143 at once.
    /// Safe in a signal handler (one write of a prepared line).
    static func stoppedByMPIRun() -> Never {
        // (kill(pid, 0) is async-signal-safe: rank 1's line only when rank 0's process is gone)
        if let m = mpiStopMessage, leaderPID == 0 || kill(leaderPID, 0) != 0 { _ = write(2, m, strlen(m)) }
        AtomicFile.removeTemporariesNow()
        _exit(143)
    }

    /// A clean end of the job (every rank reaches it).
    static func finish() {
        comm?.finalize()
    }

    /// A failed rank: one line on stderr, then the whole job ends. Ranks other than 0 wait a
    /// moment first, so that an error every rank meets is printed once (rank 0's abort ends
    /// them before they print).
    static func fail(_ message: String, code: Int32) -> Never {
        guard let c = comm else { Foundation.exit(code) }
        if !c.isLeader { usleep(1_000_000) }
        let prefix = c.size > 1 && !message.hasPrefix("rank ") ? "rank \(c.rank) of \(c.size): " : ""
        Console.write("error: \(prefix)\(message.replacingOccurrences(of: "\n", with: " "))\n")
        c.abort(code: code)
    }
}

/// The line the SIGTERM handler writes (prepared beforehand: a handler may not allocate).
nonisolated(unsafe) private var mpiStopMessage: UnsafeMutablePointer<CChar>? = nil
