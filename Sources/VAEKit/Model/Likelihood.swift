#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VAECore

/// −log p(x | z) for a batch of decoder logits, per example, in nats, and its gradient.
///
/// Bernoulli: p(x|z) = Π x̂ˣ(1−x̂)¹⁻ˣ with x̂ = σ(ℓ), computed from the logits ℓ so it never
/// sees log(0):  −log p = Σ softplus(ℓ) − x·ℓ,   ∂/∂ℓ = σ(ℓ) − x.
/// (For x in [0, 1] that are not binary this is the usual "continuous BCE" of VAE examples.)
///
/// Gaussian: p(x|z) = N(x; x̂, σ²I) with x̂ = σ(ℓ) and a fixed σ:
///   −log p = Σ (x − x̂)² / (2σ²) + D·½·log(2πσ²),   ∂/∂ℓ = (x̂ − x)/σ² · x̂(1 − x̂).
enum LikelihoodMath {
    /// - Parameters:
    ///   - logits: [rows, cols]
    ///   - x: targets; row r is `x + r * xRowStride` (stride 0 broadcasts one image to all rows)
    ///   - out: per-row −log p(x|z)
    ///   - grad: if given, receives gradScale · ∂(−log p)/∂ℓ, [rows, cols]
    static func negLogLikelihood(_ likelihood: VAEConfig.Likelihood, sigma: Double,
                                 logits: UnsafePointer<Float>, x: UnsafePointer<Float>, xRowStride: Int,
                                 rows: Int, cols: Int, out: UnsafeMutablePointer<Double>,
                                 grad: UnsafeMutablePointer<Float>?, gradScale: Float) {
        // One fused pass in C: vectorised exp/log (AVX2 or portable, bit-identical), rows split
        // over the pool, each row's sum in a fixed order.
        Elementwise.negLogLikelihoodFromLogits(gaussian: likelihood == .gaussian, sigma: sigma, logits: logits,
                                               x: x, xRowStride: xRowStride, rows: rows, cols: cols, out: out,
                                               grad: grad, gradScale: gradScale)
    }
}

/// The Gaussian posterior q(z|x) = N(μ, diag σ²) and its KL divergence from N(0, I).
enum Posterior {
    /// h: encoder output [rows, 2K] (μ | log σ²);  z = μ + exp(½ log σ²)·ε;
    /// kl[r] = ½ Σ (μ² + σ² − log σ² − 1)
    static func sample(h: UnsafePointer<Float>, eps: UnsafePointer<Float>?, rows: Int, latent k: Int,
                       z: UnsafeMutablePointer<Float>, kl: UnsafeMutablePointer<Double>?) {
        for r in 0..<rows {
            let mu = h + r * 2 * k, lv = mu + k
            let e = eps.map { $0 + r * k }
            let zr = z + r * k
            var acc: Double = 0
            for j in 0..<k {
                let s2 = expf(lv[j])
                if let e { zr[j] = mu[j] + s2.squareRoot() * e[j] } else { zr[j] = mu[j] }
                acc += Double(mu[j] * mu[j] + s2 - lv[j] - 1)
            }
            kl?[r] = 0.5 * acc
        }
    }

    /// dh = [∂L/∂μ | ∂L/∂log σ²] for L = (1/B)Σ(recon + w·KL), given dz = ∂L/∂z from the decoder
    /// (already scaled by 1/B):  ∂μ = dz + (w/B)·μ;  ∂lv = dz·ε·½σ + (w/B)·½(σ² − 1)
    static func backward(h: UnsafePointer<Float>, eps: UnsafePointer<Float>, dz: UnsafePointer<Float>,
                         rows: Int, latent k: Int, klScale: Float, dh: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let mu = h + r * 2 * k, lv = mu + k
            let e = eps + r * k, d = dz + r * k
            let dmu = dh + r * 2 * k, dlv = dmu + k
            for j in 0..<k {
                let s2 = expf(lv[j])
                let s = s2.squareRoot()
                dmu[j] = d[j] + klScale * mu[j]
                dlv[j] = d[j] * e[j] * 0.5 * s + klScale * 0.5 * (s2 - 1)
            }
        }
    }
}
