import Foundation
import VAECore
import VAEKit
import VAEViz

/// Report sections that need the model: the IWAE estimate for the summary and the anomaly
/// scores of a run trained on some classes only.
enum ReportExtras {
    /// Importance samples of the summary's IWAE estimate.
    static let iwaeSamples = 100

    /// The run as the commands the page names take it: "RUN", and the data flags of a page written
    /// from other data (`vae report RUN --data X`), so that the commands read what the page shows
    /// (they named the run alone, and gave the numbers of its own test set).
    nonisolated(unsafe) static var run = "RUN"

    /// Test images for the IWAE estimate: as many as fit a budget of decoder work (10¹⁰
    /// multiply-adds, about a second), between 20 and 300.
    static func iwaeImages(_ model: VAE, available: Int) -> Int {
        let macs = decoderMultiplyAdds(model)
        let n = Int(1e10 / Double(iwaeSamples * max(macs, 1)))
        return min(available, max(20, min(300, n)))
    }

    /// Multiply-adds of one decode: Σ dense in·out + Σ conv-transpose in·out·k²·H·W (input grid).
    static func decoderMultiplyAdds(_ model: VAE) -> Int {
        var shape = [model.latent], total = 0
        for layer in model.decoder.layers {
            let next = layer.outputShape(for: shape)
            if let d = layer as? Dense { total += d.inFeatures * d.outFeatures }
            if let c = layer as? ConvTranspose2D, shape.count == 3 {
                total += c.inChannels * c.outChannels * c.kernelSize * c.kernelSize * shape[1] * shape[2]
            }
            shape = next
        }
        return total
    }

    /// One summary row: the mean IWAE estimate of −log p(x) (k = 100) over the first test images.
    static func iwaeSummary(_ model: VAE, _ test: ReportDataAccess.Items, unit: String = "image") throws -> [(String, String)] {
        let n = iwaeImages(model, available: test.count)
        guard n > 0 else { return [] }
        // the draws of vae evaluate's defaults (--seed 1: its IWAE pass seeds 2), so that the command
        // the page names gives the same number (it drew from the training seed + 7: another number)
        var rng = RNG(seed: 1 &+ 1)
        let nll = try Evaluator.iwae(model, model.conditioned(test.batch(0..<n)), k: iwaeSamples, rng: &rng)
        // with its standard error over the items: a few test items' mean (20 for a conv model) and vae
        // evaluate's over more looked inconsistent without it
        let e = MeanEstimate(nll)
        let spread = e.standardError.isFinite ? String(format: " ± %.2f", e.standardError) : ""
        // (one test item has no standard error: the line promised one it could not show)
        let items = n == 1 ? "the one test \(unit): no standard error" : e.standardError.isFinite ? "first \(n) test \(unit)s, ± its standard error" : "first \(n) test \(unit)s"
        return [("IWAE −log p(x)", String(format: "%.2f%@ nats per \(unit) (importance-weighted, k = %d, %@; an upper bound on −log p(x); vae evaluate %@ --iwae %d --limit %d gives the same)", e.mean, spread, iwaeSamples, items, run, iwaeSamples, n))]
    }

    /// Test images scored for the anomaly section (all of them for small decoders).
    static func anomalyImages(_ model: VAE, available: Int) -> Int {
        min(available, max(1000, Int(2e10 / Double(2 * max(decoderMultiplyAdds(model), 1)))))
    }

    /// Scores, ROC and the top anomalies of a run trained on `normal` labels only.
    static func addAnomalies(_ page: inout ReportPage, _ model: VAE, _ data: Dataset, normal: [Int],
                             files: inout [(String, [UInt8])]) throws {
        let set = ReportDataAccess.first(data.test, anomalyImages(model, available: data.test.count))
        let labels = ReportDataAccess.labels(set, set.count)
        guard !labels.isEmpty else { return }
        // the draws of vae anomaly's defaults (--seed 1, one sample): the command gives the same numbers
        var rng = RNG(seed: Anomaly.defaultSeed)
        let scores = try Analysis.anomalyScores(model, set, rng: &rng)
        let normalSet = Set(normal)
        let anomalous = labels.map { !normalSet.contains($0) }
        let auc = Analysis.rocAUC(scores: scores, positive: anomalous)
        // "3 cat": the index --classes also takes, and the name; a class named by a number (a table's
        // labels 1, 2, 3) by the number alone ("0 1, 1 2" read as four classes)
        let name: (Int) -> String = { l in
            guard l < data.classNames.count else { return "\(l)" }
            let n = data.classNames[l]
            return n == String(l) || Double(n) != nil ? n : "\(l) \(n)"
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let top = Array(order.prefix(32))
        var png: [UInt8] = []
        if data.isImages {
            let x = ReportDataAccess.gather(set, top, featureCount: model.inputSize)
            png = Pictures.grid(x, shape: model.config.inputShape, columns: 8, scale: Figures.scale(for: model.config.inputShape))
            files.append(("anomalies.png", png))
        }
        // an image folder's image: its index and its file; a table's row: its number and its first
        // --ignore'd cell (the user's own id)
        let fileNames = Encode.fileNames(set) ?? (set as? TableSplit).flatMap { t in t.keyNames.isEmpty ? nil : (0..<t.count).map { t.keys($0).first! } }
        let rows = top.enumerated().map { r, i in
            [String(r + 1), fileNames.map { "\(set.itemID(i)) \($0[i])" } ?? set.itemID(i), name(labels[i]), String(format: "%.2f", scores[i])]
        }
        // ("the model was trained on class 2 virginica only": the index --classes takes, and the name)
        let normalName = (normal.count == 1 ? "class " : "classes ") + normal.map { name($0) }.joined(separator: ", ")
        let classList = normal.map { l in l < data.classNames.count ? data.classNames[l] : String(l) }.joined(separator: ",")
        let command = "vae anomaly \(run) --normal \(classList)" + (set.count < data.test.count ? " --limit \(set.count)" : "")
        try page.addAnomalyScores(.init(scores: scores, anomalous: anomalous, normalName: normalName, auc: auc, topPNG: png, topRows: rows,
                                        noun: data.isImages ? "image" : (data.table != nil ? "row" : "item"), command: command))
    }

    /// One row per class of a conditional model.
    static func addConditionalGrid(_ page: inout ReportPage, _ model: VAE, classNames: [String], trained: [Int]?, seed: UInt64,
                                   files: inout [(String, [UInt8])]) throws {
        let png = try Figures.conditionalGrid(model, perClass: 10, seed: seed, classes: trained)
        files.append(("conditional.png", png))
        let names = (trained ?? Array(0..<model.config.conditionSize)).map { $0 < classNames.count ? classNames[$0] : String($0) }
        page.addConditionalGrid(png: png, rowNames: names)
    }

    /// Denoising (a model trained with --corrupt): test images, their noisy copies, the median
    /// filter and the VAE, with PSNRs; inpainting: the bottom half filled by pseudo-Gibbs.
    static func addRestorationStrips(_ page: inout ReportPage, _ model: VAE, _ data: Dataset, corrupt: Corruption?, seed: UInt64,
                                     files: inout [(String, [UInt8])]) throws {
        let shape = model.config.inputShape
        let n = min(10, data.test.count), scored = min(200, data.test.count)
        let batch = model.conditioned(data.test.batch(0..<scored))
        var rng = RNG(seed: seed &+ 23)
        func strip(_ t: Tensor) -> [UInt8] { Pictures.grid(t.rows(0..<n), shape: shape, columns: n, scale: Figures.scale(for: shape)) }
        if let corrupt {
            let noisy = Tensor(shape: batch.x.shape)
            // Gaussian noise from vae denoise's draws (its default seed): the command gives the page's
            // numbers (they differed in the last digits); another corruption is the run's own
            var noiseRNG = RNG(seed: Denoise.defaultSeed)
            let sigma: Double? = { if case .gaussian(let s) = corrupt { return s } else { return nil } }()
            corrupt.apply(batch.x.pointer, count: batch.x.count, shape: shape, into: noisy.pointer, rng: &noiseRNG)
            let denoised = model.reconstruct(noisy, condition: batch.condition)
            let median = Analysis.medianFilter3x3(noisy, shape: shape)
            let p = { (t: Tensor) in String(format: "%.2f dB", Analysis.psnr(batch.x, t)) }
            let strips = [("clean test images", strip(batch.x)), ("corrupted (\(corrupt)): \(p(noisy))", strip(noisy)),
                          ("3×3 median filter: \(p(median))", strip(median)), ("denoised by the VAE: \(p(denoised))", strip(denoised))]
            for (i, s) in strips.enumerated() { files.append(("denoise-\(i).png", s.1)) }
            page.addImageStrips("Denoising", strips: strips.map { (label: $0.0, png: $0.1) },
                                caption: "PSNR over the first \(scored) test images, against the clean images. "
                                    + (sigma.map { "vae denoise \(run) --noise \($0) --limit \(scored) gives the same numbers." }
                                       ?? "vae denoise adds Gaussian noise (--noise σ), not this corruption: its numbers are of other noisy images."))
        }
        var maskRNG = RNG(seed: seed &+ 29)
        let observed = InpaintingMask.bottom.make(count: scored, shape: shape, rng: &maskRNG)
        let filled = Inpainting.fill(model, x: batch.x, observed: observed, condition: batch.condition, method: .mean,
                                     iterations: 20, chains: 4, start: Inpainting.start(for: model, trainedWith: corrupt), rng: &rng)
        let shown = Tensor(shape: batch.x.shape)
        for i in 0..<shown.count { shown[i] = observed[i] != 0 ? batch.x[i] : 0.5 }
        let psnr = Inpainting.psnrOnMissing(batch.x, filled, observed: observed)
        // the original first, as the denoising strips and vae inpaint's rows (it came last here)
        let strips = [("original", strip(batch.x)), ("bottom half missing", strip(shown)),
                      (String(format: "filled in (Metropolis–Hastings on z, 20 steps, mean of 4 chains): %.2f dB on the missing pixels", psnr), strip(filled))]
        for (i, s) in strips.enumerated() { files.append(("inpaint-\(i).png", s.1)) }
        page.addImageStrips("Inpainting", strips: strips.map { (label: $0.0, png: $0.1) },
                            caption: "PSNR over the missing pixels of the first \(scored) test images. vae inpaint \(run) --mask bottom --limit \(scored) compares it with the mean training image, one encode-decode and pseudo-Gibbs, with longer chains by default (100 steps, 8 chains; --iterations 20 --chains 4 are the page's, from other draws: a PSNR that differs in the last digits).")
    }

    /// A table's reconstruction error per column in the user's units: RMSE for a number, the
    /// share of wrong categories for a text column (test rows, observed cells only, z = μ).
    static func addColumnErrors(_ page: inout ReportPage, _ model: VAE, _ data: Dataset) throws {
        guard let schema = data.table?.schema else { return }
        let set = data.test.first(5000)
        let batch = model.conditioned(set.batch(0..<set.count))
        let recon = model.reconstruct(batch.x, condition: batch.condition)
        let errors = TableErrors.perColumn(schema: schema, x: batch.x, mask: batch.mask, reconstruction: recon)
        try page.addColumnErrors(columns: schema.columns.map { c in c.isNumeric ? c.name + " (RMSE)" : c.name + " (error rate)" },
                                 errors: errors, measure: "error in the column's units")
    }
}
