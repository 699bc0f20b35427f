#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VAECore

/// A variational autoencoder: encoder → (μ, log σ²) → z = μ + σ·ε → decoder → logits.
///
/// The loss of a batch is the negative ELBO in nats per example:
///   L = (1/B) Σᵢ [ −log p(xᵢ | zᵢ) + w · KL(q(z|xᵢ) ‖ N(0, I)) ]
/// with the reconstruction term summed over pixels and the KL summed over latent dimensions.
public final class VAE {
    public let config: VAEConfig
    public let encoder: Sequential
    public let decoder: Sequential
    /// Every parameter, encoder first, in one contiguous buffer.
    public let store: ParameterStore

    private var zBuf = Workspace(), dhBuf = Workspace(), gradBuf = Workspace()
    private var recon: [Double] = []
    private var kl: [Double] = []

    /// Builds the networks and initialises them as PyTorch would (kaiming-uniform, a = √5),
    /// drawing from `RNG(seed:)`.
    public init(config: VAEConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        (encoder, decoder) = Architectures.build(config)
        store = ParameterStore(encoder.parameters + decoder.parameters)
        var rng = RNG(seed: seed)
        encoder.initialize(using: &rng)
        decoder.initialize(using: &rng)
    }

    public var latent: Int { config.latent }
    public var inputSize: Int { config.inputSize }
    public var parameterCount: Int { store.count }

    /// Sums over a batch of the two loss terms, in nats.
    public struct BatchLoss: Sendable {
        public var recon: Double
        public var kl: Double
        public var count: Int
    }

    /// Forward and backward for one batch; *accumulates* gradients (zero them first).
    /// - Parameters:
    ///   - x: [B, D] targets in [0, 1]
    ///   - eps: [B, K] standard-normal noise for the reparameterization
    ///   - klWeight: w in L = recon + w·KL
    ///   - batchRows: the B that the loss is averaged over (default: x's rows); data-parallel
    ///     training passes the global batch, so that the ranks' gradients sum to the whole batch's
    public func trainStep(x: Tensor, eps: Tensor, klWeight: Double, batchRows: Int? = nil) -> BatchLoss {
        let b = x.shape[0], k = latent, d = inputSize, scaleRows = batchRows ?? b
        precondition(x.count == b * d && eps.count == b * k, "trainStep: x \(x.shape), eps \(eps.shape)")
        ensure(rows: b)
        let h = encoder.forward(x)
        let z = zBuf.view([b, k])
        kl.withUnsafeMutableBufferPointer { klp in
            Posterior.sample(h: h.pointer, eps: eps.pointer, rows: b, latent: k, z: z.pointer, kl: klp.baseAddress)
        }
        let logits = decoder.forward(z)
        let dl = gradBuf.view([b, d])
        recon.withUnsafeMutableBufferPointer { rp in
            LikelihoodMath.negLogLikelihood(config.likelihood, sigma: config.gaussianSigma, logits: logits.pointer,
                                            x: x.pointer, xRowStride: d, rows: b, cols: d, out: rp.baseAddress!,
                                            grad: dl.pointer, gradScale: 1 / Float(scaleRows))
        }
        let dz = decoder.backward(dl)
        let dh = dhBuf.view([b, 2 * k])
        Posterior.backward(h: h.pointer, eps: eps.pointer, dz: dz.pointer, rows: b, latent: k,
                           klScale: Float(klWeight / Double(scaleRows)), dh: dh.pointer)
        _ = encoder.backward(dh)
        return BatchLoss(recon: sum(recon, b), kl: sum(kl, b), count: b)
    }

    /// Loss terms without gradients. `eps == nil` uses z = μ.
    public func loss(x: Tensor, eps: Tensor?) -> BatchLoss {
        let b = x.shape[0]
        ensure(rows: b)
        perExampleLoss(x: x, eps: eps)
        return BatchLoss(recon: sum(recon, b), kl: sum(kl, b), count: b)
    }

    /// Per-example (−log p(x|z), KL) for a batch; `eps == nil` uses z = μ.
    @discardableResult
    public func perExampleLoss(x: Tensor, eps: Tensor?) -> (recon: [Double], kl: [Double]) {
        let b = x.shape[0], k = latent, d = inputSize
        ensure(rows: b)
        let h = encoder.forward(x)
        let z = zBuf.view([b, k])
        kl.withUnsafeMutableBufferPointer { klp in
            Posterior.sample(h: h.pointer, eps: eps?.pointer, rows: b, latent: k, z: z.pointer, kl: klp.baseAddress)
        }
        let logits = decoder.forward(z)
        recon.withUnsafeMutableBufferPointer { rp in
            LikelihoodMath.negLogLikelihood(config.likelihood, sigma: config.gaussianSigma, logits: logits.pointer,
                                            x: x.pointer, xRowStride: d, rows: b, cols: d, out: rp.baseAddress!,
                                            grad: nil, gradScale: 0)
        }
        return (Array(recon[0..<b]), Array(kl[0..<b]))
    }

    /// Encoder output for a batch: μ and log σ², each [B, K] (copies).
    public func encode(_ x: Tensor) -> (mu: Tensor, logvar: Tensor) {
        let b = x.shape[0], k = latent
        let h = encoder.forward(x)
        let mu = Tensor(shape: [b, k]), lv = Tensor(shape: [b, k])
        for r in 0..<b {
            (mu.pointer + r * k).update(from: h.pointer + r * 2 * k, count: k)
            (lv.pointer + r * k).update(from: h.pointer + r * 2 * k + k, count: k)
        }
        return (mu, lv)
    }

    /// Raw encoder output [B, 2K] (μ | log σ²), a view valid until the next encoder call.
    public func encodeRaw(_ x: Tensor) -> Tensor { encoder.forward(x) }

    /// Decoder logits [B, D], a view valid until the next decoder call.
    public func decodeLogits(_ z: Tensor) -> Tensor { decoder.forward(z) }

    /// Decoded images: x̂ = σ(logits), [B, D] in [0, 1] (a new tensor).
    public func decode(_ z: Tensor) -> Tensor {
        let logits = decoder.forward(z)
        let out = Tensor(shape: logits.shape)
        for i in 0..<logits.count { out[i] = Elementwise.sigmoid(logits[i]) }
        return out
    }

    /// Reconstructions x̂ = decode(μ(x)).
    public func reconstruct(_ x: Tensor) -> Tensor { decode(encode(x).mu) }

    /// −log p(x|z) for rows of logits against one image or a batch (used by the IWAE bound).
    func negLogLikelihood(logits: Tensor, x: UnsafePointer<Float>, xRowStride: Int, out: UnsafeMutablePointer<Double>) {
        LikelihoodMath.negLogLikelihood(config.likelihood, sigma: config.gaussianSigma, logits: logits.pointer,
                                        x: x, xRowStride: xRowStride, rows: logits.shape[0], cols: inputSize,
                                        out: out, grad: nil, gradScale: 0)
    }

    private func ensure(rows: Int) {
        if recon.count < rows {
            recon = [Double](repeating: 0, count: rows)
            kl = [Double](repeating: 0, count: rows)
        }
    }

    private func sum(_ a: [Double], _ n: Int) -> Double {
        var s = 0.0
        for i in 0..<n { s += a[i] }
        return s
    }
}
