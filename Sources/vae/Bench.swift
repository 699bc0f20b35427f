import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Training throughput (images/s, GFLOP/s, peak memory); --kernels: the GEMM table.",
        discussion: "Build with -c release for meaningful numbers. The last line of stdout is one JSON object."
    )
    @Flag(help: "Benchmark the matrix-multiply kernels instead of training.") var kernels = false
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Architecture: mlp, conv or gru (a sequence VAE: --data FILE of items).") var model: VAEConfig.Architecture = .mlp
    @Option(help: "Latent dimensions (default 20 for mlp, 2 for conv).") var latent: Int?
    @Option(help: "Hidden width(s), comma-separated.") var hidden: String?
    @Option(name: .customLong("epochs"), help: "Epochs to time (mlp, conv; default 1).") var epochsGiven: Int?
    var epochs: Int { epochsGiven ?? 1 }
    @Option(help: "Batch size (default 128; moses-vae: 512).") var batch: Int?
    @Flag(help: "Use random images of MNIST's shape instead of data.") var random = false
    @OptionGroup(title: "Sequences (--model gru)") var sequenceOptions: SequenceTrainOptions
    @Option(help: "gru: the MOSES VAE's shape and batch (moses-vae: encoder 1x256, decoder 3x512, latent 128, batch 512; moses-cpu: decoder 1x512, batch 128).")
    var preset: TrainPreset?
    @Option(name: .customLong("batches"), help: "gru: training steps to time, after 2 untimed ones (default 20).") var batchesGiven: Int?
    var batches: Int { batchesGiven ?? 20 }
    @Option(name: .customLong("seed"), help: "Random seed (initialisation, batch order, noise; default 1) — for comparing the loss of two builds.") var seedGiven: UInt64?
    var seed: UInt64 { seedGiven ?? 1 }
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...1000).contains(epochs) else { throw ValidationError("--epochs must be between 1 and 1000") }
        if let batch, !(1...65536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536") }
        // --kernels builds its products from these without a model's checks (--latent 0 crashed the GEMM)
        if let latent, !(1...4096).contains(latent) { throw ValidationError("--latent must be between 1 and 4096") }
        // a flag that the chosen benchmark would not use is refused, not ignored
        let sequence = model == .gru || preset?.sequenceRecipe != nil
        let data = dataOptions.data != nil || dataOptions.textColumn != nil
        let ignored: [(Bool, String)] = kernels
            ? [(model != .mlp, "--model"), (epochsGiven != nil, "--epochs"), (random, "--random"), (data, "--data and --text-column"),
               (preset != nil, "--preset"), (batchesGiven != nil, "--batches"), (seedGiven != nil, "--seed"),
               (sequenceOptions.given, "the sequence options")]
            : sequence
            ? [(epochsGiven != nil, "--epochs (a sequence benchmark times --batches steps)"), (random, "--random"), (hidden != nil, "--hidden (the GRUs' sizes: --encoder, --decoder)")]
            : [(batchesGiven != nil, "--batches (an mlp or conv benchmark times --epochs)"), (sequenceOptions.given || dataOptions.textColumn != nil, "the sequence options (add --model gru)"),
               (random && dataOptions.data != nil, "--random with --data")]
        let what = kernels ? "vae bench --kernels" : sequence ? "a sequence benchmark" : model == .mlp ? "an mlp benchmark" : "a conv benchmark"
        if let (_, flag) = ignored.first(where: { $0.0 }) {
            let plural = flag.hasPrefix("the ") || flag.contains(" and ")
            throw ValidationError("\(flag) \(plural ? "are" : "is") not used by \(what); drop \(plural ? "them" : "it")")
        }
    }

    func run() throws {
        threadOptions.apply()
        if kernels { return try runKernels() }
        if model == .gru || preset?.sequenceRecipe != nil { return try runSequence() }
        let data: Dataset
        if random {
            data = Bench.randomData()
        } else {
            // An explicit --data that cannot be read is an error, not a silent switch to random images.
            // So is $VAE_DATA or a data set that is there but broken: only "no data anywhere" falls back.
            do { data = try dataOptions.load() } catch let e as VAEError where dataOptions.data == nil && e.message.hasPrefix("no data found") {
                Console.note("no data found: using random images of MNIST's shape")
                data = Bench.randomData()
            }
        }
        let widths = try hiddenWidths()
        let cfg = VAEConfig(architecture: model, inputShape: data.itemShape,
                            latent: latent ?? (model == .mlp ? 20 : 2), hidden: widths)
        var o = TrainingOptions()
        o.seed = seed
        o.epochs = epochs
        o.batchSize = batch ?? 128
        o.testLimit = 100
        // as vae train: one line, not a failed allocation's trap, for a model past the memory there is
        try TrainingRun.checkMemory(cfg, o, items: data.train.count)
        let vae = try VAE(config: cfg, seed: seed)
        let trainer = try Trainer(model: vae, data: data, options: o)
        // (the bench times training: its test loss is a check, of a few images — not vae train's)
        if data.test.count > 100 { Console.note("note: the test loss of each epoch is of the first 100 of the \(data.test.count) test images (vae train scores them all)") }
        let t0 = Date()
        var first: Double?
        var metrics: [EpochMetrics] = []
        for _ in 0..<epochs {
            if case .finished(let m) = try trainer.runEpoch(events: { e in
                if first == nil, case .batch = e { first = Date().timeIntervalSince(t0) }
            }) {
                metrics.append(m)
                print(ProgressDisplay.epochLine(m, total: epochs, unit: ProgressDisplay.rateUnit(trainer.model)))
            }
        }
        // With 2 or more epochs the first one (warm-up: page faults, buffer sizing, CPU
        // frequency) is not counted: images/s is the median of the later epochs.
        let perEpoch = metrics.map { $0.images_per_second }
        let timed = perEpoch.count >= 2 ? Array(perEpoch.dropFirst()) : perEpoch
        let sorted = timed.sorted()
        let ips = sorted.isEmpty ? 0 : (sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                                        : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        let flops = Bench.trainingFLOPsPerImage(vae)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let result: [String: Any] = [
            "images_per_second": ips.rounded(),
            "epoch_images_per_second": perEpoch.map { $0.rounded() },
            "gflops": (ips * flops / 1e9 * 10).rounded() / 10,
            "mflop_per_image": (flops / 1e6 * 100).rounded() / 100,
            "peak_rss_mib": (Double(usage.ru_maxrss) / 1024 * 10).rounded() / 10,
            "model": model.rawValue, "latent": cfg.latent, "hidden": cfg.hidden, "batch": batch ?? 128,
            "threads": ThreadPool.threadCount, "epochs": epochs, "data": data.name, "train_images": data.train.count,
            "first_batch_seconds": ((first ?? 0) * 1000).rounded() / 1000,
            "final_train_loss": metrics.last.map { ($0.train_loss * 100).rounded() / 100 } ?? 0,
            "gemm": GEMM.description, "seed": seed,
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    func runKernels() throws {
        let threads = ThreadPool.threadCount
        // --hidden, --batch or --latent: the products of one training step of that mlp VAE
        // (784 inputs, Fashion-MNIST's shape); else the fixed table.
        var step: [KernelBenchmark.Product]?
        var stepText = ""
        if hidden != nil || batch != nil || latent != nil {
            guard model == .mlp else { throw ValidationError("--kernels with --hidden, --batch or --latent times an mlp VAE's step: use --model mlp") }
            let widths = try hiddenWidths() ?? [400]
            let z = latent ?? 20, b = batch ?? 128
            step = KernelBenchmark.mlpStepProducts(input: 784, hidden: widths, latent: z, batch: b)
            stepText = "784-\(widths.map(String.init).joined(separator: "-"))-\(z) mlp, batch \(b)"
            // each product's A, B and C in floats (and their packed copies): one line, not a failed
            // allocation's abort, past the memory there is
            let bytes = step!.map { (p: KernelBenchmark.Product) -> Double in
                let (m, n, k) = (Double(p.m), Double(p.n), Double(p.k))
                return 8 * (m * k + k * n) + 4 * m * n
            }.max() ?? 0
            if let (limit, name) = MemoryLimit.current, bytes > limit {
                throw VAEError("the step's largest product needs about \(MemoryLimit.text(bytes)) for its matrices, more than \(name) \(MemoryLimit.text(limit)) of memory: lower --hidden, --batch or --latent")
            }
        }
        let rows = KernelBenchmark.run(threads: threads > 1 ? [1, threads] : [1], includeBLAS: GEMM.isOpenBLASAvailable,
                                       products: step)
        print(KernelBenchmark.format(rows))
        var stepEntries: [[String: Any]] = []
        if step != nil {
            for column in KernelBenchmark.columns(rows) {
                let part = rows.filter { "\($0.backend), \($0.threads)T" == column }
                let seconds = part.reduce(0) { $0 + $1.seconds }
                let flops = part.reduce(0.0) { $0 + 2.0 * Double($1.m) * Double($1.n) * Double($1.k) }
                print("one training step's products (\(stepText)), \(column): \(KernelBenchmark.format1(seconds * 1e6)) µs, "
                      + "\(KernelBenchmark.format1(flops / seconds / 1e9)) GFLOP/s")
                stepEntries.append(["backend": part[0].backend, "threads": part[0].threads,
                                    "microseconds": (seconds * 1e7).rounded() / 10, "gflops": (flops / seconds / 1e8).rounded() / 10])
            }
        }
        var sparseEntries: [[String: Any]] = []
        if step != nil {
            let first = try hiddenWidths()?.first ?? 400, b = batch ?? 128
            let sparse = (threads > 1 ? [1, threads] : [1]).map { t in (t, KernelBenchmark.sparseFirstLayer(units: first, inputs: 784, batch: b, threads: t)) }
            let zeros = sparse[0].1.zeros
            print("enc1 dW=dyᵀ·x skipping the ReLU layer's zeros (\(first)x784 from batch \(b), \(Int((zeros * 100).rounded()))% zeros, "
                  + "units on at uneven rates as in training), dense → sparse: " + sparse.map { t, r in
                      "\(t) thread\(t == 1 ? "" : "s") \(KernelBenchmark.format1(r.dense)) → \(KernelBenchmark.format1(r.sparse)) µs"
                  }.joined(separator: ", ") + (GEMM.kernelLevel >= 2 ? "" : " (this kernel level has no sparse product)"))
            sparseEntries = sparse.map { t, r in
                ["threads": t, "dense_microseconds": (r.dense * 10).rounded() / 10, "sparse_microseconds": (r.sparse * 10).rounded() / 10,
                 "zeros": (r.zeros * 1000).rounded() / 1000]
            }
        }
        let adam = (threads > 1 ? [1, threads] : [1]).map { t in (t, KernelBenchmark.adamNanosecondsPerParameter(threads: t)) }
        print("Adam update, 651,264 parameters (the h400 mlp): " + adam.map { t, ns in
            "\(t) thread\(t == 1 ? "" : "s") \(KernelBenchmark.format1(ns * 651_264 / 1000)) µs (\((ns * 1000).rounded() / 1000) ns/parameter)"
        }.joined(separator: ", "))
        let entries: [[String: Any]] = rows.map {
            ["name": $0.name, "backend": $0.backend, "threads": $0.threads, "gflops": ($0.gflops * 10).rounded() / 10]
        }
        let adamEntries: [[String: Any]] = adam.map { ["threads": $0.0, "ns_per_parameter": ($0.1 * 1000).rounded() / 1000] }
        var object: [String: Any] = ["kernels": entries, "adam": adamEntries, "gemm": GEMM.description]
        if step != nil { object["step"] = stepEntries; object["step_model"] = stepText; object["sparse_dw1"] = sparseEntries }
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// --hidden's widths (nil when not given).
    func hiddenWidths() throws -> [Int]? {
        try hidden.map { h in
            try h.split(separator: ",", omittingEmptySubsequences: false).map { s -> Int in
                guard let v = Int(s), v > 0 else { throw ValidationError("--hidden takes positive widths, e.g. 400 or 512,256") }
                return v
            }
        }
    }

    /// Matrix-product FLOPs of one training step per image, from the model's description of
    /// what runs (no input gradient for the first layer).
    static func trainingFLOPsPerImage(_ vae: VAE) -> Double { vae.trainingFLOPsPerExample }

    static func randomData() -> Dataset {
        var rng = RNG(seed: 1)
        func set(_ n: Int) -> ImageSet {
            ImageSet(images: (0..<(n * 784)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, labels: [UInt8](repeating: 0, count: n),
                     count: n, channels: 1, height: 28, width: 28)
        }
        return Dataset(name: "random", directory: "(random)", train: set(60000), test: set(100), classNames: ["random"])
    }
}

extension Bench {
    /// Training steps of a sequence VAE on batches of real items: items/s and tokens/s (the
    /// tokens each step predicts, <eos> included), Adam and clipping as in training.
    func runSequence() throws {
        var seq = sequenceOptions
        var latentSize = latent ?? 64, batchSize = batch ?? 128, clip: Double? = nil
        if let p = preset {
            guard let r = p.sequenceRecipe else { throw ValidationError("--preset for vae bench is moses-vae or moses-cpu") }
            seq.tokens = seq.tokens ?? .characters
            seq.encoder = seq.encoder ?? r.encoder
            seq.decoder = seq.decoder ?? r.decoder
            latentSize = latent ?? r.latent
            batchSize = batch ?? r.batch
            clip = r.clip
        }
        guard (1...100_000).contains(batches) else { throw ValidationError("--batches must be between 1 and 100000") }
        let (data, vocabulary) = try dataOptions.loadSequencesForTraining(seq)
        let cfg = VAEConfig(sequence: try seq.config(vocabulary: vocabulary, reading: data.sequence!), latent: latentSize)
        seq.noteInput(cfg.sequence!)
        var o = TrainingOptions()
        o.batchSize = batchSize
        try TrainingRun.checkMemory(cfg, o, longestItem: (data.train as? SequenceSource)?.longestItem, items: data.train.count)
        let model = try SequenceVAE(config: cfg, seed: seed)
        let adam = Adam(model.store, learningRate: 3e-4)
        let train = data.train
        let n = train.count, w = cfg.inputSize, k = cfg.latent
        var rng = RNG(seed: seed &+ 6)   // 7 for the default seed, as before the option
        let perm = rng.permutation(n)
        let x = Tensor(shape: [batchSize, w]), eps = Tensor(shape: [batchSize, k])
        var items = 0, tokens = 0
        var seconds = 0.0
        var lastLoss = 0.0
        for step in 0..<(batches + 2) {
            let lo = (step * batchSize) % max(1, n - batchSize + 1)
            let b = min(batchSize, n - lo)
            let xb = x.prefixView(shape: [b, w]), eb = eps.prefixView(shape: [b, k])
            perm[lo..<(lo + b)].withUnsafeBufferPointer { train.fill($0, x: xb, mask: nil, binarize: false, rng: &rng) }
            rng.fillNormal(eb.pointer, count: eb.count)
            var batch = Batch(x: xb)
            let t0 = DispatchTime.now().uptimeNanoseconds
            model.prepareTrainingBatch(&batch, rng: &rng)
            model.store.zeroGrad()
            let loss = model.trainStep(batch, eps: eb, klWeight: 0.05, gradScale: nil, update: nil)
            if let clip { model.store.clipGradNorm(clip) }
            adam.update()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            lastLoss = (loss.recon + loss.kl) / Double(b)
            if step >= 2 {
                seconds += dt
                items += b
                for r in 0..<b { for t in 1..<w where xb[r * w + t] != Float(Vocabulary.pad) { tokens += 1 } }
            }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let s = cfg.sequence!
        let result: [String: Any] = [
            "items_per_second": (Double(items) / seconds).rounded(),
            "tokens_per_second": (Double(tokens) / seconds).rounded(),
            "model": "gru", "encoder": "\(s.encoderLayers)x\(s.encoderHidden)", "decoder": "\(s.decoderLayers)x\(s.decoderHidden)", "embedding": s.embedding,
            "latent": k, "vocabulary": s.vocabulary.count, "batch": batchSize, "batches": batches,
            "threads": ThreadPool.threadCount, "data": data.name, "loss": (lastLoss * 100).rounded() / 100,
            "peak_rss_mib": (Double(usage.ru_maxrss) / 1024 * 10).rounded() / 10, "gemm": GEMM.description, "seed": seed,
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
