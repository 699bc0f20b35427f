import VAECore

/// Data-parallel training on the ranks of an MPI job. Each step every rank:
///   - builds the whole one-process batch and noise (the shuffle, the binarization draws
///     and ε, so the generator stays in step with a single process) and trains on its own
///     rows of it, `share(of:)`;
///   - computes the gradients of its rows with the loss averaged over the *global* batch,
///     so that their sum over the ranks is the one-process gradient (up to rounding order);
///   - sums the gradients over the ranks with `GradientReducer` (fixed order, bit-identical
///     on every rank, overlapped with the backward), and the loss sums likewise;
///   - applies the same Adam step as every other rank.
/// Test evaluation is split over the ranks the same way and its sums reduced in rank order.
public final class DataParallel {
    /// How the gradient sums are cut and overlapped with the backward pass.
    public struct Settings: Sendable {
        /// Bucket size of the gradient all-reduce: small enough that a model of a few MB has several.
        public var bucketBytes: Int = 256 << 10
        /// Reduce buckets while the backward runs (false: all after the backward).
        public var overlap: Bool = true
        public init() {}
    }

    public let comm: Communicator
    public let settings: Settings
    let reducer: GradientReducer
    /// Asked at every step on every rank (e.g. Ctrl-C); training stops when any rank says so.
    public var localStop: () -> Bool = { false }
    /// Asked with `localStop`: whether this rank's stop is an interrupt (Ctrl-C, SIGTERM) that
    /// ends the process, rather than a periodic checkpoint after which training goes on.
    public var localInterrupt: () -> Bool = { false }
    /// The ranks' agreed answer, the same on every rank (updated at every step).
    public private(set) var stopRequested = false
    /// Whether some rank's stop was an interrupt: then every rank ends, not only the signalled one
    /// (the others went on training and waited for it at the next gradient sum, forever).
    public private(set) var interruptRequested = false

    public var rank: Int { comm.rank }
    public var size: Int { comm.size }
    /// Only rank 0 writes files.
    public var isWriter: Bool { comm.isLeader }
    public var bucketCount: Int { reducer.bucketCount }
    /// Seconds the ranks waited, after their backward, for the gradient sum.
    public var reduceWaitSeconds: Double { reducer.waitSeconds }
    /// The share of the gradient values whose sum was complete when the backward ended.
    public var overlappedFraction: Double { Double(reducer.reducedDuringBackward) / Double(max(reducer.reducedTotal, 1)) }
    /// The share of the buckets whose reduction started while the backward still ran (1 with
    /// overlap: a bucket starts as soon as its parameters' gradients are final).
    public var startedDuringBackwardFraction: Double { Double(reducer.startedDuringBackward) / Double(max(reducer.startedTotal, 1)) }

    public init(comm: Communicator, model: any LatentVariableModel, settings: Settings = Settings()) throws {
        self.comm = comm
        self.settings = settings
        reducer = try GradientReducer(comm: comm, store: model.store, bucketBytes: max(4, settings.bucketBytes),
                                      overlap: settings.overlap)
        // The feed-forward VAE says layer by layer when gradients are final, so that their sums
        // start during the backward; for other kinds the sums start when the backward ends.
        guard let model = model as? VAE else { return }
        let r = reducer, likelihoodParameters = model.likelihood.parameters
        model.encoder.onBackward = { r.ready($0.parameters) }
        model.decoder.onBackward = { [unowned self] layer in
            // The likelihood's parameters (learned σ, after the decoder's in the store) got their
            // gradients from the loss, before the decoder's backward: final at its first layer.
            if likelihoodPending {
                likelihoodPending = false
                r.ready(likelihoodParameters)
            }
            r.ready(layer.parameters)
        }
    }

    /// Whether this step's likelihood parameters are still to be marked final.
    private var likelihoodPending = false

    /// This rank's rows of `count`: an even split, the first `count % N` ranks one row more.
    public func share(of count: Int) -> Range<Int> {
        let q = count / size, r = count % size
        let lo = rank * q + min(rank, r)
        return lo..<(lo + q + (rank < r ? 1 : 0))
    }

    /// Call after zeroing the gradients, before this rank's forward and backward.
    public func beginStep() {
        reducer.begin()
        likelihoodPending = true
    }

    /// Waits for the gradient sum and returns the loss sums over all ranks (rank order).
    public func finishStep(_ local: BatchLoss) throws -> BatchLoss {
        try reducer.finish()
        let wants: Double = localInterrupt() ? 2 : localStop() ? 1 : 0
        let all = try comm.allgather([local.recon, local.kl, Double(local.count), wants])
        var out = BatchLoss(recon: 0, kl: 0, count: 0)
        var stop = false, interrupt = false
        // Σ over ranks in rank order
        for v in all {
            out.recon += v[0]
            out.kl += v[1]
            out.count += Int(v[2])
            stop = stop || v[3] != 0
            interrupt = interrupt || v[3] == 2
        }
        stopRequested = stop
        interruptRequested = interrupt
        return out
    }

    /// The one-process `Evaluator.elbo` with the items split over the ranks: each rank takes
    /// its share of the set and the ε the single process would draw for those items.
    public func elbo(_ model: any LatentVariableModel, _ set: any DataSource, batchSize: Int = 1000, rng: inout RNG) throws -> ELBOResult {
        let mine = share(of: set.count), k = model.latent
        var r = rng
        r.skipNormals(mine.lowerBound * k)
        let s = Evaluator.elboSums(model, set, items: mine, batchSize: batchSize, rng: &r)
        rng.skipNormals(set.count * k)  // where the one-process evaluation leaves it
        var sums = [0.0, 0.0, 0.0]
        // Σ over ranks in rank order
        for v in try comm.allgather([s.sample, s.mean, s.kl]) { for i in 0..<3 { sums[i] += v[i] } }
        return Evaluator.elboResult(sums: (sums[0], sums[1], sums[2]), count: set.count)
    }

    /// Checks that every rank starts from rank 0's weights, optimizer state, training state and
    /// data (a hash of each, compared over the ranks).
    public func checkSameStart(_ trainer: Trainer) throws {
        var h = FNV64()
        let s = trainer.model.store
        h.add(UnsafeRawBufferPointer(start: s.values.pointer, count: s.count * 4))
        h.add(UnsafeRawBufferPointer(start: trainer.optimizer.m.pointer, count: s.count * 4))
        h.add(UnsafeRawBufferPointer(start: trainer.optimizer.v.pointer, count: s.count * 4))
        let st = trainer.state
        for w in st.rng + [UInt64(st.epoch), UInt64(st.batchInEpoch), UInt64(st.adamStep),
                           UInt64(trainer.data.train.count), UInt64(trainer.data.test.count)] { h.add(w) }
        // the data: its sizes, shape and a hash of its items, as the trainer reads them (described once, at its start)
        var d = FNV64()
        Array((trainer.state.data ?? trainer.dataDescription).utf8).withUnsafeBytes { d.add($0) }
        // the training options and the job's settings, one hash each (a rank that trains for other
        // epochs or batches than the others waits for them at a collective they never reach)
        let named = DataParallel.fields(trainer.options, prefix: "") + DataParallel.fields(trainer.model.config, prefix: "model ")
            + DataParallel.fields(settings, prefix: "MPI ")
        let all = try comm.allgather([h.value, d.value] + named.map(\.hash))
        for (r, v) in all.enumerated() where v != all[0] {
            // a table's sizes, batch and length come from its rows: another file on one rank showed as
            // "another value of --batch" (given by no rank) — the data is what differs
            if v[1] != all[0][1] && trainer.model.config.groups != nil {
                throw VAEError("rank \(r) of \(size) reads other data than rank 0 — another file, or another --label, --ignore or --test-fraction (its training or test rows differ); every rank must run the same command line on the same data (a shared file system, or copies at the same paths)")
            }
            if let i = (0..<named.count).first(where: { v[2 + $0] != all[0][2 + $0] }) {
                let name = named[i].name
                // (a table's items: their width comes from its columns, not from image flags)
                let flag = name == "model inputShape" && trainer.model.config.groups != nil ? DataParallel.flagNames["model groups"]!
                    : DataParallel.flagNames[name] ?? "the setting '\(name)'"
                throw VAEError("rank \(r) of \(size) has another value of \(flag) than rank 0; every rank must run the same command line")
            }
            let what = v[1] != all[0][1] ? "data (its training or test items differ)" : "model, optimizer or training state"
            throw VAEError("rank \(r) of \(size) has another \(what) than rank 0; every rank must read the same run folder and data (a shared file system, or copies at the same paths)")
        }
    }

    /// The `vae train` flag behind each compared setting (the messages name flags, not fields).
    static let flagNames: [String: String] = [
        "epochs": "--epochs", "batchSize": "--batch", "learningRate": "--lr", "seed": "--seed", "binarize": "--binarize",
        "weightDecay": "--weight-decay", "clipNorm": "--clip", "testLimit": "--test-limit", "classes": "--classes",
        "corrupt": "--corrupt", "objective": "--objective", "samples": "--k", "adamEpsilon": "--adam-eps",
        "learningRateSchedule": "--lr-schedule", "weightInit": "--init", "outputBiasFromData": "--output-bias-from-data",
        "validationFraction": "--validation-fraction", "patience": "--patience",
        "MPI bucketBytes": "--bucket-kb", "MPI overlap": "--no-overlap",
        // the model (each rank builds its own from its command line, or reads it from the run)
        "model architecture": "--model", "model inputShape": "the items' shape (--image-size, --channels, or the data)",
        "model latent": "--latent", "model hidden": "--hidden", "model likelihood": "--likelihood",
        "model gaussianSigma": "--sigma", "model beta": "--beta", "model warmupEpochs": "--warmup",
        "model groups": "the table's columns (--label, --ignore, or the file's columns and category levels)", "model conditionSize": "--conditional",
        "model activation": "--activation", "model freeBits": "--free-bits",
        "model sequence": "the sequence model's flags (--max-length, --tokens, --embedding, --encoder, --decoder, …)",
    ]

    /// Each stored property of `value` (nil ones too, so that every rank has the same list) with a
    /// hash of its description: the same binary describes equal values alike.
    static func fields(_ value: Any, prefix: String) -> [(name: String, hash: UInt64)] {
        Mirror(reflecting: value).children.enumerated().map { (i, child) in
            var h = FNV64()
            Array(String(describing: child.value).utf8).withUnsafeBytes { h.add($0) }
            return (prefix + (child.label ?? "field \(i)"), h.value)
        }
    }
}

extension Trainer {
    /// Makes this trainer one rank of a data-parallel job (nothing with nil), after checking
    /// that every rank starts from the same state.
    func joinMPI(_ mpi: (Communicator, DataParallel.Settings)?) throws {
        guard let (comm, settings) = mpi else { return }
        parallel = try DataParallel(comm: comm, model: model, settings: settings)
        try parallel!.checkSameStart(self)
    }
}
