import Foundation
import XCTest
import VAEKit
import VAEViz

/// Faults seen from the command line: divergence, a full disk, SIGKILL. (The long SIGKILL test,
/// 20 kills against an uninterrupted run, is scripts/kill-test.sh.)
final class HardeningCLITests: XCTestCase {
    /// One damaged Adam moment (a NaN): the run cannot resume, said; every other command uses
    /// the sound weights with a note, and vae export keeps them (every command refused the run).
    func testADamagedAdamMomentStopsOnlyAResume() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("damaged-adam")
        XCTAssertEqual(try CLI.run(["train", "--data", data, "--hidden", "16", "--latent", "2", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        let path = run + "/" + Checkpoint.weightsFile
        var f = try SafeTensorsFile.read(path: path)
        f.tensors["optimizer.exp_avg.decoder.2.bias"]!.data[0] = .nan
        try f.write(to: path)
        let r = try CLI.run(["train", "--resume", "--out", run, "--epochs", "2", "--no-report"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("optimizer state \"optimizer.exp_avg.decoder.2.bias\" holds NaN or infinite values; the checkpoint is damaged: training cannot resume exactly — the model's weights are sound (vae export keeps them)"), r.stderr)
        let e = try CLI.run(["evaluate", run, "--iwae", "0"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stderr.contains("Adam's moments are unusable, so the run cannot resume — the model's weights are sound, and this command uses them"), e.stderr)
        let x = try CLI.run(["export", run, "--out", run + "-copy"])
        XCTAssertEqual(x.status, 0, x.stderr)
        let copy = try CLI.run(["evaluate", run + "-copy", "--iwae", "0", "--data", data])
        XCTAssertEqual(copy.status, 0, copy.stderr)
        XCTAssertFalse(copy.stderr.contains("unusable"), copy.stderr)
        let same = { (s: String) in s.replacingOccurrences(of: #""elbo_seconds":[0-9.e-]+,|"run":"[^"]*""#, with: "", options: .regularExpression) }
        XCTAssertEqual(same(copy.stdout), same(e.stdout))
    }

    /// A run folder this user cannot write: `vae sample` (whose picture goes there by default) says
    /// to give --out before any work, and a resume says so before training an epoch (it failed at
    /// the epoch's end, the epoch lost).
    func testARunFolderThatCannotBeWrittenIsSaidFirst() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("readonly-run")
        XCTAssertEqual(try CLI.run(["train", "--data", data, "--hidden", "16", "--latent", "2", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        let images = tempRunDir("readonly-run-images"), outside = tempRunDir("readonly-run-out")
        XCTAssertEqual(try CLI.run(["sample", run, "--count", "3", "--out", images + ".png", "--out-dir", images]).status, 0)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: outside)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: run)
        addTeardownBlock { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: run) }
        for path in [run + "/model.safetensors", run + "/config.json", run + "/metrics.jsonl", data] + ((try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []).map { data + "/" + $0 } {
            try FileManager.default.setAttributes([.posixPermissions: AtomicFile.isDirectory(path) ? 0o755 : 0o644], ofItemAtPath: path)
        }
        // root writes anywhere: the commands run as nobody then (util-linux's setpriv)
        let asUser: String
        var binary = CLI.binary
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("running as root without util-linux's setpriv: no user for whom the folder is read-only") }
            asUser = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups "
            // a copy nobody can reach (a clone in a private temporary folder is not)
            binary = tempRunDir("vae-for-nobody")
            try FileManager.default.copyItem(atPath: CLI.binary, toPath: binary)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        } else {
            asUser = ""
        }
        let sample = try CLI.shell(asUser + "'\(binary)' sample '\(run)'")
        XCTAssertEqual(sample.status, 1, sample.stderr)
        XCTAssertTrue(sample.stderr.contains("error: cannot write samples.png in \(run), the run's folder, where this command writes by default (Permission denied): give --out with a file elsewhere"), sample.stderr)
        // (and a run folder under a file names both — it said "the run folder afile is a file" —
        // before the data is read)
        let under = try CLI.run(["train", "--data", data, "--epochs", "1", "--no-report", "--out", run + "/model.safetensors/sub"])
        XCTAssertEqual(under.stderr, "error: the run folder \(run)/model.safetensors/sub: \(run)/model.safetensors is a file, not a folder: give a folder (it is made if missing)\n")
        // --out given, the folder of images by default in the run's folder: that flag named, and
        // nothing written (the picture was, before the folder was refused naming --out)
        let denoise = try CLI.shell(asUser + "'\(binary)' denoise '\(run)' --images '\(images)' --out '\(outside)/d.png'")
        XCTAssertEqual(denoise.status, 1, denoise.stderr)
        XCTAssertTrue(denoise.stderr.contains("error: cannot write denoised in \(run), the run's folder, where this command writes by default (Permission denied): give --out-dir with a folder elsewhere"), denoise.stderr)
        XCTAssertFalse(AtomicFile.exists(outside + "/d.png"))
        let resume = try CLI.shell(asUser + "'\(binary)' train --resume --out '\(run)' --epochs 2 --no-report")
        XCTAssertEqual(resume.status, 1, resume.stderr)
        XCTAssertTrue(resume.stderr.contains("error: cannot write in \(run) (Permission denied): resuming saves the run there") && !resume.stderr.contains("epoch 2/2"), resume.stderr)
    }

    /// Temporary files a killed command left (SIGKILL: no handler runs) are removed by the next
    /// command that writes into their folder — those of a process gone and untouched for an hour;
    /// a fresh one (a writer elsewhere sharing the folder) and a live process's stay.
    func testTemporariesOfAKilledCommandAreRemovedByTheNext() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("left-temporaries")
        XCTAssertEqual(try CLI.run(["train", "--data", data, "--hidden", "16", "--latent", "2", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        let out = tempRunDir("left-temporaries-out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let gone = Process()   // a process that has ended: its pid names no process now
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let old = out + "/.e.csv.tmp-\(gone.processIdentifier)-oldone", fresh = out + "/.e.csv.tmp-\(gone.processIdentifier)-freshone"
        let live = out + "/.e.csv.tmp-\(getpid())-liveone"
        for p in [old, fresh, live] { try AtomicFile.write("partial", to: p) }
        var times = [timeval(tv_sec: time(nil) - 3700, tv_usec: 0), timeval(tv_sec: time(nil) - 3700, tv_usec: 0)]
        XCTAssertEqual(utimes(old, &times), 0)
        XCTAssertEqual(utimes(live, &times), 0)
        let e = try CLI.run(["encode", run, "--out", out + "/e.csv"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertFalse(AtomicFile.exists(old))
        XCTAssertTrue(AtomicFile.exists(fresh) && AtomicFile.exists(live))
    }

    /// A first save that fails (a full disk; here a file-size limit, its signal ignored) leaves no
    /// run folder behind: it held the lock file and an empty metrics.jsonl, a folder of no run.
    func testAFailedFirstSaveLeavesNoFolder() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("failed-first-save")
        let r = try CLI.shell("trap '' XFSZ; ulimit -f 4; exec '\(CLI.binary)' train --data '\(data)' --hidden 256 --latent 2 --epochs 1 --no-report --out '\(run)'")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: cannot write \(run)/model.safetensors: File too large"), r.stderr)
        XCTAssertFalse(AtomicFile.exists(run))
    }

    /// A FIFO in a run folder's file's place (the weights, config.json, metrics.jsonl): refused in
    /// one line — opening it waited for a writer forever, every command hung without a word.
    func testAFIFOInARunFolderIsRefusedNotWaitedOn() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("fiforun")
        XCTAssertEqual(try CLI.run(["train", "--data", data, "--hidden", "16", "--latent", "2", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        for file in [Checkpoint.weightsFile, Checkpoint.configFile, TrainingRun.metricsFile] {
            let copy = tempRunDir("fiforun-" + file)
            try FileManager.default.copyItem(atPath: run, toPath: copy)
            try FileManager.default.removeItem(atPath: copy + "/" + file)
            XCTAssertEqual(mkfifo(copy + "/" + file, 0o644), 0)
            var commands = [["export", copy, "--out", copy + "-x"], ["train", "--resume", "--out", copy, "--epochs", "2", "--no-report"]]
            if file != TrainingRun.metricsFile { commands += [["info", copy], ["sample", copy, "--out", copy + "/s.png"]] } else { commands += [["report", copy]] }
            for c in commands {
                let r = try CLI.shell("timeout 30 '\(CLI.binary)' " + c.map { "'\($0)'" }.joined(separator: " "))
                XCTAssertEqual(r.status, 1, "\(file), \(c[0]): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("error: \(copy)/\(file) is not a regular file (a FIFO, a device or a folder by that name)"), "\(file), \(c[0]): \(r.stderr)")
            }
            XCTAssertFalse(AtomicFile.exists(copy + "-x"))
        }
    }

    /// A run whose recorded data folder is gone (moved, another machine, a shipped model run from
    /// elsewhere) is never evaluated or resumed on some other data set found by default: one line
    /// names the path and what to pass.
    func testRecordedDataMissingIsAnErrorNotAnotherDataSet() throws {
        let data = try TinyData.make(train: 128, test: 32)
        let dir = tempRunDir("gone")
        var r = try CLI.run(["train", "--data", data, "--epochs", "1", "--hidden", "8", "--latent", "2", "--batch", "32",
                             "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let moved = data + "-moved"
        try FileManager.default.moveItem(atPath: data, toPath: moved)
        for args in [["evaluate", dir], ["reconstruct", dir, "--out", dir + "/r.png"], ["train", "--resume", "--epochs", "2", "--out", dir]] {
            r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr, "error: the run's data \(data) is not here (the path was recorded when the run trained, relative to the folder it trained in): run from that folder, or pass --data DIR (or FILE.csv) with the data it was trained on\n", "\(args)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r.png"))
        r = try CLI.run(["evaluate", dir, "--data", moved])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// A stray label byte in an IDX label file (200 among 0…9) makes 201 classes: said in a note
    /// (it silently gave a conditional model a 201-wide one-hot).
    func testStrayIDXLabelIsNoted() throws {
        let data = try TinyData.make(train: 64, test: 16)
        var labels = try AtomicFile.readAll(path: data + "/train-labels-idx1-ubyte", maxBytes: 1 << 20)
        labels[8 + 5] = 200
        try AtomicFile.write(labels, to: data + "/train-labels-idx1-ubyte")
        let r = try CLI.run(["train", "--data", data, "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", tempRunDir("stray")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("labels run to 200, so there are 201 classes, but only 11 of these values occur (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 200) — is a label byte damaged?"), r.stderr)
        // every label 0: the note says the classes are MNIST's 0…9 (it said "labels run to 9")
        let zeros = try TinyData.make(train: 64, test: 16)
        var l = try AtomicFile.readAll(path: zeros + "/train-labels-idx1-ubyte", maxBytes: 1 << 20)
        for i in 8..<l.count { l[i] = 0 }
        try AtomicFile.write(l, to: zeros + "/train-labels-idx1-ubyte")
        try FileManager.default.removeItem(atPath: zeros + "/t10k-labels-idx1-ubyte.gz")
        try AtomicFile.write([0, 0, 8, 1, 0, 0, 0, 16] + [UInt8](repeating: 0, count: 16), to: zeros + "/t10k-labels-idx1-ubyte")
        let z = try CLI.run(["train", "--data", zeros, "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", tempRunDir("zeros")])
        XCTAssertEqual(z.status, 0, z.stderr)
        XCTAssertTrue(z.stderr.contains("there are 10 classes (0…9, as in MNIST), but only 1 of these values occur (0)"), z.stderr)
        let clean = try TinyData.make(train: 64, test: 16)
        let c = try CLI.run(["train", "--data", clean, "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", tempRunDir("nostray")])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertFalse(c.stderr.contains("note:"), c.stderr)
        // one IDX file as --data (plain or gzip): the folder is what it takes (it was "a NUL byte — not a CSV text table")
        for file in ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz"] {
            let r = try CLI.run(["train", "--data", clean + "/" + file, "--epochs", "1", "--out", tempRunDir("idxfile")])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(clean)/\(file) is an IDX file (MNIST's format): --data takes the folder that holds the four"), r.stderr)
        }
    }

    /// `--resume` on a run folder that lost one of its two files names the missing file (it said
    /// "the run does not say how its sequences were read; start a new run", or counted the files).
    func testResumeNamesTheMissingFileOfTheRun() throws {
        let path = tempRunDir("resumeseq") + ".txt"
        try AtomicFile.write(SequenceCLITests.sentences(120).joined(separator: "\n") + "\n", to: path)
        let run = tempRunDir("resumegone")
        let line = ["train", "--model", "gru", "--data", path, "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8",
                    "--latent", "2", "--batch", "32", "--no-report", "--out", run]
        XCTAssertEqual(try CLI.run(line + ["--epochs", "1"]).status, 0)
        for (gone, says) in [(Checkpoint.configFile, "error: \(run)/config.json is missing: --resume reads from it how the run's items were read"),
                             (Checkpoint.weightsFile, "error: --resume: \(run) has a config.json but no model.safetensors (the weights and the optimizer's state)")] {
            let kept = run + "/" + gone + ".kept"
            try FileManager.default.moveItem(atPath: run + "/" + gone, toPath: kept)
            let r = try CLI.run(line + ["--epochs", "2", "--resume"])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(says), r.stderr)
            try FileManager.default.moveItem(atPath: kept, toPath: run + "/" + gone)
        }
        XCTAssertEqual(try CLI.run(line + ["--epochs", "2", "--resume"]).status, 0)
    }

    /// Data too small to hold out a test set (one image in a folder, one table row) is one line
    /// naming the folder and what to do, exit 1 and no run folder — it was "test 0.00" and then a
    /// crash with a backtrace in the report's image strips.
    /// A run that does not record its data (saved by the library with data: nil, or its config's
    /// "data" removed) is not scored on whatever data is around (it used Fashion-MNIST, silently).
    func testRunWithoutRecordedDataNeedsData() throws {
        let run = tempRunDir("nodata")
        let model = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 2, hidden: [8]), seed: 1)
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: TrainingState(), data: nil, to: run)
        let r = try CLI.run(["evaluate", run, "--limit", "10"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("does not record the data it was trained on"), r.stderr)
        let data = try TinyData.make()
        XCTAssertEqual(try CLI.run(["evaluate", run, "--data", data, "--limit", "10"]).status, 0)
        // nor resumed on it: a trained run whose config.json lost its "data"
        let trained = tempRunDir("nodata-trained")
        XCTAssertEqual(try CLI.run(["train", "--data", data, "--epochs", "1", "--hidden", "8", "--latent", "2", "--out", trained, "--no-report"]).status, 0)
        var config = try JSONSerialization.jsonObject(with: Data(try AtomicFile.readAll(path: trained + "/config.json", maxBytes: 1 << 20))) as! [String: Any]
        config["data"] = nil
        try AtomicFile.write(Array(try JSONSerialization.data(withJSONObject: config)), to: trained + "/config.json")
        let resumed = try CLI.run(["train", "--epochs", "2", "--hidden", "8", "--latent", "2", "--out", trained, "--no-report", "--resume"])
        XCTAssertEqual(resumed.status, 1, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("does not record the data it was trained on (no \"data\" in its config.json)"), resumed.stderr)
        // a folder whose config.json is gone says so (not that the file lacks a "data")
        try FileManager.default.removeItem(atPath: trained + "/config.json")
        let gone = try CLI.run(["evaluate", trained, "--limit", "10"])
        XCTAssertEqual(gone.status, 1, gone.stderr)
        XCTAssertTrue(gone.stderr.contains("does not record the data it was trained on (it has no \(trained)/config.json)"), gone.stderr)
    }

    /// Weights so large that every value overflows: exit 1 with one line saying why — it was exit
    /// 0, "−log p(x) ≈ -nan"; then the JSON of nulls on stdout beside the error (`> out.json` kept
    /// a file of no result).
    func testEvaluateOfAnOverflowingModelIsAnError() throws {
        let run = tempRunDir("overflow")
        let model = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 2, hidden: [8]), seed: 1)
        for p in model.store.parameters where p.name.hasSuffix("weight") { for i in 0..<p.count { p.value.pointer[i] = i % 2 == 0 ? 1e30 : -1e30 } }
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: TrainingState(), data: nil, to: run)
        let r = try CLI.run(["evaluate", run, "--data", try TinyData.make(), "--limit", "10", "--iwae", "2"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("is not a number on these items"), r.stderr)
        XCTAssertFalse(r.stderr.contains("-nan"), r.stderr)
    }

    /// A run stopped with early stopping under way holds its latest weights and, beside them, the
    /// best epoch's: `vae info` says which the commands use, and `vae export` keeps both (it
    /// dropped the best ones without a word, and info called them "the model kept").
    func testExportOfAnUnfinishedEarlyStoppingRunKeepsItsBestWeights() throws {
        let data = try Dataset.load(directory: try TinyData.make(train: 64, test: 16))
        var o = TrainingOptions()
        o.epochs = 60
        o.batchSize = 16
        o.learningRate = 1e-2
        o.validationFraction = 0.25
        o.patience = 50
        let dir = tempRunDir("es-unfinished")
        let run = try TrainingRun.start(directory: dir, model: VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 2, hidden: [16]),
                                        options: o, data: data)
        // stopped at the first epoch that is not the best so far: the best weights then wait beside the latest
        var epochs = 0
        XCTAssertEqual(try run.run(shouldStop: { epochs >= 2 && (run.trainer.state.bestEpoch ?? epochs) < epochs },
                                   events: { if case .epochEnd = $0 { epochs += 1 } }), .interrupted)
        let saved = try Checkpoint.load(dir)
        let best = try XCTUnwrap(saved.bestWeights)
        let b = try XCTUnwrap(saved.state.bestEpoch)
        let info = try CLI.run(["info", dir])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertLessThan(b, saved.state.epoch, "the run stopped past its best epoch")
        XCTAssertTrue(info.stdout.contains("best so far: epoch \(b)'s") && info.stdout.contains("kept beside the latest weights, which the commands use until the run ends"), info.stdout)
        XCTAssertFalse(info.stdout.contains("model kept:"), info.stdout)
        let exported = tempRunDir("es-export")
        let x = try CLI.run(["export", dir, "--out", exported])
        XCTAssertEqual(x.status, 0, x.stderr)
        XCTAssertTrue(x.stderr.contains("the best so far, epoch \(b)'s, beside them (best.*)"), x.stderr)
        let copy = try Checkpoint.load(exported)
        XCTAssertEqual(copy.bestWeights, best)
        XCTAssertEqual(copy.model.store.parameters.map { $0.value.array }, saved.model.store.parameters.map { $0.value.array })
    }

    /// `vae encode` of a model whose σ overflows (a log σ² bias of 400: σ = e²⁰⁰) says so in a note
    /// naming the items, and one whose μ is NaN (weights of ±10³⁰ give inf − inf) is an error with
    /// nothing written — both were exit 0 with "inf" or "nan" in the CSV and not a word.
    func testEncodeOfAnOverflowingModelSaysSo() throws {
        let data = try TinyData.make()
        func folder(_ name: String, _ spoil: (VAE) -> Void) throws -> String {
            let run = tempRunDir(name)
            let model = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 2, hidden: [8]), seed: 1)
            spoil(model)
            try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: TrainingState(), data: nil, to: run)
            return run
        }
        let wide = try folder("encode-wide") { model in
            let bias = model.store.parameters.filter { $0.name.hasSuffix("bias") && $0.count == 4 }   // the encoder's μ | log σ² layer
            XCTAssertEqual(bias.count, 1)
            bias[0].value.pointer[3] = 400   // log σ² of the second latent dimension
        }
        let r = try CLI.run(["encode", wide, "--data", data, "--out", wide + "/z.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("overflow 32-bit floats in the encoder (μ or σ is ±inf in the CSV)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("note: 64 items ("), r.stderr)
        let row = try String(contentsOfFile: wide + "/z.csv", encoding: .utf8).split(separator: "\n")[1]
        XCTAssertEqual(row.split(separator: ",").last, "inf")
        let broken = try folder("encode-nan") { model in
            // hidden units of +inf (sums of 3·10³⁸ × pixels), then μ and log σ² of inf·w₁ + inf·(−w₂): inf − inf
            let weights = model.store.parameters.filter { $0.name.hasSuffix("weight") && ($0.count == 8 * 784 || $0.count == 4 * 8) }
            XCTAssertEqual(weights.count, 3)   // the encoder's two, the decoder's output layer (784 × 8)
            for p in weights { for i in 0..<p.count { p.value.pointer[i] = p.count == 32 ? (i % 2 == 1 ? -1 : 1) : 3e38 } }
        }
        let n = try CLI.run(["encode", broken, "--data", data, "--out", broken + "/z.csv"])
        XCTAssertEqual(n.status, 1, n.stderr)
        XCTAssertTrue(n.stderr.contains("the encoder gives NaN for μ or σ"), n.stderr)
        XCTAssertFalse(AtomicFile.exists(broken + "/z.csv"))
    }

    /// A --binarize run is scored on the binary test images its test loss uses (the fixed
    /// binarization of vae evaluate): the CSV's scores are those of that set, not of the gray one.
    func testBinarizedRunIsScoredOnBinaryImages() throws {
        let data = try TinyData.make()
        let run = tempRunDir("binrun")
        XCTAssertEqual(try CLI.run(["train", "--data", data, "--binarize", "--epochs", "1", "--hidden", "16", "--latent", "2", "--out", run, "--no-report"]).status, 0)
        let a = try CLI.run(["anomaly", run, "--limit", "16", "--seed", "3", "--out", run + "/s.csv"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let rows = try String(contentsOfFile: run + "/s.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let scores = rows.map { Double($0.split(separator: ",")[2])! }
        let model = try Checkpoint.load(run).model
        let test = try Dataset.load(directory: data).test
        var r1 = RNG(seed: 3), r2 = RNG(seed: 3)
        let binary = try Analysis.anomalyScores(model, test.binarized(seed: Trainer.testBinarizationSeed).first(16), rng: &r1)
        let gray = try Analysis.anomalyScores(model, test.first(16), rng: &r2)
        XCTAssertNotEqual(binary, gray)
        XCTAssertEqual(scores.count, 16)
        for (s, b) in zip(scores, binary) { XCTAssertEqual(s, b, accuracy: 0.01) }   // the CSV's two decimals
    }

    /// A folder with a run's config.json but no weights (a recipe kept) is not trained over.
    func testConfigWithoutWeightsIsNotOverwritten() throws {
        let dir = tempRunDir("recipe")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try AtomicFile.write("{\"recipe\": true}\n", to: dir + "/config.json")
        let r = try CLI.run(["train", "--data", try TinyData.make(), "--epochs", "1", "--out", dir])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("holds a run's config.json (without its weights)"), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/config.json", encoding: .utf8), "{\"recipe\": true}\n")
        let info = try CLI.run(["info", dir])
        XCTAssertFalse(info.stderr.contains("vae train --out"), "info advised training over it: \(info.stderr)")
    }

    /// A missing table given with --label is named as missing, not as "a folder".
    func testMissingTableWithLabelIsNamedMissing() throws {
        let missing = tempRunDir("gone") + ".csv"
        let r = try CLI.run(["train", "--data", missing, "--label", "target", "--epochs", "1", "--out", tempRunDir("gonerun")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("\(missing) does not exist"), r.stderr)
        XCTAssertFalse(r.stderr.contains("is a folder"), r.stderr)
        // a real folder with --label still gets that message
        let dir = tempRunDir("afolder")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let f = try CLI.run(["train", "--data", dir, "--label", "target", "--epochs", "1", "--out", tempRunDir("gonerun")])
        XCTAssertTrue(f.stderr.contains("--label and --ignore are for CSV tables; \(dir) is a folder"), f.stderr)
    }

    /// $VAE_DATA naming nothing is named as the culprit (the message spoke of --data only).
    func testMissingVAEDataIsNamed() throws {
        let r = try CLI.run(["train", "--epochs", "1", "--out", tempRunDir("envdata")], env: ["VAE_DATA": "/nonexistent/data"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("$VAE_DATA names /nonexistent/data, which does not exist"), r.stderr)
        // a folder that holds no data set: the message says where the folder came from
        let empty = tempRunDir("emptydata")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let e = try CLI.run(["train", "--epochs", "1", "--out", tempRunDir("envdata")], env: ["VAE_DATA": empty])
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.hasPrefix("error: $VAE_DATA: \(empty) holds no dataset"), e.stderr)
    }

    func testNoTestItemsIsAnErrorBeforeTheRunFolder() throws {
        let dir = tempRunDir("one-image")
        try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
        let px = [UInt8](repeating: 128, count: 28 * 28)
        try Data(PNG.encode(width: 28, height: 28, channels: 1, pixels: px)).write(to: URL(fileURLWithPath: dir + "/a/0.png"))
        let out = tempRunDir("one-image-run")
        var r = try CLI.run(["train", "--data", dir, "--epochs", "1", "--hidden", "8", "--latent", "2", "--out", out])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: \(dir): 1 train and 0 test images — too few to hold out a test set"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("precondition"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let table = dir + "/one-row.csv"
        try Data("a,b\n1,2\n".utf8).write(to: URL(fileURLWithPath: table))
        r = try CLI.run(["train", "--data", table, "--epochs", "1", "--out", out])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("1 train and 0 test rows"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let smiles = dir + "/one.smi"
        try Data("CCO\n".utf8).write(to: URL(fileURLWithPath: smiles))
        r = try CLI.run(["train", "--model", "gru", "--data", smiles, "--epochs", "1", "--out", out])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(smiles): 1 train and 0 test items — too few to hold out a test set"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// An --out in a folder that is not there is refused before the work, not after it (every
    /// command with --out but train, whose --out is the run folder it makes).
    func testOutputInAMissingFolderIsRefusedFirst() throws {
        let missing = tempRunDir("missing-folder") + "/sub"
        for args in [["smiles", TinyData.root + "/data/moses-sample.smi.gz", "--out", missing + "/v.tsv"],
                     ["anomaly", TinyData.root + "/models/bb-fashion", "--out", missing + "/a.csv"],
                     ["sample", TinyData.root + "/models/bb-fashion", "--out", missing + "/s.png"],
                     ["encode", TinyData.root + "/models/bb-fashion", "--out", missing + "/z.csv"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("the folder \(missing) does not exist; create it first"), r.stderr)
            XCTAssertEqual(r.stdout, "", "work was done before the refusal: \(r.stdout)")
        }
    }

    func testDivergenceExitsOneNamingEpochAndBatchAndKeepsTheCheckpoint() throws {
        let data = try TinyData.make(train: 128, test: 32)
        let dir = tempRunDir("diverge")
        let r = try CLI.run(["train", "--data", data, "--lr", "1e12", "--epochs", "3", "--hidden", "16", "--latent", "2",
                             "--batch", "32", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 1, r.stderr)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr)
        let message = String(errors.first ?? "")
        XCTAssertTrue(message.contains("training diverged at epoch 1, batch "), message)
        XCTAssertFalse(message.contains("-nan"), message)
        XCTAssertTrue(message.contains("--lr"), message)
        XCTAssertTrue(message.contains("last good checkpoint is kept"), message)
        // The run folder's checkpoint (written at the start) still loads.
        let info = try CLI.run(["info", dir])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("training:    0 of 3 epochs"), info.stdout)
    }

    func testFullDiskExitsOneAndKeepsTheCheckpoint() throws {
        let base = tempRunDir("tinydisk")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        guard DiskFaultTests.sh("mount -t tmpfs -o size=2m tmpfs '\(base)'") == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
        }
        defer { DiskFaultTests.sh("umount '\(base)'") }
        let data = try TinyData.make(train: 128, test: 32)
        let dir = base + "/run"
        var r = try CLI.run(["train", "--data", data, "--epochs", "1", "--hidden", "16", "--latent", "2", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let before = try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 26)
        // Fill the disk, then ask for one more epoch.
        DiskFaultTests.sh("dd if=/dev/zero of='\(base)/filler' bs=4k")
        r = try CLI.run(["train", "--resume", "--epochs", "2", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: cannot write \(dir)/"), r.stderr)
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 26), before)
        XCTAssertEqual(try CLI.run(["info", dir]).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
        // With space again, the same command finishes the run.
        try FileManager.default.removeItem(atPath: base + "/filler")
        r = try CLI.run(["train", "--resume", "--epochs", "2", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(dir).state.epoch, 2)
    }

    /// The short SIGKILL test: 3 kills at seeded moments; each kill lands (the process dies of
    /// SIGKILL), the checkpoint then loads and never goes back, and resuming ends with the weights
    /// of an uninterrupted run, bit for bit. Each moment is a seeded share of the time the rest of
    /// the run takes (measured on the uninterrupted run), so the run cannot finish first.
    func testSIGKILLThenResumeGivesTheSameWeights() throws {
        let data = try TinyData.make(train: 256, test: 32)
        let epochs = 12
        // the line a requeued job re-runs: with --resume from the start (no checkpoint yet: it starts)
        let line = ["train", "--data", data, "--hidden", "32", "--latent", "2", "--batch", "64", "--seed", "5", "--no-report",
                    "--epochs", String(epochs)]
        let reference = tempRunDir("kill-ref")
        let started = Date()
        let r = try CLI.run(line + ["--out", reference])
        XCTAssertEqual(r.status, 0, r.stderr)
        let duration = Date().timeIntervalSince(started)

        let dir = tempRunDir("kill")
        var rng = RNG(seed: 2024)
        var lastEpoch = -1
        for kill in 1...3 {
            let done = max(0, lastEpoch)
            let rest = duration * Double(epochs - done) / Double(epochs)
            let h = try CLI.start(line + ["--out", dir, "--resume"])
            usleep(UInt32((0.1 + 0.4 * Double(rng.uniform())) * rest * 1e6))
            Foundation.kill(h.0.processIdentifier, SIGKILL)
            let result = CLI.finish(h)
            XCTAssertEqual(h.0.terminationReason, .uncaughtSignal, "kill \(kill) did not land: the run ended with status \(result.status)")
            XCTAssertEqual(result.status, SIGKILL, "kill \(kill): \(result.stderr)")
            guard FileManager.default.fileExists(atPath: dir + "/model.safetensors") else {
                XCTAssertEqual(lastEpoch, -1, "kill \(kill): the checkpoint vanished")
                continue
            }
            let loaded = try Checkpoint.load(dir)  // never torn
            XCTAssertGreaterThanOrEqual(loaded.state.epoch, lastEpoch, "kill \(kill): the checkpoint went back")
            XCTAssertEqual(loaded.state.batchInEpoch, 0)
            lastEpoch = loaded.state.epoch
        }
        XCTAssertLessThan(lastEpoch, epochs, "the kills left nothing to resume")
        let final = try CLI.run(line + ["--out", dir, "--resume"])
        XCTAssertEqual(final.status, 0, final.stderr)
        let a = try SafeTensorsFile.read(path: reference + "/model.safetensors")
        let b = try SafeTensorsFile.read(path: dir + "/model.safetensors")
        XCTAssertEqual(a.names, b.names)
        XCTAssertTrue(a.tensors == b.tensors, "the resumed run's weights differ from the uninterrupted run's")
        XCTAssertEqual(try TrainingRun.readMetrics(dir + "/metrics.jsonl").map(\.epoch), Array(1...12))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
    }
}

enum DiskFaultTests {
    @discardableResult
    static func sh(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " >/dev/null 2>&1"]
        do { try process.run() } catch {
            XCTFail("cannot run /bin/sh: \(error)")
            return -1
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
