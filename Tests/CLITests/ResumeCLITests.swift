import Foundation
import XCTest
import VAEKit

/// `vae train --resume`: what can change is honoured, what cannot is refused in one line; the
/// command line a run was started with is accepted again; a folder with no checkpoint yet starts it.
final class ResumeCLITests: XCTestCase {
    func testResumeHonoursLearningRateAndEpochsAndRefusesTheRest() throws {
        let data = try TinyData.make(train: 128, test: 32, side: 8)
        let run = tempRunDir("resume")
        let first = try CLI.run(["train", "--data", data, "--epochs", "1", "--latent", "2", "--hidden", "16", "--batch", "64",
                                 "--out", run, "--no-report"])
        XCTAssertEqual(first.status, 0, first.stderr)

        // flag, a changed value, the run's value as the message names it
        for (flag, value, stored) in [("--beta", "2", "1.0"), ("--batch", "32", "64"), ("--latent", "3", "2"), ("--seed", "9", "1"),
                                      ("--likelihood", "gaussian", "bernoulli"), ("--hidden", "16,8", "16"), ("--model", "conv", "mlp"),
                                      ("--binarize", nil, "off"), ("--k", "2", "1"), ("--init", "glorot", "pytorch"),
                                      // (they were replaced by the run's values without a word)
                                      ("--validation-fraction", "0.2", "0 (none)"), ("--patience", "3", "none (no validation share)")] {
            let r = try CLI.run(["train", "--data", data, "--resume", "--out", run, flag] + (value.map { [$0] } ?? []))
            XCTAssertEqual(r.status, 2, "\(flag): \(r.stderr)")   // a usage error
            let lines = r.stderr.split(separator: "\n").filter { $0.contains("cannot change") }
            XCTAssertEqual(lines.count, 1, r.stderr)
            let given = value ?? "on"
            XCTAssertTrue(r.stderr.contains("\(flag) cannot change when resuming: the run in \(run) has \(stored), this command line gives \(given)"),
                          r.stderr)
        }
        XCTAssertEqual(try Checkpoint.load(run).state.epoch, 1, "a refused resume trained")

        let r = try CLI.run(["train", "--data", data, "--resume", "--out", run, "--epochs", "2", "--lr", "0.0005", "--clip", "5",
                             "--no-report"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let loaded = try Checkpoint.load(run)
        XCTAssertEqual(loaded.state.epoch, 2)
        XCTAssertEqual(loaded.options.learningRate, 0.0005)
        XCTAssertEqual(loaded.options.clipNorm, 5)
        XCTAssertEqual(loaded.options.batchSize, 64)
    }

    /// Other data at resume — another set, or the run's folder with changed files — is refused:
    /// the run no longer goes on bit for bit. It was accepted without a word (MNIST into a
    /// Fashion-MNIST run), and config.json then named the new data as the run's.
    func testResumeOnOtherDataIsRefused() throws {
        let data = try TinyData.make(train: 128, test: 32, side: 8)
        let run = tempRunDir("otherdata")
        let line = ["train", "--latent", "2", "--hidden", "16", "--batch", "64", "--no-report", "--out", run]
        XCTAssertEqual(try CLI.run(line + ["--data", data, "--epochs", "1"]).status, 0)
        let smaller = try TinyData.make(train: 96, test: 32, side: 8)
        var r = try CLI.run(line + ["--data", smaller, "--epochs", "2", "--resume"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: the data is not what the run trained on (the run: 128 training and 32 test items of 1×8×8, first items "), r.stderr)
        XCTAssertTrue(r.stderr.contains("now: 96 training and 32 test items of 1×8×8"), r.stderr)
        // one pixel of the first training image changed in the run's own folder
        var idx = try AtomicFile.readAll(path: data + "/train-images-idx3-ubyte", maxBytes: 1 << 20)
        idx[16] ^= 0xFF
        try AtomicFile.write(idx, to: data + "/train-images-idx3-ubyte")
        r = try CLI.run(line + ["--data", data, "--epochs", "2", "--resume"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("the data is not what the run trained on"), r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).state.epoch, 1, "a refused resume trained")
        idx[16] ^= 0xFF
        try AtomicFile.write(idx, to: data + "/train-images-idx3-ubyte")
        // the last pixel of the last test image: the whole of both splits is hashed (the first
        // 1 MiB of training items alone was, so a change past it, or in the test set, resumed)
        let testPath = data + "/t10k-images-idx3-ubyte.gz"
        let test = try Gzip.decompress(try AtomicFile.readAll(path: testPath, maxBytes: 1 << 20), maxOutput: 1 << 20, source: testPath)
        var changed = test
        changed[changed.count - 1] ^= 0x80
        try AtomicFile.write(Gzip.compress(changed), to: testPath)
        r = try CLI.run(line + ["--data", data, "--epochs", "2", "--resume"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("the data is not what the run trained on"), r.stderr)
        try AtomicFile.write(Gzip.compress(test), to: testPath)
        r = try CLI.run(line + ["--data", data, "--epochs", "2", "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// A save cut short (kill -9 between the metrics line and the checkpoint) leaves metrics.jsonl
    /// an epoch ahead: vae report shows the checkpoint's epochs, not a line without weights.
    func testReportStandsWhereTheCheckpointDoes() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("ahead")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: run); try? FileManager.default.removeItem(atPath: data) }
        let r = try CLI.run(["train", "--data", data, "--latent", "2", "--hidden", "8", "--epochs", "2", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        let last = try XCTUnwrap(text.split(separator: "\n").last)
        try AtomicFile.write(text + last.replacingOccurrences(of: "\"epoch\":2", with: "\"epoch\":3") + "\n", to: run + "/metrics.jsonl")
        XCTAssertEqual(try TrainingRun.readMetrics(run + "/metrics.jsonl").map(\.epoch), [1, 2, 3])
        let report = try CLI.run(["report", run])
        XCTAssertEqual(report.status, 0, report.stderr)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains(">2 of 2<"), "the page counted the line ahead of the checkpoint")
        XCTAssertFalse(html.contains(">3 of 2<"))
    }

    /// A checkpoint whose weights give a non-finite loss before any step (a flipped exponent bit)
    /// is said to be the cause; the message blamed the learning rate.
    func testDamagedWeightsAreNamedAtTheFirstBatch() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("flipped")
        let line = ["train", "--data", data, "--latent", "2", "--hidden", "16", "--batch", "32", "--no-report", "--out", run]
        XCTAssertEqual(try CLI.run(line + ["--epochs", "1"]).status, 0)
        var bytes = try AtomicFile.readAll(path: run + "/model.safetensors", maxBytes: 1 << 26)
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as! [String: Any]
        let name = header.keys.sorted().first { $0.hasPrefix("decoder.") && $0.hasSuffix(".weight") }!
        let start = ((header[name] as! [String: Any])["data_offsets"] as! [Int])[0] + 8 + headerLength
        for (i, b) in withUnsafeBytes(of: Float(3e38).bitPattern.littleEndian, Array.init).enumerated() { bytes[start + i] = b }
        try AtomicFile.write(bytes, to: run + "/model.safetensors")
        let r = try CLI.run(line + ["--epochs", "2", "--resume"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("at the first batch after resuming (epoch 2, batch 1), before any step: the checkpoint's weights give it — the file may be damaged"), r.stderr)
        XCTAssertFalse(r.stderr.contains("--lr"), r.stderr)
    }

    /// A resume on other kernels (another CPU kind, VAE_CPU) says that the run goes on to rounding,
    /// not bit for bit; on the same kernels it says nothing.
    func testResumeOnOtherKernelsSaysSo() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("kernels")
        let line = ["train", "--data", data, "--latent", "2", "--hidden", "16", "--batch", "32", "--no-report", "--out", run]
        XCTAssertEqual(try CLI.run(line + ["--epochs", "1"], env: ["VAE_CPU": "portable"]).status, 0)
        XCTAssertEqual(try Checkpoint.load(run).state.kernels, "portable C")
        var r = try CLI.run(line + ["--epochs", "2", "--resume"], env: ["VAE_CPU": "portable"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("kernels and continues"), r.stderr)
        guard GEMM.kernelLevel > 1 else { throw XCTSkip("this CPU has only the portable kernels") }
        r = try CLI.run(line + ["--epochs", "3", "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("trained with the portable C kernels and continues with \(Trainer.kernels) (another CPU, VAE_CPU or VAE_GEMM): the same run to rounding, not bit for bit"), r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).state.kernels, Trainer.kernels)
    }

    /// The line a job script re-runs: every run-defining flag given again with its value, plus
    /// `--resume`. It continues the run, exactly as an uninterrupted run would have gone.
    func testTheSameCommandLineContinuesTheRun() throws {
        let data = try TinyData.make(train: 128, test: 32, side: 8)
        let line = ["train", "--data", data, "--model", "mlp", "--hidden", "16,8", "--latent", "2", "--batch", "32", "--seed", "7",
                    "--beta", "1", "--warmup", "2", "--likelihood", "bernoulli", "--activation", "relu", "--binarize",
                    "--classes", "0,1,2,3,4", "--corrupt", "mask:0.25", "--objective", "elbo", "--adam-eps", "1e-8",
                    "--lr-schedule", "constant", "--init", "pytorch", "--no-output-bias-from-data", "--no-report"]
        let run = tempRunDir("sameline"), straight = tempRunDir("sameline-straight")
        var r = try CLI.run(line + ["--epochs", "1", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(line + ["--epochs", "3", "--out", run, "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming \(run) after epoch 1 of 3"), r.stderr)
        r = try CLI.run(line + ["--epochs", "3", "--out", run, "--resume"])   // done: nothing more to train
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(line + ["--epochs", "3", "--out", straight])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).state.epoch, 3)
        let a = try SafeTensorsFile.read(path: run + "/model.safetensors")
        let b = try SafeTensorsFile.read(path: straight + "/model.safetensors")
        XCTAssertTrue(a.tensors == b.tensors, "the run resumed with its own command line differs from a straight run")
    }

    /// A finished run with a validation set keeps the best epoch's weights: when that epoch was the
    /// last, more epochs continue it exactly (it was refused as "damaged").
    func testFinishedValidationRunExtends() throws {
        let data = try TinyData.make(train: 256, test: 32, side: 8)
        let line = ["train", "--data", data, "--hidden", "16", "--latent", "2", "--batch", "32", "--seed", "3",
                    "--validation-fraction", "0.25", "--lr", "0.003", "--no-report"]
        let run = tempRunDir("valext"), straight = tempRunDir("valext-straight")
        var r = try CLI.run(line + ["--epochs", "2", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("was epoch 2"), "the test needs the last epoch to be the best: \(r.stderr)")
        r = try CLI.run(line + ["--epochs", "3", "--out", run, "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(line + ["--epochs", "3", "--out", straight])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: straight + "/model.safetensors")))
    }

    /// Early stopping that ends after a worse epoch keeps the best epoch's model: the done line and
    /// `vae info` give that model's test loss (they gave the last epoch's).
    func testEarlyStoppingReportsTheKeptModel() throws {
        let data = try TinyData.make(train: 512, test: 64, side: 8)
        let run = tempRunDir("kept")
        let r = try CLI.run(["train", "--data", data, "--hidden", "64", "--latent", "2", "--batch", "8", "--lr", "0.03", "--seed", "2",
                             "--validation-fraction", "0.5", "--patience", "2", "--epochs", "30", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        let loaded = try Checkpoint.load(run)
        let best = try XCTUnwrap(loaded.state.bestEpoch)
        XCTAssertLessThan(best, loaded.state.epoch, "the test needs a last epoch worse than the best: \(r.stdout)")
        let metrics = try TrainingRun.readMetrics(run + "/metrics.jsonl")
        let kept = try XCTUnwrap(metrics.first { $0.epoch == best })
        XCTAssertTrue(r.stdout.contains(String(format: "test loss %.2f", kept.test_loss) + " nats/image (z=μ " + String(format: "%.2f", kept.test_loss_mu) + ") of epoch \(best), the model kept"), r.stdout)
        let info = try CLI.run(["info", run])
        XCTAssertTrue(info.stdout.contains("model kept:  epoch \(best)'s"), info.stdout)
        // and the report: what was held out, the best epoch, the model shown, the scores per epoch
        // (the page said nothing of early stopping)
        XCTAssertEqual(try CLI.run(["report", run]).status, 0)
        let page = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(page.contains("256 of the 512 training images held out (--validation-fraction 0.5) and scored every epoch; 256 trained on; the best epoch was \(best) (validation −ELBO ")
                      && page.contains("and the model kept — the one below — is that epoch&#39;s (stopped after \(loaded.state.epoch - best) epoch"), page)
        XCTAssertTrue(page.contains("<th>validation loss</th>"), "the metrics table's validation column")
        // the data row counts the training images before the hold-out, read from other data too (it
        // gave the recorded count after the hold-out there)
        let copy = tempRunDir("kept-data")
        try FileManager.default.copyItem(atPath: data, toPath: copy)
        let own = try XCTUnwrap(page.range(of: #": 512 train, \d+ test"#, options: .regularExpression).map { String(page[$0]) })
        XCTAssertEqual(try CLI.run(["report", run, "--data", copy]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: run + "/report.html", encoding: .utf8).contains(own), own)
        XCTAssertEqual(try CLI.run(["report", run]).status, 0)
        // and the loss curves: the validation score, the kept epoch named (they showed train and test only)
        let svg = try String(contentsOfFile: run + "/loss.svg", encoding: .utf8)
        XCTAssertTrue(svg.contains(">validation (kept: epoch \(best))<"), "the loss chart's validation curve")
        // the same run without patience, finished at that last epoch with the best one kept, cannot go
        // on to more epochs: a usage error (exit 2: the --epochs asked for), as other refused resumes
        let fixed = tempRunDir("kept-fixed")
        let f = try CLI.run(["train", "--data", data, "--hidden", "64", "--latent", "2", "--batch", "8", "--lr", "0.03", "--seed", "2",
                             "--validation-fraction", "0.5", "--epochs", String(loaded.state.epoch), "--no-report", "--out", fixed])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertEqual(try Checkpoint.load(fixed).state.bestEpoch, best)
        let more = try CLI.run(["train", "--resume", "--out", fixed, "--epochs", String(loaded.state.epoch + 1), "--no-report"])
        XCTAssertEqual(more.status, 2, more.stderr)
        XCTAssertTrue(more.stderr.contains("finished with the best validation epoch's weights (epoch \(best) of \(loaded.state.epoch))"), more.stderr)
    }

    /// A job killed before its first checkpoint leaves nothing (or an empty folder): `--resume`
    /// starts the run there. A folder that holds something else is still refused.
    func testResumeWithNoCheckpointYetStartsTheRun() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let args = ["train", "--data", data, "--latent", "2", "--hidden", "8", "--no-report", "--resume"]
        let absent = tempRunDir("nothingyet")
        var r = try CLI.run(args + ["--epochs", "1", "--out", absent])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("no checkpoint in \(absent) yet: starting the run there"), r.stderr)
        XCTAssertEqual(try Checkpoint.load(absent).state.epoch, 1)
        r = try CLI.run(args + ["--epochs", "2", "--out", absent])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming \(absent) after epoch 1 of 2"), r.stderr)
        XCTAssertEqual(try Checkpoint.load(absent).state.epoch, 2)

        // an empty folder, and one with what a first save killed between its writes leaves
        let empty = tempRunDir("emptyfolder")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try AtomicFile.write("", to: empty + "/metrics.jsonl")
        r = try CLI.run(args + ["--epochs", "1", "--out", empty])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(empty).state.epoch, 1)

        let foreign = tempRunDir("notarun")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try AtomicFile.write("my notes\n", to: foreign + "/notes.txt")
        r = try CLI.run(args + ["--epochs", "1", "--out", foreign])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: --resume: \(foreign) holds notes.txt but no checkpoint (model.safetensors), so it is not a SwiftVAE run"),
                      r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: foreign), ["notes.txt"])
    }

    /// A table's --label and --ignore are part of the run: given again with its values they are accepted.
    func testTableRunResumesWithItsLabelAndIgnore() throws {
        var lines = ["id,x,y,kind"]
        var rng = RNG(seed: 3)
        for i in 0..<80 { lines.append("r\(i),\(rng.normal()),\(rng.normal()),\(i % 2 == 0 ? "a" : "b")") }
        let csv = tempRunDir("resumetable") + ".csv"
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: csv)
        let run = tempRunDir("resumetablerun")
        let line = ["train", "--data", csv, "--label", "kind", "--ignore", "id", "--no-report", "--out", run]
        var r = try CLI.run(line + ["--epochs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // 64 training rows: the default for so few is one σ per column, and resume knows it
        r = try CLI.run(line + ["--epochs", "2", "--resume", "--likelihood", "gaussian-learned"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).state.epoch, 2)
        r = try CLI.run(["train", "--data", csv, "--label", "x", "--no-report", "--out", run, "--resume", "--epochs", "3"])
        XCTAssertEqual(r.status, 2, r.stderr)   // as every flag a resumed run cannot change
        XCTAssertTrue(r.stderr.contains("--label is fixed by the run's table: it has label kind, this command line gives x"), r.stderr)
        r = try CLI.run(line + ["--epochs", "3", "--resume", "--likelihood", "gaussian"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--likelihood cannot change when resuming: the run in \(run) has gaussian-learned, this command line gives gaussian"), r.stderr)
    }

    /// --checkpoint-minutes: checkpoints within epochs, and the run goes on to the same weights as
    /// a run that saved at epoch ends only.
    func testCheckpointsWithinEpochsChangeNothing() throws {
        let data = try TinyData.make(train: 512, test: 32, side: 8)
        let line = ["train", "--data", data, "--latent", "2", "--hidden", "16", "--batch", "16", "--epochs", "2", "--no-report"]
        let often = tempRunDir("often"), never = tempRunDir("never")
        var r = try CLI.run(line + ["--checkpoint-minutes", "0.00001", "--out", often])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("checkpoint saved in epoch 1 of 2, at batch "), r.stderr)
        r = try CLI.run(line + ["--checkpoint-minutes", "0", "--out", never])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("checkpoint saved"), r.stderr)
        let a = try SafeTensorsFile.read(path: often + "/model.safetensors"), b = try SafeTensorsFile.read(path: never + "/model.safetensors")
        XCTAssertTrue(a.tensors == b.tensors, "checkpoints within epochs changed the run")
        XCTAssertEqual(try TrainingRun.readMetrics(often + "/metrics.jsonl").map(\.test_loss),
                       try TrainingRun.readMetrics(never + "/metrics.jsonl").map(\.test_loss))
    }
}
