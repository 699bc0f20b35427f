import Foundation
import XCTest
import VAEKit

/// `vae train --objective iwae --k K`, the learning-rate schedule, Adam ε, the Burda et al. presets
/// (defaults that flags override, fixed on resume) and `vae evaluate`'s standard error.
final class IWAECLITests: XCTestCase {
    func metrics(_ dir: String) throws -> [[String: Any]] {
        try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    func training(_ dir: String) throws -> [String: Any] {
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        return cfg["training"] as! [String: Any]
    }

    func testIWAETrainingScheduleAndResume() throws {
        let data = try TinyData.make(train: 128, test: 32)
        let dir = tempRunDir("iwae")
        var r = try CLI.run(["train", "--data", data, "--objective", "iwae", "--k", "3", "--lr-schedule", "burda2015", "--adam-eps", "1e-4",
                             "--epochs", "2", "--hidden", "8", "--latent", "2", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("train −L_3"), r.stdout)
        let report = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertTrue(report.contains("Adam, lr 0.001·10^(−i/7) for 3^i epochs, batch 128"), "the report's summary lacks the schedule")
        var t = try training(dir)
        XCTAssertEqual(t["objective"] as? String, "iwae")
        XCTAssertEqual(t["samples"] as? Int, 3)
        XCTAssertEqual(t["adamEpsilon"] as? Double, 1e-4)
        XCTAssertEqual((t["learningRateSchedule"] as? [String: Any])?["epochs"] as? [Int], [1, 3, 9, 27, 81, 243, 729, 2187])
        r = try CLI.run(["train", "--resume", "--k", "5", "--out", dir])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--k cannot change"), r.stderr)
        r = try CLI.run(["train", "--resume", "--epochs", "5", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let m = try metrics(dir)
        XCTAssertEqual(m.map { $0["train_iwae_k"] as? Int }, [3, 3, 3, 3, 3])
        let lr = m.map { $0["learning_rate"] as! Double }
        let expected = [1e-3, 1e-3 * pow(10, -1.0 / 7), 1e-3 * pow(10, -1.0 / 7), 1e-3 * pow(10, -1.0 / 7), 1e-3 * pow(10, -2.0 / 7)]
        for (a, b) in zip(lr, expected) { XCTAssertEqual(a, b, accuracy: 1e-15) }
        t = try training(dir)
        XCTAssertEqual(t["samples"] as? Int, 3)
    }

    func testPresetSetsTheRecipeAndFlagsOverrideIt() throws {
        let data = try TinyData.make(train: 64, test: 16)
        let dir = tempRunDir("preset")
        var r = try CLI.run(["train", "--data", data, "--preset", "burda2015-iwae5", "--epochs", "1", "--hidden", "8", "--latent", "3",
                             "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("preset burda2015-iwae5: IWAE k = 5"), r.stderr)
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        let model = cfg["model"] as! [String: Any]
        XCTAssertEqual(model["hidden"] as? [Int], [8])        // the flag
        XCTAssertEqual(model["latent"] as? Int, 3)           // the flag
        XCTAssertEqual(model["activation"] as? String, "tanh")
        XCTAssertEqual(model["likelihood"] as? String, "bernoulli")
        let t = try training(dir)
        XCTAssertEqual(t["objective"] as? String, "iwae")
        XCTAssertEqual(t["samples"] as? Int, 5)
        XCTAssertEqual(t["batchSize"] as? Int, 20)
        XCTAssertEqual(t["binarize"] as? Bool, true)
        XCTAssertEqual(t["adamEpsilon"] as? Double, 1e-4)
        XCTAssertEqual(t["epochs"] as? Int, 1)
        XCTAssertNotNil(t["learningRateSchedule"])
        XCTAssertEqual(t["weightInit"] as? String, "glorot")         // Burda et al.'s code
        XCTAssertEqual(t["outputBiasFromData"] as? Bool, true)
        XCTAssertTrue(r.stderr.contains("Glorot-uniform init, output bias at the data mean's logit"), r.stderr)
        let own = tempRunDir("presetinit")
        r = try CLI.run(["train", "--data", data, "--preset", "burda2015-vae", "--init", "pytorch", "--no-output-bias-from-data",
                         "--epochs", "0", "--hidden", "8", "--latent", "3", "--no-report", "--out", own])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ownT = try training(own)
        XCTAssertEqual(ownT["weightInit"] as? String, "pytorch")
        XCTAssertNil(ownT["outputBiasFromData"])
        r = try CLI.run(["train", "--resume", "--output-bias-from-data", "--out", own])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--output-bias-from-data cannot change when resuming: the run in \(own) has off, this command line gives on"), r.stderr)
        // another preset changes the objective: refused, naming where the value came from
        r = try CLI.run(["train", "--resume", "--preset", "burda2015-vae", "--hidden", "8", "--latent", "3", "--out", dir])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--objective cannot change when resuming: the run in \(dir) has iwae, --preset burda2015-vae gives elbo"), r.stderr)
        // the line the run was started with is accepted (epoch 1 of 1 is done: nothing to train)
        r = try CLI.run(["train", "--data", data, "--preset", "burda2015-iwae5", "--epochs", "1", "--hidden", "8", "--latent", "3",
                         "--no-report", "--out", dir, "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming \(dir) after epoch 1 of 1"), r.stderr)
        r = try CLI.run(["evaluate", dir, "--iwae", "10", "--limit", "16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
        let sem = o["iwae_sem"] as! Double
        XCTAssertTrue(sem > 0 && sem < 100, "standard error \(sem)")
        XCTAssertTrue(r.stderr.contains("IWAE k = 10 on 16 test images"), r.stderr)
        XCTAssertEqual(o["binarized"] as? Bool, true)
        let active = try XCTUnwrap(o["active_units"] as? Int)
        XCTAssertTrue((0...3).contains(active), "\(active) active units of 3")
        XCTAssertTrue(r.stderr.contains("active units (variance of μ over the 16 test items > 0.01"), r.stderr)
    }

    /// `--init glorot --output-bias-from-data`: in config.json, in the checkpoint's weights, fixed on
    /// resume; a table or the conv model is an error before anything is written.
    func testInitFlags() throws {
        let data = try TinyData.make(train: 64, test: 16)
        let dir = tempRunDir("init")
        var r = try CLI.run(["train", "--data", data, "--init", "glorot", "--output-bias-from-data", "--epochs", "0",
                             "--hidden", "8", "--latent", "3", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("done: no epoch trained (--epochs 0): \(dir) holds the initialised model; train it with vae train --resume --epochs N --out \(dir) --no-report"), r.stdout)
        let t = try training(dir)
        XCTAssertEqual(t["weightInit"] as? String, "glorot")
        XCTAssertEqual(t["outputBiasFromData"] as? Bool, true)
        let model = try Checkpoint.load(dir).model
        let w = try XCTUnwrap(model.store.parameter(named: "encoder.1.weight"))  // 784 → 8
        let bound = Float((6.0 / 792).squareRoot())
        XCTAssertTrue((0..<w.count).allSatisfy { abs(w.value.pointer[$0]) <= bound })
        XCTAssertGreaterThan((0..<w.count).map { abs(w.value.pointer[$0]) }.max()!, 0.95 * bound)
        let b = try XCTUnwrap(model.store.parameter(named: "decoder.2.bias"))  // one per pixel
        XCTAssertEqual(b.count, 784)
        XCTAssertEqual(b.value.pointer[0], Float(log(0.001 / 0.999)), accuracy: 1e-5)  // a corner: always 0
        r = try CLI.run(["train", "--resume", "--init", "pytorch", "--out", dir])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--init cannot change"), r.stderr)
        let conv = tempRunDir("initconv")
        r = try CLI.run(["train", "--data", data, "--model", "conv", "--output-bias-from-data", "--epochs", "1", "--out", conv])
        XCTAssertEqual(r.status, 2)   // a usage error: options that do not go together
        XCTAssertTrue(r.stderr.contains("--output-bias-from-data needs --model mlp"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: conv + "/model.safetensors"))
        // a likelihood with two outputs per pixel has no mean logit to start at: a usage error (it
        // was a precondition failure, SIGILL and a backtrace), and under the Burda preset, which
        // turns the flag on, the preset leaves it off
        let two = tempRunDir("initbb")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: two) }
        for likelihood in ["beta-binomial", "discretized-logistic", "gaussian-heteroscedastic"] {
            r = try CLI.run(["train", "--data", data, "--output-bias-from-data", "--likelihood", likelihood, "--epochs", "0", "--out", two])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("--output-bias-from-data sets one output per pixel to the logit of its mean; --likelihood \(likelihood) reads two per pixel"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: two + "/model.safetensors"))
        }
        r = try CLI.run(["train", "--data", data, "--preset", "burda2015-vae", "--likelihood", "beta-binomial", "--epochs", "0", "--no-report", "--out", two])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try training(two)["outputBiasFromData"] as? Bool, nil)
        // --warmup 1 is β from the first batch, as none: refused, saying what E means
        r = try CLI.run(["train", "--data", data, "--warmup", "1", "--epochs", "1", "--out", two + "-w"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--warmup 1 is no warm-up: the KL weight is β·e/E in epoch e = 1…E"), r.stderr)
        // a warm-up longer than the run: said (the KL weight never reached β, without a word)
        r = try CLI.run(["train", "--data", data, "--warmup", "5", "--epochs", "2", "--hidden", "8", "--latent", "2", "--no-report", "--out", two + "-w5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: the KL warm-up (--warmup 5) is longer than the run (--epochs 2): the KL weight ends at 0.4, not β = 1.0"), r.stderr)
    }

    /// An IWAE run's report names its training curve the IWAE bound, not the ELBO.
    func testIWAEReportNamesTheBound() throws {
        let data = try TinyData.make(train: 64, test: 16)
        let dir = tempRunDir("iwaereport")
        let r = try CLI.run(["train", "--data", data, "--objective", "iwae", "--k", "4", "--epochs", "1", "--hidden", "8", "--latent", "2", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("the negative importance-weighted bound −L_4 (IWAE, k = 4 samples per image)"))
        // its metrics table does not call −L_K − recon a KL (it can be negative)
        XCTAssertTrue(html.contains("<th>train −L_4</th>") && html.contains("train −L_4 − recon") && !html.contains("train KL"), "the metrics table's columns")
        // and its Run table names the objective and K (it named neither)
        XCTAssertTrue(html.contains("IWAE, k = 4 importance samples per item (the bound −L_k trained; test losses are the ELBO"), "the objective row")
        let svg = try String(contentsOfFile: dir + "/loss.svg", encoding: .utf8)
        XCTAssertTrue(svg.contains("train (IWAE bound, k = 4)"), "legend")
        // with early stopping, the epoch line ends with its validation score, as an ELBO run's does
        let v = try CLI.run(["train", "--data", data, "--objective", "iwae", "--k", "2", "--validation-fraction", "0.25", "--epochs", "1",
                             "--hidden", "8", "--latent", "2", "--no-report", "--out", tempRunDir("iwaevalidation")])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertTrue(v.stdout.range(of: #"epoch 1/1  train −L_2 .*  validation \d+\.\d\d"#, options: .regularExpression) != nil, v.stdout)
    }

    func testBadObjectiveFlags() throws {
        let data = try TinyData.make(train: 32, test: 8)
        var r = try CLI.run(["train", "--data", data, "--k", "3", "--epochs", "1", "--out", tempRunDir("k")])
        XCTAssertEqual(r.status, 2)   // usage errors, before anything is built
        XCTAssertTrue(r.stderr.contains("--k is the number of importance samples of --objective iwae"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }.count, 1)
        r = try CLI.run(["train", "--data", data, "--objective", "iwae", "--beta", "0.5", "--epochs", "1", "--out", tempRunDir("b")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("no --beta or --warmup"), r.stderr)
        // said before the data is read (they came after it, under the data's line): a missing file is not reached
        for (flags, said) in [(["--objective", "iwae", "--warmup", "3"], "no --beta or --warmup"),
                              (["--objective", "iwae", "--free-bits", "0.5"], "--free-bits changes the ELBO's KL term"),
                              (["--k", "5"], "--k is the number of importance samples"),
                              (["--patience", "3"], "--patience needs a validation share"),
                              (["--preset", "burda2015-iwae5", "--beta", "2"], "no --beta or --warmup"),
                              // the model's own conflict first (a sequence preset's β and warm-up are not the user's)
                              (["--model", "gru", "--objective", "iwae", "--beta", "0.5"], "--objective iwae trains the mlp and conv models"),
                              (["--preset", "moses-vae", "--objective", "iwae"], "--objective iwae trains the mlp and conv models")] {
            r = try CLI.run(["train", "--data", "/nonexistent/items.csv"] + flags + ["--out", tempRunDir("early")])
            XCTAssertEqual(r.status, 2, "\(flags): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(said) && !r.stderr.contains("nonexistent"), "\(flags): \(r.stderr)")
        }
        // an IWAE preset told to train the ELBO takes no K of its own (it was refused for a --k never given)
        r = try CLI.run(["train", "--data", "/nonexistent/items.csv", "--preset", "burda2015-iwae5", "--objective", "elbo", "--out", tempRunDir("pe")])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("/nonexistent/items.csv") && !r.stderr.contains("--k"), r.stderr)
        r = try CLI.run(["train", "--data", data, "--objective", "bogus", "--out", tempRunDir("o")])
        XCTAssertEqual(r.status, 2)
        r = try CLI.run(["train", "--data", data, "--adam-eps", "0", "--out", tempRunDir("e")])
        XCTAssertEqual(r.status, 2)
    }
}
