import RealModule
import VAECore

/// The Gaussian posterior q(z|x) = N(μ, diag σ²) and its KL divergence from N(0, I). The one
/// place where σ = exp(½ log σ²) and z are computed (training, evaluation and IWAE alike).
enum Posterior {
    /// σ from log σ²
    @inline(__always) static func sigma(logVariance lv: Float) -> Float { Float.exp(0.5 * lv) }

    /// z = μ + σ·ε for one example's K dimensions (z = μ when `eps` is nil).
    @inline(__always)
    static func reparameterize(mu: UnsafePointer<Float>, logVariance lv: UnsafePointer<Float>, eps: UnsafePointer<Float>?,
                               latent k: Int, z: UnsafeMutablePointer<Float>) {
        if let eps {
            for j in 0..<k { z[j] = mu[j] + sigma(logVariance: lv[j]) * eps[j] }
        } else {
            z.update(from: mu, count: k)
        }
    }

    /// Runs body over 0..<rows in contiguous ranges, split over the kernel threads from 2,048
    /// values (each row's numbers are computed alike on any thread: the same bits for any split):
    /// exp of each log σ² (twice in the forward pass, once in the backward) on one thread was
    /// ~1.5% of an h400 batch-512 step while the other waited.
    static func forEachRowRange(rows: Int, latent k: Int, _ body: (Range<Int>) -> Void) {
        ThreadPool.forEachRange(rows, work: rows * k, minWork: splitFrom, body)
    }
    static let splitFrom = 2048

    /// h: encoder output [rows, 2K] (μ | log σ²);  z = μ + σ·ε;
    /// kl[r] = ½ Σ (μ² + σ² − log σ² − 1)
    static func sample(h: UnsafePointer<Float>, eps: UnsafePointer<Float>?, rows: Int, latent k: Int,
                       z: UnsafeMutablePointer<Float>, kl: UnsafeMutablePointer<Double>?) {
        forEachRowRange(rows: rows, latent: k) { range in
            for r in range {
                let mu = h + r * 2 * k, lv = mu + k
                reparameterize(mu: mu, logVariance: lv, eps: eps.map { $0 + r * k }, latent: k, z: z + r * k)
                guard let kl else { continue }
                var acc: Double = 0
                for j in 0..<k {
                    let s = sigma(logVariance: lv[j])
                    acc += Double(mu[j] * mu[j] + s * s - lv[j] - 1)
                }
                kl[r] = 0.5 * acc
            }
        }
    }

    /// dh = [∂L/∂μ | ∂L/∂log σ²] for L = s·Σ(recon + w·KL), given dz = ∂L/∂z from the decoder
    /// (already scaled by s) and klScale = s·w:  ∂μ = dz + klScale·μ;
    /// ∂lv = dz·ε·½σ + klScale·½(σ² − 1)
    ///
    /// Free bits (Kingma et al. 2016, per item): with `freeBits` λ > 0 an item whose KL (`kl[r]`,
    /// as `sample` computed it) is below λ nats gets no KL gradient — the term is max(KL, λ) — so
    /// the encoder may use up to λ nats per item without cost, and the posterior cannot collapse
    /// below it. Per item, not per batch, so the gradient is the same for any split of a batch
    /// over threads or ranks.
    static func backward(h: UnsafePointer<Float>, eps: UnsafePointer<Float>, dz: UnsafePointer<Float>,
                         rows: Int, latent k: Int, klScale klScaleIn: Float, dh: UnsafeMutablePointer<Float>,
                         kl: UnsafePointer<Double>? = nil, freeBits: Double = 0) {
        precondition(freeBits <= 0 || kl != nil, "free bits need each item's KL")
        forEachRowRange(rows: rows, latent: k) { range in
            for r in range {
                let mu = h + r * 2 * k, lv = mu + k
                let e = eps + r * k, d = dz + r * k
                let dmu = dh + r * 2 * k, dlv = dmu + k
                let klScale = freeBits > 0 && kl![r] < freeBits ? 0 : klScaleIn
                for j in 0..<k {
                    let s = sigma(logVariance: lv[j])
                    dmu[j] = d[j] + klScale * mu[j]
                    dlv[j] = d[j] * e[j] * 0.5 * s + klScale * 0.5 * (s * s - 1)
                }
            }
        }
    }
}
