import VAECore
import RealModule

/// Mean loss terms over a set, nats per image.
public struct LossTerms: Codable, Equatable, Sendable {
    public var recon: Double
    public var kl: Double
    public var loss: Double { recon + kl }
}

/// The negative ELBO of a set and its two terms, per item in nats, with one z ~ q(z|x) and with z = μ.
public struct ELBOResult: Codable, Equatable, Sendable {
    /// Negative ELBO terms with one z ~ q(z|x) per image.
    public var sample: LossTerms
    /// The same with z = μ (the decoder's reconstruction of the mean code).
    public var mean: LossTerms
    public var count: Int
}

/// Test-set measures of a trained model (any kind: `LatentVariableModel`).
public enum Evaluator {
    /// Negative ELBO (one sample and z = μ) over `set`, in batches.
    public static func elbo(_ model: any LatentVariableModel, _ set: any DataSource, batchSize: Int = 1000, rng: inout RNG) throws -> ELBOResult {
        // a mean over no items: 0 nats read as a perfect score
        guard set.count > 0 else { throw VAEError("the data has no items: there is no ELBO to average") }
        try model.checkReadable(set)
        return elboUnchecked(model, set, batchSize: batchSize, rng: &rng)
    }

    /// `elbo` of a set the trainer checked already (each epoch's test and validation sets).
    static func elboUnchecked(_ model: any LatentVariableModel, _ set: any DataSource, batchSize: Int = 1000, rng: inout RNG) -> ELBOResult {
        elboResult(sums: elboSums(model, set, items: 0..<set.count, batchSize: batchSize, rng: &rng), count: set.count)
    }

    /// Sums over `items` of `set` of −log p(x|z) with one z ~ q, with z = μ, and of the KL; ε in
    /// item order from `rng` (so that a share of the items, as an MPI rank takes, draws the ε
    /// the whole set would draw for them once `rng` skipped the items before).
    static func elboSums(_ model: any LatentVariableModel, _ set: any DataSource, items: Range<Int>, batchSize: Int,
                         rng: inout RNG) -> (sample: Double, mean: Double, kl: Double) {
        precondition(batchSize > 0, "Evaluator.elbo: batchSize must be positive, got \(batchSize)")
        let batchSize = model.itemsPerPass(batchSize)
        var rs = 0.0, rm = 0.0, kl = 0.0
        let k = model.latent
        var start = items.lowerBound
        while start < items.upperBound {
            let end = min(items.upperBound, start + batchSize)
            let batch = model.conditioned(set.batch(start..<end))
            let eps = Tensor(shape: [end - start, k])
            rng.fillNormal(eps.pointer, count: eps.count)
            let s = model.loss(batch, eps: eps)
            let m = model.loss(batch, eps: nil)
            rs += s.recon
            rm += m.recon
            kl += s.kl
            start = end
        }
        return (rs, rm, kl)
    }

    static func elboResult(sums s: (sample: Double, mean: Double, kl: Double), count: Int) -> ELBOResult {
        let n = Double(max(count, 1))
        return ELBOResult(sample: LossTerms(recon: s.sample / n, kl: s.kl / n), mean: LossTerms(recon: s.mean / n, kl: s.kl / n),
                          count: count)
    }

    /// Active latent units (Burda et al. 2015, §5.2): dimension u is active when the variance
    /// over `set` of its posterior mean, Cov_x(E_q(u|x)[u]), exceeds `threshold` (10⁻²). Returns
    /// the count and each dimension's variance (over the items, divided by their count).
    public static func activeUnits(_ model: any LatentVariableModel, _ set: any DataSource, threshold: Double = 0.01,
                                   batchSize: Int = 1000) throws -> (count: Int, variances: [Double]) {
        try model.checkReadable(set)
        precondition(batchSize > 0, "Evaluator.activeUnits: batchSize must be positive, got \(batchSize)")
        let batchSize = model.itemsPerPass(batchSize)
        let k = model.latent
        var sum = [Double](repeating: 0, count: k), sumSq = [Double](repeating: 0, count: k)
        var start = 0
        while start < set.count {
            let end = min(set.count, start + batchSize)
            let h = model.encodeRaw(model.conditioned(set.batch(start..<end)))
            for r in 0..<(end - start) {
                for u in 0..<k {
                    let m = Double(h.pointer[r * 2 * k + u])  // μ: the first half of a row
                    sum[u] += m
                    sumSq[u] += m * m
                }
            }
            start = end
        }
        let n = Double(max(set.count, 1))
        let variances = (0..<k).map { max(sumSq[$0] / n - (sum[$0] / n) * (sum[$0] / n), 0) }
        return (variances.filter { $0 > threshold }.count, variances)
    }

    /// log w = log p(x|z) + log N(z; 0, I) − log N(z; μ, σ²) for z = μ + σ·ε:
    ///   = −nll − ½‖z‖² + ½‖ε‖² + ½ Σ log σ²     (the log 2π terms cancel)
    /// The one definition the IWAE estimate (`iwae`) and the IWAE training objective share.
    @inline(__always)
    public static func logImportanceWeight(nll: Double, z: UnsafePointer<Float>, eps: UnsafePointer<Float>,
                                           logVariance: UnsafePointer<Float>, latent k: Int) -> Double {
        var zz = 0.0, ee = 0.0, lv = 0.0
        for t in 0..<k {
            zz += Double(z[t]) * Double(z[t])
            ee += Double(eps[t]) * Double(eps[t])
            lv += Double(logVariance[t])
        }
        return -nll - 0.5 * zz + 0.5 * ee + 0.5 * lv
    }

    /// The importance-weighted estimate of −log p(x) (Burda et al. 2015) for each image of `x`:
    ///   log wⱼ = log p(x|zⱼ) + log N(zⱼ; 0, I) − log N(zⱼ; μ, σ²),  zⱼ ~ q(z|x), j = 1…k
    ///   −log p(x) ≈ −(logsumexpⱼ log wⱼ − log k)
    /// `noise(image, j, eps)` fills ε for sample j of image `image` (K values); by default ε
    /// comes from `rng`. Decodes up to `chunk` samples at a time.
    public static func iwae(_ model: any LatentVariableModel, x: Tensor, k: Int, chunk: Int = 1000, rng: inout RNG,
                            noise: ((Int, Int, UnsafeMutablePointer<Float>) -> Void)? = nil) throws -> [Double] {
        try iwae(model, Batch(x: x), k: k, chunk: chunk, rng: &rng, noise: noise)
    }

    /// `iwae` over every item of `set`, in passes of at most `batch` items (`itemsPerPass`):
    /// ε in item order, as in one pass. `progress` is told the items done after each one (a
    /// k of 5,000 over 10,000 items runs for minutes). `noise`, when given, makes each pass's
    /// ε source from the pass's batch (as the model reads it): (item, sample, ε row) as in
    /// `iwae(_:_:k:chunk:rng:noise:done:)`.
    public static func iwae(_ model: any LatentVariableModel, _ set: any DataSource, k: Int, batch: Int, rng: inout RNG,
                            progress: ((Int) -> Void)? = nil,
                            noise: ((Batch) -> (Int, Int, UnsafeMutablePointer<Float>) -> Void)? = nil) throws -> [Double] {
        precondition(batch > 0, "Evaluator.iwae: batch must be positive, got \(batch)")
        try model.checkReadable(set)
        let pass = model.itemsPerPass(batch)
        var out: [Double] = []
        out.reserveCapacity(set.count)
        for start in stride(from: 0, to: set.count, by: pass) {
            let b = model.conditioned(set.batch(start..<min(set.count, start + pass)))
            out += iwaeUnchecked(model, b, k: k, chunk: 1000, rng: &rng, noise: noise.map { $0(b) },
                                 done: progress.map { p in { p(start + $0) } })
        }
        return out
    }

    /// The same for a batch with a mask (missing entries left out of p(x|z)) and/or a condition.
    public static func iwae(_ model: any LatentVariableModel, _ batch: Batch, k: Int, chunk: Int = 1000, rng: inout RNG,
                            noise: ((Int, Int, UnsafeMutablePointer<Float>) -> Void)? = nil, done: ((Int) -> Void)? = nil) throws -> [Double] {
        try model.checkReadable(batch)
        return iwaeUnchecked(model, batch, k: k, chunk: chunk, rng: &rng, noise: noise, done: done)
    }

    static func iwaeUnchecked(_ model: any LatentVariableModel, _ batch: Batch, k: Int, chunk: Int, rng: inout RNG,
                              noise: ((Int, Int, UnsafeMutablePointer<Float>) -> Void)?, done: ((Int) -> Void)? = nil) -> [Double] {
        precondition(k >= 1, "Evaluator.iwae: k (importance samples) must be at least 1, got \(k)")
        let batch = model.conditioned(batch)   // a conditional model: each item under its own label
        let n = batch.count, kz = model.latent
        let h = model.encodeRaw(batch).copy()
        var result = [Double](repeating: 0, count: n)
        let rows = max(1, min(k, model.itemsPerPass(chunk)))
        let z = Tensor(shape: [rows, kz])
        let eps = Tensor(shape: [rows, kz])
        var nll = [Double](repeating: 0, count: rows)
        var logw = [Double](repeating: 0, count: k)
        for i in 0..<n {
            let mu = h.pointer + i * 2 * kz, lv = mu + kz
            let item = batch.rows(i..<(i + 1))
            var j0 = 0
            while j0 < k {
                let m = min(rows, k - j0)
                for r in 0..<m {
                    let e = eps.pointer + r * kz
                    if let noise { noise(i, j0 + r, e) } else { rng.fillNormal(e, count: kz) }
                    Posterior.reparameterize(mu: mu, logVariance: lv, eps: e, latent: kz, z: z.pointer + r * kz)
                }
                nll.withUnsafeMutableBufferPointer { np in
                    model.negLogLikelihood(item, z: z.prefixView(shape: [m, kz]), samples: m, into: np.baseAddress!)
                }
                for r in 0..<m {
                    logw[j0 + r] = logImportanceWeight(nll: nll[r], z: z.pointer + r * kz, eps: eps.pointer + r * kz,
                                                       logVariance: lv, latent: kz)
                }
                j0 += m
            }
            result[i] = -(logSumExp(logw) - Double.log(Double(k)))
            done?(i + 1)
        }
        return result
    }

    /// log Σ exp(aᵢ), stable for any magnitudes.
    public static func logSumExp(_ a: [Double]) -> Double {
        guard let mx = a.max(), mx.isFinite else { return a.max() ?? -.infinity }
        var s = 0.0
        for v in a { s += Double.exp(v - mx) }
        return mx + Double.log(s)
    }
}
