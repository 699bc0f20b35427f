import Foundation
import VAECore
import VAEKit
import VAEViz

/// The pictures of a model, shared by the commands and the HTML report.
enum Figures {
    static func scale(for shape: [Int]) -> Int { shape[1] <= 32 ? 2 : 1 }

    /// `count` samples z ~ N(0, I), decoded, in a grid.
    static func samples(_ model: VAE, count: Int, seed: UInt64) -> [UInt8] {
        var rng = RNG(seed: seed)
        let x = Analysis.sample(model, count: count, rng: &rng)
        let shape = model.config.inputShape
        return Pictures.grid(x, shape: shape, columns: Int(Double(count).squareRoot().rounded(.up)), scale: scale(for: shape))
    }

    /// Pairs of rows: test images, and under them their reconstructions.
    static func reconstructions(_ model: VAE, _ set: any DataSource, count: Int, columns: Int = 10) -> [UInt8] {
        let n = min(count, set.count)
        let batch = model.conditioned(set.batch(0..<n))
        let x = batch.x
        let r = model.reconstruct(x, condition: batch.condition)
        let d = model.inputSize
        let rows = (n + columns - 1) / columns
        let out = Tensor(shape: [rows * 2 * columns, d])
        out.fill(1)   // empty tiles show as white
        for i in 0..<n {
            let row = i / columns, col = i % columns
            (out.pointer + ((2 * row) * columns + col) * d).update(from: x.pointer + i * d, count: d)
            (out.pointer + ((2 * row + 1) * columns + col) * d).update(from: r.pointer + i * d, count: d)
        }
        return Pictures.grid(out, shape: model.config.inputShape, columns: columns, scale: scale(for: model.config.inputShape))
    }

    static func interpolation(_ model: VAE, _ set: any DataSource, from i: Int, to j: Int, steps: Int) -> [UInt8] {
        let a = BatchLoader.tensor(set, range: i..<(i + 1)), b = BatchLoader.tensor(set, range: j..<(j + 1))
        let line = Analysis.interpolate(model, from: a, to: b, steps: steps)
        let d = model.inputSize
        // the real end points framing the decoded line
        let out = Tensor(shape: [steps + 2, d])
        out.pointer.update(from: a.pointer, count: d)
        (out.pointer + d).update(from: line.pointer, count: steps * d)
        (out.pointer + (steps + 1) * d).update(from: b.pointer, count: d)
        return Pictures.grid(out, shape: model.config.inputShape, columns: steps + 2, scale: 2 * scale(for: model.config.inputShape))
    }

    static func manifold(_ model: VAE, grid: Int, range: Double) -> [UInt8] {
        let x = Analysis.manifold(model, grid: grid, range: range)
        return Pictures.grid(x, shape: model.config.inputShape, columns: grid, scale: scale(for: model.config.inputShape))
    }

    /// Scatter of latent means coloured by label (PCA to 2-D when latent > 2).
    static func latentScatter(_ model: VAE, _ data: Dataset, limit: Int) -> (svg: String, png: [UInt8], note: String) {
        let mu = Analysis.latentMeans(model, data.test, limit: limit)
        let (xy, explained) = Analysis.project2D(mu)
        let n = mu.shape[0]
        let labels = data.test.labelArray
        let points = (0..<n).map { i in (x: xy[i].0, y: xy[i].1, cls: labels.isEmpty ? 0 : labels[i]) }
        let pca = model.latent > 2
        let plot = ScatterPlot(title: pca ? "Latent means (PCA of \(model.latent) dimensions)" : "Latent means",
                               xLabel: pca ? "principal component 1" : "z₁", yLabel: pca ? "principal component 2" : "z₂",
                               points: points, classNames: labels.isEmpty ? ["all"] : data.classNames)
        let note = pca ? String(format: "%d test images; the two components keep %.0f%% of the variance", n, 100 * explained)
                       : "\(n) test images"
        return (plot.svg(), plot.png(), note)
    }

    static func lossChart(_ metrics: [EpochMetrics]) -> (svg: String, png: [UInt8]) {
        var chart = LineChart(title: "Negative ELBO per image", xLabel: "epoch", yLabel: "nats")
        chart.addSeries("train", points: metrics.map { (x: Double($0.epoch), y: $0.train_loss) })
        chart.addSeries("test (one z)", points: metrics.map { (x: Double($0.epoch), y: $0.test_loss) })
        chart.addSeries("test (z = μ)", points: metrics.map { (x: Double($0.epoch), y: $0.test_loss_mu) })
        return (chart.svg(), chart.png())
    }

    /// Two test images of different classes (for the interpolation), else 0 and 1.
    static func interpolationPair(_ set: any DataSource) -> (Int, Int) {
        guard set.count > 1 else { return (0, 0) }
        if set.hasLabels, let j = (1..<set.count).first(where: { set.label($0) != set.label(0) }) { return (0, j) }
        return (0, 1)
    }
}
