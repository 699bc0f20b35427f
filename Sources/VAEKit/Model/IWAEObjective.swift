import VAECore
import RealModule

/// The importance-weighted training objective of Burda, Grosse & Salakhutdinov (2015) on a VAE's
/// encoder, decoder and likelihood. For image i and samples zᵢⱼ = μᵢ + σᵢ·εᵢⱼ, j = 1…K:
///   log wᵢⱼ = log p(xᵢ | zᵢⱼ) + log N(zᵢⱼ; 0, I) − log N(zᵢⱼ; μᵢ, σᵢ²)
///           = −nllᵢⱼ − ½‖zᵢⱼ‖² + ½‖εᵢⱼ‖² + ½ Σ log σᵢ²        (the log 2π terms cancel)
///   Lᵢ = log (1/K) Σⱼ wᵢⱼ,   loss = −s Σᵢ Lᵢ  (s = 1/B)
/// Its gradient goes through the normalised weights w̃ᵢⱼ = wᵢⱼ / Σₖ wᵢₖ (ε held fixed):
///   ∂loss/∂oᵢⱼ = s·w̃ᵢⱼ·∂nllᵢⱼ/∂oᵢⱼ                      (decoder outputs)
///   gᵢⱼ := ∂loss/∂zᵢⱼ = s·w̃ᵢⱼ·(∂nllᵢⱼ/∂z + zᵢⱼ)          (the decoder's dz plus the prior's)
///   ∂loss/∂μᵢ = Σⱼ gᵢⱼ,   ∂loss/∂log σᵢ² = Σⱼ gᵢⱼ·εᵢⱼ·½σᵢ − ½s   (Σⱼ w̃ᵢⱼ = 1; −½ from log q)
/// The analytic KL of the ELBO plays no part: log p(z) and log q(z|x) are taken at the samples.
/// With K = 1 this is the ELBO estimated with the sampled KL, log q(z|x) − log p(z).
public final class IWAEObjective {
    public let model: VAE
    public let samples: Int
    private var zBuf = Workspace(), condBuf = Workspace(), gradBuf = Workspace(), dhBuf = Workspace()
    private var nll: [Double] = [], logw: [Double] = [], weight: [Double] = [], bound: [Double] = []

    public init(model: VAE, samples: Int) {
        precondition(samples >= 1, "IWAE needs at least one sample")
        self.model = model
        self.samples = samples
    }

    /// Forward and backward for one batch; *accumulates* gradients (zero them first).
    /// `eps`: [B, K·latent] standard-normal noise, sample j of image i at row i, columns j·latent….
    /// `gradScale` as in `VAE.trainStep` (default 1/B). Returns recon = Σᵢ mean −log p(xᵢ|zᵢⱼ)
    /// and kl = Σᵢ (−Lᵢ) − recon, so that recon + kl = −Σᵢ Lᵢ.
    @discardableResult
    public func trainStep(_ batch: Batch, eps: Tensor, gradScale: Float? = nil) -> BatchLoss {
        let b = batch.count
        forward(batch, eps: eps, gradients: true, scale: Double(gradScale ?? 1 / Float(b)))
        return loss(rows: b)
    }

    /// −Lᵢ for each image, in nats (no gradients).
    public func negativeBound(_ batch: Batch, eps: Tensor) -> [Double] {
        forward(batch, eps: eps, gradients: false, scale: 0)
        return Array(bound[0..<batch.count].map { -$0 })
    }

    /// The loss terms of the last forward pass (see `trainStep`).
    private func loss(rows b: Int) -> BatchLoss {
        var recon = 0.0, total = 0.0
        for i in 0..<b {
            var s = 0.0
            for j in 0..<samples { s += nll[i * samples + j] }
            recon += s / Double(samples)
            total -= bound[i]
        }
        return BatchLoss(recon: recon, kl: total - recon, count: b)
    }

    private func forward(_ input: Batch, eps: Tensor, gradients: Bool, scale: Double) {
        let batch = model.conditioned(input)
        let x = batch.x
        let b = x.shape[0], kz = model.latent, d = model.inputSize, k = samples, n = b * k
        let lik = model.likelihood, ow = lik.outputWidth
        precondition(x.count == b * d && eps.count == n * kz, "IWAE: x \(x.shape), eps \(eps.shape) for K = \(k)")
        if nll.count < n {
            nll = [Double](repeating: 0, count: n)
            logw = nll
            weight = nll
        }
        if bound.count < b { bound = [Double](repeating: 0, count: b) }
        let h = model.encodeRaw(batch.input ?? x, condition: batch.condition)
        // zᵢⱼ = μᵢ + σᵢ·εᵢⱼ, rows in image-major order (row r = i·K + j)
        let z = zBuf.view([n, kz])
        for i in 0..<b {
            let mu = h.pointer + i * 2 * kz
            for j in 0..<k {
                let r = i * k + j
                Posterior.reparameterize(mu: mu, logVariance: mu + kz, eps: eps.pointer + r * kz, latent: kz, z: z.pointer + r * kz)
            }
        }
        var cond: Tensor?
        if let c = batch.condition {
            let l = model.config.conditionSize
            let t = condBuf.view([n, l])
            for r in 0..<n { (t.pointer + r * l).update(from: c.pointer + (r / k) * l, count: l) }
            cond = t
        }
        let out = model.decodeLogits(z, condition: cond)
        // Likelihoods with parameters of their own take a per-row scale in a second pass.
        let rowScaled = gradients && lik.parameters.isEmpty
        let dl = gradBuf.view([n, ow])
        for r in 0..<n { nll[r] = 0 }
        nll.withUnsafeMutableBufferPointer { np in
            for i in 0..<b {
                lik.negLogLikelihood(LikelihoodArguments(
                    rows: k, out: out.pointer + i * k * ow, outStride: ow, x: x.pointer + i * d, xStride: 0,
                    mask: batch.mask.map { UnsafePointer($0.pointer + i * d) }, maskStride: 0,
                    nll: np.baseAddress! + i * k, grad: rowScaled ? dl.pointer + i * k * ow : nil, gradStride: ow, gradScale: 1))
            }
        }
        // log wᵢⱼ, then per image Lᵢ = logsumexpⱼ log wᵢⱼ − log K and w̃ᵢⱼ = exp(log wᵢⱼ − logsumexp)
        for i in 0..<b {
            let lv = h.pointer + i * 2 * kz + kz
            var mx = -Double.infinity
            for j in 0..<k {
                let r = i * k + j
                logw[r] = Evaluator.logImportanceWeight(nll: nll[r], z: z.pointer + r * kz, eps: eps.pointer + r * kz,
                                                        logVariance: lv, latent: kz)
                mx = max(mx, logw[r])
            }
            var s = 0.0
            for j in 0..<k { s += Double.exp(logw[i * k + j] - mx) }
            let lse = mx + Double.log(s)
            bound[i] = lse - Double.log(Double(k))
            for j in 0..<k { weight[i * k + j] = Double.exp(logw[i * k + j] - lse) }
        }
        guard gradients else { return }
        if rowScaled {
            // ∂loss/∂oᵣ = s·w̃ᵣ·∂nllᵣ/∂oᵣ
            for r in 0..<n {
                let c = Float(scale * weight[r]), g = dl.pointer + r * ow
                for t in 0..<ow { g[t] *= c }
            }
        } else {
            var scratch = 0.0
            for r in 0..<n {
                let i = r / k
                lik.negLogLikelihood(LikelihoodArguments(
                    rows: 1, out: out.pointer + r * ow, outStride: ow, x: x.pointer + i * d, xStride: 0,
                    mask: batch.mask.map { UnsafePointer($0.pointer + i * d) }, maskStride: 0,
                    nll: &scratch, grad: dl.pointer + r * ow, gradStride: ow, gradScale: Float(scale * weight[r])))
            }
        }
        let dz = model.decoder.backward(dl)
        let dh = dhBuf.view([b, 2 * kz])
        // gᵢⱼ = dzᵢⱼ + s·w̃ᵢⱼ·zᵢⱼ;  ∂μ = Σⱼ gᵢⱼ;  ∂log σ² = Σⱼ gᵢⱼ·εᵢⱼ·½σ − ½s
        for i in 0..<b {
            let lv = h.pointer + i * 2 * kz + kz
            let dmu = dh.pointer + i * 2 * kz, dlv = dmu + kz
            for t in 0..<kz {
                dmu[t] = 0
                dlv[t] = Float(-0.5 * scale)
            }
            for j in 0..<k {
                let r = i * k + j
                let c = Float(scale * weight[r])
                let g = dz.pointer + r * kz, zr = z.pointer + r * kz, e = eps.pointer + r * kz
                for t in 0..<kz {
                    let gz = g[t] + c * zr[t]
                    dmu[t] += gz
                    dlv[t] += gz * e[t] * 0.5 * Posterior.sigma(logVariance: lv[t])
                }
            }
        }
        _ = model.encoder.backward(dh)
    }
}
