import Foundation
import VAECore
import VAEKit
import VAEViz

/// The pictures of a model, shared by the commands and the HTML report.
enum Figures {
    static func scale(for shape: [Int]) -> Int { shape[1] <= 32 ? 2 : 1 }

    /// `count` samples z ~ N(0, I), decoded, in a grid (a conditional model: a row per class of
    /// `classes`, the ones it was trained on; nil = all).
    static func samples(_ model: VAE, count: Int, seed: UInt64, classes: [Int]? = nil) throws -> [UInt8] {
        if model.isConditional { return try conditionalGrid(model, perClass: 10, seed: seed, classes: classes) }
        var rng = RNG(seed: seed)
        let x = try Analysis.sample(model, count: count, rng: &rng)
        let shape = model.config.inputShape
        return Pictures.grid(x, shape: shape, columns: Int(Double(count).squareRoot().rounded(.up)), scale: scale(for: shape))
    }

    /// Pairs of rows: test images, and under them their reconstructions.
    static func reconstructions(_ model: VAE, _ set: any DataSource, count: Int, columns: Int = 10) -> [UInt8] {
        let n = min(count, set.count)
        let batch = model.conditioned(set.batch(0..<n))
        return pairs(batch.x, model.reconstruct(batch.x, condition: batch.condition), shape: model.config.inputShape,
                     count: n, columns: columns)
    }

    /// Rows of `a` with the matching rows of `b` under them, `columns` per row.
    static func pairs(_ a: Tensor, _ b: Tensor, shape: [Int], count n: Int, columns: Int = 10) -> [UInt8] {
        let columns = max(1, min(columns, n))   // 3 pairs: 3 columns, not 10 with 7 blank
        let d = a.rowSize
        let rows = (n + columns - 1) / columns
        let out = Tensor(shape: [rows * 2 * columns, d])
        out.fill(1)   // empty tiles show as white
        for i in 0..<n {
            let row = i / columns, col = i % columns
            (out.pointer + ((2 * row) * columns + col) * d).update(from: a.pointer + i * d, count: d)
            (out.pointer + ((2 * row + 1) * columns + col) * d).update(from: b.pointer + i * d, count: d)
        }
        return Pictures.grid(out, shape: shape, columns: columns, scale: scale(for: shape))
    }

    /// The two test images framing `steps` decodings of the line between their latent means
    /// ([steps + 2, D]). A conditional model encodes each under its own label and decodes under
    /// `decodeClass` (default: the first image's label).
    static func interpolationLine(_ model: VAE, _ set: any DataSource, from i: Int, to j: Int, steps: Int,
                                  decodeClass: Int? = nil) -> Tensor {
        let a = model.conditioned(set.batch(i..<(i + 1))), b = model.conditioned(set.batch(j..<(j + 1)))
        let ma = model.encode(a.x, condition: a.condition).mu, mb = model.encode(b.x, condition: b.condition).mu
        let k = model.latent
        let z = Tensor(shape: [steps, k])
        for s in 0..<steps {
            let t = Float(s) / Float(steps - 1)
            for q in 0..<k { z[s * k + q] = (1 - t) * ma[q] + t * mb[q] }
        }
        let cls = decodeClass ?? a.labels.map { Int($0[0]) }
        let line = model.decode(z, condition: ClassChoice.condition(cls, count: steps, model: model))
        let d = model.inputSize
        let out = Tensor(shape: [steps + 2, d])
        out.pointer.update(from: a.x.pointer, count: d)
        (out.pointer + d).update(from: line.pointer, count: steps * d)
        (out.pointer + (steps + 1) * d).update(from: b.x.pointer, count: d)
        return out
    }

    static func interpolation(_ model: VAE, _ set: any DataSource, from i: Int, to j: Int, steps: Int) -> [UInt8] {
        let out = interpolationLine(model, set, from: i, to: j, steps: steps)
        return Pictures.grid(out, shape: model.config.inputShape, columns: steps + 2, scale: scale(for: model.config.inputShape))   // 2× (the page showed a 4× strip downscaled, its borders lost)
    }

    static func manifold(_ model: VAE, grid: Int, range: Double, decodeClass: Int? = nil) -> [UInt8] {
        let x = Analysis.manifold(model, grid: grid, range: range,
                                  condition: ClassChoice.condition(decodeClass, count: (model.latent > 1 ? grid : 1) * grid, model: model))
        return Pictures.grid(x, shape: model.config.inputShape, columns: grid, scale: scale(for: model.config.inputShape))
    }

    /// One row per class of a conditional model (of `classes`; nil = all): `perClass` samples each.
    static func conditionalGrid(_ model: VAE, perClass: Int, seed: UInt64, classes: [Int]? = nil) throws -> [UInt8] {
        var rng = RNG(seed: seed)
        let x = try Analysis.sample(model, classes: classes ?? Array(0..<model.config.conditionSize), perClass: perClass, rng: &rng)
        return Pictures.grid(x, shape: model.config.inputShape, columns: perClass, scale: scale(for: model.config.inputShape))
    }

    /// Scatter of latent means coloured by label (PCA to 2-D when latent > 2).
    static func latentScatter(_ model: any LatentVariableModel, _ data: Dataset, limit: Int) throws -> (svg: String, png: [UInt8], note: String) {
        let mu = try Analysis.latentMeans(model, data.test, limit: limit)
        let (xy, explained) = Analysis.project2D(mu)
        let n = mu.shape[0]
        let labels = data.test.labelArray
        if model.latent == 1 {
            // one dimension: z₁ across, the items in a row per label (no second dimension to draw)
            // a row per class, named (an item without a label, -1, in a row of its own below them)
            let classes = max(data.classNames.count, (labels.max() ?? -1) + 1)
            let points = (0..<n).map { i in (x: xy[i].0, y: labels.isEmpty ? 0 : Double(labels[i] < 0 ? classes : labels[i]), cls: labels.isEmpty ? 0 : labels[i]) }
            var plot = ScatterPlot(title: "Latent means (latent 1)", xLabel: "z₁", yLabel: labels.isEmpty ? "" : "class (a row each)",
                                   points: points, classNames: labels.isEmpty ? ["all"] : data.classNames)
            if !labels.isEmpty {
                plot.yRows = (0..<classes).map { $0 < data.classNames.count ? data.classNames[$0] : "class \($0)" } + (labels.contains { $0 < 0 } ? ["(no label)"] : [])
            }
            return (plot.svg(), plot.png(), "\(n) test items, z₁ in a row per label")
        }
        let points = (0..<n).map { i in (x: xy[i].0, y: xy[i].1, cls: labels.isEmpty ? 0 : labels[i]) }
        let pca = model.latent > 2
        let plot = ScatterPlot(title: pca ? "Latent means (PCA of \(model.latent) dimensions)" : "Latent means",
                               xLabel: pca ? "principal component 1" : "z₁", yLabel: pca ? "principal component 2" : "z₂",
                               points: points, classNames: labels.isEmpty ? ["all"] : data.classNames)
        let note = pca ? String(format: "%d test items; the two components keep %.0f%% of the variance", n, 100 * explained)
                       : "\(n) test items"
        return (plot.svg(), plot.png(), note)
    }

    /// `best`: with early stopping, the best epoch so far, and `kept`: whether the run has ended and
    /// keeps that epoch's model (named in the validation curve's legend: the plot showed train and
    /// test only, nothing of what stopped the run).
    static func lossChart(_ metrics: [EpochMetrics], per unit: String = "image", best: Int? = nil, kept: Bool = true) -> (svg: String, png: [UInt8]) {
        // An IWAE run's training loss is its bound −L_k, not the negative ELBO
        let k = metrics.last?.train_iwae_k ?? 1
        var chart = LineChart(title: k > 1 ? "Training bound −L_\(k) and test negative ELBO per \(unit)" : "Negative ELBO per \(unit)",
                              xLabel: "epoch", yLabel: "nats")
        chart.integerX = true
        chart.addSeries(k > 1 ? "train (IWAE bound, k = \(k))" : "train", points: metrics.map { (x: Double($0.epoch), y: $0.train_loss) })
        chart.addSeries("test (one z)", points: metrics.map { (x: Double($0.epoch), y: $0.test_loss) })
        chart.addSeries("test (z = μ)", points: metrics.map { (x: Double($0.epoch), y: $0.test_loss_mu) })
        let validation = metrics.compactMap { m in m.validation_loss.map { (x: Double(m.epoch), y: $0) } }
        if !validation.isEmpty {
            // (a legend name of at most 28 characters: longer ones are cut)
            chart.addSeries("validation" + (best.map { kept ? " (kept: epoch \($0))" : " (best so far: \($0))" } ?? ""), points: validation)
        }
        return (chart.svg(), chart.png())
    }

    /// Two test images of different classes (for the interpolation), else 0 and 1.
    static func interpolationPair(_ set: any DataSource) -> (Int, Int) {
        guard set.count > 1 else { return (0, 0) }
        if set.hasLabels, let j = (1..<set.count).first(where: { set.label($0) != set.label(0) }) { return (0, j) }
        return (0, 1)
    }
}
