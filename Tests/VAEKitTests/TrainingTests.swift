import Foundation
import XCTest
@testable import VAECore
@testable import VAEKit

/// A small synthetic data set: blurry random blobs, 8×8, labelled by brightness.
func tinyDataset(train: Int = 200, test: Int = 50, side: Int = 8, channels: Int = 1, seed: UInt64 = 3) -> Dataset {
    var rng = RNG(seed: seed)
    func make(_ n: Int) -> ImageSet {
        var px = [UInt8](), labels = [UInt8]()
        for _ in 0..<n {
            let cx = rng.uniform(0, Float(side)), cy = rng.uniform(0, Float(side)), r = rng.uniform(1.5, 3)
            for _ in 0..<channels {
                for y in 0..<side {
                    for x in 0..<side {
                        let d = ((Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy)).squareRoot()
                        px.append(UInt8(max(0, min(255, 255 * (1 - d / r)))))
                    }
                }
            }
            labels.append(UInt8(min(9, Int(cx))))
        }
        return ImageSet(images: px, labels: labels, count: n, channels: channels, height: side, width: side)
    }
    return Dataset(name: "tiny", directory: "(generated)", train: make(train), test: make(test),
                   classNames: (0..<10).map(String.init))
}

func tempDir(_ tag: String) -> String {
    let d = NSTemporaryDirectory() + "swiftvae-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

final class TrainingTests: XCTestCase {
    /// The words of "stopped …", "checkpoint saved …" and "resuming …": epochs counted from 1.
    func testPositionCountsTheEpochUnderWay() {
        var s = TrainingState()
        s.epoch = 4
        s.batchInEpoch = 1191
        XCTAssertEqual(s.position(of: 20), "in epoch 5 of 20, at batch 1191")
        s.batchInEpoch = 0
        XCTAssertEqual(s.position(of: 20), "after epoch 4 of 20")
    }

    var options: TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 4
        o.batchSize = 32
        o.seed = 11
        return o
    }
    let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16])

    func testLossDecreases() throws {
        let data = tinyDataset()
        let run = try TrainingRun.start(directory: tempDir("dec"), model: config, options: options, data: data)
        XCTAssertEqual(try run.run(), .finished)
        XCTAssertEqual(run.metrics.count, 4)
        XCTAssertLessThan(run.metrics.last!.train_loss, run.metrics.first!.train_loss)
        for m in run.metrics {
            XCTAssertEqual(m.train_loss, m.train_recon + m.train_kl, accuracy: 1e-6)
            XCTAssertTrue(m.test_loss.isFinite && m.test_loss > 0)
            XCTAssertGreaterThan(m.train_kl, 0)
        }
    }

    /// 2 epochs, stop, resume for 2 more == 4 straight, bit for bit.
    func testResumeIsExact() throws {
        let data = tinyDataset()
        let straight = try TrainingRun.start(directory: tempDir("straight"), model: config, options: options, data: data)
        _ = try straight.run()

        let dir = tempDir("resumed")
        var two = options
        two.epochs = 2
        let first = try TrainingRun.start(directory: dir, model: config, options: two, data: data)
        _ = try first.run()
        let resumed = try TrainingRun.resume(directory: dir, data: data, epochs: 4)
        XCTAssertEqual(resumed.metrics.count, 2)
        _ = try resumed.run()
        XCTAssertEqual(straight.model.store.parameters.map { $0.value.array }, resumed.model.store.parameters.map { $0.value.array })
        XCTAssertEqual(straight.metrics.map { $0.train_loss }, resumed.metrics.map { $0.train_loss })
        XCTAssertEqual(straight.metrics.map { $0.test_loss }, resumed.metrics.map { $0.test_loss })
        // and from disk
        let reloaded = try Checkpoint.load(dir)
        XCTAssertEqual(reloaded.model.store.parameters.map { $0.value.array }, straight.model.store.parameters.map { $0.value.array })
        XCTAssertEqual(try TrainingRun.readMetrics(dir + "/metrics.jsonl").count, 4)
    }

    /// Two TrainingRuns of one process on one folder: the older one, trained after the newer one
    /// started there, overwrote its saves without a word (two `start`s with `replacing: true`, run
    /// in turn, left the first's model). It is refused, the newer run's checkpoint kept; a resume
    /// asking for fewer epochs than are done is refused too (it did nothing and said .finished).
    func testAnOlderRunOfTheSameFolderIsRefused() throws {
        let data = tinyDataset()
        let dir = tempDir("twice")
        var one = options
        one.epochs = 1
        let older = try TrainingRun.start(directory: dir, model: config, options: one, data: data)
        var wider = config
        wider.hidden = [24]
        let newer = try TrainingRun.start(directory: dir, model: wider, options: one, data: data, replacing: true)
        _ = try newer.run()
        XCTAssertThrowsError(try older.run()) { XCTAssertTrue("\($0)".contains("was started or resumed by another TrainingRun of this process after this one"), "\($0)") }
        XCTAssertEqual(try Checkpoint.load(dir).model.config.hidden, [24])
        // a finished run held while the folder is resumed: the resumed run trains and saves
        let resumed = try TrainingRun.resume(directory: dir, data: data, epochs: 2)
        XCTAssertEqual(try resumed.run(), .finished)
        XCTAssertEqual(try Checkpoint.load(dir).state.epoch, 2)
        // a start that fails (its first save: metrics.jsonl is a folder) leaves the claim where it was
        let held = try TrainingRun.resume(directory: dir, data: data, epochs: 3)
        let blocked = tempDir("blocked")
        let first = try TrainingRun.start(directory: blocked, model: config, options: one, data: data)
        try FileManager.default.removeItem(atPath: blocked + "/" + TrainingRun.metricsFile)
        try FileManager.default.createDirectory(atPath: blocked + "/" + TrainingRun.metricsFile, withIntermediateDirectories: false)
        XCTAssertThrowsError(try TrainingRun.start(directory: blocked, model: config, options: one, data: data, replacing: true))
        try FileManager.default.removeItem(atPath: blocked + "/" + TrainingRun.metricsFile)
        XCTAssertEqual(try first.run(), .finished, "the failed start took the folder from the run it did not replace")
        XCTAssertEqual(try held.run(), .finished)
        XCTAssertThrowsError(try resumed.trainer.runEpoch()) { XCTAssertTrue("\($0)".contains("the run has done its 2 epochs"), "\($0)") }
        XCTAssertThrowsError(try TrainingRun.resume(directory: dir, data: data, epochs: 1)) {
            XCTAssertTrue("\($0)".contains("epochs 1 is fewer than the 3 epochs the run in \(dir) has done"), "\($0)")
        }
    }

    /// Stopping in the middle of an epoch (Ctrl-C) and resuming is exact too.
    func testMidEpochInterruptResumesExactly() throws {
        let data = tinyDataset()
        let straight = try TrainingRun.start(directory: tempDir("s2"), model: config, options: options, data: data)
        _ = try straight.run()
        let dir = tempDir("mid")
        let run = try TrainingRun.start(directory: dir, model: config, options: options, data: data)
        var batches = 0
        let outcome = try run.run(shouldStop: { batches >= 10 }, events: { if case .batch = $0 { batches += 1 } })
        XCTAssertEqual(outcome, .interrupted)
        XCTAssertEqual(run.trainer.state.epoch, 1)
        XCTAssertEqual(run.trainer.state.batchInEpoch, 3)   // 7 batches per epoch
        let resumed = try TrainingRun.resume(directory: dir, data: data)
        _ = try resumed.run()
        XCTAssertEqual(straight.model.store.parameters.map { $0.value.array }, resumed.model.store.parameters.map { $0.value.array })
        XCTAssertEqual(straight.metrics.map { $0.train_loss }, resumed.metrics.map { $0.train_loss })
    }

    /// A model big enough that its GEMMs (≥ 5 MFLOP) and element-wise passes (≥ 65536 values:
    /// the loss, ReLU backward, Adam) are split across threads; the pool's counters show that the
    /// 2-thread run really ran jobs on both threads, and the 1-thread run on one.
    func testSameSeedSameNumbersAcrossThreadCounts() throws {
        let data = tinyDataset(train: 128, test: 128, side: 28)
        let model = VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 8, hidden: [512])
        func train(threads: Int) throws -> (parameters: [Float], split: Int, ranOnSeveralThreads: Int) {
            let saved = ThreadPool.threadCount
            defer { ThreadPool.threadCount = saved }
            ThreadPool.threadCount = threads
            XCTAssertEqual(ThreadPool.threadCount, threads)
            var o = options
            o.epochs = 1
            o.batchSize = 128
            let before = ThreadPool.jobCounts
            let run = try TrainingRun.start(directory: tempDir("thr"), model: model, options: o, data: data)
            _ = try run.run()
            let after = ThreadPool.jobCounts
            return (run.model.store.parameters.flatMap { $0.value.array },
                    after.split - before.split, after.ranOnSeveralThreads - before.ranOnSeveralThreads)
        }
        let one = try train(threads: 1), two = try train(threads: 2)
        XCTAssertEqual(one.split, 0, "the 1-thread run handed jobs to workers")
        XCTAssertGreaterThanOrEqual(two.split, 10, "the 2-thread run split too few jobs across threads")
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            XCTAssertGreaterThan(two.ranOnSeveralThreads, 0, "no job of the 2-thread run ran on the worker thread")
        }
        XCTAssertEqual(one.parameters.count, two.parameters.count)
        XCTAssertTrue(one.parameters == two.parameters, "1 and 2 threads give different weights")
    }

    func testDivergenceStopsWithEpochAndBatchAndKeepsCheckpoint() throws {
        let data = tinyDataset()
        var o = options
        o.learningRate = 1e12
        let dir = tempDir("nan")
        let run = try TrainingRun.start(directory: dir, model: config, options: o, data: data)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors"))
        XCTAssertThrowsError(try run.run()) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.contains("epoch 1, batch"), msg)
            XCTAssertTrue(msg.contains("--lr"), msg)
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors"))
        XCTAssertEqual(before, after)
        XCTAssertNoThrow(try Checkpoint.load(dir))
    }

    func testBinarization() throws {
        let data = tinyDataset()
        let b1 = data.test.binarized(seed: 4).asImages, b2 = data.test.binarized(seed: 4).asImages
        XCTAssertEqual(b1.images, b2.images)
        XCTAssertTrue(b1.images.allSatisfy { $0 == 0 || $0 == 255 })
        // about as many ones as the mean intensity says
        let mean = data.testImages.images.reduce(0.0) { $0 + Double($1) / 255 } / Double(data.testImages.images.count)
        let ones = Double(b1.images.filter { $0 == 255 }.count) / Double(b1.images.count)
        XCTAssertEqual(ones, mean, accuracy: 0.02)
        // dynamic binarization draws new pixels at every batch, from the seed
        var o = options
        o.binarize = true
        o.epochs = 1
        let a = try TrainingRun.start(directory: tempDir("bin-a"), model: config, options: o, data: data)
        let b = try TrainingRun.start(directory: tempDir("bin-b"), model: config, options: o, data: data)
        _ = try a.run(); _ = try b.run()
        XCTAssertEqual(a.metrics.map(\.train_loss), b.metrics.map(\.train_loss))
        XCTAssertNotEqual(a.metrics.first!.train_loss, try {
            let c = try TrainingRun.start(directory: tempDir("bin-c"), model: config, options: { var p = o; p.binarize = false; return p }(), data: data)
            _ = try c.run()
            return c.metrics.first!.train_loss
        }())
    }

    func testKLWarmupAndBeta() {
        var c = config
        c.beta = 4
        c.warmupEpochs = 4
        XCTAssertEqual(c.klWeight(epoch: 1), 1)
        XCTAssertEqual(c.klWeight(epoch: 4), 4)
        XCTAssertEqual(c.klWeight(epoch: 9), 4)
        c.warmupEpochs = 0
        XCTAssertEqual(c.klWeight(epoch: 1), 4)
    }

    func testConvModelTrainsOnRGB() throws {
        let data = tinyDataset(train: 64, test: 16, side: 8, channels: 3)
        let cfg = VAEConfig(architecture: .conv, inputShape: [3, 8, 8], latent: 2, hidden: [8], likelihood: .gaussian)
        var o = options
        o.epochs = 2
        let run = try TrainingRun.start(directory: tempDir("conv"), model: cfg, options: o, data: data)
        _ = try run.run()
        XCTAssertTrue(run.metrics.allSatisfy { $0.test_loss.isFinite })
        let names = run.model.store.parameters.map(\.name)
        XCTAssertEqual(names.first, "encoder.1.weight")
        XCTAssertTrue(names.contains("decoder.7.weight"), "\(names)")
    }

    func testWrongImageSizeIsAClearError() throws {
        let data = tinyDataset()
        let cfg = VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 2)
        XCTAssertThrowsError(try TrainingRun.start(directory: tempDir("size"), model: cfg, options: options, data: data)) { e in
            XCTAssertTrue("\(e)".contains("1×8×8"), "\(e)")
        }
        XCTAssertThrowsError(try VAE(config: VAEConfig(architecture: .conv, inputShape: [1, 10, 10], latent: 2))) { e in
            XCTAssertTrue("\(e)".contains("divisible by 4"), "\(e)")
        }
    }

    /// What the command line refuses, the library refuses too, before training: test items of
    /// another shape, an empty test set, classes of unlabelled data, labels past a conditional
    /// model's classes, and a folder that holds a run already (unless replacing it).
    func testLibraryRefusesWhatTheCommandLineRefuses() throws {
        let cfg = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 2, hidden: [8])
        func refused(_ data: Dataset, _ o: TrainingOptions? = nil, _ c: VAEConfig? = nil, _ words: String) {
            XCTAssertThrowsError(try TrainingRun.start(directory: tempDir("lib"), model: c ?? cfg, options: o ?? options, data: data)) { e in
                XCTAssertTrue("\(e)".contains(words), "\(e)")
            }
        }
        var d = tinyDataset()
        d.test = tinyDataset(side: 4).test
        refused(d, nil, nil, "the test items are 1×4×4 but the training items 1×8×8")
        d = tinyDataset()
        d.test = d.test.first(0)
        refused(d, nil, nil, "the test set in (generated) has no items")
        let plain = tinyDataset()
        var bare = plain.train as! ImageSet
        bare.labels = []
        let unlabelled = Dataset(name: "u", directory: "(u)", train: bare, test: plain.test, classNames: [])
        var some = options
        some.classes = [3]
        refused(unlabelled, some, nil, "needs labels")
        var two = cfg
        two.conditionSize = 2
        var d2 = tinyDataset()
        d2.classNames = ["a", "b"]   // the blobs' labels go up to 7
        refused(d2, nil, two, "has label")

        let dir = tempDir("twice")
        _ = try TrainingRun.start(directory: dir, model: cfg, options: options, data: tinyDataset())
        XCTAssertThrowsError(try TrainingRun.start(directory: dir, model: cfg, options: options, data: tinyDataset())) { e in
            XCTAssertTrue("\(e)".contains("already holds a run"), "\(e)")
        }
        XCTAssertNoThrow(try TrainingRun.start(directory: dir, model: cfg, options: options, data: tinyDataset(), replacing: true))
    }

    /// A conditional model's IWAE estimate takes a batch as the data gives it: the condition comes
    /// from the labels, as for the ELBO.
    func testIWAEConditionsOnLabelsItself() throws {
        var cfg = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 2, hidden: [8])
        cfg.conditionSize = 10
        let model = try VAE(config: cfg, seed: 2)
        let batch = tinyDataset().test.batch(0..<4)
        var r1 = RNG(seed: 9), r2 = RNG(seed: 9)
        XCTAssertEqual(try Evaluator.iwae(model, batch, k: 3, rng: &r1), try Evaluator.iwae(model, model.conditioned(batch), k: 3, rng: &r2))
    }
}

final class CheckpointTests: XCTestCase {
    let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16])

    func saved() throws -> (String, VAE) {
        let dir = tempDir("ckpt")
        let model = try VAE(config: config, seed: 5)
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: TrainingState(), data: nil, to: dir)
        return (dir, model)
    }

    func testRoundTrip() throws {
        let (dir, model) = try saved()
        let l = try Checkpoint.load(dir)
        XCTAssertEqual(l.model.config, config)
        XCTAssertEqual(l.model.store.parameters.map { $0.value.array }, model.store.parameters.map { $0.value.array })
        XCTAssertNil(l.adamM)
        let names = try SafeTensorsFile.read(path: dir + "/model.safetensors").names
        XCTAssertEqual(names, ["encoder.1.weight", "encoder.1.bias", "encoder.3.weight", "encoder.3.bias",
                               "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"])
    }

    /// Adam's moments are checked as the weights are: a NaN in the first or a negative value in
    /// the second is a damaged checkpoint (it was a divergence, blamed on the learning rate) — a
    /// resume refuses it; the weights load for every other use (one bad moment made the run
    /// unusable, its export too).
    func testDamagedOptimizerStateIsRefused() throws {
        let dir = tempDir("adam")
        var o = TrainingOptions()
        o.epochs = 1
        o.batchSize = 50
        _ = try TrainingRun.start(directory: dir, model: config, options: o, data: tinyDataset()).run()
        let path = dir + "/model.safetensors"
        let good = try SafeTensorsFile.read(path: path)
        for (name, value, words) in [("optimizer.exp_avg.decoder.2.bias", Float.nan, "NaN or infinite"),
                                     ("optimizer.exp_avg_sq.encoder.1.weight", -1, "negative")] {
            var f = good
            f.tensors[name]!.data[0] = value
            try f.write(to: path)
            let loaded = try Checkpoint.load(dir)
            XCTAssertNil(loaded.adamM)
            XCTAssertTrue(loaded.optimizerDamage.map { $0.contains("optimizer state \"\(name)\" holds") && $0.contains(words) } ?? false, "\(loaded.optimizerDamage ?? "nil")")
            XCTAssertEqual(loaded.model.store.parameters.map(\.value.array), try Checkpoint.load(dir).model.store.parameters.map(\.value.array))
            var more = TrainingRun.ResumeChanges()
            more.epochs = 2
            XCTAssertThrowsError(try TrainingRun.resume(directory: dir, loaded: loaded, data: tinyDataset(), changes: more)) { e in
                XCTAssertTrue("\(e)".contains("optimizer state \"\(name)\" holds") && "\(e)".contains("training cannot resume exactly — the model's weights are sound"), "\(e)")
            }
        }
        try good.write(to: path)
        let sound = try Checkpoint.load(dir)
        XCTAssertNil(sound.optimizerDamage)
        XCTAssertNotNil(sound.adamM)
    }

    /// A run that another process started (and finished) in the folder while this one prepared is
    /// found under the folder's lock and kept: two `vae train --out SAME` both said "done", the
    /// second's run replacing the first's.
    func testARunStartedMeanwhileIsNotReplaced() throws {
        let dir = tempDir("race")
        var o = TrainingOptions()
        o.epochs = 1
        o.batchSize = 50
        let data = tinyDataset(), config = self.config, first = o
        final class Once: @unchecked Sendable { var done = false }
        let once = Once()
        // the other run, started and finished while this one's trainer reads its data
        var hooked = data
        hooked.train = HookedSource(base: data.train) {
            guard !once.done else { return }
            once.done = true
            _ = try! TrainingRun.start(directory: dir, model: config, options: first, data: data).run()
        }
        var p = o
        p.seed = 2
        XCTAssertThrowsError(try TrainingRun.start(directory: dir, model: config, options: p, data: hooked)) { e in
            XCTAssertTrue("\(e)".contains("already holds a run, started there by another process while this one prepared"), "\(e)")
        }
        XCTAssertTrue(once.done)
        XCTAssertEqual(try Checkpoint.load(dir).options.seed, 1)   // the first run's, kept
    }

    /// A conditional run's config.json naming more classes than its model reads (an edited file):
    /// refused — `vae info` said 10 classes while evaluate counted the file's 20.
    func testConfigNamingMoreClassesThanTheConditionalModelIsRejected() throws {
        let dir = tempDir("condnames")
        var c = config
        c.conditionSize = 10
        var o = TrainingOptions()
        o.epochs = 1
        o.batchSize = 50
        _ = try TrainingRun.start(directory: dir, model: c, options: o, data: tinyDataset()).run()
        XCTAssertNoThrow(try Checkpoint.load(dir))
        var rc = try RunConfig.parse(try AtomicFile.readAll(path: dir + "/config.json", maxBytes: 1 << 20), source: "c")
        rc.data!.classNames += (10..<20).map(String.init)
        try AtomicFile.write(rc.json(), to: dir + "/config.json")
        XCTAssertThrowsError(try Checkpoint.load(dir)) { e in
            XCTAssertTrue("\(e)".contains("config.json names 20 classes, and the conditional model in model.safetensors reads 10"), "\(e)")
        }
    }

    func testConfigThatDoesNotMatchWeightsIsRejected() throws {
        let (dir, _) = try saved()
        // A config.json naming another architecture
        var rc = try RunConfig.parse(try AtomicFile.readAll(path: dir + "/config.json", maxBytes: 1 << 20), source: "c")
        rc.model.latent = 7
        try AtomicFile.write(rc.json(), to: dir + "/config.json")
        XCTAssertThrowsError(try Checkpoint.load(dir)) { XCTAssertTrue("\($0)".contains("different model"), "\($0)") }
        // the field that differs is named (two configs that print alike differed in β, activation, …)
        rc.model.latent = config.latent
        rc.model.beta = 0.5
        try AtomicFile.write(rc.json(), to: dir + "/config.json")
        XCTAssertThrowsError(try Checkpoint.load(dir)) { XCTAssertTrue("\($0)".contains("(beta: 0.5 in config.json, 1 in the weights' file)"), "\($0)") }
        // valid JSON with a value of no known kind names the field, not "not valid JSON"
        let text = try String(contentsOfFile: dir + "/config.json", encoding: .utf8).replacingOccurrences(of: "\"mlp\"", with: "\"transformer\"")
        try AtomicFile.write(text, to: dir + "/config.json")
        XCTAssertThrowsError(try Checkpoint.load(dir)) { e in
            XCTAssertTrue("\(e)".contains("field \"model.architecture\" has a value \"transformer\" SwiftVAE does not read: it takes mlp, conv, gru"), "\(e)")
        }
        // valid JSON with a fraction where a whole number goes (the decoder names no field): not
        // "not valid JSON" either
        for (bad, words) in [("2.5", "config.json: a field holds a number SwiftVAE does not read — a whole number written with a fraction, or one too large?"),
                             ("1e400", "config.json: not valid JSON (or a number too large for a double, such as 1e400)")] {
            let latent = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
                .replacingOccurrences(of: "\"transformer\"", with: "\"mlp\"")
                .replacingOccurrences(of: #""latent" : \d+"#, with: "\"latent\" : \(bad)", options: .regularExpression)
            XCTAssertTrue(latent.contains("\"latent\" : \(bad)"))
            try AtomicFile.write(latent, to: dir + "/config.json")
            XCTAssertThrowsError(try Checkpoint.load(dir)) { e in
                XCTAssertTrue("\(e)".contains(words), "\(e)")
            }
        }

        // Weights whose shapes differ from the metadata config
        let (dir2, _) = try saved()
        var f = try SafeTensorsFile.read(path: dir2 + "/model.safetensors")
        var c = config
        c.hidden = [17]
        f.metadata["config"] = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        try f.write(to: dir2 + "/model.safetensors")
        try FileManager.default.removeItem(atPath: dir2 + "/config.json")
        XCTAssertThrowsError(try Checkpoint.load(dir2)) { XCTAssertTrue("\($0)".contains("has shape"), "\($0)") }
    }

    func testNotARunFolder() {
        XCTAssertThrowsError(try Checkpoint.load("/nonexistent/run")) { XCTAssertTrue("\($0)".contains("not a run folder"), "\($0)") }
        let d = tempDir("empty")
        XCTAssertThrowsError(try Checkpoint.load(d)) { XCTAssertTrue("\($0)".contains("no model.safetensors"), "\($0)") }
        // a run's folder without its weights (a model still in training, a folder copied without them)
        XCTAssertTrue(FileManager.default.createFile(atPath: d + "/config.json", contents: Data("{}".utf8)))
        XCTAssertThrowsError(try Checkpoint.load(d)) {
            XCTAssertTrue("\($0)".contains("has a config.json but no model.safetensors"), "\($0)")
            XCTAssertFalse("\($0)".contains("not a SwiftVAE run folder"), "\($0)")
        }
    }

    func testTruncatedCheckpointIsAClearError() throws {
        let (dir, _) = try saved()
        let path = dir + "/model.safetensors"
        let bytes = try AtomicFile.readAll(path: path, maxBytes: 1 << 24)
        try AtomicFile.write(Array(bytes.prefix(bytes.count / 2)), to: path)
        XCTAssertThrowsError(try Checkpoint.load(dir))
        // a file far longer than its header declares is refused from the header, before its data
        // is read (a 4 GB file took 4 GB of memory to be refused)
        try AtomicFile.write(bytes, to: path)
        XCTAssertEqual(truncate(path, 1 << 30), 0)
        XCTAssertThrowsError(try SafeTensorsFile.read(path: path)) { e in
            XCTAssertTrue("\(e)".contains("of the data buffer belong to no tensor"), "\(e)")
        }
        // a length no safetensors file has, on a large file: refused from its first 8 bytes
        try AtomicFile.write([0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88] + bytes.dropFirst(8), to: path)
        XCTAssertEqual(truncate(path, 1 << 30), 0)
        XCTAssertThrowsError(try SafeTensorsFile.read(path: path)) { e in XCTAssertTrue("\(e)".contains("over the 100 MB limit"), "\(e)") }
        // a device that never ends: the header says how much to read, and no more is
        unlink(path)
        XCTAssertEqual(symlink("/dev/zero", path), 0)
        XCTAssertThrowsError(try SafeTensorsFile.read(path: path)) { e in XCTAssertTrue("\(e)".contains("header does not start with"), "\(e)") }
        // a pipe holding a whole file (its size unknown ahead) reads as the file
        unlink(path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let writer = Thread { if let h = FileHandle(forWritingAtPath: path) { h.write(Data(bytes)); h.closeFile() } }
        writer.start()
        XCTAssertEqual(try SafeTensorsFile.read(path: path).names.count, 8)
    }

    func testDamagedMetricsLine() {
        XCTAssertThrowsError(try TrainingRun.parseMetrics(Array("{\"epoch\":1}\n".utf8), source: "m")) {
            XCTAssertTrue("\($0)".contains("line 1"), "\($0)")
        }
        // lines repeated (a file put together from two) were accepted and appended to
        let line = { (e: Int) in String(decoding: try! JSONEncoder().encode(EpochMetrics(epoch: e, train_loss: 1, train_recon: 1, train_kl: 0, test_loss: 1, test_recon: 1, test_kl: 0, test_loss_mu: 1, kl_weight: 1, seconds: 1, images_per_second: 1)), as: UTF8.self) }
        XCTAssertEqual(try TrainingRun.parseMetrics(Array([1, 2, 4].map(line).joined(separator: "\n").utf8), source: "m").map(\.epoch), [1, 2, 4])
        XCTAssertThrowsError(try TrainingRun.parseMetrics(Array([1, 2, 1, 2].map(line).joined(separator: "\n").utf8), source: "m")) {
            XCTAssertTrue("\($0)".contains("m: line 3 holds epoch 1 after epoch 2; the file is damaged"), "\($0)")
        }
        XCTAssertEqual(try TrainingRun.parseMetrics([], source: "m").count, 0)
    }
}

/// A data source that calls `hook` before each fill (a test's way to act while a trainer reads).
struct HookedSource: DataSource {
    let base: any DataSource
    let hook: @Sendable () -> Void
    var count: Int { base.count }
    var itemShape: [Int] { base.itemShape }
    var hasLabels: Bool { base.hasLabels }
    func label(_ i: Int) -> Int { base.label(i) }
    func itemID(_ i: Int) -> String { base.itemID(i) }
    var hasMissing: Bool { base.hasMissing }
    func fill(_ indices: UnsafeBufferPointer<Int32>, x: Tensor, mask: Tensor?, binarize: Bool, rng: inout RNG) {
        hook()
        base.fill(indices, x: x, mask: mask, binarize: binarize, rng: &rng)
    }
    func subset(_ indices: [Int]) -> any DataSource { base.subset(indices) }
    func binarized(seed: UInt64) -> any DataSource { base.binarized(seed: seed) }
}
