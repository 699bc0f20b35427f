import VAECore

/// The VAE's formulas on plain arrays, for one example: what the training step computes in
/// bulk, exposed for teaching, checking and small experiments.
public enum VAEMath {
    /// z = μ + exp(½ log σ²) · ε  (the reparameterization trick)
    public static func reparameterize(mu: [Float], logvar: [Float], eps: [Float]) -> [Float] {
        precondition(mu.count == logvar.count && mu.count == eps.count)
        let k = mu.count
        let h = mu + logvar
        var z = [Float](repeating: 0, count: k)
        h.withUnsafeBufferPointer { hp in
            eps.withUnsafeBufferPointer { ep in
                z.withUnsafeMutableBufferPointer { zp in
                    Posterior.sample(h: hp.baseAddress!, eps: ep.baseAddress!, rows: 1, latent: k, z: zp.baseAddress!, kl: nil)
                }
            }
        }
        return z
    }

    /// KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − log σ² − 1), summed over latent dimensions.
    public static func klDivergence(mu: [Float], logvar: [Float]) -> Double {
        precondition(mu.count == logvar.count)
        let k = mu.count
        let h = mu + logvar
        var kl = 0.0
        var z = [Float](repeating: 0, count: k)
        h.withUnsafeBufferPointer { hp in
            z.withUnsafeMutableBufferPointer { zp in
                Posterior.sample(h: hp.baseAddress!, eps: nil, rows: 1, latent: k, z: zp.baseAddress!, kl: &kl)
            }
        }
        return kl
    }

    /// Mean of (x − x̂)² over the elements.
    public static func meanSquaredError(_ x: [Float], _ xHat: [Float]) -> Double {
        precondition(x.count == xHat.count && !x.isEmpty)
        var s = 0.0
        for (a, b) in zip(x, xHat) { let d = Double(a) - Double(b); s += d * d }
        return s / Double(x.count)
    }

    /// −log p(x|z) summed over pixels for decoder logits ℓ: Bernoulli (BCE from logits) or
    /// Gaussian with fixed σ on x̂ = sigmoid(ℓ).
    public static func negLogLikelihood(_ likelihood: VAEConfig.Likelihood, logits: [Float], x: [Float], sigma: Double = 0.1) -> Double {
        precondition(logits.count == x.count)
        let config = VAEConfig(inputShape: [1, 1, x.count], likelihood: likelihood, gaussianSigma: sigma)
        let lik = Likelihoods.make(config)
        var out = 0.0
        logits.withUnsafeBufferPointer { lp in
            x.withUnsafeBufferPointer { xp in
                lik.negLogLikelihood(LikelihoodArguments(rows: 1, out: lp.baseAddress!, outStride: x.count,
                                                         x: xp.baseAddress!, xStride: x.count, nll: &out))
            }
        }
        return out
    }
}
