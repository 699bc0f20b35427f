import Foundation
import VAECore
import VAEKit
import VAEViz

/// What the sequence commands share: items as text, decoding, the run's data.
enum SequenceText {
    /// An item as a TSV cell: a tab or line break inside it would split its row, so they are
    /// written as \t, \r, \n (a SMILES backslash, a stereo bond, stays as it is).
    static func tsvCell(_ t: String) -> String {
        t.replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// The text of item i of a sequence source.
    static func item(_ set: any DataSource, _ i: Int, _ config: SequenceConfig) -> String {
        guard let s = set as? SequenceSource else { return set.itemID(i) }
        return Vocabulary.text(s.tokens(i).map { Int32($0) }, config)
    }

    /// Every item's own text, as its file has it (`SequenceSource.originalTexts`: a token the
    /// run's vocabulary lacks stays itself, not <unk>); for a source without a file, the tokens.
    static func texts(_ set: any DataSource, _ config: SequenceConfig) throws -> [String] {
        if let s = set as? SequenceSource, let texts = try s.originalTexts() { return texts }
        return (0..<set.count).map { item(set, $0, config) }
    }

    /// The first `count` items' own texts for the page (`texts`); when their file cannot be read
    /// again as it was (changed since, or standard input), their tokens — the page is still written.
    static func ownTexts(_ set: any DataSource, count: Int, _ config: SequenceConfig) -> [String] {
        let n = min(count, set.count)
        do { return try texts(set.subset(Array(0..<n)), config) } catch {
            // (said: the page's items are then their tokens, a word outside the vocabulary <unk>)
            Console.note("note: the report shows the test items as tokens: their file could not be read again (\(error))")
            return (0..<n).map { item(set, $0, config) }
        }
    }

    /// The latent means of items `range` of `set`.
    static func means(_ model: SequenceVAE, _ set: any DataSource, _ items: [Int]) throws -> Tensor {
        try Analysis.latentMeans(model, set.subset(items))
    }

    /// Greedy decodings of rows of z as text.
    static func decode(_ model: SequenceVAE, _ z: Tensor, greedy: Bool = true, temperature: Double = 1, seed: UInt64 = 1) -> [String] {
        model.decode(z, temperature: temperature, greedy: greedy, seed: seed).map { Vocabulary.text($0, model.sequence) }
    }

    /// `count` draws z ~ N(0, I), decoded by sampling at `temperature` (or greedily), a chunk at a
    /// time (`SequenceVAE.sample`: bounded memory; the first n items the same for any count), with
    /// "sampling 3,072/100,000" on a terminal when `progress` is set.
    /// `atLimit`: how many samples the model's --max-length stopped before they drew <eos>.
    static func samples(_ model: SequenceVAE, count: Int, temperature: Double, greedy: Bool, seed: UInt64, progress: Bool = false,
                        atLimit: UnsafeMutablePointer<Int>? = nil) -> [String] {
        let shown = progress ? Progress(total: count, label: "sampling") : nil
        defer { shown?.finish() }
        var cut = 0
        let tokens = model.sample(count: count, temperature: temperature, greedy: greedy, seed: seed, progress: { shown?.update($0) },
                                  cutShort: { _ in cut += 1 })
        atLimit?.pointee = cut
        return tokens.map { Vocabulary.text($0, model.sequence) }
    }

    /// Bowman et al.'s homotopy: greedy decodings along the line between two latent means.
    static func interpolation(_ model: SequenceVAE, from a: Tensor, to b: Tensor, steps: Int) -> [String] {
        let k = model.latent
        let z = Tensor(shape: [steps, k])
        for s in 0..<steps {
            let t = steps == 1 ? 0 : Float(s) / Float(steps - 1)
            for j in 0..<k { z[s * k + j] = (1 - t) * a[j] + t * b[j] }
        }
        return decode(model, z)
    }
}

/// The report of a sequence run: the run, loss and KL curves (a collapsed posterior shows as a KL
/// near 0), samples, reconstructions and an interpolation as text, the latent scatter.
enum SequenceReport {
    static func write(directory dir: String, model: SequenceVAE, metrics: [EpochMetrics], options: TrainingOptions,
                      data: Dataset, seed: UInt64, state: TrainingState, recorded: RunConfig.DataInfo? = nil) throws -> String {
        let cfg = model.config, s = model.sequence
        var page = ReportPage(title: "SwiftVAE run \((dir as NSString).lastPathComponent)",
                              subtitle: "sequence VAE on \(recorded?.name ?? data.name), written \(ISO8601DateFormatter().string(from: Date()))")
        var files: [(String, [UInt8])] = []
        func f(_ v: Double) -> String { String(format: "%.3f", v) }
        page.addKeyValues("Run", [
            ("data", recorded.map { "\($0.name) (\($0.directory)): \($0.trainCount) train, \($0.testCount) test items of at most \(s.maxLength) tokens" }
                ?? "\(data.name) (\(data.directory)): \(data.train.count) train, \(data.test.count) test items of at most \(s.maxLength) tokens"),
            RunReport.otherDataRow(data, recorded: recorded),
            ("tokens", "\(s.tokenizer.rawValue), a vocabulary of \(s.vocabulary.count) (with <bos> <eos> <pad> <unk>)"),
            ("model", "\(s.inputDescription.prefix(1).uppercased() + s.inputDescription.dropFirst()), GRU encoder \(s.encoderLayers)×\(s.encoderHidden)\(s.bidirectional ? " (bidirectional)" : ""), latent \(cfg.latent), GRU decoder \(s.decoderLayers)×\(s.decoderHidden) fed [token, z], \(model.parameterCount) parameters"),
            ("KL weight", "β \(cfg.beta)\(cfg.warmupEpochs > 0 ? ", rising linearly over \(cfg.warmupEpochs) epochs" : "")\(cfg.freeBitsValue > 0 ? "; free bits \(cfg.freeBitsValue) nats per item" : "")"),
            ("word dropout", "\(s.wordDropout)"),
            ("optimizer", "Adam, \(Train.learningRateText(options)), batch \(options.batchSize)\(options.clipNorm.map { ", clip \($0)" } ?? "")"),
            ("epochs", RunReport.epochsText(metrics: metrics, options: options, state: state)),
            RunReport.earlyStoppingRow(state: state, metrics: metrics, options: options,
                                       trainable: recorded.map { RunReport.beforeHoldOut(trained: $0.trainCount, fraction: options.validationFraction ?? 0) } ?? data.train.count, noun: "item"),
            ("seed", "\(options.seed)"),
            ("SwiftVAE", SwiftVAE.version),
        ].compactMap { $0 })
        if !metrics.isEmpty {
            let loss = Figures.lossChart(metrics, per: "item", best: state.bestEpoch, kept: state.hasEnded(epochs: options.epochs))
            files.append(("loss.png", loss.png))
            page.addSVG("Loss curves", svg: loss.svg, caption: "Negative ELBO in nats per item (reconstruction + KL, the KL weight not applied).")
            var klChart = LineChart(title: "KL(q(z|x) ‖ p(z)) per item", xLabel: "epoch", yLabel: "nats")
            klChart.integerX = true
            klChart.addSeries("train", points: metrics.map { (x: Double($0.epoch), y: $0.train_kl) })
            klChart.addSeries("test", points: metrics.map { (x: Double($0.epoch), y: $0.test_kl) })
            files.append(("kl.png", klChart.png()))
            page.addSVG("KL term", svg: klChart.svg(), caption: "A KL near 0 means the posterior collapsed: the decoder ignores z (raise --word-dropout, lower β or lengthen the warm-up).")
            if metrics.contains(where: { $0.sample_valid != nil }) {
                var valid = LineChart(title: "Valid molecules among 1,000 samples from the prior", xLabel: "epoch", yLabel: "valid (%)")
                valid.integerX = true
                valid.yFromZero = true
                valid.addSeries("valid SMILES", points: metrics.compactMap { m in m.sample_valid.map { (x: Double(m.epoch), y: 100 * $0) } })
                files.append(("validity.png", valid.png()))
                page.addSVG("Validity", svg: valid.svg(), caption: "After every epoch, 1,000 z ~ N(0, I) decoded by sampling and checked by SwiftVAE's SMILES checker (syntax, rings, branches, elements, valences, kekulization; docs/smiles-validity.md).")
            }
            page.addTable("Metrics", columns: ["epoch", "train loss", "train KL", "test loss", "test recon", "test KL", "KL weight", "seconds", "items/s"],
                          rows: metrics.map { m in [String(m.epoch), f(m.train_loss), f(m.train_kl), f(m.test_loss), f(m.test_recon), f(m.test_kl),
                                                    f(m.kl_weight), String(format: "%.1f", m.seconds), ProgressDisplay.grouped(m.images_per_second)] })
        }
        // an empty decoding (<eos> first) is said, not left as a blank cell (a sample's was)
        func shown(_ t: String) -> String { t.isEmpty ? "(empty: <eos> first)" : t }
        let samples = SequenceText.samples(model, count: 20, temperature: 1, greedy: false, seed: seed)
        if s.molecules {
            page.addTable("Samples", columns: ["#", "z ~ N(0, I), decoded by sampling", "valid molecule"],
                          rows: samples.enumerated().map { [String($0.offset + 1), shown($0.element), SMILES.diagnose($0.element).map { "no: \($0)" } ?? "yes"] })
        } else {
            page.addTable("Samples", columns: ["#", "z ~ N(0, I), decoded by sampling"], rows: samples.enumerated().map { [String($0.offset + 1), shown($0.element)] })
        }
        let n = min(10, data.test.count)
        // the test items as their file has them (a word outside the vocabulary is itself, not <unk>)
        let own = SequenceText.ownTexts(data.test, count: n, s)
        if n > 0 {
            let mu = try SequenceText.means(model, data.test, Array(0..<n))
            let recon = SequenceText.decode(model, mu)
            page.addTable("Reconstructions", columns: ["test item", "greedy decoding of z = μ"],
                          rows: (0..<n).map { [own[$0], shown(recon[$0])] })
        }
        if data.test.count > 1 {
            let mu = try SequenceText.means(model, data.test, [0, 1])
            let line = SequenceText.interpolation(model, from: mu.rows(0..<1), to: mu.rows(1..<2), steps: 8)
            page.addTable("Interpolation", columns: ["step", "greedy decoding"],
                          rows: [["from", own[0]]] + line.enumerated().map { [String($0.offset), shown($0.element)] } + [["to", own[1]]])
        }
        let scatter = try Figures.latentScatter(model, data, limit: 5000)
        files.append(("latent.png", scatter.png))
        page.addSVG("Latent space", svg: scatter.svg, caption: scatter.note + ".")
        if let explorer = try SequenceReport.explorerData(model, data) {
            try page.addSequenceExplorer(explorer)
        } else {
            page.addParagraph("Explore the latent space", "The live explorer is left out: the decoder's \(SequenceReport.decoderWeightCount(model)) weights "
                              + "would make the page over \(SequenceReport.explorerWeightLimit * 4 / 1_000_000) MB (the limit is \(SequenceReport.explorerWeightLimit) weights). "
                              + "vae interpolate and vae sample decode from the command line.")
        }
        return try RunReport.save(files, page: page, directory: dir)
    }

    /// At most this many decoder weights go into the page (20 MB as float32; MOSES's shape with a
    /// one-layer decoder of 512 has 1.1 M, a 10,000-word vocabulary with 256 units 10 M).
    static let explorerWeightLimit = 5_000_000

    static func decoderWeightCount(_ model: SequenceVAE) -> Int {
        let s = model.sequence
        return SequenceExplorerData.weightCount(vocabulary: model.vocabularySize, latent: model.latent, hidden: s.decoderHidden, layers: s.decoderLayers,
                                                embedding: model.embedding?.dim ?? 0)
    }

    /// The live explorer's data: the decoder's weights in the page's order, the first test items
    /// (at most 300) with their tokens and latent means, and the pad's axes. nil when the
    /// decoder is over `explorerWeightLimit`.
    static func explorerData(_ model: SequenceVAE, _ data: Dataset, limit: Int = 300) throws -> SequenceExplorerData? {
        let s = model.sequence, K = model.latent
        guard decoderWeightCount(model) <= explorerWeightLimit else { return nil }
        var weights: [Float] = []
        weights.reserveCapacity(decoderWeightCount(model))
        func append(_ name: String) throws {
            guard let p = model.store.parameter(named: name) else { throw VAEError("the report's explorer: no parameter \(name) in the model") }
            weights.append(contentsOf: UnsafeBufferPointer(start: p.value.pointer, count: p.count))
        }
        try append("decoder.h0.weight"); try append("decoder.h0.bias")
        if model.embedding != nil { try append("embedding.weight") }   // the page looks tokens up as the model does
        for l in 0..<s.decoderLayers {
            for part in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] { try append("decoder.gru.\(part)_l\(l)") }
        }
        try append("decoder.out.weight"); try append("decoder.out.bias")
        let set = data.test
        let n = min(set.count, limit)
        let texts = SequenceText.ownTexts(set, count: n, s)
        let tokens: [[Int]] = (0..<n).map { i in (set as? SequenceSource).map { $0.tokens(i).map { Int($0) } } ?? [] }
        let mu = n > 0 ? try SequenceText.means(model, set, Array(0..<n)) : Tensor(shape: [0, K])
        let muArray = Array(UnsafeBufferPointer(start: mu.pointer, count: n * K))
        let (origin, axes, explained) = n >= 2 ? ReportExplorer.padAxes(muArray, n: n, k: K)
            : ([Float](repeating: 0, count: K), (0..<min(K, 2)).map { a in (0..<K).map { Float($0 == a ? 1 : 0) } }, 1)
        let pair = (0, n > 1 ? 1 : 0)
        return SequenceExplorerData(vocabulary: s.vocabulary, joiner: s.tokenizer == .words ? " " : "", latent: K, hidden: s.decoderHidden,
                                    layers: s.decoderLayers, embedding: model.embedding?.dim ?? 0, maxLength: s.maxLength, weights: weights, items: texts, itemTokens: tokens,
                                    mu: muArray, padOrigin: origin, padAxes: axes, explained: explained, interpolation: pair,
                                    ids: (0..<n).map { Int(set.itemID($0)) ?? $0 })
    }
}
