import VAECore
import RealModule

/// What a trained VAE is used for: codes, pictures of the latent space, anomaly scores,
/// denoising. Images are returned as [count, D] tensors of values in [0, 1].
public enum Analysis {
    /// Latent means μ(x) of the first `limit` items of a set (all when nil), [count, K]; a
    /// conditional model encodes each item under its own label.
    public static func latentMeans(_ model: any LatentVariableModel, _ set: any DataSource, limit: Int? = nil, batch: Int = 1000) throws -> Tensor {
        precondition(batch > 0, "Analysis.latentMeans: batch must be positive, got \(batch)")
        try model.checkReadable(set)
        let batch = model.itemsPerPass(batch)
        let n = max(0, min(set.count, limit ?? set.count)), k = model.latent
        let out = Tensor(shape: [n, k])
        var start = 0
        while start < n {
            let end = min(n, start + batch)
            let b = model.conditioned(set.batch(start..<end))
            let h = model.encodeRaw(Batch(x: b.x, condition: b.condition))
            for r in 0..<(end - start) { (out.pointer + (start + r) * k).update(from: h.pointer + r * 2 * k, count: k) }
            start = end
        }
        return out
    }

    /// Decoded images along the straight line between the latent means of `a` and `b`
    /// (both [1, D]), `steps` images including both ends.
    public static func interpolate(_ model: VAE, from a: Tensor, to b: Tensor, steps: Int) -> Tensor {
        precondition(steps >= 2, "Analysis.interpolate: steps must be at least 2 (both ends), got \(steps)")
        let k = model.latent
        let ma = model.encode(a).mu, mb = model.encode(b).mu
        let z = Tensor(shape: [steps, k])
        for s in 0..<steps {
            let t = Float(s) / Float(steps - 1)
            for j in 0..<k { z[s * k + j] = (1 - t) * ma[j] + t * mb[j] }
        }
        return model.decode(z)
    }

    /// Decodes a regular grid over latent dimensions `dims` (the others 0), from −range to
    /// +range; row 0 is the top (largest second coordinate). [grid², D]
    /// A latent of one dimension has no z₂: one row of `grid` images over z₁.
    public static func manifold(_ model: VAE, grid: Int, range: Double, dims: (Int, Int) = (0, 1), condition: Tensor? = nil) -> Tensor {
        let k = model.latent
        precondition(grid >= 1, "Analysis.manifold: grid must be positive, got \(grid)")
        precondition((0..<k).contains(dims.0) && (k == 1 || ((0..<k).contains(dims.1) && dims.1 != dims.0)),
                     "Analysis.manifold: dims \(dims) must be two different latent dimensions of 0…\(k - 1)")
        let rows = k > 1 ? grid : 1
        let z = Tensor(shape: [rows * grid, k])
        for r in 0..<rows {
            for c in 0..<grid {
                let fx = grid == 1 ? 0 : -range + 2 * range * Double(c) / Double(grid - 1)
                let fy = grid == 1 ? 0 : range - 2 * range * Double(r) / Double(grid - 1)
                let row = (r * grid + c) * k
                z[row + dims.0] = Float(fx)
                if k > 1 { z[row + dims.1] = Float(fy) }
            }
        }
        return model.decode(z, condition: condition)
    }

    /// Samples from the model: z ~ N(0, I), decoded. [count, D]. A conditional model throws: use
    /// `sample(_:classes:perClass:rng:)`, which says of which class (a run loaded with
    /// `Checkpoint.load` may be either, and this trapped on a conditional one).
    public static func sample(_ model: VAE, count: Int, rng: inout RNG) throws -> Tensor {
        precondition(count >= 0, "Analysis.sample: count must not be negative, got \(count)")
        guard !model.isConditional else {
            throw VAEError("the model is conditional: it samples a class at a time — use Analysis.sample(model, classes:perClass:rng:) (its \(model.config.conditionSize) classes are 0…\(model.config.conditionSize - 1))")
        }
        let z = Tensor(shape: [count, model.latent])
        rng.fillNormal(z.pointer, count: z.count)
        return model.decode(z)
    }

    /// The mean of points [n, K] and their first two principal axes (K > 2; the coordinate axes
    /// for K ≤ 2), with the fraction of the variance the axes keep. Power iteration on the
    /// covariance, deflated by the earlier axes; an axis stays orthogonal to the earlier ones
    /// even when the covariance is degenerate.
    public static func principalAxes(_ points: Tensor) -> (mean: [Double], axes: [[Double]], explained: Double) {
        let n = points.shape[0], k = points.shape[1]
        if k <= 2 {
            return ([Double](repeating: 0, count: k), (0..<k).map { a in (0..<k).map { $0 == a ? 1.0 : 0 } }, 1)
        }
        var mean = [Double](repeating: 0, count: k)
        // mean_j = (1/n) Σᵢ x_ij
        for i in 0..<n { for j in 0..<k { mean[j] += Double(points[i * k + j]) } }
        for j in 0..<k { mean[j] /= Double(max(n, 1)) }
        var cov = [Double](repeating: 0, count: k * k)
        // cov_ab = Σᵢ (x_ia − mean_a)(x_ib − mean_b)
        for i in 0..<n {
            for a in 0..<k {
                let da = Double(points[i * k + a]) - mean[a]
                for b in 0..<k { cov[a * k + b] += da * (Double(points[i * k + b]) - mean[b]) }
            }
        }
        let trace = (0..<k).reduce(0.0) { $0 + cov[$1 * k + $1] }
        var axes: [[Double]] = []
        var kept = 0.0
        for comp in 0..<2 {
            var v = (0..<k).map { j in j == comp ? 1.0 : 0.01 * Double(j + 1) }
            var lambda = 0.0
            // v ← C v / ‖C v‖ (deflated C: the earlier axes removed)
            for _ in 0..<1000 {
                var w = [Double](repeating: 0, count: k)
                for a in 0..<k { for b in 0..<k { w[a] += cov[a * k + b] * v[b] } }
                for u in axes {
                    let dot = zip(u, w).reduce(0.0) { $0 + $1.0 * $1.1 }
                    for j in 0..<k { w[j] -= dot * u[j] }
                }
                let norm = w.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
                if !(norm > 0) { break }
                lambda = norm
                v = w.map { $0 / norm }
            }
            for u in axes {
                let dot = zip(u, v).reduce(0.0) { $0 + $1.0 * $1.1 }
                for j in 0..<k { v[j] -= dot * u[j] }
            }
            let norm = v.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            v = norm > 0 ? v.map { $0 / norm } : (0..<k).map { $0 == comp ? 1 : 0 }
            axes.append(v)
            kept += lambda
        }
        return (mean, axes, trace > 0 ? min(1, kept / trace) : 1)
    }

    /// Projects points [n, K] to 2-D: the first two principal components (K > 2), or the
    /// points themselves (K ≤ 2). Returns the projection and the fraction of variance kept.
    public static func project2D(_ points: Tensor) -> (xy: [(Double, Double)], explained: Double) {
        let n = points.shape[0], k = points.shape[1]
        if k == 1 { return ((0..<n).map { (Double(points[$0]), 0) }, 1) }
        if k == 2 { return ((0..<n).map { (Double(points[2 * $0]), Double(points[2 * $0 + 1])) }, 1) }
        let (mean, axes, explained) = principalAxes(points)
        let xy = (0..<n).map { i -> (Double, Double) in
            var p = (0.0, 0.0)
            for j in 0..<k {
                let d = Double(points[i * k + j]) - mean[j]
                p.0 += d * axes[0][j]
                p.1 += d * axes[1][j]
            }
            return p
        }
        return (xy, explained)
    }

    /// Anomaly score of each image: its negative ELBO (nats), averaged over `samples` z draws.
    /// A conditional model scores each item under its own label. Each item's draws come from a
    /// stream of its own, seeded by one draw of `rng` and the item's values (`itemSeed`): an item
    /// scores the same wherever it stands, in the data set or alone in a file of one.
    public static func anomalyScores(_ model: any LatentVariableModel, _ set: any DataSource, samples: Int = 1, batch: Int = 1000, rng: inout RNG) throws -> [Double] {
        precondition(batch > 0 && samples > 0, "Analysis.anomalyScores: batch and samples must be positive")
        try model.checkReadable(set)
        let batch = model.itemsPerPass(batch)
        var scores = [Double](repeating: 0, count: set.count)
        let base = rng.next()
        var start = 0
        while start < set.count {
            let end = min(set.count, start + batch)
            let b = model.conditioned(set.batch(start..<end))
            let eps = Tensor(shape: [end - start, model.latent])
            var streams = (0..<(end - start)).map { RNG(seed: itemSeed(b, $0, base: base)) }
            for _ in 0..<samples {
                for i in 0..<(end - start) { streams[i].fillNormal(eps.pointer + i * model.latent, count: model.latent) }
                let (r, kl) = model.perExampleLoss(b, eps: eps)
                for i in 0..<(end - start) { scores[start + i] += (r[i] + kl[i]) / Double(samples) }
            }
            start = end
        }
        return scores.map(Analysis.overflowIsInfinite)
    }

    /// The seed of item `i`'s noise: `base` and the item's values, mask and condition (a
    /// conditional model's label) — the item itself, not its place in the data. `b` as the model
    /// reads it (`model.conditioned`).
    static func itemSeed(_ b: Batch, _ i: Int, base: UInt64) -> UInt64 {
        itemSeed(x: b.x, mask: b.mask, condition: b.condition, rows: b.count, i, base: base)
    }

    /// The same of row `i` of `rows` rows of `x`, `mask` and `condition`.
    static func itemSeed(x: Tensor, mask: Tensor?, condition: Tensor?, rows: Int, _ i: Int, base: UInt64) -> UInt64 {
        var h = WordHash()
        withUnsafeBytes(of: base) { h.add($0) }
        let d = x.count / max(rows, 1)
        h.add(UnsafeRawBufferPointer(start: x.pointer + i * d, count: d * 4))
        if let m = mask { h.add(UnsafeRawBufferPointer(start: m.pointer + i * d, count: d * 4)) }
        // the label only where it is an input (a conditional model's condition): another file's
        // class numbering, or a row without its label cell, is the same item to a model that ignores it
        if let c = condition {
            let w = c.count / max(rows, 1)
            h.add(UnsafeRawBufferPointer(start: c.pointer + i * w, count: w * 4))
        }
        return h.value
    }

    /// An item whose loss overflows 32-bit floats (a value far outside the training data's range
    /// drives σ or the likelihood's terms to infinity, and ∞ − ∞ is NaN) scores +∞: the model cannot
    /// explain it at all. NaN would sort anywhere and be flagged by no threshold.
    public static func overflowIsInfinite(_ score: Double) -> Double { score.isNaN ? .infinity : score }

    /// Area under the ROC curve of `scores` for telling `positive` examples from the rest
    /// (the Mann–Whitney statistic; ties count one half). nil when a class is empty.
    public static func rocAUC(scores: [Double], positive: [Bool]) -> Double? {
        precondition(scores.count == positive.count, "Analysis.rocAUC: \(scores.count) scores but \(positive.count) labels")
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        let nPos = positive.filter { $0 }.count, nNeg = scores.count - nPos
        guard nPos > 0 && nNeg > 0 else { return nil }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for t in i...j where positive[order[t]] { rankSum += rank }
            i = j + 1
        }
        return (rankSum - Double(nPos) * Double(nPos + 1) / 2) / (Double(nPos) * Double(nNeg))
    }

    /// Adds Gaussian noise of standard deviation `noise` (clipped to [0, 1]) and reconstructs.
    public static func denoise(_ model: VAE, clean: Tensor, noise: Double, rng: inout RNG) -> (noisy: Tensor, denoised: Tensor) {
        let noisy = addNoise(clean, sigma: noise, rng: &rng)
        return (noisy, model.reconstruct(noisy))
    }

    /// Peak signal-to-noise ratio in dB for values in [0, 1].
    public static func psnr(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.count == b.count, "Analysis.psnr: \(a.shape) against \(b.shape): give two tensors of the same size")
        var s = 0.0
        for i in 0..<a.count { let d = Double(a[i]) - Double(b[i]); s += d * d }
        let mse = s / Double(max(a.count, 1))
        return mse > 0 ? 10 * Double.log10(1 / mse) : .infinity
    }
}

extension Analysis {
    /// Samples of a conditional model for each class in `classes`: `perClass` draws z ~ N(0, I)
    /// each, decoded under that class's one-hot. [classes.count·perClass, D], class by class.
    public static func sample(_ model: VAE, classes: [Int], perClass: Int, rng: inout RNG) throws -> Tensor {
        precondition(perClass >= 0, "Analysis.sample: perClass must be ≥ 0, got \(perClass)")
        guard model.isConditional else { throw VAEError("the model is not conditional: it samples without classes (Analysis.sample(model, count:rng:))") }
        if let c = classes.first(where: { !(0..<model.config.conditionSize).contains($0) }) {
            throw VAEError("class \(c) is not one of the model's classes 0…\(model.config.conditionSize - 1)")
        }
        let labels = classes.flatMap { Array(repeating: Int32($0), count: perClass) }
        let z = Tensor(shape: [labels.count, model.latent])
        rng.fillNormal(z.pointer, count: z.count)
        return model.decode(z, condition: Batch.oneHot(labels, classes: model.config.conditionSize))
    }

    /// 3×3 median filter per channel of [count, C·H·W] images of shape [C, H, W] (edges replicated):
    /// the classic baseline a denoiser must beat.
    public static func medianFilter3x3(_ images: Tensor, shape: [Int]) -> Tensor {
        let c = shape[0], h = shape[1], w = shape[2], n = images.shape[0], plane = h * w
        let out = Tensor(shape: images.shape)
        var window = [Float](repeating: 0, count: 9)
        for i in 0..<n {
            for ch in 0..<c {
                let src = images.pointer + i * c * plane + ch * plane, dst = out.pointer + i * c * plane + ch * plane
                for y in 0..<h {
                    for x in 0..<w {
                        var k = 0
                        for dy in -1...1 {
                            for dx in -1...1 {
                                let yy = min(h - 1, max(0, y + dy)), xx = min(w - 1, max(0, x + dx))
                                window[k] = src[yy * w + xx]
                                k += 1
                            }
                        }
                        window.sort()
                        dst[y * w + x] = window[4]
                    }
                }
            }
        }
        return out
    }

    /// x + N(0, σ²) clipped to [0, 1]: the noisy copy `vae denoise` cleans.
    public static func addNoise(_ clean: Tensor, sigma: Double, rng: inout RNG) -> Tensor {
        let noisy = Tensor(shape: clean.shape)
        Corruption.gaussian(sigma).apply(clean.pointer, count: clean.count, shape: [clean.count], into: noisy.pointer, rng: &rng)
        return noisy
    }
}

extension Analysis {
    /// Anomaly score of each item by the importance-weighted estimate of −log p(x) with `k`
    /// samples (a conditional model: under the item's own label).
    public static func iwaeScores(_ model: any LatentVariableModel, _ set: any DataSource, k: Int, batch: Int = 100, rng: inout RNG,
                                  progress: ((Int) -> Void)? = nil) throws -> [Double] {
        precondition(batch > 0, "Analysis.iwaeScores: batch must be positive, got \(batch)")
        // each item's k draws from its own stream (`itemSeed`), as anomalyScores
        let base = rng.next(), latent = model.latent
        return try Evaluator.iwae(model, set, k: k, batch: batch, rng: &rng, progress: progress, noise: { b in
            var current = (item: -1, stream: RNG(seed: 0))
            return { i, _, e in
                if current.item != i { current = (i, RNG(seed: itemSeed(b, i, base: base))) }   // (draws come item by item)
                current.stream.fillNormal(e, count: latent)
            }
        }).map(Analysis.overflowIsInfinite)
    }
}
