import Foundation
import VAECore

/// How to train (everything that is not the model's shape).
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs: Int = 10
    public var batchSize: Int = 128
    public var learningRate: Double = 1e-3
    public var seed: UInt64 = 1
    /// Dynamic binarization: pixels re-drawn as Bernoulli(intensity) at every batch.
    public var binarize: Bool = false
    /// Adam's L2 weight decay (PyTorch `weight_decay`).
    public var weightDecay: Double = 0
    /// Clip the global gradient norm to this value (nil = no clipping).
    public var clipNorm: Double? = nil
    /// Evaluate on at most this many test images after each epoch (nil = all).
    public var testLimit: Int? = nil
    /// Train only on images with these labels (nil = all); a conditional model is also tested on
    /// these classes only (it cannot read the others).
    public var classes: [Int]? = nil
    /// Denoising VAE: the encoder sees a corrupted copy of each batch (nil = the clean batch).
    public var corrupt: Corruption? = nil
    // Added for issue 15 (optional so that older runs load): see Objective.swift.
    /// What training maximises (nil = the ELBO).
    public var objective: TrainingObjective? = nil
    /// Importance samples K of the IWAE objective (nil = 1).
    public var samples: Int? = nil
    /// Adam's ε (nil = 1e-8).
    public var adamEpsilon: Double? = nil
    /// Learning rate per epoch as factors of `learningRate` (nil = constant).
    public var learningRateSchedule: LearningRateSchedule? = nil
    /// How a new run's weights start (nil = PyTorch's defaults); applied by `TrainingRun.start`
    /// (see Initialization.swift), which is how every new run begins.
    public var weightInit: WeightInit? = nil
    /// Start the decoder's output bias at the logit of the training images' mean (nil = no); also
    /// applied by `TrainingRun.start`.
    public var outputBiasFromData: Bool? = nil
    /// Early stopping: this share of the training items is held out (seeded) and scored after
    /// every epoch; training stops once `patience` epochs pass without a better score, and the
    /// model of the best epoch is the one kept (nil = no hold-out; the default for tables).
    public var validationFraction: Double? = nil
    /// Epochs without a better validation score before training stops (nil: never stops early).
    public var patience: Int? = nil

    public init() {}

    public func validate() throws {
        guard epochs >= 0 && epochs <= 100_000 else { throw VAEError("epochs \(epochs) must be between 0 and 100000") }
        guard batchSize >= 1 && batchSize <= 65536 else { throw VAEError("batch size \(batchSize) must be between 1 and 65536") }
        guard learningRate > 0 && learningRate.isFinite else { throw VAEError("learning rate \(learningRate) must be a positive number") }
        // finite too: an infinite value cannot be written to the checkpoint's JSON
        guard weightDecay >= 0 && weightDecay.isFinite else { throw VAEError("weight decay must be ≥ 0 (and finite)") }
        if let c = clipNorm, !(c > 0 && c.isFinite) { throw VAEError("clip norm \(c) must be > 0 (and finite)") }
        if let f = validationFraction, !(f > 0 && f <= 0.5) { throw VAEError("the validation share \(f) must be above 0 and at most 0.5") }
        if let p = patience, !(1...1_000_000).contains(p) { throw VAEError("patience \(p) must be between 1 and 1000000 epochs") }
        if let t = testLimit, t < 1 { throw VAEError("the test limit \(t) must be at least 1 (a test loss of no items would read 0)") }
        try corrupt?.validate()
        if patience != nil && validationFraction == nil { throw VAEError("patience needs a validation share to score (--validation-fraction)") }
        try validateObjective()
    }
}

extension Trainer {
    /// Items per pass of a scan over a set before training (its values' range, its description):
    /// under 96 KB of values, so that the scan's buffers stay below malloc's mmap threshold — a
    /// larger one freed raises that threshold, and training's own buffers then came from the heap
    /// (peak RSS +9 MiB at h1024 batch 32).
    static func scanChunk(_ featureCount: Int) -> Int { max(1, (96 << 10) / (4 * max(featureCount, 1))) }

    /// The image likelihoods (every `likelihood` without a table's `groups`) model values in
    /// [0, 1]: other values (standardised table columns, 0…255 pixels, NaN) would train to a loss
    /// without meaning — or below zero — without a word. One pass over the items of a split (the
    /// test split too: a NaN there made every epoch's test loss inf, and training "finished").
    static func checkValueRange(_ config: VAEConfig, _ set: any DataSource, _ directory: String?, split: String = "training") throws {
        guard config.architecture != .gru else { return }   // (token ids, checked against the vocabulary)
        let d = set.featureCount
        let chunk = Trainer.scanChunk(d)
        for start in stride(from: 0, to: set.count, by: chunk) {
            let b = set.batch(start..<min(set.count, start + chunk))
            guard let j = firstUnmodelled(config, b.x, mask: b.mask) else { continue }
            let what = "\(split) item \(set.itemID(start + j / d))\(directory.map { " of \($0)" } ?? "") has \(b.x.pointer[j]) at value \(j % d + 1) of \(d)"
            throw VAEError(unmodelled(config, what, training: directory != nil))
        }
    }

    /// The first value of `x` (where `mask` shows it) the likelihood cannot model: outside [0, 1]
    /// for an image likelihood, not finite for a table's groups; nil when there is none.
    static func firstUnmodelled(_ config: VAEConfig, _ x: Tensor, mask: Tensor?) -> Int? {
        let unit = config.groups == nil, p = x.pointer, m = mask?.pointer
        return (0..<x.count).first { (m == nil || m![$0] != 0) && (unit ? !(p[$0] >= 0 && p[$0] <= 1) : !p[$0].isFinite) }
    }

    /// The message for such a value (`what`: where it is); `training` adds the advice for a table
    /// that a model still to be built can take.
    static func unmodelled(_ config: VAEConfig, _ what: String, training: Bool) -> String {
        if config.groups != nil { return "\(what): give finite numbers (a missing entry is one whose mask is 0)" }
        return "\(what): the \(config.likelihood.rawValue) likelihood models values in [0, 1]; scale the data to [0, 1]"
            + (training ? " (a table: give the model the table's column groups, VAEConfig.groups)" : "")
    }

    /// The IWAE objective trains its bound as it is: no free bits, β or warm-up in its KL term.
    public static func checkObjective(_ options: TrainingOptions, _ config: VAEConfig) throws {
        if options.trainingObjective == .iwae && config.freeBitsValue > 0 {
            throw VAEError("--free-bits changes the ELBO's KL term; --objective iwae trains the bound itself")
        }
        if options.trainingObjective == .iwae && (config.beta != 1 || config.warmupEpochs != 0) {
            throw VAEError("--objective iwae trains the bound itself: it takes no --beta or --warmup (β = 1, no warm-up)")
        }
    }
}

/// One epoch's numbers, one line of `metrics.jsonl`. Losses are in nats per image;
/// `*_loss` is the negative ELBO (reconstruction + KL, β not applied) with one z sample,
/// `test_loss_mu` the same with z = μ.
public struct EpochMetrics: Codable, Equatable, Sendable {
    public var epoch: Int
    public var train_loss: Double
    public var train_recon: Double
    public var train_kl: Double
    public var test_loss: Double
    public var test_recon: Double
    public var test_kl: Double
    public var test_loss_mu: Double
    public var kl_weight: Double
    public var seconds: Double
    public var images_per_second: Double
    /// The learning rate of the epoch (absent in older runs).
    public var learning_rate: Double? = nil
    /// With `--objective iwae`: K, and `train_loss` is −L_K (train_recon the mean −log p(x|zⱼ),
    /// train_kl the rest).
    public var train_iwae_k: Int? = nil
    /// The share of samples from the prior that are valid items (a SMILES run: valid molecules),
    /// when the run measures it (`Trainer.sampleCheck`).
    public var sample_valid: Double? = nil
    /// With early stopping: the held-out training items' negative ELBO (mean over 10 fixed draws).
    public var validation_loss: Double? = nil
}

/// Where training stands; saved in every checkpoint so that a run resumes exactly.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Epochs fully done.
    public var epoch: Int = 0
    /// Batches done in the epoch that is under way (0 at an epoch boundary).
    public var batchInEpoch: Int = 0
    public var adamStep: Int = 0
    /// The noise generator (ε and binarization) as saved words.
    public var rng: [UInt64] = []
    /// Sums of the epoch under way (for its metrics line when it ends).
    public var partialRecon: Double = 0
    public var partialKL: Double = 0
    public var partialCount: Int = 0
    public var partialSeconds: Double = 0
    /// Early stopping: the best validation score so far and its epoch (the checkpoint keeps that
    /// epoch's weights as `best.<name>`), and whether training stopped for want of improvement.
    public var bestEpoch: Int? = nil
    public var bestValidation: Double? = nil
    public var stoppedEarly: Bool? = nil
    /// What the run trains on (`Trainer.dataDescription`): a resume with other data is refused
    /// (nil in checkpoints written before it was recorded).
    public var data: String? = nil
    /// The matrix kernels that computed the last steps (`Trainer.kernels`): another level (another
    /// CPU, `VAE_CPU`, OpenBLAS) continues to rounding, not bit for bit, and a resume says so.
    public var kernels: String? = nil

    /// Before the first step: what `Checkpoint.save` records for a model saved outside a trainer.
    /// `Checkpoint.load` reads such a folder's model; it holds no random stream, so it is not a run
    /// to resume.
    public init() {}
}

extension TrainingState {
    /// Whether a run of `epochs` epochs standing here has ended: every epoch done, or stopped early.
    public func hasEnded(epochs: Int) -> Bool { epoch >= epochs || stoppedEarly == true }

    /// Where a run stands, in words that count epochs from 1 as the progress display does:
    /// "in epoch 5 of 20, at batch 1191" (4 epochs done), or at an epoch's end "after epoch 4 of 20".
    public func position(of totalEpochs: Int) -> String {
        batchInEpoch > 0 ? "in epoch \(epoch + 1) of \(totalEpochs), at batch \(batchInEpoch)"
                         : "after epoch \(epoch) of \(totalEpochs)"
    }
}

/// What training reports while it runs (for a progress display).
public enum TrainingEvent: Sendable {
    /// After every batch: mean loss so far in this epoch, throughput of this epoch so far.
    case batch(epoch: Int, batch: Int, batches: Int, loss: Double, imagesPerSecond: Double)
    case epochEnd(EpochMetrics)
}

/// Trains a VAE with Adam on a data set: per epoch a seeded shuffle, mini-batches, test
/// evaluation. Stops cleanly (after the batch under way) when `shouldStop()` says so, and
/// with an error naming the epoch and batch at the first non-finite loss (before the
/// update, so the weights stay the last good ones).
public final class Trainer {
    public let model: any LatentVariableModel
    public let optimizer: Adam
    public let options: TrainingOptions
    public let data: Dataset
    /// Where training stands (the generator's words are read on demand, not saved per batch).
    public var state: TrainingState {
        var s = st
        s.rng = rng.savedState
        return s
    }
    private var st: TrainingState
    /// Optimizer steps this trainer has taken (not the run's: those are `st.adamStep`).
    private var stepsTaken = 0
    /// MPI: data-parallel training over the ranks of a job (Distributed/DataParallel.swift);
    /// nil in one process.
    public var parallel: DataParallel?
    private var rng: RNG
    private var xBuf = Workspace(), epsBuf = Workspace(), maskBuf = Workspace(), condBuf = Workspace(), inputBuf = Workspace()
    /// With dynamic binarization the test set is binarized once, with a fixed seed.
    private var binarizedTest: (any DataSource)?
    /// The IWAE objective's buffers when `options.objective == .iwae`.
    private let iwae: IWAEObjective?
    /// Measured after every epoch into `EpochMetrics.sample_valid` (e.g. the share of valid
    /// molecules among samples); it must draw from its own seeded generator, never the trainer's.
    public var sampleCheck: ((any LatentVariableModel, _ epoch: Int) -> Double)?
    public static let testBinarizationSeed: UInt64 = 0xB1_7A_12
    /// Early stopping: the held-out training items, and the weights of the best epoch so far.
    public let validation: (any DataSource)?
    public private(set) var bestWeights: [Float]?

    /// Why `--objective iwae` cannot train a model of this architecture (the IWAE objective is the
    /// feed-forward VAE's).
    public static func iwaeNeedsFeedForward(_ architecture: VAEConfig.Architecture) -> String {
        "--objective iwae trains the mlp and conv models; a \(architecture.rawValue) model trains the ELBO (vae evaluate --iwae K gives its importance-weighted estimate)"
    }

    public init(model: any LatentVariableModel, data: Dataset, options: TrainingOptions) throws {
        try options.validate()
        var data = data
        if let c = options.classes {
            guard data.train.hasLabels else {
                throw VAEError("training on some classes (classes \(c.map(String.init).joined(separator: ","))) needs labels, and the training data in \(data.directory) has none")
            }
            data.train = data.train.filtered(classes: Set(c))
            guard data.train.count > 0 else {
                throw VAEError("no training images in \(data.directory) have the labels \(c.map(String.init).joined(separator: ","))")
            }
            // a conditional model reads only the classes it trains on: its test loss is theirs
            data = data.readable(conditional: model.isConditional, classes: c)
            guard data.test.count > 0 || !model.isConditional else {
                throw VAEError("no test items in \(data.directory) have the labels \(c.map(String.init).joined(separator: ",")), which the conditional model trains on")
            }
        }
        guard data.train.itemShape == model.config.inputShape else {
            throw VAEError("the data's items are \(data.train.itemShape.map(String.init).joined(separator: "×")) but the model expects \(model.config.inputShape.map(String.init).joined(separator: "×")); train a new model for this data set")
        }
        guard data.test.itemShape == data.train.itemShape else {
            throw VAEError("the test items are \(data.test.itemShape.map(String.init).joined(separator: "×")) but the training items \(data.train.itemShape.map(String.init).joined(separator: "×")); give both splits the same shape")
        }
        guard data.test.count > 0 else { throw VAEError("the test set in \(data.directory) has no items; every epoch is scored on it — hold some out") }
        if model.isConditional {
            guard data.train.hasLabels else {
                throw VAEError("a conditional VAE needs labels, and the training data in \(data.directory) has none (use class folders, IDX/CIFAR labels or a table's --label)")
            }
            guard data.classNames.count <= model.config.conditionSize else {
                throw VAEError("the data has \(data.classNames.count) classes but the conditional model was built for \(model.config.conditionSize)")
            }
        }
        guard data.train.count > 0 else { throw VAEError("the training set in \(data.directory) has no images") }
        // tokens past the vocabulary, a label past the one-hot's width, …: an error, not a trap or a wrong number
        try model.checkReadable(data.train, "training", values: false)
        try model.checkReadable(data.test, "test", values: false)
        // (the values here, once, with the folder named)
        try Trainer.checkValueRange(model.config, data.train, data.directory)
        try Trainer.checkValueRange(model.config, data.test, data.directory, split: "test")
        if let f = options.validationFraction {
            guard let (rest, held) = Trainer.heldOut(data.train, options) else {
                throw VAEError("\(data.train.count) training items are too few to hold out a share of \(f) for early stopping; train without it (--validation-fraction 0)")
            }
            validation = held
            data.train = rest
        } else {
            validation = nil
        }
        try Trainer.checkObjective(options, model.config)
        self.model = model
        self.data = data
        self.options = options
        optimizer = Adam(model.store, learningRate: Float(options.learningRate), epsilon: Float(options.adamEpsilonValue),
                         weightDecay: Float(options.weightDecay))
        if options.trainingObjective == .iwae {
            guard let vae = model as? VAE else {
                // (vae train says this before reading the data: a usage error there)
                throw VAEError(Trainer.iwaeNeedsFeedForward(model.config.architecture))
            }
            iwae = IWAEObjective(model: vae, samples: options.importanceSamples)
        } else {
            iwae = nil
        }
        rng = RNG(seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x5EED)
        st = TrainingState()
        st.data = dataDescription
        st.kernels = Trainer.kernels
    }

    /// The kernels this process computes with: "AVX-512", "AVX2+FMA", "portable C", or OpenBLAS.
    public static var kernels: String {
        GEMM.backend == .openBLAS ? "OpenBLAS" : GEMM.kernelLevelName
    }

    /// The training data as a resume checks it: the counts of both splits, the items' shape, a
    /// hash of the first training items (up to 1 MiB of them, as the trainer reads them, with
    /// their mask and labels) and one of every item of both splits. Other data — another folder, a
    /// set whose files changed anywhere — gives another description, and a run resumed on it would
    /// no longer go on bit for bit. (Checkpoints from before the whole-data hash are compared
    /// without it: `sameData`.)
    public var dataDescription: String { Trainer.describe(data) }

    /// What a run records of `data` read for training with `options` (`TrainingState.data`): the
    /// description of its training items once the classes it trains on are picked and the
    /// validation hold-out is taken out, as `init` does. A command that splits a run's file again
    /// compares it with the run's record: a changed file is split anew.
    public static func recordedDescription(of data: Dataset, options: TrainingOptions, conditional: Bool) -> String {
        var d = data
        if let c = options.classes, d.train.hasLabels {
            d.train = d.train.filtered(classes: Set(c))
            d = d.readable(conditional: conditional, classes: c)
        }
        if let (rest, _) = heldOut(d.train, options) { d.train = rest }
        return describe(d)
    }

    /// The training items less early stopping's held-out share, and that share (nil without a
    /// validation share, or when either part would be empty).
    static func heldOut(_ train: any DataSource, _ options: TrainingOptions) -> (rest: any DataSource, held: any DataSource)? {
        guard let f = options.validationFraction else { return nil }
        let (rest, held) = holdOut(count: train.count, fraction: f, seed: options.seed)
        guard !rest.isEmpty && !held.isEmpty else { return nil }
        return (train.subset(rest), train.subset(held))
    }

    static func describe(_ data: Dataset) -> String {
        var all = WordHash()
        for set in [data.train, data.test] {
            let chunk = Trainer.scanChunk(set.featureCount)
            for start in stride(from: 0, to: set.count, by: chunk) {
                let b = set.batch(start..<min(set.count, start + chunk))
                for t in [b.x] + (b.mask.map { [$0] } ?? []) { all.add(UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4)) }
                if let l = b.labels { l.withUnsafeBytes { all.add($0) } }
            }
        }
        let hex = String(all.value, radix: 16)
        return firstItemsDescription(data) + Trainer.allItemsMark + String(repeating: "0", count: 16 - hex.count) + hex
    }

    static let allItemsMark = ", all items "

    /// Whether a recorded description and today's name the same data; a description recorded
    /// before the whole-data hash (no `allItemsMark`) is compared on what it holds.
    public static func sameData(recorded: String, now: String) -> Bool {
        guard !recorded.contains(allItemsMark), let cut = now.range(of: allItemsMark) else { return recorded == now }
        return recorded == String(now[..<cut.lowerBound])
    }

    /// A non-finite loss as a message shows it: "nan", "inf", "-inf" (a NaN's sign bit printed "-nan").
    static func shownLoss(_ v: Double) -> String { v.isNaN ? "nan" : "\(v)" }

    static func firstItemsDescription(_ data: Dataset) -> String {
        let train = data.train
        var h = FNV64()
        for w in [train.count, data.test.count] + train.itemShape { h.add(UInt64(w)) }
        let items = min(train.count, max(1, (1 << 18) / max(train.featureCount, 1))), chunk = Trainer.scanChunk(train.featureCount)
        for start in stride(from: 0, to: items, by: chunk) {   // each chunk's values, mask and labels
            let first = train.batch(start..<min(items, start + chunk))
            for t in [first.x] + (first.mask.map { [$0] } ?? []) {
                h.add(UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))
            }
            for l in first.labels ?? [] { h.add(UInt64(bitPattern: Int64(l))) }
        }
        let hex = String(h.value, radix: 16)
        return "\(train.count) training and \(data.test.count) test items of \(train.itemShape.map(String.init).joined(separator: "×")), first items \(String(repeating: "0", count: 16 - hex.count) + hex)"
    }

    /// Continues from a checkpoint's state (weights and Adam moments already loaded, and with early
    /// stopping the best epoch's weights).
    public func restore(_ s: TrainingState, bestWeights best: [Float]? = nil) throws {
        guard let r = RNG(savedState: s.rng) else { throw VAEError("the checkpoint's random-number state is invalid; start a new run") }
        if let best, best.count != model.store.count { throw VAEError("the checkpoint's best weights do not fit the model; the file is damaged") }
        let now = st.data ?? dataDescription   // (init described the data already)
        if let then = s.data, !Trainer.sameData(recorded: then, now: now) {
            throw VAEError("the data is not what the run trained on (the run: \(then); now: \(now)): resume with the run's data, or start a new run")
        }
        rng = r
        st = s
        st.data = now   // (a checkpoint from before the description was recorded gets it now)
        st.kernels = Trainer.kernels
        bestWeights = best
    }

    public var batchesPerEpoch: Int { (data.train.count + options.batchSize - 1) / options.batchSize }
    public var isFinished: Bool { st.hasEnded(epochs: options.epochs) }

    /// How many of `count` training items early stopping holds out: `fraction` of them, at least one.
    public static func holdOutCount(count n: Int, fraction f: Double) -> Int { min(n, max(1, Int((Double(n) * f).rounded()))) }

    /// The items held out for early stopping: a seeded `fraction` of `count` (at least one),
    /// and the rest, each in increasing order.
    static func holdOut(count n: Int, fraction f: Double, seed: UInt64) -> (rest: [Int], held: [Int]) {
        var r = RNG(seed: seed ^ 0x7A11_DA7E)
        let perm = r.permutation(n).map { Int($0) }
        let m = holdOutCount(count: n, fraction: f)
        return (perm[m...].sorted(), perm[..<m].sorted())
    }

    /// The validation items' negative ELBO, averaged over 10 draws of z per item from a generator
    /// seeded the same way every epoch (so that epochs compare on the same noise).
    func validationLoss() -> Double? {
        guard let v = validation else { return nil }
        var r = RNG(seed: options.seed ^ 0x0DD_BA11)
        var total = 0.0
        for _ in 0..<10 {
            let e = Evaluator.elboUnchecked(model, v, rng: &r)
            total += e.sample.recon + e.sample.kl
        }
        total = Analysis.overflowIsInfinite(total)   // an item whose loss overflowed: +∞, never the best
        return total / 10
    }

    /// The shuffle of epoch `e` comes from its own generator: no state to save for it.
    static func permutation(seed: UInt64, epoch: Int, count: Int) -> [Int32] {
        var r = RNG(seed: seed ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
        return r.permutation(count)
    }

    /// How `runEpoch` ended: the epoch's metrics, or stopped after a batch (`shouldStop`).
    public enum EpochOutcome: Sendable { case finished(EpochMetrics), interrupted }

    /// Runs (the rest of) the next epoch.
    public func runEpoch(shouldStop: () -> Bool = { false }, events: (TrainingEvent) -> Void = { _ in }) throws -> EpochOutcome {
        // (an epoch past the run's end trained on without a word: epoch 2 of a 1-epoch run)
        guard !isFinished else {
            throw VAEError(st.stoppedEarly == true ? "training stopped early (no better validation score for \(options.patience ?? 0) epochs): no epoch is left to run"
                                                   : "the run has done its \(options.epochs) epochs: raise options.epochs (TrainingRun.resume(directory:data:epochs:)) to train more")
        }
        let epoch = st.epoch + 1
        let n = data.train.count, bsz = options.batchSize, d = model.config.inputSize, k = model.latent
        let classes = model.config.conditionSize
        let perm = Trainer.permutation(seed: options.seed, epoch: epoch, count: n)
        let batches = batchesPerEpoch
        let w = model.config.klWeight(epoch: epoch)
        let lr = options.learningRate(epoch: epoch), samples = options.importanceSamples
        optimizer.learningRate = Float(lr)
        let start = Date()
        var imagesThisRun = 0
        for bi in st.batchInEpoch..<batches {
            let lo = bi * bsz, hi = min(n, lo + bsz), b = hi - lo
            let x = xBuf.view([b, d]), eps = epsBuf.view([b, samples * k])
            var batch = Batch(x: x, mask: data.train.hasMissing ? maskBuf.view([b, d]) : nil)
            perm.withUnsafeBufferPointer { p in
                let idx = UnsafeBufferPointer(rebasing: p[lo..<hi])
                data.train.fill(idx, x: x, mask: batch.mask, binarize: options.binarize, rng: &rng)
                if classes > 0 {
                    batch.condition = Batch.oneHot(idx.map { Int32(data.train.label(Int($0))) }, classes: classes,
                                                   into: condBuf.view([b, classes]))
                }
            }
            if let c = options.corrupt {
                let input = inputBuf.view([b, d])
                c.apply(x.pointer, count: b * d, shape: data.train.itemShape, into: input.pointer, rng: &rng)
                batch.input = input
            }
            model.prepareTrainingBatch(&batch, rng: &rng)  // the sequence VAE's word dropout; nothing for the others
            rng.fillNormal(eps.pointer, count: eps.count)
            // Without clipping, in one process, with the ELBO: Adam runs inside the backward pass
            // (FusedAdamStep), with the same numbers. MPI must sum the gradients before the step.
            let fused = options.clipNorm == nil && Trainer.fusedAdam && parallel == nil && iwae == nil
                ? optimizer.beginFusedStep() : nil
            if fused == nil { model.store.zeroGrad() }
            parallel?.beginStep()
            let mine = parallel?.share(of: b) ?? 0..<b  // MPI: this rank's rows of the (whole) batch
            var loss = mine.isEmpty ? BatchLoss(recon: 0, kl: 0, count: 0)
                : iwae?.trainStep(batch.rows(mine), eps: eps.rows(mine), gradScale: 1 / Float(b))
                    ?? model.trainStep(batch.rows(mine), eps: eps.rows(mine), klWeight: w, gradScale: 1 / Float(b), update: fused)
            if let parallel { loss = try parallel.finishStep(loss) }  // MPI: Σ gradients and losses over ranks
            guard loss.recon.isFinite && loss.kl.isFinite else {
                if stepsTaken == 0 && st.adamStep > 0 {
                    // the checkpoint's own weights, before any step of this process: no learning rate is to blame
                    throw VAEError("the loss is \(Trainer.shownLoss(loss.recon + loss.kl)) (not finite) at the first batch after resuming (epoch \(epoch), batch \(bi + 1)), before any step: the checkpoint's weights give it — the file may be damaged (vae evaluate RUN shows its loss); resume from a copy you trust, or start a new run")
                }
                throw VAEError("training diverged at epoch \(epoch), batch \(bi + 1) of \(batches): the loss is \(Trainer.shownLoss(loss.recon + loss.kl)) (not finite); lower the learning rate (--lr) or try --clip 10; the last good checkpoint is kept")
            }
            if fused != nil {
                optimizer.commitFusedStep()
            } else {
                if let c = options.clipNorm { model.store.clipGradNorm(c) }
                optimizer.update()
            }
            st.adamStep = optimizer.step
            stepsTaken += 1
            st.partialRecon += loss.recon
            st.partialKL += loss.kl
            st.partialCount += b
            st.batchInEpoch = bi + 1
            imagesThisRun += b
            let elapsed = Date().timeIntervalSince(start)
            events(.batch(epoch: epoch, batch: bi + 1, batches: batches,
                          loss: (st.partialRecon + st.partialKL) / Double(st.partialCount),
                          imagesPerSecond: elapsed > 0 ? Double(imagesThisRun) / elapsed : 0))
            if bi + 1 < batches && shouldStop() {
                st.partialSeconds += Date().timeIntervalSince(start)
                return .interrupted
            }
        }
        let seconds = st.partialSeconds + Date().timeIntervalSince(start)
        // NaN here is a test item whose loss overflowed (∞ − ∞; the training loss is finite, or the
        // step would have stopped): read as the overflow it is, +∞, as anomaly scores are.
        var test = try evaluateTest(epoch: epoch)
        for k in [\ELBOResult.sample.recon, \.sample.kl, \.mean.recon, \.mean.kl] { test[keyPath: k] = Analysis.overflowIsInfinite(test[keyPath: k]) }
        let count = Double(st.partialCount)
        let m = EpochMetrics(epoch: epoch,
                             train_loss: (st.partialRecon + st.partialKL) / count,
                             train_recon: st.partialRecon / count, train_kl: st.partialKL / count,
                             test_loss: test.sample.recon + test.sample.kl, test_recon: test.sample.recon,
                             test_kl: test.sample.kl, test_loss_mu: test.mean.recon + test.mean.kl,
                             kl_weight: w, seconds: seconds,
                             images_per_second: seconds > 0 ? count / seconds : 0,
                             learning_rate: lr, train_iwae_k: iwae?.samples, sample_valid: sampleCheck?(model, epoch),
                             validation_loss: validationLoss())
        st.epoch = epoch
        if let v = m.validation_loss {
            if st.bestValidation.map({ v < $0 }) ?? true {
                st.bestValidation = v
                st.bestEpoch = epoch
                bestWeights = Array(UnsafeBufferPointer(start: model.store.values.pointer, count: model.store.count))
            } else if let p = options.patience, let b = st.bestEpoch, epoch - b >= p {
                st.stoppedEarly = true
            }
            // done: the model is the best epoch's
            if isFinished, let w = bestWeights, st.bestEpoch != epoch {
                w.withUnsafeBufferPointer { model.store.values.pointer.update(from: $0.baseAddress!, count: w.count) }
            }
        }
        st.batchInEpoch = 0
        st.partialRecon = 0
        st.partialKL = 0
        st.partialCount = 0
        st.partialSeconds = 0
        events(.epochEnd(m))
        return .finished(m)
    }

    /// Test-set negative ELBO after `epoch`, with noise from a generator of its own so that
    /// evaluating never changes the training stream.
    func evaluateTest(epoch: Int) throws -> ELBOResult {
        var set = data.test
        if let lim = options.testLimit { set = set.first(lim) }
        if options.binarize {
            if binarizedTest == nil { binarizedTest = set.scored(binarize: true) }
            set = binarizedTest!
        }
        var r = RNG(seed: options.seed ^ 0x7E57 ^ (UInt64(epoch) << 20))
        if let parallel { return try parallel.elbo(model, set, rng: &r) }  // MPI: sharded
        return Evaluator.elboUnchecked(model, set, rng: &r)
    }
}

extension Dataset {
    /// The data as a model reads it: a conditional model trained on `classes` (the label is one of
    /// its inputs, and it never saw the others' one-hots) reads the test items of those classes
    /// only; any other model every item (an anomaly detector scores the others).
    public func readable(conditional: Bool, classes: [Int]?) -> Dataset {
        guard conditional, let classes, test.hasLabels else { return self }
        var d = self
        d.test = test.filtered(classes: Set(classes))
        return d
    }
}
