import Foundation
import VAECore
import VAEKit
import VAEViz

/// Writes a run's pictures and its one-page `report.html` (PNGs beside it as files and
/// embedded in the page, so the page stands alone).
enum RunReport {
    static func write(directory dir: String, model: VAE, metrics: [EpochMetrics], options: TrainingOptions,
                      data: Dataset, seed: UInt64) throws -> String {
        let cfg = model.config
        var page = ReportPage(title: "SwiftVAE run \((dir as NSString).lastPathComponent)",
                              subtitle: "\(cfg.architecture.rawValue) VAE on \(data.name), written \(ISO8601DateFormatter().string(from: Date()))")
        var files: [(String, [UInt8])] = []

        let pairs: [(String, String)] = [
            ("data", "\(data.name) (\(data.directory)): \(data.train.count) train, \(data.test.count) test, \(cfg.inputShape.map(String.init).joined(separator: "×"))"),
            ("model", "\(cfg.architecture.rawValue), latent \(cfg.latent), hidden \(cfg.hidden.map(String.init).joined(separator: ",")), \(model.parameterCount) parameters"),
            ("likelihood", cfg.likelihood == .bernoulli ? "Bernoulli (BCE from logits)" : "Gaussian, σ = \(cfg.gaussianSigma)"),
            ("β, KL warm-up", "\(cfg.beta), \(cfg.warmupEpochs) epochs"),
            ("optimizer", "Adam, lr \(options.learningRate), batch \(options.batchSize)\(options.weightDecay > 0 ? ", weight decay \(options.weightDecay)" : "")"),
            ("epochs", "\(metrics.count) of \(options.epochs)"),
            ("binarized", options.binarize ? "yes (dynamic)" : "no"),
            ("seed", "\(options.seed)"),
            ("threads", "\(ThreadPool.threadCount)"),
            ("SwiftVAE", SwiftVAE.version),
        ]
        page.addKeyValues("Run", pairs + ReportExtras.iwaeSummary(model, data.test, seed: seed))

        let (a, b) = Figures.interpolationPair(data.test)
        do {
            try page.addExplorer(try ReportExplorer.data(model, data, interpolation: (a, b)))
        } catch {
            page.addParagraph("Explore the latent space", "The live explorer is not available for this model: \(error)")
        }

        if !metrics.isEmpty {
            let loss = Figures.lossChart(metrics)
            files.append(("loss.png", loss.png))
            files.append(("loss.svg", Array(loss.svg.utf8)))
            page.addSVG("Loss curves", svg: loss.svg, caption: "Negative ELBO in nats per image (reconstruction + KL, β not applied).")
            let rows = metrics.map { m in
                [String(m.epoch), f(m.train_loss), f(m.train_recon), f(m.train_kl), f(m.test_loss), f(m.test_loss_mu),
                 f(m.test_recon), f(m.test_kl), String(format: "%.1f", m.seconds), ProgressDisplay.grouped(m.images_per_second)]
            }
            page.addTable("Metrics", columns: ["epoch", "train loss", "train recon", "train KL", "test loss", "test loss (z=μ)",
                                               "test recon", "test KL", "seconds", "images/s"], rows: rows)
        }

        let samples = Figures.samples(model, count: 64, seed: seed)
        files.append(("samples.png", samples))
        page.addImage("Samples", png: samples, caption: "64 draws z ~ N(0, I), decoded (means of p(x|z)).", pixelated: true)

        let recon = Figures.reconstructions(model, data.test, count: 30)
        files.append(("reconstructions.png", recon))
        page.addImage("Reconstructions", png: recon, caption: "Test images (odd rows) and their reconstructions from z = μ (even rows).", pixelated: true)

        if cfg.latent == 2 {
            let m = Figures.manifold(model, grid: 15, range: 2)
            files.append(("manifold.png", m))
            page.addImage("Latent manifold", png: m, caption: "Decoded 15×15 grid over z₁, z₂ ∈ [−2, 2].", pixelated: true)
        }
        let scatter = Figures.latentScatter(model, data, limit: 5000)
        files.append(("latent.png", scatter.png))
        files.append(("latent.svg", Array(scatter.svg.utf8)))
        page.addSVG("Latent space", svg: scatter.svg, caption: scatter.note + ", coloured by label.")

        let interp = Figures.interpolation(model, data.test, from: a, to: b, steps: 10)
        files.append(("interpolation.png", interp))
        page.addImage("Interpolation", png: interp, caption: "Test images \(a) and \(b) (ends) and 10 decodings of the straight line between their latent means.", pixelated: true)

        if let classes = options.classes {
            try ReportExtras.addAnomalies(&page, model, data, normal: classes, seed: seed, files: &files)
        }

        for (name, bytes) in files { try AtomicFile.write(bytes, to: dir + "/" + name) }
        let path = dir + "/report.html"
        try AtomicFile.write(page.html(), to: path)
        return path
    }

    private static func f(_ v: Double) -> String { String(format: "%.2f", v) }
}
