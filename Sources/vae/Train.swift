import ArgumentParser
import Foundation
import VAECore
import VAEKit

extension VAEConfig.Architecture: ExpressibleByArgument {}
extension VAEConfig.Likelihood: ExpressibleByArgument {}
extension VAEConfig.HiddenActivation: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a VAE and write a run folder (model, config, metrics, report).",
        discussion: "With no flags: an mlp VAE (latent 20) on Fashion-MNIST, or on the sample that ships with SwiftVAE."
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Architecture: mlp, conv, or gru (a sequence VAE over lines of text or SMILES).") var model: VAEConfig.Architecture?
    @Option(help: "Latent dimensions (default 20 for mlp, 2 for conv, 64 for gru; a table: half its encoded width, 2 to 8).") var latent: Int?
    @Option(help: ArgumentHelp("Hidden widths, comma-separated (mlp, default 400; a table: 64, or 128 from 5,000 rows) or the dense width (conv, default 16 for gray images, 256 for colour).", valueName: "h[,h…]"))
    var hidden: String?
    @Option(help: "Epochs (the total, also when resuming; 0: write the initialised, untrained model only).") var epochs: Int?
    @Option(help: "Batch size.") var batch: Int?
    @Option(help: "Adam's learning rate.") var lr: Double?
    @Option(help: "Weight of the KL term (β-VAE; default 1).") var beta: Double?
    @Option(help: "KL warm-up over E epochs: the KL weight is β·e/E in epoch e = 1…E (β/E in the first), then β (default 0: β throughout; E = 1 would be the same, so it takes 2 or more).") var warmup: Int?
    @Option(name: .customLong("free-bits"), help: ArgumentHelp("Free bits: nats of KL per item that cost nothing in training (the term is max(KL, λ) per item), so the posterior cannot collapse below λ (default 0).", valueName: "λ"))
    var freeBits: Double?
    @Option(help: "bernoulli (BCE, default for images), gaussian (fixed σ), gaussian-learned (a learned σ per pixel or column) or gaussian-heteroscedastic (σ per pixel or cell from the decoder; mlp; the default for a table's numbers, gaussian-learned under 100 rows) or discretized-logistic / beta-binomial (the 256 levels of 8-bit pixels; mlp).")
    var likelihood: VAEConfig.Likelihood?
    @Option(help: "σ of the gaussian likelihood (default 0.1).") var sigma: Double?
    @Option(help: "Hidden activation of the mlp: relu (default) or tanh.") var activation: VAEConfig.HiddenActivation?
    @Flag(help: "Dynamic binarization: pixels re-drawn as Bernoulli(intensity) every batch.") var binarize = false
    @Flag(help: "A conditional VAE: the label's one-hot is an input of the encoder and the decoder (needs labels).")
    var conditional = false
    @Option(help: ArgumentHelp("A denoising VAE: the encoder sees a corrupted copy, redrawn every batch; the loss compares with the clean images (mask: pixels missing at random; box: a missing rectangle, for inpainting).",
                               valueName: "gaussian:σ|saltpepper:p|mask:p|box:p"))
    var corrupt: String?
    @Option(help: "Random seed (initialisation, shuffling, noise).") var seed: UInt64?
    @Option(help: "Clip the global gradient norm.") var clip: Double?
    @Option(name: .customLong("weight-decay"), help: "Adam L2 weight decay.") var weightDecay: Double?
    @Option(name: .customLong("test-limit"), help: "Evaluate on at most N test images per epoch.") var testLimit: Int?
    @Option(name: .customLong("validation-fraction"), help: ArgumentHelp("Early stopping: hold out this share of the training items, score them after every epoch and keep the best epoch's model (default 0: off).", valueName: "f"))
    var validationFraction: Double?
    @Option(help: ArgumentHelp("Early stopping: stop after N epochs without a better validation score (tables: the epochs of 250 steps, at least 20; else: train all --epochs).", valueName: "N"))
    var patience: Int?
    @Option(help: ArgumentHelp("Train only on images with these labels (e.g. the normal classes for `vae anomaly`).", valueName: "c[,c…]"))
    var classes: String?
    // Objective, optimizer and recipe (issue 15; Presets.swift)
    @Option(help: "Training objective: elbo (default) or iwae (the importance-weighted bound, --k samples).")
    var objective: TrainingObjective?
    @Option(name: .customLong("k"), help: "Importance samples per image of --objective iwae (default 1).") var k: Int?
    @Option(name: .customLong("adam-eps"), help: "Adam's ε (default 1e-8).") var adamEps: Double?
    @Option(name: .customLong("lr-schedule"), help: "constant (default), burda2015: --lr·10^(−i/7) for 3^i epochs, i = 0…7, or moses-cpu: --lr for 3 epochs, 0.3× for the next 5, 0.1× from epoch 9 on (12 epochs in the preset's 20).")
    var lrSchedule: ScheduleChoice?
    @Option(name: .customLong("init"), help: "How the weights start: pytorch (default; a burda2015 preset: glorot): kaiming-uniform, as nn.Linear; or glorot: uniform ±√(6/(fan_in+fan_out)), zero biases.")
    var weightInit: WeightInit?
    @Flag(name: .customLong("output-bias-from-data"), inversion: .prefixedNo,
          help: "Start the decoder's output bias at the logit of the training images' mean (mlp, images, a likelihood with one output per pixel: bernoulli, gaussian, gaussian-learned; off by default, on in a burda2015 preset).")
    var outputBiasFromData: Bool?
    @Option(help: ArgumentHelp("A named recipe whose settings apply to every flag not given: burda2015-vae, burda2015-iwae5, burda2015-iwae50, moses-vae, moses-cpu (see the README).", valueName: "name"))
    var preset: TrainPreset?
    @OptionGroup(title: "Sequences (--model gru)") var sequenceOptions: SequenceTrainOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup(title: "Under mpirun (data-parallel training)") var mpiOptions: MPIOptions
    @Option(help: ArgumentHelp("Run folder (default runs/<date-time>).", valueName: "run")) var out: String?
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false
    @Option(name: .customLong("checkpoint-minutes"), help: "Also save a checkpoint every N minutes within an epoch (default 30; 0: at epoch ends only).")
    var checkpointMinutes: Double?
    @Flag(name: .customLong("no-report"), help: "Skip the pictures and report.html.") var noReport = false

    func validate() throws {
        if resume && out == nil { throw ValidationError("--resume needs --out RUN, the run folder to continue") }
        if let l = latent, !(1...4096).contains(l) { throw ValidationError("--latent must be between 1 and 4096") }
        if let e = epochs, e < 0 { throw ValidationError("--epochs must be ≥ 0") }
        if let t = testLimit, t < 1 { throw ValidationError("--test-limit must be ≥ 1 (a test loss of no items would read 0)") }
        if let b = batch, !(1...65536).contains(b) { throw ValidationError("--batch must be between 1 and 65536") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be > 0 (and finite)") }
        if let beta, !(beta >= 0 && beta.isFinite) { throw ValidationError("--beta must be ≥ 0 (and finite)") }
        // infinite values crashed the checkpoint's JSON; others were refused only after the data was read (exit 1)
        if let clip, !(clip > 0 && clip.isFinite) { throw ValidationError("--clip must be > 0 (and finite)") }
        if let w = weightDecay, !(w >= 0 && w.isFinite) { throw ValidationError("--weight-decay must be ≥ 0 (and finite)") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must be ≥ 0") }
        // β·e/E in epoch e: over one epoch that is β from the first batch, as without warm-up
        // (a run resumed with the command line that started it before this check: its own value)
        if warmup == 1 && !resume { throw ValidationError("--warmup 1 is no warm-up: the KL weight is β·e/E in epoch e = 1…E, so one epoch is at β throughout; give 2 or more (2: β/2 in the first epoch)") }
        if let f = validationFraction, !(f >= 0 && f <= 0.5) { throw ValidationError("--validation-fraction must be between 0 (off) and 0.5") }
        if let p = patience, p < 1 { throw ValidationError("--patience must be ≥ 1 epoch") }
        if let freeBits, !(freeBits >= 0 && freeBits <= 1e6) { throw ValidationError("--free-bits must be between 0 and 1000000 nats") }
        if let sigma, !(sigma > 0 && sigma.isFinite) { throw ValidationError("--sigma must be > 0 (and finite)") }
        if let k, !(1...100_000).contains(k) { throw ValidationError("--k must be between 1 and 100000") }
        if let m = checkpointMinutes, !(m >= 0 && m <= 100_000) { throw ValidationError("--checkpoint-minutes must be between 0 and 100000") }
        if let e = adamEps, !(e > 0 && e < 1) { throw ValidationError("--adam-eps must be between 0 and 1") }
        _ = try hiddenSizes()
        if let corrupt { do { _ = try Corruption(parsing: corrupt) } catch let e as VAEError { throw ValidationError(e.message) } }
        try Anomaly.checkClassList(classes, option: "--classes")
    }

    func hiddenSizes() throws -> [Int]? {
        guard let hidden else { return nil }
        // (every piece: "16,,8" trained [16, 8] — a typo made another shape)
        let parts = hidden.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--hidden takes positive widths separated by commas, e.g. 400 or 512,256")
        }
        guard parts.allSatisfy({ $0! <= 65536 }) else { throw ValidationError("--hidden widths must be between 1 and 65536") }
        return parts.map { $0! }
    }

    func run() throws {
        // a preset is a model of its own kind: another --model is a conflict of the two flags (the
        // preset's values were blamed on the user: "--hidden is not for --model gru")
        if let preset, let model {
            let sequence = preset.sequenceRecipe != nil
            if sequence != (model == .gru) {
                throw ValidationError("--preset \(preset.rawValue) trains \(sequence ? "a sequence VAE (--model gru)" : "an mlp or conv VAE on binarized images") and does not go with --model \(model.rawValue): drop one of the two")
            }
        }
        try (preset.map { $0.apply(to: self) } ?? self).train(raw: self)
    }

    /// The mlp or conv model's configuration for items of `shape`, from the flags.
    func feedForwardConfig(_ arch: VAEConfig.Architecture, shape: [Int], conditionSize: Int) throws -> VAEConfig {
        VAEConfig(architecture: arch, inputShape: shape, latent: latent ?? (arch == .mlp ? 20 : 2), hidden: try hiddenSizes(),
                  likelihood: likelihood ?? .bernoulli, gaussianSigma: sigma ?? 0.1, beta: beta ?? 1,
                  warmupEpochs: warmup ?? 0, conditionSize: conditionSize, activation: activation ?? .relu)
    }

    /// An image folder read at --image-size: a model too large for this machine even on gray images
    /// is refused before the images are decoded and cached (a 2048-pixel size decoded for half a
    /// minute, and cached gigabytes, before the same refusal).
    func checkMemoryBeforeDecoding() throws {
        guard let size = dataOptions.imageSize, let path = dataOptions.data, AtomicFile.isDirectory(path) else { return }
        let hw = try ImageFolderOptions.parseSize(size)
        var o = TrainingOptions()
        o.batchSize = batch ?? 128
        o.samples = k
        let cfg = try feedForwardConfig(model ?? .mlp, shape: [dataOptions.channels ?? 1] + hw, conditionSize: 0)
        // a size the model refuses is a usage error here too (exit 2, as for a folder of that size)
        do { try cfg.validate() } catch let e as VAEError { throw ValidationError(e.message) }
        try TrainingRun.checkMemory(cfg, o)
    }

    /// The refusal of a new run in a folder that holds one; `meanwhile`: written there by another
    /// process since this one looked (with --resume, running the command again continues it).
    static func holdsARun(_ dir: String, meanwhile: Bool, resume: Bool) -> VAEError {
        VAEError("\(dir) already holds a run" + (meanwhile ? ", started there by another process while this one read its data; " : "; ")
                 + (resume ? "run this command again to continue it" : "continue it with --resume or choose another --out"))
    }

    /// Conflicts among a new run's flags that need no data (the objective and its K, β, warm-up and
    /// free bits; --patience without a share): usage errors before the data is read — they were said
    /// after it, under the data's line (minutes for MOSES's 1.58 M molecules).
    func checkFlagConflicts() throws {
        // (the model's own conflict first: a sequence preset's β and warm-up are not the user's flags)
        if model == .gru && objective == .iwae { throw ValidationError(Trainer.iwaeNeedsFeedForward(.gru)) }
        if patience != nil && !((validationFraction ?? 0) > 0) {
            throw ValidationError("--patience needs a validation share to score (--validation-fraction f)")
        }
        var o = TrainingOptions()
        o.objective = objective
        o.samples = k
        o.adamEpsilon = adamEps
        o.learningRateSchedule = lrSchedule?.schedule
        var c = VAEConfig(beta: beta ?? 1, warmupEpochs: warmup ?? 0)
        c.freeBits = freeBits
        do {
            try o.validate()
            try Trainer.checkObjective(o, c)
        } catch let e as VAEError { throw ValidationError(e.message) }
    }

    /// `raw`: the command line as given, before a preset filled it in.
    func train(raw: Train) throws {
        // from the first line, as once training runs (Interrupt.install): a reader that went away
        // (`2>&1 | head -1`) killed the command with SIGPIPE at its next note — exit 141, the first
        // checkpoint saved, an empty metrics.jsonl and a lock left behind
        signal(SIGPIPE, SIG_IGN)
        threadOptions.apply()
        // mpirun hands standard input to rank 0 alone: the other ranks read an empty table ("rank 1 of
        // 2: /dev/stdin is empty") after rank 0 had read it
        if let size = Communicator.launchedSize, size > 1, dataOptions.data == "/dev/stdin" {
            throw ValidationError("--data -: under mpirun standard input reaches rank 0 only; give the data as a file every rank can read")
        }
        // a run folder that cannot be made (a file in its path) is said before the data is read
        if let out, !AtomicFile.isDirectory(out) { try AtomicFile.checkFolderPath(out, what: "the run folder") }
        if model == .gru {
            // the image and table flags a sequence VAE has no use for: a usage error, before any data is read
            let given: [(String, Bool)] = [("--hidden", hidden != nil), ("--likelihood", likelihood != nil), ("--sigma", sigma != nil),
                                           ("--activation", activation != nil), ("--binarize", binarize), ("--conditional", conditional),
                                           ("--corrupt", corrupt != nil), ("--classes", classes != nil),
                                           ("--init glorot", weightInit == .glorot), ("--output-bias-from-data", outputBiasFromData == true)]
            if let (flag, _) = given.first(where: { $0.1 }) { throw ValidationError("\(flag) is not for --model gru (a sequence VAE)") }
        }
        // --resume: a run to continue, or (a job killed before its first save) nothing yet. Decided
        // before the MPI ranks join, so that every rank looks before any rank writes.
        var resuming: Checkpoint.Loaded?
        // the run folder's claim before its checkpoint is read: a trainer still running could save
        // in between, and this one would go on from the older copy (under MPI, rank 0's claim)
        let claim = try resume && (Communicator.launchedRank ?? 0) == 0 && AtomicFile.exists(out! + "/" + Checkpoint.weightsFile)
            ? RunFolderLock.acquire(out!) : nil
        defer { withExtendedLifetime(claim) {} }
        if resume, case .run(let loaded) = try Train.resumeTarget(out!) {
            if let damage = loaded.optimizerDamage { throw TrainingRun.cannotResume(damage) }   // (before the data is read)
            // a folder this user cannot write: said before an epoch is trained (it failed at the
            // epoch's end, writing metrics.jsonl, the epoch's work lost)
            if access(out!, W_OK) != 0 {
                throw VAEError("cannot write in \(out!) (\(VAEError.errnoText(errno))): resuming saves the run there — run as its owner, or copy the folder somewhere writable (cp -r) and resume the copy")
            }
            try checkResume(loaded, raw: raw)
            resuming = loaded
        }
        if resuming == nil { try checkFlagConflicts() }
        let comm = try MPIJob.join()  // started by mpirun: one rank of a data-parallel job
        if let comm {
            // every rank must take the same path (resume, or start): one that resumes while another
            // starts waits at a collective the other never reaches — a silent hang
            let seen = try comm.allgather([Int32(resuming == nil ? 0 : 1), Int32(resume ? 1 : 0)])
            if let r = seen.indices.first(where: { seen[$0][1] != seen[0][1] }) {
                // mpirun's ranks may each have their own command line: one with --resume and one
                // without, in a folder both see (not a file system the ranks do not share)
                let (with, without) = seen[0][1] == 1 ? (0, r) : (r, 0)
                throw ValidationError("rank \(with) of \(comm.size) was started with --resume and rank \(without) without it: every rank must run the same command line")
            }
            if let r = seen.indices.first(where: { seen[$0] != seen[0] }) {
                let (with, without) = seen[0][0] == 1 ? (0, r) : (r, 0)
                throw VAEError("rank \(with) of \(comm.size) sees a checkpoint in its --out folder and rank \(without) does not: every rank must see the same run folder (a file system all ranks share, and the same --out)")
            }
        }
        let mpi = comm.map { ($0, mpiOptions.settings) }
        if comm == nil, let note = mpiOptions.unusedNote { Console.note(note) }
        let leader = comm?.isLeader ?? true
        let run: TrainingRun
        let data: Dataset
        if let loaded = resuming {
            let dir = out!
            try dataOptions.checkResume(loaded)
            if let seq = loaded.model.config.sequence {
                data = try dataOptions.trainingSequences(for: loaded, seq, run: dir)
            } else {
                try dataOptions.requireRecordedOrGiven(loaded, run: dir)
                data = try dataOptions.load(fallback: loaded.config?.data?.recordedPath, stored: loaded.config?.data?.imageOptions,
                                           table: loaded.table, resuming: true)
            }
            // a total below what is done would leave "after epoch 3 of 2" (and rewrite the report)
            if let e = epochs, e < loaded.state.epoch {
                throw ValidationError("--epochs \(e) is fewer than the \(loaded.state.epoch) epochs \(dir) has done; --epochs is the total: give \(loaded.state.epoch) or more")
            }
            var changes = TrainingRun.ResumeChanges()
            changes.epochs = epochs
            changes.learningRate = lr
            changes.clipNorm = clip
            changes.weightDecay = weightDecay
            changes.testLimit = testLimit
            MPIJob.noReport = noReport
            MPIJob.runFolder = dir
            do {
                run = try TrainingRun.resume(directory: dir, loaded: loaded, data: data, changes: changes, mpi: mpi)
            } catch let e as VAEError where e.message.hasPrefix("the data is not what the run trained on") {
                // an image folder's files say what changed (the message gave only the data's fingerprints)
                guard let then = loaded.config?.data?.imageFiles, let now = data.imageFolder?.fileList,
                      let changed = ImageFolder.changedFiles(then: then, now: now) else { throw e }
                throw VAEError("\(data.directory) has changed since the run trained on it (\(changed)): \(e.message)")
            }
            if let then = loaded.state.kernels, then != Trainer.kernels {
                Console.note("note: \(dir) trained with the \(then) kernels and continues with \(Trainer.kernels) (another CPU, VAE_CPU or VAE_GEMM): the same run to rounding, not bit for bit")
            }
            Console.note("resuming \(dir) \(run.trainer.state.position(of: run.trainer.options.epochs))")
        } else {
            if resume { Console.note("no checkpoint in \(out!) yet: starting the run there (the same command continues it later)") }
            var vocabulary: [String] = []
            if model == .gru {
                // a flag conflict: said before the data is read (it was a data error after reading it)
                if objective == .iwae {
                    throw ValidationError(Trainer.iwaeNeedsFeedForward(.gru))
                }
                (data, vocabulary) = try dataOptions.loadSequencesForTraining(sequenceOptions, preset: preset?.rawValue)
            } else {
                if sequenceOptions.given || dataOptions.textColumn != nil {
                    let flags = sequenceOptions.givenFlags + (dataOptions.textColumn == nil ? [] : ["--text-column"])
                    let named = flags.count == 1 ? flags[0] + " is" : flags.dropLast().joined(separator: ", ") + " and " + flags.last! + " are"
                    throw ValidationError("\(named) for sequences (text, SMILES): add --model gru")
                }
                try checkMemoryBeforeDecoding()
                data = try dataOptions.load()
            }
            var dir = out ?? Train.defaultRunFolder()
            if let comm {  // MPI: rank 0's folder (the default name comes from its clock)
                var bytes = Array(dir.utf8)
                try comm.broadcast(&bytes)
                dir = String(decoding: bytes, as: UTF8.self)
            }
            if FileManager.default.fileExists(atPath: dir + "/" + Checkpoint.weightsFile) {
                // (with --resume: another process's first save since this one looked — it was told to add --resume)
                throw Train.holdsARun(dir, meanwhile: resume, resume: resume)
            }
            // a run's description without its weights (a recipe kept, a folder copied without them) is not overwritten
            if FileManager.default.fileExists(atPath: dir + "/" + Checkpoint.configFile) {
                throw VAEError("\(dir) holds a run's \(Checkpoint.configFile) (without its weights); choose another --out, or remove the folder to start over there")
            }
            // (--resume with no checkpoint yet: the folder's run files are an earlier start's, killed before its first save)
            if !resume { try Train.refuseOverwriting(in: dir) }
            // the run's pictures inside the data folder would become data (a loose image, a new class)
            if AtomicFile.isDirectory(data.directory), let root = AtomicFile.realPath(data.directory),
               let target = AtomicFile.absolutePath(dir), target == root || target.hasPrefix(root == "/" ? "/" : root + "/") {
                throw ValidationError("--out \(dir) is inside the data folder \(data.directory): the run's pictures would become data; write the run elsewhere")
            }
            try comm?.barrier()  // MPI: every rank has checked before rank 0 writes
            let arch = model ?? .mlp
            // recorded in config.json and used by nothing (the conv net's activations are ReLU; only
            // the fixed-σ Gaussian has a --sigma): refused instead of ignored
            if activation != nil && arch != .mlp { throw ValidationError("--activation is for --model mlp; the \(arch.rawValue) model's activations are fixed") }
            if sigma != nil && likelihood != .gaussian { throw ValidationError("--sigma is the fixed σ of --likelihood gaussian") }
            if outputBiasFromData == true && arch != .mlp {
                throw ValidationError("--output-bias-from-data needs --model mlp (a transposed convolution has one bias per channel, not per pixel)")
            }
            if outputBiasFromData == true, let l = likelihood, !VAEConfig.Likelihood.oneOutputPerPixel.contains(l) {
                throw ValidationError("--output-bias-from-data sets one output per pixel to the logit of its mean; --likelihood \(l.rawValue) reads two per pixel: drop one of them (--no-output-bias-from-data under a preset)")
            }
            var cfg = try feedForwardConfig(arch, shape: data.itemShape, conditionSize: conditional ? data.classNames.count : 0)
            if classes != nil && !data.train.hasLabels {   // it trained on every item, after a note naming the classes
                throw ValidationError("--classes needs labels, and \(data.directory) has none (a flat folder, or a table without --label)")
            }
            let chosenClasses = try Anomaly.parseClasses(classes, classNames: data.classNames, option: "--classes")
            var batchSize = batch ?? 128, epochCount = epochs ?? 10
            var validationShare: Double? = nil, patienceEpochs: Int? = nil
            if arch == .gru {
                var seq = try sequenceOptions.config(vocabulary: vocabulary, reading: data.sequence!)
                seq.molecules = Molecules.detect(data, seq, textColumn: dataOptions.textColumn)
                // (a .smi file's lines are SMILES whatever its names look like: a name of several
                // words kept its lines from being counted as molecules, and it trained without a word)
                if seq.molecules || Molecules.isSMILESFile(data.directory) { try Molecules.refuseNames(data, seq) }
                if seq.molecules { Console.note("the items are SMILES: samples are checked for valid molecules after every epoch") }
                sequenceOptions.noteInput(seq)
                cfg = VAEConfig(sequence: seq, latent: latent ?? 64, beta: beta ?? 1, warmupEpochs: warmup ?? 0)
            }
            if data.table != nil {
                // A table: an mlp over the encoded row; Gaussian for the numbers (a σ per cell, or per
                // column for a few dozen rows), categorical for the text columns; sizes and epochs that
                // suit a few hundred rows too.
                guard arch == .mlp else { throw ValidationError("tables train with --model mlp (the conv model is for images)") }
                guard !binarize else { throw ValidationError("--binarize is for images; a table's numbers are standardised, not intensities") }
                // gaussian noise is clipped to [0, 1], salt-and-pepper sets 0 or 1, a box is a rectangle
                // of pixels: on standardised numbers and one-hot codes only mask:p means anything
                if let c = corrupt, !(try Corruption(parsing: c)).isMask {
                    throw ValidationError("--corrupt \(c) is for images (pixel values in [0, 1], rectangles); a table takes --corrupt mask:p (cells hidden at random)")
                }
                // the sizes, likelihood and length a table gets where the flags say nothing (the library's
                // TableRecipe: early stopping only when asked for — on scikit-learn's tables it lost to a
                // fixed length, the hold-out of a few dozen rows too small to judge by)
                var choices = TableRecipe.Choices()
                choices.likelihood = likelihood
                choices.latent = latent
                choices.hidden = try hiddenSizes()
                choices.sigma = sigma
                choices.batchSize = batch
                choices.epochs = epochs
                choices.validationFraction = validationFraction ?? 0
                choices.patience = patience
                choices.classes = chosenClasses
                let recipe: TableRecipe
                do { recipe = try TableRecipe.make(cfg, data: data, choices) } catch let e as VAEError where e.isUsage { throw ValidationError(e.message) }
                if recipe.small && (likelihood == nil || batch == nil) {
                    let chosen = [likelihood == nil ? "one σ per column (--likelihood gaussian-learned)" : nil,
                                  batch == nil ? "batches of \(recipe.smallBatch)" : nil].compactMap { $0 }
                    Console.note("\(Console.counted(recipe.rows, "row")) to train on (under \(TableRecipe.fewRows)): \(chosen.joined(separator: " and "))")
                }
                cfg = recipe.config
                batchSize = recipe.batchSize
                epochCount = recipe.epochs
                validationShare = recipe.validationFraction
                patienceEpochs = recipe.patience
            } else if let f = validationFraction, f > 0 {
                validationShare = f
                patienceEpochs = patience
            }
            if let f = freeBits, f > 0 { cfg.freeBits = f }
            if conditional && !data.train.hasLabels {
                throw ValidationError("--conditional needs labels, and \(data.directory) has none (use class folders, IDX/CIFAR labels or a table's --label)")
            }
            var o = TrainingOptions()
            o.epochs = epochCount
            o.batchSize = batchSize
            o.learningRate = lr ?? 1e-3
            o.seed = seed ?? 1
            o.binarize = binarize
            o.clipNorm = clip
            o.weightDecay = weightDecay ?? 0
            o.testLimit = testLimit
            o.classes = chosenClasses.map { $0.sorted() }
            o.corrupt = try corrupt.map { try Corruption(parsing: $0) }
            o.objective = objective
            o.samples = k
            o.adamEpsilon = adamEps
            o.learningRateSchedule = lrSchedule?.schedule
            o.weightInit = weightInit
            o.outputBiasFromData = outputBiasFromData == true ? true : nil
            o.validationFraction = validationShare
            o.patience = patienceEpochs
            if let p = preset { Console.note("preset \(p.rawValue): \(Train.describe(o))") }
            // The model and training settings come from the command line: what they refuse is a usage
            // error (exit 2, the README's rule), before anything is built — as the flags' own checks.
            do {
                try cfg.validate()
                try o.validate()
                try Trainer.checkObjective(o, cfg)
            } catch let e as VAEError { throw ValidationError(e.message) }
            try Train.requireBothSplits(data, classes: o.classes)
            do {
                run = try TrainingRun.start(directory: dir, model: cfg, options: o, data: data, mpi: mpi)
            } catch let e as VAEError where e.message.hasPrefix("\(dir) already holds a run") {
                // (another vae train started a run there since the checks above; the library's words
                // named its own API)
                throw Train.holdsARun(dir, meanwhile: true, resume: resume)
            }
            if cfg.warmupEpochs > o.epochs && o.epochs > 0 {   // (the KL weight never reached β, without a word)
                Console.note("note: the KL warm-up (--warmup \(cfg.warmupEpochs)) is longer than the run (--epochs \(o.epochs)): the KL weight ends at \(String(format: "%.3g", cfg.beta * Double(o.epochs) / Double(cfg.warmupEpochs))), not β = \(cfg.beta) — more epochs later (vae train --resume --epochs N) finish the warm-up")
            }
            if let c = o.classes { Console.note("training on classes \(c.map { Encode.className($0, data.classNames) }.joined(separator: ", ")) only: \(run.trainer.data.train.count) \(data.itemNoun)s") }
            // the data line counted the training split before the hold-out
            if let held = run.trainer.validation {
                Console.note("early stopping: \(ProgressDisplay.grouped(Double(held.count))) of the training \(data.itemNoun)s held out to score each epoch (--validation-fraction \(o.validationFraction ?? 0)): \(ProgressDisplay.grouped(Double(run.trainer.data.train.count))) trained on")
            }
            MPIJob.noReport = noReport
            MPIJob.runFolder = dir   // a checkpoint is there now: the message of a stopped job may point at it
            Console.note("run folder: \(dir)  (\(cfg.architecture.rawValue), latent \(cfg.latent), \(run.model.parameterCount) parameters, \(comm.map { "\(Console.counted($0.size, "MPI rank")) × " } ?? "")\(Console.counted(ThreadPool.threadCount, "thread")))")
        }
        if let seq = run.model as? SequenceVAE, seq.sequence.molecules {
            // the share of valid molecules among 1,000 prior samples, after every epoch (its own seed)
            run.trainer.sampleCheck = { _, epoch in Molecules.validShare(seq, count: 1000, seed: 0x5A17 &+ UInt64(epoch)) }
        }
        let progress = ProgressDisplay(totalEpochs: run.trainer.options.epochs, live: Console.stderrIsTerminal && leader)
        progress.batchImages = run.trainer.options.batchSize
        progress.rateUnit = ProgressDisplay.rateUnit(run.model)
        if MPIJob.comm != nil { Interrupt.whenStuck = MPIJob.stoppedByMPIRun }
        Interrupt.install()
        // A checkpoint every --checkpoint-minutes within an epoch: the run stops after a batch (the
        // same way Ctrl-C stops it), saves, and goes on in this process — the same numbers as
        // without the stop.
        let every = (checkpointMinutes ?? 30) * 60
        var due = Date().addingTimeInterval(every)
        let checkpointDue = { every > 0 && Date() >= due }
        run.trainer.parallel?.localStop = { Interrupt.isRequested || checkpointDue() }
        run.trainer.parallel?.localInterrupt = { Interrupt.isRequested }
        let stop = run.trainer.parallel.map { p in { Interrupt.batchDone(); return p.stopRequested } }  // MPI: the ranks agree
            ?? { Interrupt.isRequested || checkpointDue() }
        var outcome: TrainingRun.Outcome
        while true {
            do {
                outcome = try run.run(shouldStop: stop, events: leader ? progress.handle : { _ in })
            } catch let e as VAEError where !e.message.contains("--resume") && !e.message.contains("diverged") {
                // a save that failed (a full disk, a file system gone read-only): what is on disk is the
                // last checkpoint, and the same run continues from it once the cause is mended
                progress.clear()
                throw VAEError(e.message + "; \(run.directory) keeps its last checkpoint — then continue with: \(Train.resumeLine(run.directory, noReport: noReport))")
            }
            // an interrupt of any rank ends every rank (the one signalled is not the only one to stop)
            guard outcome == .interrupted && !Interrupt.isRequested && run.trainer.parallel?.interruptRequested != true else { break }
            due = Date().addingTimeInterval(every)
            if leader { Console.note("checkpoint saved \(run.trainer.state.position(of: run.trainer.options.epochs))") }
        }
        // a signal now ends the command at once; said only while a report is being written
        let reportDue = leader && !noReport && !run.metrics.isEmpty
        Interrupt.afterTraining = reportDue ? "interrupted: training has ended and its checkpoint is saved; the report was not written (vae report \(run.directory) writes it)" : ""
        Interrupt.finishing()   // no batch follows: a signal now is no sign of a stuck job
        progress.clear()
        if let p = run.trainer.parallel, leader, ProcessInfo.processInfo.environment["VAE_MPI_STATS"] != nil {
            Console.note(String(format: "mpi: %d ranks, %d gradient buckets, %.3f s waiting for the gradient sum after the backward, %.0f%% of it summed during the backward, %.0f%% of the buckets started during it", p.size, p.bucketCount, p.reduceWaitSeconds, 100 * p.overlappedFraction, 100 * p.startedDuringBackwardFraction))
        }
        if leader && !noReport && run.metrics.isEmpty && outcome == .interrupted {
            // (no report and no word of it: vae report then said "nothing to report yet")
            Console.note("note: no report: the run stopped before its first epoch ended (vae report \(run.directory) writes one once an epoch has)")
        }
        if leader && !noReport && !run.metrics.isEmpty {  // MPI: rank 0 writes
            let path = try RunReport.write(directory: run.directory, model: run.model, metrics: run.metrics,
                                           options: run.trainer.options, data: data, seed: run.trainer.options.seed, state: run.trainer.state)
            print("report: \(path)")
        }
        // (mpirun's SIGTERM to a rank that already stopped with the others: nothing more to say)
        Interrupt.afterTraining = ""
        if outcome == .interrupted {
            Console.note("stopped \(run.trainer.state.position(of: run.trainer.options.epochs)); checkpoint saved. Resume with: \(Train.resumeLine(run.directory, noReport: noReport))")
            throw ExitCode(Interrupt.exitCode)
        }
        if leader, let m = run.metrics.last {
            let st = run.trainer.state
            if let b = st.bestEpoch, let v = st.bestValidation, let held = run.trainer.validation {
                Console.note(String(format: "early stopping: %@ held-out items scored every epoch; the best (%.2f nats/item) was epoch %d, and the model kept is that epoch's%@",
                                    ProgressDisplay.grouped(Double(held.count)), v, b,
                                    st.stoppedEarly == true ? " (stopped after \(Console.counted(m.epoch - b, "epoch")) without a better score)" : ""))
            }
            // the model kept is the best epoch's: its test loss, not the last epoch's
            let kept = st.bestEpoch.flatMap { b in run.metrics.last { $0.epoch == b } } ?? m
            print(String(format: "done: %@, test loss %.2f nats/%@ (z=μ %.2f)%@; model in %@", Console.counted(m.epoch, "epoch"), kept.test_loss,
                         data.itemNoun, kept.test_loss_mu, kept.epoch == m.epoch ? "" : " of epoch \(kept.epoch), the model kept", run.directory))
        } else if leader && run.trainer.options.epochs == 0 {
            // --epochs 0 writes the run's initialised model (to inspect the init, or time start-up)
            // (under mpirun the line names it, as the other resume lines: Train.resumeLine)
            print("done: no epoch trained (--epochs 0): \(run.directory) holds the initialised model; train it with \(Train.resumeLine(run.directory, noReport: noReport).replacingOccurrences(of: "--resume --out", with: "--resume --epochs N --out"))")
        }
    }

    /// The learning rate and its schedule: "lr 0.001 ×1.0 for 3, ×0.3 for 5, ×0.1 for 12 epochs".
    static func learningRateText(_ o: TrainingOptions) -> String {
        switch o.learningRateSchedule {
        case nil: return "lr \(o.learningRate)"
        case .burda2015?: return "lr \(o.learningRate)·10^(−i/7) for 3^i epochs"
        case let s?: return "lr \(o.learningRate)" + zip(s.epochs, s.factors).map { " ×\($0.1) for \($0.0)" }.joined(separator: ",") + " epochs"
        }
    }

    /// The training recipe in one line.
    static func describe(_ o: TrainingOptions) -> String {
        let obj = o.trainingObjective == .iwae ? "IWAE k = \(o.importanceSamples)" : "ELBO"
        // every option that shapes the run (a tanh, denoising, early-stopped run read as a plain one)
        var extra: [String] = []
        if o.weightDecay > 0 { extra.append("weight decay \(o.weightDecay)") }
        if let c = o.clipNorm { extra.append("gradients clipped at norm \(c)") }
        if let c = o.corrupt { extra.append("inputs corrupted \(c) (denoising)") }
        if let f = o.validationFraction, f > 0 {
            extra.append("\(f) of the training items held out, the best epoch's model kept" + (o.patience.map { ", stopping after \($0) epochs without a better one" } ?? ""))
        }
        if let n = o.testLimit { extra.append("test loss per epoch on the first \(n) test items") }
        return "\(obj), \(Console.counted(o.epochs, "epoch")), batch \(o.batchSize), \(learningRateText(o)), Adam ε \(o.adamEpsilonValue)\(o.binarize ? ", dynamic binarization" : "")\(o.weightInit == .glorot ? ", Glorot-uniform init" : "")\(o.outputBiasFromData == true ? ", output bias at the data mean's logit" : "")"
            + extra.map { ", " + $0 }.joined()
    }

    static func defaultRunFolder() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.locale = Locale(identifier: "en_US_POSIX")
        return "runs/" + f.string(from: Date())
    }
}

extension Train {
    /// The command that continues a run: under mpirun with the job's size (the same ranks give
    /// the same numbers), with --no-report if this one had it, the folder quoted for a shell.
    static func resumeLine(_ dir: String, noReport: Bool) -> String {
        let safe = !dir.isEmpty && dir.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._/-+=:@,".unicodeScalars.contains($0) }
        let folder = safe ? dir : "'" + dir.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let mpi = MPIJob.comm.map { "mpirun -np \($0.size) " } ?? ""
        return "\(mpi)vae train --resume --out \(folder)\(noReport ? " --no-report" : "")"
    }

    /// A new run in a folder that exists already (made by the user, holding a log it tees to): the
    /// files the run would write must not be there — they are someone's, and would be replaced.
    static func refuseOverwriting(in dir: String) throws {
        guard AtomicFile.isDirectory(dir) else { return }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw VAEError("--out \(dir): cannot list the folder (\((error as NSError).localizedDescription)); check its permissions or choose another --out")
        }
        // an empty metrics.jsonl is a start that failed before its first save (a table too large for a
        // checkpoint, a full disk): nothing to lose, and a new run there was refused
        let taken = names.filter(RunReport.isRunFile).filter { name in
            !(name == TrainingRun.metricsFile && AtomicFile.regularFileSize(dir + "/" + name) == 0)
        }.sorted()
        guard !taken.isEmpty else { return }
        let shown = taken.prefix(4).joined(separator: ", ") + (taken.count > 4 ? " and \(taken.count - 4) more" : "")
        throw VAEError("\(dir) already holds \(shown) — files a run writes, but no \(Checkpoint.weightsFile) to resume: a new run would replace them; choose another --out, or move them away (a run of this command stopped before its first save: add --resume)")
    }

    /// A run trains on the training split and scores the test split after every epoch: neither may
    /// be empty (a one-image folder, a one-row table, or --classes with no test item gave a "test
    /// 0.00" and then a crash in the report). Checked before the run folder is made.
    static func requireBothSplits(_ data: Dataset, classes: [Int]?) throws {
        let train = classes.map { data.train.filtered(classes: Set($0)).count } ?? data.train.count
        let test = classes.map { data.test.filtered(classes: Set($0)).count } ?? data.test.count
        guard train == 0 || test == 0 else { return }
        let unit = data.itemNoun + "s"
        let chosen = classes == nil ? "" : " of the --classes chosen"
        let fix: String
        if train == 0 {
            fix = "nothing to train on; give more data"
        } else if data.table != nil || !data.isImages {
            fix = "too few to hold out a test set: give more data" + (train + test >= 2 ? " or a larger --test-fraction" : "")
        } else if data.imageFolder.map({ !$0.ownSplit }) != true {
            // a split of its own (IDX, CIFAR-10, train/ and test/): --test-fraction is no way out
            fix = "the data's own test split (its test files or test folder) holds too few: add test items\(classes == nil ? "" : " of these classes")"
        } else {
            // (one image stays in training whatever the fraction)
            fix = "too few to hold out a test set: give more images" + (train + test >= 2 ? ", a test/ folder beside train/, or a larger --test-fraction" : " or a test/ folder beside train/")
        }
        throw VAEError("\(data.directory): \(train) train and \(test) test \(unit)\(chosen) — \(fix)")
    }
}

extension Dataset {
    /// What one of the data's items is, in messages: "image", "row" (a table) or "item".
    var itemNoun: String { isImages ? "image" : table != nil ? "row" : "item" }
}
