import Foundation
import VAECore
import Synchronization

/// A training run bound to its folder: trains epoch by epoch, and after each epoch (and when
/// stopped) writes the checkpoint and `metrics.jsonl` atomically, so that a killed run loses
/// at most the epoch under way and `resume` continues exactly where the checkpoint stands.
/// Epochs shorter than `minimumSaveInterval` (a small table's 2,000) are saved once that much
/// time has passed since the last save, and at the end: a killed run then loses at most that.
public final class TrainingRun {
    public static let metricsFile = "metrics.jsonl"

    public let directory: String
    public let trainer: Trainer
    public private(set) var metrics: [EpochMetrics]   // only ever appended to
    /// This process's claim on `directory` while the run lives (rank 0 alone under MPI).
    private var folderLock: RunFolderLock?
    public var model: any LatentVariableModel { trainer.model }
    /// Seconds between saves at the ends of epochs (1; 0 saves every epoch).
    public var minimumSaveInterval: Double = 1
    /// `metrics` as encoded lines, so far (each epoch's line is encoded once, not at every save).
    private var metricsLines: [String] = []
    private var lastSave = Date.distantPast

    init(directory: String, trainer: Trainer, metrics: [EpochMetrics]) {
        self.directory = directory
        self.trainer = trainer
        self.metrics = metrics
        // (the folder's path as it will be once made: realPath alone changed when the folder appeared)
        claimKey = AtomicFile.absolutePath(directory) ?? directory
    }

    deinit {
        // (an identifier of a freed object can be another object's later)
        TrainingRun.claimants.withLock { [claimKey, me = ObjectIdentifier(self)] in if $0[claimKey] == me { $0[claimKey] = nil } }
    }

    private let claimKey: String

    /// Makes this run the folder's newest in this process, once `start` or `resume` has passed its
    /// checks (a start that failed left its claim, and the run it displaced refused to train);
    /// returns the one it displaced, to give the claim back if the first save fails.
    @discardableResult
    private func claim() -> ObjectIdentifier? {
        TrainingRun.claimants.withLock { [claimKey, me = ObjectIdentifier(self)] in
            let before = $0[claimKey]
            $0[claimKey] = me
            return before
        }
    }

    private func giveBack(_ before: ObjectIdentifier?) {
        TrainingRun.claimants.withLock { [claimKey, me = ObjectIdentifier(self)] in if $0[claimKey] == me { $0[claimKey] = before } }
    }

    /// The newest TrainingRun of this process on each folder. The folder's lock is shared within a
    /// process (a caller may hold a finished run and resume it), so an older run object trained on
    /// after a newer one started or resumed there: it replaced the newer one's saves with its own
    /// state, silently (two `start`s on one folder, run in turn, kept the first's model).
    private static let claimants = Mutex<[String: ObjectIdentifier]>([:])

    /// Throws when another TrainingRun of this process started or resumed this folder since this
    /// one was made.
    private func requireNewest() throws {
        guard TrainingRun.claimants.withLock({ [claimKey] in $0[claimKey] }) == ObjectIdentifier(self) else {
            throw VAEError("\(directory) was started or resumed by another TrainingRun of this process after this one: this run's state is behind the folder's, and it would overwrite that run's saves — train with the newer run, or resume the folder again")
        }
    }

    /// A run that cannot fit in this machine's memory is one line before anything is allocated (a
    /// failed allocation is a crash): the parameters with their gradient and Adam's two moments
    /// (16 bytes each), and a batch's activations — every item, times the importance samples of
    /// IWAE, through each layer's width, kept for the backward pass (a rough floor, not a bound).
    /// `longestItem`: a sequence run's longest training item in tokens — its batches hold their
    /// GRUs' states, gates and the vocabulary's logits for every token (about 2 KB a token for a
    /// small model), so the items' length, not the layers' widths, sets what a batch takes.
    /// `items`: the training items, when known (a batch holds no more of them).
    public static func checkMemory(_ config: VAEConfig, _ options: TrainingOptions, longestItem: Int? = nil, items: Int? = nil) throws {
        // (a process limit, ulimit -v, below the machine's memory: an allocation past it ended the run with a backtrace)
        guard let (limit, limitName) = MemoryLimit.current else { return }
        let params = (try Models.parameterCount(config)).map(Double.init) ?? .infinity
        let rows = Double(min(options.batchSize, items ?? options.batchSize)) * Double(max(options.samples ?? 1, 1))
        let gb = { (b: Double) in b.isFinite ? String(format: "%.1f GB", b / 1e9) : "more than can be counted" }
        let count = params.isFinite ? FormatText.grouped(Int(params)) : "uncountably many"
        if let seq = config.sequence {
            let tokens = rows * Double(min(longestItem ?? seq.maxLength, seq.maxLength) + 2)
            // a lower bound (4.87 GB measured where this gives 3.9: 128 items of 20,000 characters)
            let perToken = Double(seq.encoderLayers * (seq.bidirectional ? 2 : 1) * 4 * seq.encoderHidden
                                  + seq.decoderLayers * 4 * seq.decoderHidden) + 3 * Double(seq.vocabulary.count) + Double(config.latent)
            let needed = 16 * params + 4 * tokens * perToken
            guard needed > limit else { return }
            throw VAEError("this run needs at least \(gb(needed)) (\(count) parameters with their gradients and Adam's moments, and batches of \(FormatText.grouped(Int(rows))) items of up to \(FormatText.grouped(Int(tokens / rows) - 2)) tokens, each token's GRU states and \(FormatText.grouped(seq.vocabulary.count)) logits), more than \(limitName) \(gb(limit)) of memory: lower --max-length (shorter items), --batch or the GRUs' widths")
        }
        let widths = Double(config.hidden.reduce(0, +) + config.inputSize + config.latent)
        let needed = 16 * params + 4 * 4 * rows * widths
        guard needed > limit else { return }
        throw VAEError("this run needs at least \(gb(needed)) (\(count) parameters with their gradients and Adam's moments, and a batch of \(FormatText.grouped(Int(rows))) rows through widths \(config.hidden)), more than \(limitName) \(gb(limit)) of memory: lower --hidden, --batch or --k")
    }

    /// A new run: a fresh model initialised from `options.seed`.
    /// With `mpi` (under mpirun) the run trains on every rank of the job; only rank 0 writes.
    /// A folder that holds a run already is refused (continue it with `resume`), unless
    /// `replacing` says to start over there.
    public static func start(directory: String, model config: VAEConfig, options: TrainingOptions, data: Dataset,
                             mpi: (Communicator, DataParallel.Settings)? = nil, replacing: Bool = false) throws -> TrainingRun {
        // (under MPI rank 0 alone: it writes the folder, and another rank could find its first save)
        if !replacing && (mpi?.0.isLeader ?? true) && AtomicFile.exists(directory + "/" + Checkpoint.weightsFile) {
            throw holdsARun(directory)
        }
        if mpi?.0.isLeader ?? true { AtomicFile.removeStaleTemporaries(in: directory) }
        try checkMemory(config, options, longestItem: (data.train as? SequenceSource)?.longestItem, items: data.train.count)
        let model = try Models.make(config, seed: options.seed)
        let trainer = try Trainer(model: model, data: data, options: options)
        if options.weightInit == .glorot || options.outputBiasFromData == true {
            guard let vae = model as? VAE else {
                throw VAEError("--init glorot and --output-bias-from-data are for the mlp and conv models, not \(config.architecture.rawValue)")
            }
            if options.weightInit == .glorot { vae.initializeGlorot(seed: options.seed) }
            if options.outputBiasFromData == true { try vae.setOutputBiasFromData(trainer.data.train) }  // the classes trained on
        }
        try trainer.joinMPI(mpi)
        let run = TrainingRun(directory: directory, trainer: trainer, metrics: [])
        // another process training this folder is refused before anything is written (the folder
        // is made here, after every check: a refused run leaves none behind)
        let folderExisted = AtomicFile.exists(directory)
        run.folderLock = try (mpi?.0.isLeader ?? true) ? RunFolderLock.acquire(directory) : nil
        // and checked again under the lock: another process may have started a run here since the
        // check above — and finished it, releasing the lock — which this one would replace (two
        // `vae train --out SAME` both said "done", the second's run in the folder)
        if !replacing && (mpi?.0.isLeader ?? true) && AtomicFile.exists(directory + "/" + Checkpoint.weightsFile) {
            run.folderLock = nil
            throw holdsARun(directory, meanwhile: true)
        }
        let displaced = run.claim()
        do {
            try run.save()
        } catch {
            run.giveBack(displaced)
            // a first save that failed (a full disk) leaves no folder it made: it held the lock file
            // and an empty metrics.jsonl, a run folder of no run
            if !folderExisted && (mpi?.0.isLeader ?? true) {
                run.folderLock = nil
                unlink(directory + "/" + RunFolderLock.fileName)
                if AtomicFile.regularFileSize(directory + "/" + metricsFile) == 0 { unlink(directory + "/" + metricsFile) }
                rmdir(directory)   // (only if empty: nothing else is removed)
            }
            throw error
        }
        return run
    }

    /// The refusal of a new run in a folder that holds one (`meanwhile`: found under the folder's
    /// lock, written by another process since the first look).
    public static func holdsARun(_ directory: String, meanwhile: Bool = false) -> VAEError {
        VAEError("\(directory) already holds a run\(meanwhile ? ", started there by another process while this one prepared" : ""); continue it with TrainingRun.resume, or start over with replacing: true")
    }

    /// What may change when a run is resumed: how long, and how the optimizer steps. What defines
    /// the model, its data and its random streams (architecture, β, batch size, seed, …) may not.
    public struct ResumeChanges: Sendable {
        public var epochs: Int?
        public var learningRate: Double?
        public var clipNorm: Double?
        public var weightDecay: Double?
        public var testLimit: Int?
        public init() {}
    }

    /// Continues the run in `directory`. `epochs` may raise the total number of epochs.
    /// With `mpi` (under mpirun) the run continues on every rank of the job; only rank 0 writes.
    public static func resume(directory: String, data: Dataset, epochs: Int? = nil,
                              mpi: (Communicator, DataParallel.Settings)? = nil) throws -> TrainingRun {
        var changes = ResumeChanges()
        changes.epochs = epochs
        // claimed before the checkpoint is read (another trainer's later save is not undone)
        let claim = try (mpi?.0.isLeader ?? true) ? RunFolderLock.acquire(directory) : nil
        defer { withExtendedLifetime(claim) {} }
        return try resume(directory: directory, loaded: Checkpoint.load(directory), data: data, changes: changes, mpi: mpi)
    }

    /// The refusal of a resume whose checkpoint's Adam moments are damaged (`Checkpoint.Loaded.optimizerDamage`).
    public static func cannotResume(_ damage: String) -> VAEError {
        VAEError(damage + ": training cannot resume exactly — the model's weights are sound (vae export keeps them); start a new run to train more")
    }

    /// Continues the run in `directory` from its checkpoint, already `loaded`, with `changes`.
    /// Claim the folder (`RunFolderLock.acquire`) before loading it, so that no other trainer saves
    /// between the load and this run's own claim.
    public static func resume(directory: String, loaded: Checkpoint.Loaded, data: Dataset, changes: ResumeChanges,
                              mpi: (Communicator, DataParallel.Settings)? = nil) throws -> TrainingRun {
        let lock = try (mpi?.0.isLeader ?? true) ? RunFolderLock.acquire(directory) : nil
        if mpi?.0.isLeader ?? true { AtomicFile.removeStaleTemporaries(in: directory) }  // left by a killed run's writes
        var options = loaded.options
        if let e = changes.epochs {
            // (it returned .finished and did nothing: an epochs total below what is done)
            guard e >= loaded.state.epoch else {
                throw VAEError("epochs \(e) is fewer than the \(loaded.state.epoch) epochs the run in \(directory) has done; epochs is the total: give \(loaded.state.epoch) or more")
            }
            options.epochs = e
        }
        if let lr = changes.learningRate { options.learningRate = lr }
        if let c = changes.clipNorm { options.clipNorm = c }
        if let w = changes.weightDecay { options.weightDecay = w }
        if let t = changes.testLimit { options.testLimit = t }
        if let damage = loaded.optimizerDamage { throw cannotResume(damage) }
        let trainer = try Trainer(model: loaded.model, data: data, options: options)
        if let m = loaded.adamM, let v = loaded.adamV {
            m.withUnsafeBufferPointer { mp in
                v.withUnsafeBufferPointer { vp in trainer.optimizer.restore(step: loaded.state.adamStep, m: mp, v: vp) }
            }
        } else if loaded.state.adamStep > 0 {
            throw VAEError("\(directory)/\(Checkpoint.weightsFile) has no optimizer state, so training cannot resume exactly; start a new run")
        }
        var best = loaded.bestWeights
        if let b = loaded.state.bestEpoch, best == nil && !loaded.state.hasEnded(epochs: options.epochs) {
            // A finished run with a validation set keeps only the best epoch's weights. When that
            // was the last epoch they are the last weights too, and more epochs continue exactly.
            guard b == loaded.state.epoch else {
                throw VAEError.usage("\(directory) finished with the best validation epoch's weights (epoch \(b) of \(loaded.state.epoch)), not the last epoch's, so it cannot continue exactly to more epochs; start a new run with the --epochs you want")
            }
            best = Array(UnsafeBufferPointer(start: loaded.model.store.values.pointer, count: loaded.model.store.count))
        }
        do { try trainer.restore(loaded.state, bestWeights: best) } catch let e as VAEError where e.message.hasPrefix("the checkpoint's") {
            // which checkpoint (the message named none)
            throw VAEError("\(directory)/\(Checkpoint.weightsFile): " + e.message.dropFirst("the checkpoint's ".count))
        }
        guard loaded.state.batchInEpoch < trainer.batchesPerEpoch else {
            throw VAEError("\(directory)/\(Checkpoint.weightsFile) stopped at batch \(loaded.state.batchInEpoch) of an epoch, but the data has \(trainer.batchesPerEpoch) batches per epoch; resume with the data set the run was trained on")
        }
        try trainer.joinMPI(mpi)
        var metrics = try readMetrics(directory + "/" + metricsFile)
        metrics = metrics.filter { $0.epoch <= loaded.state.epoch }
        let run = TrainingRun(directory: directory, trainer: trainer, metrics: metrics)
        run.folderLock = lock
        run.claim()
        return run
    }

    /// How `run` ended: every epoch done, or stopped (the checkpoint saved).
    public enum Outcome: Equatable, Sendable { case finished, interrupted }

    /// Trains until `options.epochs` are done or `shouldStop()` (checked after every batch).
    public func run(shouldStop: () -> Bool = { false }, events: (TrainingEvent) -> Void = { _ in }) throws -> Outcome {
        if !trainer.isFinished { try requireNewest() }
        while !trainer.isFinished {
            switch try trainer.runEpoch(shouldStop: shouldStop, events: events) {
            case .finished(let m):
                metrics.append(m)
                // short epochs are saved once a second (every epoch, its whole history rewritten
                // and synced, took 98% of a 2,000-epoch table run), the last one always
                if trainer.isFinished || shouldStop() || Date().timeIntervalSince(lastSave) >= minimumSaveInterval { try save() }
            case .interrupted:
                try save()
                return .interrupted
            }
            if shouldStop() && !trainer.isFinished { return .interrupted }
        }
        return .finished
    }

    /// Writes metrics.jsonl, then the checkpoint and config.json (each atomically). In this order a
    /// kill between the writes leaves metrics one epoch ahead of the checkpoint, which `resume` drops
    /// (and the re-run epoch writes again); the other order would lose the epoch's line for good.
    public func save() throws {
        guard trainer.parallel?.isWriter ?? true else { return }  // MPI: rank 0 writes, the others nothing
        try requireNewest()
        try checkFinite()
        try Checkpoint.makeDirectory(directory)
        metricsLines += TrainingRun.metricsLines(metrics[metricsLines.count...])
        try AtomicFile.write(metricsLines.joined(), to: directory + "/" + TrainingRun.metricsFile)
        try Checkpoint.save(model: trainer.model, optimizer: trainer.optimizer, options: trainer.options,
                            state: trainer.state, data: RunConfig.DataInfo(trainer.data),
                            best: trainer.isFinished ? nil : trainer.bestWeights, to: directory)
        lastSave = Date()
    }

    /// Weights and Adam's moments that are no longer numbers are no checkpoint: every command
    /// refuses one ("the checkpoint is damaged"), yet training had said "done" (`--beta 1e30`:
    /// Adam's second moment overflows while the loss, whose update it scales to nothing, stays
    /// finite). Said as divergence, the last good checkpoint kept.
    func checkFinite() throws {
        let s = trainer.model.store, o = trainer.optimizer
        let bad = { (b: Buffer, nonNegative: Bool) -> Bool in
            UnsafeBufferPointer(start: b.pointer, count: b.count).contains { !$0.isFinite || (nonNegative && $0 < 0) }
        }
        let what = bad(s.values, false) ? "weights" : bad(o.m, false) ? "Adam's first moments" : bad(o.v, true) ? "Adam's second moments" : nil
        guard let what else { return }
        throw VAEError("training diverged by epoch \(max(trainer.state.epoch, 1)): the model's \(what) are no longer finite numbers, though the loss was — lower --beta, --weight-decay or the learning rate (--lr), or raise --adam-eps; the last good checkpoint is kept")
    }

    /// A loss that overflowed 32-bit floats (a test row far outside the training rows' range) is
    /// written as the string "inf" (or "-inf", "nan"): JSON has no number for it.
    static let nonFinite = (positive: "inf", negative: "-inf", nan: "nan")

    public static func metricsText(_ metrics: [EpochMetrics]) -> String {
        metricsLines(metrics[...]).joined()
    }

    /// One JSON line per epoch, "\n" included.
    static func metricsLines(_ metrics: ArraySlice<EpochMetrics>) -> [String] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: nonFinite.positive, negativeInfinity: nonFinite.negative, nan: nonFinite.nan)
        return metrics.map { String(decoding: try! enc.encode($0), as: UTF8.self) + "\n" }
    }

    /// Reads `metrics.jsonl` (one JSON object per line); a missing file is an empty history.
    public static func readMetrics(_ path: String) throws -> [EpochMetrics] {
        guard AtomicFile.exists(path) else { return [] }
        try Checkpoint.requireRegular(path)
        let bytes = try AtomicFile.readAll(path: path, maxBytes: 64 << 20)
        return try parseMetrics(bytes, source: path)
    }

    public static func parseMetrics(_ bytes: [UInt8], source: String) throws -> [EpochMetrics] {
        var out: [EpochMetrics] = []
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: nonFinite.positive, negativeInfinity: nonFinite.negative, nan: nonFinite.nan)
        for (i, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let m = try? dec.decode(EpochMetrics.self, from: Data(line)) else {
                throw VAEError("\(source): line \(i + 1) is not a valid metrics record; the file is damaged (delete the line — that epoch's numbers are then missing from the curves — or the file, to continue)")
            }
            // one line per epoch, in order: a file copied together from two (1, 2, 1, 2) is no run's record
            if let last = out.last, m.epoch <= last.epoch {
                throw VAEError("\(source): line \(i + 1) holds epoch \(m.epoch) after epoch \(last.epoch); the file is damaged (keep one line per epoch, in order)")
            }
            out.append(m)
        }
        return out
    }
}
