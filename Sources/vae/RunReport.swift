import Foundation
import VAECore
import VAEKit
import VAEViz

/// Writes a run's pictures and its one-page `report.html` (PNGs beside it as files and
/// embedded in the page, so the page stands alone).
enum RunReport {
    /// The pictures a run's report may write beside `report.html` (with the checkpoint's files and
    /// metrics.jsonl, `isRunFile`): a new run refuses a folder that already holds one of them.
    static let pictureNames: Set<String> = [
        "loss.png", "loss.svg", "kl.png", "validity.png", "samples.png", "reconstructions.png", "manifold.png",
        "latent.png", "latent.svg", "interpolation.png", "conditional.png", "anomalies.png", "scores.png",
    ]

    /// Whether `vae train` may write a file of this name into its run folder (numbered strips
    /// `denoise-N.png`, `inpaint-N.png` included).
    static func isRunFile(_ name: String) -> Bool {
        if [Checkpoint.weightsFile, Checkpoint.configFile, TrainingRun.metricsFile, "report.html"].contains(name) { return true }
        if pictureNames.contains(name) { return true }
        for prefix in ["denoise-", "inpaint-"] where name.hasPrefix(prefix) && name.hasSuffix(".png") {
            if Int(name.dropFirst(prefix.count).dropLast(4)) != nil { return true }
        }
        return false
    }

    /// Writes the pictures, then the page (the last file: a report.html means the run's pictures are there).
    static func save(_ files: [(String, [UInt8])], page: ReportPage, directory dir: String) throws -> String {
        for (name, bytes) in files {
            assert(isRunFile(name), "\(name): list it in RunReport.pictureNames (a new run refuses to overwrite the files listed there)")
            try AtomicFile.write(bytes, to: dir + "/" + name)
        }
        let path = dir + "/report.html"
        try AtomicFile.write(page.html(), to: path)
        return path
    }

    /// "3 of 10", and for a checkpoint saved inside an epoch where it stands: the pictures and
    /// scores of the page come from that model, the metrics from the last finished epoch.
    /// A report rewritten with other data (`vae report RUN --data X`, `$VAE_DATA`, a copy of its
    /// table): the page says that its pictures and scores are of that data, not of what the run
    /// trained on (the page passed them off as the run's own).
    static func otherDataRow(_ data: Dataset, recorded: RunConfig.DataInfo?) -> (String, String)? {
        guard let r = recorded else { return nil }
        let here = r.recordedPath
        guard data.isNewTable || !(data.directory == here || AtomicFile.sameFile(data.directory, here)) else { return nil }
        return ("read", "the pictures and scores below are of \(data.directory), read as new data (\(data.test.count) test \(data.itemNoun)s); the run trained on \(r.name) (\(r.directory)): \(r.trainCount) train, \(r.testCount) test")
    }

    /// A run with early stopping: what was held out, the best epoch, and which model the page
    /// shows (it said nothing of it: "60000 train … epochs 6 of 12", the pictures being epoch 4's).
    /// `trainable`: the training items before the hold-out.
    static func earlyStoppingRow(state: TrainingState, metrics: [EpochMetrics], options: TrainingOptions, trainable: Int, noun: String) -> (String, String)? {
        guard let f = options.validationFraction else { return nil }
        let held = Trainer.holdOutCount(count: trainable, fraction: f)
        var text = "\(ProgressDisplay.grouped(Double(held))) of the \(ProgressDisplay.grouped(Double(trainable))) training \(noun)s held out (--validation-fraction \(f)) and scored every epoch; \(ProgressDisplay.grouped(Double(trainable - held))) trained on"
        if let b = state.bestEpoch {
            let score = state.bestValidation.map { String(format: " (validation −ELBO %.2f)", $0) } ?? ""
            let last = metrics.last?.epoch ?? b
            if state.hasEnded(epochs: options.epochs) {
                text += "; the best epoch was \(b)\(score), and the model kept — the one below — is that epoch's"
                    + (state.stoppedEarly == true ? " (stopped after \(last - b) epoch\(last - b == 1 ? "" : "s") without a better score)" : "")
                    + (b != last ? "; the curves and metrics run to epoch \(last)" : "")
            } else {
                text += "; the best so far is epoch \(b)\(score): the pictures below are of the latest weights, and the run keeps the best epoch's when it ends"
            }
        }
        return ("early stopping", text)
    }

    /// The training items before the validation hold-out, from the count trained on (what a run
    /// records): the n with n − holdOutCount(n) = `trained`.
    static func beforeHoldOut(trained: Int, fraction f: Double) -> Int {
        guard f > 0 else { return trained }   // (no hold-out: holdOutCount holds out at least one)
        let guess = Int((Double(trained) / max(1 - f, 1e-9)).rounded())
        return (max(trained, guess - 3)...(guess + 3)).first { $0 - Trainer.holdOutCount(count: $0, fraction: f) == trained } ?? guess
    }

    /// The objective of an IWAE run (the page named no K).
    static func objectiveRow(_ options: TrainingOptions) -> (String, String)? {
        options.trainingObjective == .iwae ? ("objective", "IWAE, k = \(options.importanceSamples) importance samples per item (the bound −L_k trained; test losses are the ELBO's)") : nil
    }

    static func epochsText(metrics: [EpochMetrics], options: TrainingOptions, state: TrainingState) -> String {
        "\(metrics.count) of \(options.epochs)" + (state.batchInEpoch > 0
            ? "; stopped \(state.position(of: options.epochs)) — the pictures and scores below are of that checkpoint, the curves and metrics end at epoch \(metrics.count)"
            : "")
    }

    /// `recorded`: what the run trained on, as it recorded it (`vae report`, whose data may be the
    /// test file alone) — the page's data line says that rather than `data`'s counts.
    /// `state`: where the checkpoint stands — a run stopped inside an epoch has pictures and scores
    /// of a model past its last finished epoch's metrics, and the page says so.
    static func write(directory dir: String, model: any LatentVariableModel, metrics: [EpochMetrics], options: TrainingOptions,
                      data all: Dataset, seed: UInt64, state: TrainingState, recorded: RunConfig.DataInfo? = nil) throws -> String {
        // a conditional --classes model reads only its classes: the page shows their test items
        let data = try RunArgument.trainedClassesOnly(all, conditional: (model as? VAE)?.isConditional ?? false, classes: options.classes, quiet: true)
        guard let model = model as? VAE else {
            guard let seq = model as? SequenceVAE else { throw VAEError("no report for a \(model.config.architecture.rawValue) model") }
            return try SequenceReport.write(directory: dir, model: seq, metrics: metrics, options: options, data: data, seed: seed, state: state, recorded: recorded)
        }
        let cfg = model.config
        var page = ReportPage(title: "SwiftVAE run \((dir as NSString).lastPathComponent)",
                              subtitle: "\(cfg.architecture.rawValue) VAE on \(recorded?.name ?? data.name), written \(ISO8601DateFormatter().string(from: Date()))")
        var files: [(String, [UInt8])] = []

        // what the run trained on and how, as it did: the classes kept, a table's columns, the condition, the corruption
        let table = data.table != nil
        let name = { (c: Int) in c < data.classNames.count ? data.classNames[c] : String(c) }
        let conditional = model.isConditional
        let classesOnly = options.classes.map { " (classes \($0.map(name).joined(separator: ", ")) only)" } ?? ""
        var trainCount = options.classes.map { data.train.filtered(classes: Set($0)).count } ?? data.train.count, testCount = data.test.count
        var trainedOn = "\(data.name) (\(data.directory))"
        let otherData = RunReport.otherDataRow(data, recorded: recorded)
        if otherData != nil, let r = recorded {
            // the run's own counts, as it recorded them (before the early-stopping hold-out, as its own
            // data's): other data read as new has every item in both splits (an iris copy's 150 rows
            // said "50 train (classes virginica only), 150 test")
            trainedOn = "\(r.name) (\(r.directory))"
            trainCount = RunReport.beforeHoldOut(trained: r.trainCount, fraction: options.validationFraction ?? 0)
            testCount = r.testCount
        }
        let trained = "\(trainCount) train\(classesOnly), \(testCount) test"
            + (options.classes == nil ? "" : " (\(conditional ? "those classes: a conditional model reads no others" : "all classes"))")
        let shape = table ? "\(cfg.inputSize) encoded columns" : cfg.inputShape.map(String.init).joined(separator: "×")
        let pairs: [(String, String)] = [
            ("data", "\(trainedOn): \(trained), \(shape)"),
            ("model", "\(cfg.architecture.rawValue), latent \(cfg.latent), hidden \(cfg.hidden.map(String.init).joined(separator: ",")), \(model.parameterCount) parameters\(cfg.conditionSize > 0 ? ", conditional on the label (\(cfg.conditionSize) classes)" : "")"),
            ("likelihood", RunReport.likelihoodText(cfg)),
            ("β, KL warm-up", "\(cfg.beta), \(cfg.warmupEpochs) epochs\(cfg.freeBitsValue > 0 ? ", free bits \(cfg.freeBitsValue) nats per item" : "")"),
            ("optimizer", "Adam, \(Train.learningRateText(options)), batch \(options.batchSize)\(options.weightDecay > 0 ? ", weight decay \(options.weightDecay)" : "")"),
            RunReport.objectiveRow(options),
            ("epochs", RunReport.epochsText(metrics: metrics, options: options, state: state)),
            RunReport.earlyStoppingRow(state: state, metrics: metrics, options: options,
                                       trainable: recorded.map { RunReport.beforeHoldOut(trained: $0.trainCount, fraction: options.validationFraction ?? 0) }
                                           ?? options.classes.map { data.train.filtered(classes: Set($0)).count } ?? data.train.count, noun: data.itemNoun),
            options.testLimit.map { ("test loss per epoch", "over the first \($0) test \(data.itemNoun)s (--test-limit); the scores below use the test set shown") },
            options.corrupt.map { ("denoising", "the encoder sees each batch corrupted by \($0)") },
            table ? nil : ("binarized", options.binarize ? "yes (dynamic)" : "no"),
            ("seed", "\(options.seed)"),
            ("threads", "\(ThreadPool.threadCount)"),
            ("SwiftVAE", SwiftVAE.version),
            otherData,
        ].compactMap { $0 }
        // scores of a --binarize run on the binary test images its test loss uses (as vae evaluate)
        let scored = data.test.scored(binarize: options.binarize)
        var scoredData = data
        scoredData.test = scored
        page.addKeyValues("Run", pairs + (try ReportExtras.iwaeSummary(model, scored, unit: table ? "row" : "image")))

        if !data.isImages {
            // A table: no pictures of rows; its columns' errors, the latent space, anomaly scores.
            try ReportExtras.addColumnErrors(&page, model, data)
            return try finishTable(&page, dir: dir, model: model, metrics: metrics, options: options, data: data, seed: seed,
                                   best: state.bestEpoch, kept: state.hasEnded(epochs: options.epochs), files: &files)
        }
        let (a, b) = Figures.interpolationPair(data.test)
        do {
            var explorer = try ReportExplorer.data(model, data, interpolation: (a, b))
            if model.isConditional { explorer.trainedClasses = options.classes ?? [] }
            try page.addExplorer(explorer)
        } catch {
            page.addParagraph("Explore the latent space", "The live explorer is not available for this model: \(error)")
        }

        if !metrics.isEmpty {
            let loss = Figures.lossChart(metrics, best: state.bestEpoch, kept: state.hasEnded(epochs: options.epochs))
            files.append(("loss.png", loss.png))
            files.append(("loss.svg", Array(loss.svg.utf8)))
            let k = metrics.last?.train_iwae_k ?? 1
            page.addSVG("Loss curves", svg: loss.svg, caption: k > 1
                ? "Training: the negative importance-weighted bound −L_\(k) (IWAE, k = \(k) samples per image); test: the negative ELBO with one z and with z = μ (reconstruction + KL). Nats per image."
                : "Negative ELBO in nats per image (reconstruction + KL, β not applied).")
            // early stopping's score per epoch beside the test losses (the page left it out)
            let validated = metrics.contains { $0.validation_loss != nil }
            let rows = metrics.map { m in
                [String(m.epoch), f(m.train_loss), f(m.train_recon), f(m.train_kl), f(m.test_loss), f(m.test_loss_mu),
                 f(m.test_recon), f(m.test_kl)] + (validated ? [m.validation_loss.map(f) ?? "–"] : [])
                    + [String(format: "%.1f", m.seconds), ProgressDisplay.grouped(m.images_per_second)]
            }
            // IWAE: train_kl is −L_K less the mean reconstruction term, not a KL (it can be negative)
            let iwaeRun = metrics.contains { $0.train_iwae_k != nil }
            page.addTable("Metrics", columns: ["epoch", iwaeRun ? "train −L_\(k)" : "train loss", "train recon",
                                               iwaeRun ? "train −L_\(k) − recon" : "train KL", "test loss", "test loss (z=μ)",
                                               "test recon", "test KL"] + (validated ? ["validation loss"] : []) + ["seconds", "images/s"], rows: rows)
        }

        let samples = try Figures.samples(model, count: 64, seed: seed, classes: options.classes)
        files.append(("samples.png", samples))
        // a conditional model's samples are its per-class rows, the section "Conditional samples" below
        if !model.isConditional {
            page.addImage("Samples", png: samples, caption: "64 draws z ~ N(0, I), decoded (means of p(x|z)).", pixelated: true)
        }

        let recon = Figures.reconstructions(model, data.test, count: 30)
        files.append(("reconstructions.png", recon))
        page.addImage("Reconstructions", png: recon, caption: "Test images (odd rows) and their reconstructions from z = μ (even rows).", pixelated: true)

        // a conditional model decodes under one class: the first it trained on, named in the caption
        // (the page did not say which; class 0 even for a --classes run that never saw it)
        let shownClass = conditional ? options.classes?.first ?? 0 : nil
        let asClass = { (c: Int?) in c.map { " Decoded as class \(name($0)) (the model is conditional: vae manifold --class C for another)." } ?? "" }
        if cfg.latent <= 2 {
            let m = Figures.manifold(model, grid: 15, range: 2, decodeClass: shownClass)
            files.append(("manifold.png", m))
            page.addImage("Latent manifold", png: m, caption: (cfg.latent == 2 ? "Decoded 15×15 grid over z₁, z₂ ∈ [−2, 2]." : "Decoded row of 15 over z₁ ∈ [−2, 2] (latent 1).") + asClass(shownClass), pixelated: true)
        }
        let scatter = try Figures.latentScatter(model, data, limit: 5000)
        files.append(("latent.png", scatter.png))
        files.append(("latent.svg", Array(scatter.svg.utf8)))
        page.addSVG("Latent space", svg: scatter.svg, caption: scatter.note + (data.test.hasLabels ? ", coloured by label." : " (the data has no labels)."))

        let interp = Figures.interpolation(model, data.test, from: a, to: b, steps: 10)
        files.append(("interpolation.png", interp))
        let lineClass = conditional && data.test.hasLabels ? data.test.label(a) : nil
        page.addImage("Interpolation", png: interp, caption: "Test images \(data.test.itemID(a)) and \(data.test.itemID(b)) (ends; vae interpolate's --from and --to) and 10 decodings of the straight line between their latent means."
                      + (lineClass.map { " Decoded as class \(name($0)), the first image's (the model is conditional: vae interpolate --class C for another)." } ?? ""), pixelated: true)

        if model.isConditional {
            try ReportExtras.addConditionalGrid(&page, model, classNames: data.classNames, trained: options.classes, seed: seed, files: &files)
        }
        try ReportExtras.addRestorationStrips(&page, model, data, corrupt: options.corrupt, seed: seed, files: &files)
        if let classes = options.classes {
            if model.isConditional {
                // its test items are of the trained classes only: there is nothing to tell apart
                page.addParagraph("Anomaly scores", "A conditional model reads only the classes it trained on (the label is one of its inputs), so it cannot score the others: train without --conditional to detect them.")
            } else {
                try ReportExtras.addAnomalies(&page, model, scoredData, normal: classes, files: &files)
            }
        }

        return try save(files, page: page, directory: dir)
    }

    /// The rest of a table run's page: loss curves, the latent scatter, anomaly scores.
    static func finishTable(_ page: inout ReportPage, dir: String, model: VAE, metrics: [EpochMetrics], options: TrainingOptions,
                            data: Dataset, seed: UInt64, best: Int?, kept: Bool, files: inout [(String, [UInt8])]) throws -> String {
        if !metrics.isEmpty {
            let loss = Figures.lossChart(metrics, per: "row", best: best, kept: kept)
            files.append(("loss.png", loss.png))
            page.addSVG("Loss curves", svg: loss.svg, caption: "Negative ELBO in nats per row (reconstruction + KL, β not applied).")
        }
        let scatter = try Figures.latentScatter(model, data, limit: 5000)
        files.append(("latent.png", scatter.png))
        page.addSVG("Latent space", svg: scatter.svg, caption: scatter.note + (data.test.hasLabels ? ", coloured by label." : " (the data has no labels)."))
        if data.test.hasLabels {
            // every class but the largest counts as "normal" only when training was restricted
            let normal = options.classes ?? []
            if !normal.isEmpty && !model.isConditional { try ReportExtras.addAnomalies(&page, model, data, normal: normal, files: &files) }
        }
        // the rows' scores when no classes were held out (with them, the section above has the histogram)
        if options.classes == nil || model.isConditional {
            var rng = RNG(seed: Anomaly.defaultSeed)
            let scores = try Analysis.anomalyScores(model, data.test.first(5000), rng: &rng)
            var hist = LineChart(title: "Anomaly scores of the test rows", xLabel: "negative ELBO (nats)", yLabel: "rows")
            hist.addSeries("test rows", points: Histogram.steps(scores, bins: 30))
            files.append(("scores.png", hist.png()))
            page.addSVG("Anomaly scores", svg: hist.svg(), caption: "Histogram of the test rows' negative ELBO (vae anomaly \(ReportExtras.run) --out scores.csv writes them per row, the same numbers).")
        }
        return try save(files, page: page, directory: dir)
    }

    static func likelihoodText(_ cfg: VAEConfig) -> String {
        if let groups = cfg.groups {
            return groups.map { g in
                switch g.kind {
                case .categorical: return "categorical(\(g.width)) for \(g.name)"
                case .gaussianLearned: return "Gaussian with learned σ for \(g.name)"
                case .gaussianHeteroscedastic: return "Gaussian with σ from the decoder for \(g.name)"
                case .gaussian: return "Gaussian σ = \(cfg.gaussianSigma) for \(g.name)"
                case .bernoulli: return "Bernoulli for \(g.name)"
                }
            }.joined(separator: "; ")
        }
        switch cfg.likelihood {
        case .bernoulli: return "Bernoulli (BCE from logits)"
        case .gaussian: return "Gaussian, σ = \(cfg.gaussianSigma)"
        case .gaussianLearned: return "Gaussian with a learned σ per pixel"
        case .gaussianHeteroscedastic: return "Gaussian with σ per pixel from the decoder"
        case .discretizedLogistic: return "discretised logistic over the 256 levels of each pixel"
        case .betaBinomial: return "beta-binomial over the 256 levels of each pixel"
        }
    }

    private static func f(_ v: Double) -> String { String(format: "%.2f", v) }
}
