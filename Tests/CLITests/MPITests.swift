import Foundation
import XCTest
import VAEKit

/// `mpirun -np 2 vae train` on a tiny model: the same losses as one process, bit-identical
/// repeats, resume with any number of ranks, and a killed rank that ends the job.
/// Skipped when Open MPI is absent (apt-get install openmpi-bin).
final class MPITests: XCTestCase {
    nonisolated(unsafe) static var made: String?

    /// The tests' data set, written once (a failure to write it fails the test that asked).
    static func data() throws -> String {
        if let made { return made }
        let d = try TinyData.make(train: 256, test: 64)
        made = d
        return d
    }

    /// A small model; batch 33 splits unevenly (17 + 16 rows, the last batch 13 + 12).
    func args(_ out: String, epochs: Int = 3, extra: [String] = []) throws -> [String] {
        ["train", "--data", try MPITests.data(), "--epochs", String(epochs), "--latent", "4", "--hidden", "32", "--batch", "33",
         "--seed", "5", "--threads", "1", "--no-report", "--out", out] + extra
    }

    func weights(_ run: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")) }

    /// Epochs in a run's metrics.jsonl so far.
    /// (0 while the file is not there yet: the job has not finished an epoch)
    func epochs(_ run: String) -> Int {
        guard AtomicFile.exists(run + "/metrics.jsonl") else { return 0 }
        return ((try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// A long 2-rank job, returned once it has finished its first epoch (within 60 s).
    func startLongJob(_ run: String) throws -> (Process, Pipe, Pipe) {
        let h = try MPIRun.start(ranks: 2, args(run, epochs: 10_000))
        let deadline = Date().addingTimeInterval(60)
        while epochs(run) < 1 && Date() < deadline && h.0.isRunning { usleep(50_000) }
        XCTAssertTrue(h.0.isRunning, "the job ended before the test could stop it")
        return h
    }

    /// Sends rank 1 of mpirun's job `p` the signal (false, and the job stopped, when it is not found).
    func signalRank1(_ p: Process, _ sig: Int32) -> Bool {
        let ranks = MPIRun.ranks(of: p.processIdentifier)
        guard let rank1 = ranks[1] else {
            p.terminate()
            XCTFail("rank 1's pid not found among mpirun's children: \(ranks)")
            return false
        }
        kill(rank1, sig)
        return true
    }

    /// Waits up to `seconds` for the job to end by itself (a broken build must not hang the suite).
    func endsByItself(_ p: Process, within seconds: Double) -> Bool {
        let watchdog = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < watchdog { usleep(100_000) }
        if p.isRunning { p.terminate(); return false }
        return true
    }

    func testTwoRanksMatchOneProcess() throws {
        _ = try MPIRun.require()
        // binarized: the ranks must also draw the one-process noise for their rows
        let one = tempRunDir("mpi-one"), two = tempRunDir("mpi-two")
        let r1 = try CLI.run(args(one, extra: ["--binarize"]))
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try MPIRun.run(args(two, extra: ["--binarize"]))
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("2 MPI ranks × 1 thread)"), r2.stderr)
        // rank 0 alone prints and writes
        XCTAssertEqual(r2.stdout.components(separatedBy: "epoch 1/3").count, 2, r2.stdout)
        XCTAssertEqual(r2.stderr.components(separatedBy: "run folder:").count, 2, r2.stderr)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: two)),
                       ["model.safetensors", "config.json", "metrics.jsonl", RunFolderLock.fileName])
        let m1 = try metricsWithoutTimes(one), m2 = try metricsWithoutTimes(two)
        XCTAssertEqual(m1.count, 3)
        XCTAssertEqual(m2.count, 3)
        for (a, b) in zip(m1, m2) {
            for key in ["test_loss", "test_loss_mu", "train_loss"] {
                let x = a[key]!, y = b[key]!
                XCTAssertLessThan(abs(x - y) / x, 0.005, "epoch \(a["epoch"]!): \(key) \(x) (1 process) vs \(y) (2 ranks)")
            }
        }
        // the same batches and noise, only the order of the gradient sums differs: on this tiny
        // run the losses agree to ~1e-9 (a rank drawing the wrong binarization noise: ~3e-4)
        for (a, b) in zip(m1, m2) {
            for key in ["test_loss", "train_loss"] { XCTAssertLessThan(abs(a[key]! - b[key]!) / a[key]!, 1e-5, key) }
        }
    }

    func testTwoRankRunsAreBitIdentical() throws {
        _ = try MPIRun.require()
        let a = tempRunDir("mpi-a"), b = tempRunDir("mpi-b")
        for run in [a, b] {
            let r = try MPIRun.run(args(run, epochs: 2, extra: ["--bucket-kb", "4"]))  // several buckets
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try weights(a), try weights(b), "two identical 2-rank runs wrote different weights")
        XCTAssertEqual(try metricsWithoutTimes(a), try metricsWithoutTimes(b))
        // the overlap changes when buckets are summed, never what they sum to
        let c = tempRunDir("mpi-c")
        let r = try MPIRun.run(args(c, epochs: 2, extra: ["--bucket-kb", "4", "--no-overlap"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try weights(a), try weights(c))
    }

    func testResumeWithAnyNumberOfRanks() throws {
        _ = try MPIRun.require()
        let straight = tempRunDir("mpi-straight"), split = tempRunDir("mpi-split"), plain = tempRunDir("mpi-plain")
        XCTAssertEqual(try MPIRun.run(args(straight, epochs: 3)).status, 0)
        // 2 ranks: 1 epoch, then --resume to 3 under mpirun: exactly the straight run
        XCTAssertEqual(try MPIRun.run(args(split, epochs: 1)).status, 0)
        let r = try MPIRun.run(["train", "--resume", "--out", split, "--data", try MPITests.data(), "--epochs", "3", "--threads", "1", "--no-report"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming \(split) after epoch 1 of 3"), r.stderr)
        XCTAssertEqual(try weights(straight), try weights(split), "a resumed 2-rank run differs from a straight one")
        XCTAssertEqual(try metricsWithoutTimes(straight), try metricsWithoutTimes(split))
        // a checkpoint of 2 ranks continues in a plain process, and that one under 2 ranks again
        XCTAssertEqual(try MPIRun.run(args(plain, epochs: 1)).status, 0)
        let p = try CLI.run(["train", "--resume", "--out", plain, "--data", try MPITests.data(), "--epochs", "2", "--threads", "1", "--no-report"])
        XCTAssertEqual(p.status, 0, p.stderr)
        let q = try MPIRun.run(["train", "--resume", "--out", plain, "--data", try MPITests.data(), "--epochs", "3", "--threads", "1", "--no-report"])
        XCTAssertEqual(q.status, 0, q.stderr)
        let m = try metricsWithoutTimes(plain)
        XCTAssertEqual(m.map { $0["epoch"]! }, [1, 2, 3])
        XCTAssertLessThan(abs(m[2]["test_loss"]! - (try metricsWithoutTimes(straight))[2]["test_loss"]!) / m[2]["test_loss"]!, 0.005)
    }

    /// A sequence VAE (--model gru, word dropout) trains data-parallel too: 2 ranks give the
    /// one-process losses (the same batches, ε and dropout draws; only the order of the sums differs).
    func testSequenceRunOnTwoRanksMatchesOneProcess() throws {
        _ = try MPIRun.require()
        let text = tempRunDir("mpi-seq") + ".txt"
        try AtomicFile.write(SequenceCLITests.sentences(200).joined(separator: "\n") + "\n", to: text)
        let line = ["train", "--model", "gru", "--data", text, "--tokens", "words", "--encoder", "1x12", "--decoder", "2x12", "--latent", "3",
                    "--word-dropout", "0.2", "--batch", "33", "--epochs", "2", "--threads", "1", "--no-report"]
        let one = tempRunDir("mpi-seq-one"), two = tempRunDir("mpi-seq-two")
        let r1 = try CLI.run(line + ["--out", one])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try MPIRun.run(line + ["--out", two])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("2 MPI ranks × 1 thread)"), r2.stderr)
        let m1 = try metricsWithoutTimes(one), m2 = try metricsWithoutTimes(two)
        XCTAssertEqual(m1.count, 2)
        for (a, b) in zip(m1, m2) {
            for key in ["test_loss", "train_loss", "train_kl"] { XCTAssertLessThan(abs(a[key]! - b[key]!) / max(abs(a[key]!), 1e-9), 1e-4, key) }
        }
    }

    /// The line a requeued job re-runs under mpirun: `--resume` with the same flags starts the run
    /// when there is no checkpoint yet, continues it when there is one, and refuses a changed value.
    func testTheSameLineUnderMPIRunStartsThenContinues() throws {
        _ = try MPIRun.require()
        let run = tempRunDir("mpi-sameline"), straight = tempRunDir("mpi-sameline-straight")
        var r = try MPIRun.run(try args(run, epochs: 1, extra: ["--resume"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("no checkpoint in \(run) yet: starting the run there"), r.stderr)
        r = try MPIRun.run(try args(run, epochs: 2, extra: ["--resume"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming \(run) after epoch 1 of 2"), r.stderr)
        XCTAssertEqual(try MPIRun.run(try args(straight, epochs: 2)).status, 0)
        XCTAssertEqual(try weights(straight), try weights(run), "the run resumed with its own line under mpirun differs from a straight one")
        r = try MPIRun.run(try args(run, epochs: 3, extra: ["--resume", "--beta", "2"]))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--beta cannot change when resuming: the run in \(run) has 1.0, this command line gives 2.0"), r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).state.epoch, 2)
    }

    /// Ctrl-C on mpirun: mpirun sends every rank SIGTERM; the ranks agree on the batch to stop
    /// after, rank 0 saves the checkpoint, and the run continues from it.
    func testCtrlCOnMPIRunSavesACheckpoint() throws {
        _ = try MPIRun.require()
        let run = tempRunDir("mpi-sigint")
        let h = try startLongJob(run)
        let (p, _, _) = h
        usleep(200_000)
        kill(p.processIdentifier, SIGINT)
        let r = CLI.finish(h)
        XCTAssertTrue(r.stderr.contains("terminated (SIGTERM): stopping after this batch"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        XCTAssertTrue(r.stderr.contains("checkpoint saved. Resume with: mpirun -np 2 vae train --resume --out"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        let loaded = try Checkpoint.load(run)
        XCTAssertGreaterThanOrEqual(loaded.state.epoch, 1)
        // the checkpoint is the one the stop line names ("stopped in epoch 5 of 10000, at batch 7")
        XCTAssertTrue(r.stderr.contains("stopped \(loaded.state.position(of: 10_000)); checkpoint saved."), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        let c = try CLI.run(["train", "--resume", "--out", run, "--data", try MPITests.data(), "--epochs", String(loaded.state.epoch + 1),
                             "--threads", "1", "--no-report"])
        XCTAssertEqual(c.status, 0, c.stderr)
    }

    func testKilledRankEndsTheJob() throws {
        _ = try MPIRun.require()
        let run = tempRunDir("mpi-kill")
        let h = try startLongJob(run)   // past its first checkpoint with a finished epoch
        let (p, _, _) = h
        guard signalRank1(p, SIGKILL) else { return }
        // The mechanism, not its speed: the job ends by itself (rank 0 sees the lost peer and aborts).
        let endedByItself = endsByItself(p, within: 300)
        let r = CLI.finish(h)
        XCTAssertTrue(endedByItself, "the job did not end within 300 s after a rank was killed")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("error: rank 0 of 2:"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        // the line that continues it keeps the job's --no-report (a report was written into the run)
        if r.stderr.contains("continue with:") {
            XCTAssertTrue(r.stderr.contains("continue with: mpirun -np 2 vae train --resume --out \(run) --no-report"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        }
        // the last checkpoint is whole and continues
        let loaded = try Checkpoint.load(run)
        XCTAssertGreaterThanOrEqual(loaded.state.epoch, 1)
        let c = try CLI.run(["train", "--resume", "--out", run, "--data", try MPITests.data(), "--epochs", String(loaded.state.epoch + 1),
                             "--threads", "1", "--no-report"])
        XCTAssertEqual(c.status, 0, c.stderr)
    }

    /// Rank 0 itself killed: rank 1 says the job's end and where its checkpoint is (nobody did: rank
    /// 0 alone speaks, and it was gone — only Open MPI's notice).
    func testKilledRankZeroIsSaidByRankOne() throws {
        _ = try MPIRun.require()
        let run = tempRunDir("mpi-kill0")
        let h = try startLongJob(run)
        let (p, _, _) = h
        let ranks = MPIRun.ranks(of: p.processIdentifier)
        guard let rank0 = ranks[0] else { p.terminate(); return XCTFail("rank 0's pid not found among mpirun's children: \(ranks)") }
        kill(rank0, SIGKILL)
        let endedByItself = endsByItself(p, within: 300)
        let r = CLI.finish(h)
        XCTAssertTrue(endedByItself, "the job did not end within 300 s after rank 0 was killed")
        XCTAssertNotEqual(r.status, 0)
        let said = r.stderr.components(separatedBy: "error: rank 1 of 2: the job was stopped by mpirun after rank 0 ended (killed?)").count - 1
        XCTAssertEqual(said, 1, r.stderr.replacingOccurrences(of: "\n", with: " | "))
        XCTAssertTrue(r.stderr.contains("continue with: mpirun -np 2 vae train --resume --out \(run)"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        XCTAssertFalse(r.stderr.contains("error: rank 0 of 2:"))
    }

    /// Ranks started with other training options (mpirun's `A : B`) stop at the start with one line
    /// naming the option: other --epochs left rank 1 waiting for rank 0 for ever, other --lr trained
    /// silently.
    func testRanksWithOtherOptionsStopAtTheStart() throws {
        _ = try MPIRun.require()
        for (flag, a, b, name) in [("--epochs", "1", "2", "--epochs"), ("--lr", "0.001", "0.01", "--lr"), ("--batch", "33", "64", "--batch"),
                                   // the model's flags: another β trained a silent mix and recorded rank 0's; another
                                   // --hidden was "another model … (a shared file system …)"
                                   ("--beta", "1", "2", "--beta"), ("--hidden", "32", "16", "--hidden"),
                                   ("--likelihood", "bernoulli", "gaussian", "--likelihood")] {
            let run = tempRunDir("mpi-mpmd")
            var first = try args(run), second = try args(run)
            for (list, value) in [(0, a), (1, b)] {
                if let i = (list == 0 ? first : second).firstIndex(of: flag) {
                    if list == 0 { first[i + 1] = value } else { second[i + 1] = value }
                } else if list == 0 { first += [flag, value] } else { second += [flag, value] }
            }
            let r = try MPIRun.runTwoCommandLines(first, second)
            XCTAssertNotEqual(r.status, 0, "\(flag): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains("rank 1 of 2 has another value of \(name) than rank 0; every rank must run the same command line"), "\(flag): \(r.stderr)")
            XCTAssertFalse(r.stdout.contains("epoch 1/"), "\(flag): trained \(r.stdout)")
        }
    }

    /// A SIGTERM that reaches one rank only (a scheduler's or a user's kill of one task) stops
    /// every rank after the same batch, with a checkpoint: the others went on training and waited
    /// for it at the next gradient sum, for ever.
    func testSIGTERMToOneRankEndsTheJob() throws {
        _ = try MPIRun.require()
        let run = tempRunDir("mpi-term1")
        let h = try startLongJob(run)
        let (p, _, _) = h
        guard signalRank1(p, SIGTERM) else { return }
        let endedByItself = endsByItself(p, within: 120)
        let r = CLI.finish(h)
        XCTAssertTrue(endedByItself, "the job did not end within 120 s after one rank got SIGTERM: \(r.stderr.replacingOccurrences(of: "\n", with: " | "))")
        XCTAssertTrue(r.stderr.contains("checkpoint saved. Resume with: mpirun -np 2 vae train --resume --out"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        XCTAssertFalse(r.stderr.contains("stopped by mpirun"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        // mpirun's SIGTERM to rank 0 once it had stopped with the others: no second word (it said
        // "training has ended … the report was not written" of a --no-report run stopped mid-way)
        XCTAssertFalse(r.stderr.contains("training has ended"), r.stderr.replacingOccurrences(of: "\n", with: " | "))
        let loaded = try Checkpoint.load(run)
        XCTAssertGreaterThanOrEqual(loaded.state.epoch, 1)
    }

    /// `mpirun … --resume` where one rank sees a checkpoint and another does not (a folder that is
    /// not on a shared file system): one line naming the cause, not a silent hang.
    func testRanksThatDisagreeOnTheCheckpointStop() throws {
        _ = try MPIRun.require()
        let run = tempRunDir("mpi-seen")
        XCTAssertEqual(try CLI.run(try args(run, epochs: 1)).status, 0)
        let first = try args(run, epochs: 2, extra: ["--resume"]), second = try args(tempRunDir("mpi-unseen"), epochs: 2, extra: ["--resume"])
        let r = try MPIRun.runTwoCommandLines(first, second)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("rank 0 of 2 sees a checkpoint in its --out folder and rank 1 does not: every rank must see the same run folder"),
                      r.stderr.replacingOccurrences(of: "\n", with: " | "))
    }

    /// A usage error under mpirun: every rank finds it, rank 0 alone says it (one line, exit 2).
    /// A rank other than 0 waits for mpirun to end it first; one that is still alive then (run
    /// alone here) had the mistake alone, and says it.
    func testUsageErrorUnderMPIRunIsSaidOnce() throws {
        for (rank, said) in [("0", "error: --latent must be between 1 and 4096"), ("1", "error: rank 1: --latent must be between 1 and 4096")] {
            let r = try CLI.run(["train", "--latent", "0"], env: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": rank])
            XCTAssertEqual(r.status, 2, "rank \(rank): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "rank \(rank): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix(said), "rank \(rank): \(r.stderr)")
        }
        _ = try MPIRun.require()
        let r = try MPIRun.run(["train", "--latent", "0", "--out", tempRunDir("mpi-usage")])
        XCTAssertNotEqual(r.status, 0)
        let said = r.stderr.components(separatedBy: "error: --latent must be between 1 and 4096").count - 1
        XCTAssertEqual(said, 1, r.stderr.replacingOccurrences(of: "\n", with: " | "))
    }

    /// Only training is data-parallel: another command under `mpirun -np 2` ran two whole copies
    /// (two JSON objects from evaluate; export worked, then failed on its copy's folder). And mpirun
    /// hands standard input to rank 0 alone (rank 1 read an empty table after rank 0 had read it).
    func testOnlyTrainingRunsUnderMPIRun() throws {
        let env = ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"]
        for args in [["evaluate", "somerun"], ["export", "somerun", "--out", "x"], ["bench", "--kernels"]] {
            let r = try CLI.run(args, env: env)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: only vae train runs under mpirun (data-parallel training); run vae \(args[0]) without mpirun"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertEqual(try CLI.run(["evaluate", "--help"], env: ["OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"]).status, 0, "a job of one process")
        // help, and vae info (`mpirun -np N vae info` checks each node's Open MPI), are not refused
        for args in [["info"], ["help", "train"], ["train", "--help"]] {
            let r = try CLI.run(args, env: env)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        }
        let stdin = try CLI.run(["train", "--data", "-", "--epochs", "1", "--out", tempRunDir("mpi-stdin")], env: env)
        XCTAssertEqual(stdin.status, 2, stdin.stderr)
        XCTAssertTrue(stdin.stderr.hasPrefix("error: --data -: under mpirun standard input reaches rank 0 only"), stdin.stderr)
    }

    /// mpirun's ranks can each have a command line of their own (`A : B`): a mistake on rank 1's
    /// alone was a job that ended with mpirun's "Exit code: 2" and no word of SwiftVAE's; --resume
    /// on one rank only was blamed on a file system the ranks do not share.
    func testOneRanksOwnMistakeIsSaid() throws {
        _ = try MPIRun.require()
        let run = tempRunDir("mpi-own")
        let bad = try MPIRun.runTwoCommandLines(try args(run), try args(run, extra: ["--lr", "-1"]))
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("error: rank 1: --lr must be > 0"), bad.stderr.replacingOccurrences(of: "\n", with: " | "))
        XCTAssertEqual(try CLI.run(try args(run, epochs: 1)).status, 0)
        let r = try MPIRun.runTwoCommandLines(try args(run, epochs: 2), try args(run, epochs: 2, extra: ["--resume"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors, ["error: rank 1 of 2 was started with --resume and rank 0 without it: every rank must run the same command line"],
                       r.stderr.replacingOccurrences(of: "\n", with: " | "))
    }

    /// An error every rank meets once running (data that is not there): one line, rank 0's; the
    /// other rank, stopped by mpirun for it, added a second ("the job was stopped by mpirun").
    func testRuntimeErrorUnderMPIRunIsSaidOnce() throws {
        _ = try MPIRun.require()
        let r = try MPIRun.run(["train", "--data", "/nonexistent/data", "--epochs", "1", "--out", tempRunDir("mpi-nodata")])
        XCTAssertNotEqual(r.status, 0)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, r.stderr.replacingOccurrences(of: "\n", with: " | "))
        XCTAssertTrue(errors.first?.contains("/nonexistent/data") == true, r.stderr.replacingOccurrences(of: "\n", with: " | "))
    }

    func testMissingLibraryUnderMPIRunIsOneLine() throws {
        let r = try CLI.run(["train", "--data", try MPITests.data(), "--epochs", "1", "--out", tempRunDir("mpi-nolib")],
                            env: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0", "VAE_MPI_LIB": "/nonexistent/libmpi.so.40"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: this process was started by mpirun"), r.stderr)
        XCTAssertTrue(r.stderr.contains("openmpi-bin"), r.stderr)
        // another rank names itself (after rank 0 had its time to say it and end the job): every rank
        // printed the same line, naming none
        let one = try CLI.run(["train", "--data", try MPITests.data(), "--epochs", "1", "--out", tempRunDir("mpi-nolib1")],
                              env: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1", "VAE_MPI_LIB": "/nonexistent/libmpi.so.40"])
        XCTAssertEqual(one.status, 1)
        XCTAssertTrue(one.stderr.hasPrefix("error: rank 1: this process was started by mpirun"), one.stderr)
    }

    func testInfoSaysWhetherMPIWasFound() throws {
        let r = try CLI.run(["info"])
        XCTAssertEqual(r.status, 0)
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("MPI:") }
        XCTAssertNotNil(line, r.stdout)
        if MPIRun.mpirun != nil { XCTAssertTrue(line!.contains("Open MPI"), String(line!)) }
        let missing = try CLI.run(["info"], env: ["VAE_MPI_LIB": "/nonexistent/libmpi.so.40"])
        XCTAssertTrue(missing.stdout.contains("MPI:         not found"), missing.stdout)
    }
}
