import VAECore
import RealModule

/// Mean loss terms over a set, nats per image.
public struct LossTerms: Codable, Equatable, Sendable {
    public var recon: Double
    public var kl: Double
    public var loss: Double { recon + kl }
}

public struct ELBOResult: Codable, Equatable, Sendable {
    /// Negative ELBO terms with one z ~ q(z|x) per image.
    public var sample: LossTerms
    /// The same with z = μ (the decoder's reconstruction of the mean code).
    public var mean: LossTerms
    public var count: Int
}

/// Test-set measures of a trained VAE.
public enum Evaluator {
    /// Negative ELBO (one sample and z = μ) over `set`, in batches.
    public static func elbo(_ model: VAE, _ set: any DataSource, batchSize: Int = 1000, rng: inout RNG) -> ELBOResult {
        var rs = 0.0, rm = 0.0, kl = 0.0
        let k = model.latent
        var start = 0
        while start < set.count {
            let end = min(set.count, start + batchSize)
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
        let n = Double(max(set.count, 1))
        return ELBOResult(sample: LossTerms(recon: rs / n, kl: kl / n), mean: LossTerms(recon: rm / n, kl: kl / n),
                          count: set.count)
    }

    /// Active latent units (Burda et al. 2015, §5.2): dimension u is active when the variance
    /// over `set` of its posterior mean, Cov_x(E_q(u|x)[u]), exceeds `threshold` (10⁻²). Returns
    /// the count and each dimension's variance (over the items, divided by their count).
    public static func activeUnits(_ model: VAE, _ set: any DataSource, threshold: Double = 0.01,
                                   batchSize: Int = 1000) -> (count: Int, variances: [Double]) {
        let k = model.latent
        var sum = [Double](repeating: 0, count: k), sumSq = [Double](repeating: 0, count: k)
        var start = 0
        while start < set.count {
            let end = min(set.count, start + batchSize)
            let batch = model.conditioned(set.batch(start..<end))
            let h = model.encodeRaw(batch.input ?? batch.x, condition: batch.condition)
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

    /// The importance-weighted estimate of −log p(x) (Burda et al. 2015) for each image of `x`:
    ///   log wⱼ = log p(x|zⱼ) + log N(zⱼ; 0, I) − log N(zⱼ; μ, σ²),  zⱼ ~ q(z|x), j = 1…k
    ///   −log p(x) ≈ −(logsumexpⱼ log wⱼ − log k)
    /// `noise(image, j, eps)` fills ε for sample j of image `image` (K values); by default ε
    /// comes from `rng`. Decodes up to `chunk` samples at a time.
    public static func iwae(_ model: VAE, x: Tensor, k: Int, chunk: Int = 1000, rng: inout RNG,
                            noise: ((Int, Int, UnsafeMutablePointer<Float>) -> Void)? = nil) -> [Double] {
        iwae(model, Batch(x: x), k: k, chunk: chunk, rng: &rng, noise: noise)
    }

    /// The same for a batch with a mask (missing entries left out of p(x|z)) and/or a condition.
    public static func iwae(_ model: VAE, _ batch: Batch, k: Int, chunk: Int = 1000, rng: inout RNG,
                            noise: ((Int, Int, UnsafeMutablePointer<Float>) -> Void)? = nil) -> [Double] {
        precondition(k >= 1)
        let x = batch.x
        let n = x.shape[0], kz = model.latent, d = model.inputSize, l = model.config.conditionSize
        let log2pi = Double.log(2 * Double.pi)
        let h = model.encodeRaw(batch.input ?? x, condition: batch.condition).copy()
        var result = [Double](repeating: 0, count: n)
        let rows = max(1, min(k, chunk))
        let z = Tensor(shape: [rows, kz])
        let eps = Tensor(shape: [rows, kz])
        let cond = l > 0 ? Tensor(shape: [rows, l]) : nil
        var nll = [Double](repeating: 0, count: rows)
        var logw = [Double](repeating: 0, count: k)
        for i in 0..<n {
            let mu = h.pointer + i * 2 * kz, lv = mu + kz
            if let cond, let c = batch.condition {
                for r in 0..<rows { (cond.pointer + r * l).update(from: c.pointer + i * l, count: l) }
            }
            var j0 = 0
            while j0 < k {
                let m = min(rows, k - j0)
                for r in 0..<m {
                    let e = eps.pointer + r * kz
                    if let noise { noise(i, j0 + r, e) } else { rng.fillNormal(e, count: kz) }
                    Posterior.reparameterize(mu: mu, logVariance: lv, eps: e, latent: kz, z: z.pointer + r * kz)
                }
                let outputs = model.decodeLogits(z.prefixView(shape: [m, kz]), condition: cond?.prefixView(shape: [m, l]))
                nll.withUnsafeMutableBufferPointer { np in
                    model.negLogLikelihood(outputs: outputs, x: x.pointer + i * d, xRowStride: 0,
                                           mask: batch.mask.map { UnsafePointer($0.pointer + i * d) }, out: np.baseAddress!)
                }
                for r in 0..<m {
                    let e = eps.pointer + r * kz, zr = z.pointer + r * kz
                    var lp = 0.0, lq = 0.0
                    for j in 0..<kz {
                        let zj = Double(zr[j]), ej = Double(e[j])
                        lp += zj * zj
                        lq += ej * ej + Double(lv[j])
                    }
                    logw[j0 + r] = -nll[r] - 0.5 * (lp + Double(kz) * log2pi) + 0.5 * (lq + Double(kz) * log2pi)
                }
                j0 += m
            }
            result[i] = -(logSumExp(logw) - Double.log(Double(k)))
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
