import Foundation
import VAECore
import VAEKit
import VAEViz

/// Report sections that need the model: the IWAE estimate for the summary and the anomaly
/// scores of a run trained on some classes only.
enum ReportExtras {
    /// Importance samples of the summary's IWAE estimate.
    static let iwaeSamples = 100

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
    static func iwaeSummary(_ model: VAE, _ test: ReportDataAccess.Items, seed: UInt64) -> [(String, String)] {
        let n = iwaeImages(model, available: test.count)
        guard n > 0 else { return [] }
        var rng = RNG(seed: seed &+ 7)
        let nll = Evaluator.iwae(model, x: BatchLoader.tensor(test, range: 0..<n), k: iwaeSamples, rng: &rng)
        let mean = nll.reduce(0, +) / Double(n)
        return [("IWAE −log p(x)", String(format: "%.2f nats per image (importance-weighted, k = %d, first %d test images; an upper bound on −log p(x))", mean, iwaeSamples, n))]
    }

    /// Test images scored for the anomaly section (all of them for small decoders).
    static func anomalyImages(_ model: VAE, available: Int) -> Int {
        min(available, max(1000, Int(2e10 / Double(2 * max(decoderMultiplyAdds(model), 1)))))
    }

    /// Scores, ROC and the top anomalies of a run trained on `normal` labels only.
    static func addAnomalies(_ page: inout ReportPage, _ model: VAE, _ data: Dataset, normal: [Int], seed: UInt64,
                             files: inout [(String, [UInt8])]) throws {
        let set = ReportDataAccess.first(data.test, anomalyImages(model, available: data.test.count))
        let labels = ReportDataAccess.labels(set, set.count)
        guard !labels.isEmpty else { return }
        var rng = RNG(seed: seed &+ 11)
        let scores = Analysis.anomalyScores(model, set, rng: &rng)
        let normalSet = Set(normal)
        let anomalous = labels.map { !normalSet.contains($0) }
        let auc = Analysis.rocAUC(scores: scores, positive: anomalous)
        let name: (Int) -> String = { l in l < data.classNames.count ? "\(l) \(data.classNames[l])" : "\(l)" }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let top = Array(order.prefix(32))
        let x = ReportDataAccess.gather(set, top, featureCount: model.inputSize)
        let png = Pictures.grid(x, shape: model.config.inputShape, columns: 8, scale: Figures.scale(for: model.config.inputShape))
        files.append(("anomalies.png", png))
        let rows = top.enumerated().map { r, i in [String(r + 1), String(i), name(labels[i]), String(format: "%.2f", scores[i])] }
        let normalName = "labels " + normal.map { name($0) }.joined(separator: ", ")
        try page.addAnomalyScores(.init(scores: scores, anomalous: anomalous, normalName: normalName, auc: auc, topPNG: png, topRows: rows))
    }
}
