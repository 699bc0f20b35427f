import VAECore

/// Sums over a batch of the two terms of the negative ELBO, in nats.
/// Loss terms of a batch, **summed** over its `count` items (nats): divide by `count` for the
/// per-item negative ELBO the trainer reports.
public struct BatchLoss: Sendable {
    /// Σᵢ −log p(xᵢ | zᵢ)
    public var recon: Double
    /// Σᵢ KL(q(z|xᵢ) ‖ N(0, I))
    public var kl: Double
    public var count: Int
    public init(recon: Double, kl: Double, count: Int) {
        self.recon = recon
        self.kl = kl
        self.count = count
    }
}

/// The kind of model a config describes: a VAE is an encoder to (μ, log σ²) and a decoder
/// likelihood log p(x | z) per item, with its parameters in one store. The feed-forward VAE
/// (`VAE`: mlp and conv over a fixed-width vector) and the sequence VAE (`SequenceVAE`: GRU
/// encoder, autoregressive GRU decoder) are two kinds of it. Training, the ELBO and IWAE
/// estimates, checkpoints, resume and data parallelism take this protocol, never a concrete class.
///
/// A new kind of model is one type conforming to it and a case in `Models.make`.
public protocol LatentVariableModel: AnyObject {
    /// What the model is (its architecture, sizes, likelihood, KL weight): stored with the run.
    var config: VAEConfig { get }
    /// Every parameter in one contiguous buffer (the optimizer's and the checkpoint's view).
    var store: ParameterStore { get }
    /// Whether the label is an input of encoder and decoder (a conditional VAE).
    var isConditional: Bool { get }
    /// Matrix-product FLOPs per item of one training step (for speed reports).
    var trainingFLOPsPerExample: Double { get }

    /// The batch with what the model needs set from what the data gives (a conditional model's
    /// one-hot condition from the labels).
    func conditioned(_ batch: Batch) -> Batch
    /// Forward and backward of the negative ELBO for one batch; *accumulates* gradients (zero
    /// them first), or with `update` applies a fused Adam step (see `VAE.trainStep`).
    /// `eps`: [B, latent] noise; `klWeight`: w in recon + w·KL; `gradScale`: the factor of the
    /// summed loss's gradient (default 1/B).
    func trainStep(_ batch: Batch, eps: Tensor, klWeight: Double, gradScale: Float?, update: FusedAdamStep?) -> BatchLoss
    /// Per-item (−log p(x|z), KL) without gradients; `eps == nil` uses z = μ.
    func perExampleLoss(_ batch: Batch, eps: Tensor?) -> (recon: [Double], kl: [Double])
    /// The encoder's output for a batch: [B, 2·latent], μ then log σ² in each row (a view valid
    /// until the model's next call).
    func encodeRaw(_ batch: Batch) -> Tensor
    /// −log p(xᵢ | z_r) for the rows r = i·samples + j of `z` ([B·samples, latent]), into `nll`.
    func negLogLikelihood(_ batch: Batch, z: Tensor, samples: Int, into nll: UnsafeMutablePointer<Double>)
    /// Randomness a training batch gets beyond ε (the sequence VAE's word dropout); none by default.
    func prepareTrainingBatch(_ batch: inout Batch, rng: inout RNG)
    /// How many items (or decoded z samples) one pass without gradients takes when `requested`
    /// are asked for — evaluation, IWAE and anomaly scores work in passes of this size, so that
    /// their memory stays bounded. `requested` by default; the sequence VAE bounds its logits.
    func itemsPerPass(_ requested: Int) -> Int
}

extension LatentVariableModel {
    public var latent: Int { config.latent }
    public var parameterCount: Int { store.count }

    public func prepareTrainingBatch(_ batch: inout Batch, rng: inout RNG) {}
    public func itemsPerPass(_ requested: Int) -> Int { requested }

    /// Loss sums without gradients; `eps == nil` uses z = μ.
    public func loss(_ batch: Batch, eps: Tensor?) -> BatchLoss {
        let (r, k) = perExampleLoss(batch, eps: eps)
        return BatchLoss(recon: r.reduce(0, +), kl: k.reduce(0, +), count: batch.count)
    }

    /// μ and log σ² for a batch, each [B, latent] (copies).
    public func encode(_ batch: Batch) -> (mu: Tensor, logvar: Tensor) {
        let b = batch.count, k = latent
        let h = encodeRaw(batch)
        let mu = Tensor(shape: [b, k]), lv = Tensor(shape: [b, k])
        for r in 0..<b {
            (mu.pointer + r * k).update(from: h.pointer + r * 2 * k, count: k)
            (lv.pointer + r * k).update(from: h.pointer + r * 2 * k + k, count: k)
        }
        return (mu, lv)
    }
}

/// Builds the model a config describes: the one place that knows the kinds.
public enum Models {
    /// A new model with PyTorch's default initialisation from `RNG(seed:)`.
    public static func make(_ config: VAEConfig, seed: UInt64 = 0) throws -> any LatentVariableModel {
        switch config.architecture {
        case .mlp, .conv: return try VAE(config: config, seed: seed)
        case .gru: return try SequenceVAE(config: config, seed: seed)
        }
    }

    /// The parameter count of `config`'s model without allocating it (nil when it overflows);
    /// call after `config.validate()`.
    public static func parameterCount(_ config: VAEConfig) throws -> Int? {
        switch config.architecture {
        case .mlp, .conv: return try VAE.describe(config).parameterCount
        case .gru: return SequenceVAE.parameterCount(config)
        }
    }
}
