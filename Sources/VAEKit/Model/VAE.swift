import VAECore
import RealModule

/// A variational autoencoder: encoder → (μ, log σ²) → z = μ + σ·ε → decoder → p(x | z).
///
/// Training minimises the negative ELBO in nats per example:
///   L = (1/B) Σᵢ [ −log p(xᵢ | zᵢ) + w · KL(q(z|xᵢ) ‖ N(0, I)) ]
/// with the reconstruction term summed over the observed features and the KL summed over latent
/// dimensions (`loss(_:eps:)` returns the two sums over the batch, `BatchLoss`). A conditional
/// VAE gives encoder and decoder a condition c as well: pass batches through `conditioned(_:)`
/// (the condition from each item's label) before `loss`, `encode` or `trainStep`.
public final class VAE: LatentVariableModel {
    public let config: VAEConfig
    public let encoder: Sequential
    public let decoder: Sequential
    public let likelihood: Likelihood
    /// Every parameter — encoder, decoder, then the likelihood's — in one contiguous buffer.
    public let store: ParameterStore
    private let conditionInputs: [ConcatCondition]

    private var zBuf = Workspace(), dhBuf = Workspace(), gradBuf = Workspace(), meanBuf = Workspace(), condBuf = Workspace()
    private var recon: [Double] = []
    private var kl: [Double] = []

    /// Builds the networks and initialises them as PyTorch would (kaiming-uniform, a = √5),
    /// drawing from `RNG(seed:)`.
    public init(config: VAEConfig, seed: UInt64 = 0) throws {
        let d = try VAE.describe(config)
        self.config = config
        encoder = d.encoder
        decoder = d.decoder
        likelihood = d.likelihood
        conditionInputs = d.conditionInputs
        store = ParameterStore(encoder.parameters + decoder.parameters + likelihood.parameters)
        var rng = RNG(seed: seed)
        encoder.initialize(using: &rng)
        decoder.initialize(using: &rng)
    }

    /// The model's description — layers, names, shapes — without allocating its parameters.
    public struct Description {
        public let encoder: Sequential
        public let decoder: Sequential
        public let likelihood: Likelihood
        let conditionInputs: [ConcatCondition]

        public var parameters: [Parameter] { encoder.parameters + decoder.parameters + likelihood.parameters }
        /// nil when the count overflows.
        public var parameterCount: Int? {
            guard let e = encoder.parameterCount, let d = decoder.parameterCount else { return nil }
            let l = likelihood.parameters.reduce(0) { $0 + $1.count }
            let (s1, o1) = e.addingReportingOverflow(d)
            let (s2, o2) = s1.addingReportingOverflow(l)
            return o1 || o2 ? nil : s2
        }
    }

    public static func describe(_ config: VAEConfig) throws -> Description {
        try config.validate()
        guard config.architecture != .gru else { throw VAEError("a gru model is a sequence VAE (SequenceVAE), not a feed-forward VAE") }
        let likelihood = Likelihoods.make(config)
        likelihood.nameParameters(prefix: "likelihood")
        let n = Architectures.build(config, outputWidth: likelihood.outputWidth)
        return Description(encoder: n.encoder, decoder: n.decoder, likelihood: likelihood, conditionInputs: n.conditionInputs)
    }

    public var latent: Int { config.latent }
    public var inputSize: Int { config.inputSize }
    public var parameterCount: Int { store.count }
    public var isConditional: Bool { config.conditionSize > 0 }

    /// Matrix-product FLOPs per example of one training step (forward and backward of both
    /// networks), from what actually runs.
    public var trainingFLOPsPerExample: Double {
        let e = encoder.flops(inputShape: config.inputShape), d = decoder.flops(inputShape: [latent])
        return e.forward + e.weightGradient + e.inputGradient + d.forward + d.weightGradient + d.inputGradient
    }

    /// The loss sums of a batch (kept under this name for code written against earlier versions).
    public typealias BatchLoss = VAEKit.BatchLoss

    /// The batch with its condition set from its labels, for a conditional model (each item
    /// under its own label); unchanged otherwise.
    public func conditioned(_ batch: Batch) -> Batch {
        guard isConditional, batch.condition == nil else { return batch }
        var b = batch
        guard let labels = batch.labels else { preconditionFailure("a conditional VAE needs labels for every batch") }
        b.condition = Batch.oneHot(labels, classes: config.conditionSize)
        return b
    }

    private func setCondition(_ c: Tensor?, rows: Int) {
        guard isConditional else { return }
        guard let c else { preconditionFailure("a conditional VAE needs a condition for every batch: pass condition: Batch.oneHot(labels, classes: model.config.conditionSize) to the tensor-level calls, or use model.conditioned(batch) (from its labels)") }
        precondition(c.count == rows * config.conditionSize, "condition \(c.shape) for \(rows) rows")
        for l in conditionInputs { l.condition = c }
    }

    /// Forward and backward for one batch; *accumulates* gradients (zero them first).
    /// - Parameters:
    ///   - batch: the items (x, and a mask, condition or corrupted input when the data has them)
    ///   - eps: [B, K] standard-normal noise for the reparameterization
    ///   - klWeight: w in L = recon + w·KL
    ///   - gradScale: the factor of the summed loss's gradient (default 1/B, the batch mean;
    ///     data-parallel training passes 1/global batch)
    ///   - update: an Adam step to apply during the backward pass (`Adam.beginFusedStep()`):
    ///     gradients are then overwritten, not accumulated, and nothing is updated when the loss
    ///     is not finite (no backward pass then)
    public func trainStep(_ batch: Batch, eps: Tensor, klWeight: Double, gradScale: Float? = nil,
                          update: FusedAdamStep? = nil) -> BatchLoss {
        let x = batch.x
        let b = x.shape[0], d = inputSize, k = latent
        let scale = gradScale ?? 1 / Float(b)
        let (h, out) = forwardPass(batch, eps: eps)
        let dl = gradBuf.view([b, likelihood.outputWidth])
        if update != nil { for p in likelihood.parameters { p.grad.zero() } }
        nll(out: out, batch.x, mask: batch.mask, xStride: d, grad: dl, gradScale: scale)
        let loss = BatchLoss(recon: sum(recon, b), kl: sum(kl, b), count: b)
        if let update {
            guard loss.recon.isFinite && loss.kl.isFinite else { return loss }
            for p in likelihood.parameters { update.apply(p) }
        }
        let dz = decoder.backward(dl, update: update)
        let dh = dhBuf.view([b, 2 * k])
        kl.withUnsafeBufferPointer { klp in
            Posterior.backward(h: h.pointer, eps: eps.pointer, dz: dz.pointer, rows: b, latent: k,
                               klScale: Float(klWeight) * scale, dh: dh.pointer, kl: klp.baseAddress, freeBits: config.freeBitsValue)
        }
        _ = encoder.backward(dh, update: update)
        return loss
    }

    /// Forward and backward for a batch of images (no mask, no condition).
    public func trainStep(x: Tensor, eps: Tensor, klWeight: Double) -> BatchLoss {
        trainStep(Batch(x: x), eps: eps, klWeight: klWeight)
    }

    /// recon[0..<B] = −log p(x | out) per row; grad when given.
    private func nll(out: Tensor, _ x: Tensor, mask: Tensor?, xStride: Int, grad: Tensor?, gradScale: Float) {
        let b = out.shape[0]
        for i in 0..<b { recon[i] = 0 }
        recon.withUnsafeMutableBufferPointer { rp in
            likelihood.negLogLikelihood(LikelihoodArguments(
                rows: b, out: out.pointer, outStride: likelihood.outputWidth, x: x.pointer, xStride: xStride,
                mask: mask.map { UnsafePointer($0.pointer) }, maskStride: inputSize, nll: rp.baseAddress!,
                grad: grad?.pointer, gradStride: likelihood.outputWidth, gradScale: gradScale))
        }
    }

    /// Loss terms without gradients, summed over the batch (`BatchLoss`). `eps == nil` uses z = μ.
    public func loss(_ batch: Batch, eps: Tensor?) -> BatchLoss {
        let b = batch.count
        perExampleLoss(batch, eps: eps)
        return BatchLoss(recon: sum(recon, b), kl: sum(kl, b), count: b)
    }

    public func loss(x: Tensor, eps: Tensor?) -> BatchLoss { loss(Batch(x: x), eps: eps) }

    /// Per-example (−log p(x|z), KL) for a batch; `eps == nil` uses z = μ.
    @discardableResult
    public func perExampleLoss(_ batch: Batch, eps: Tensor?) -> (recon: [Double], kl: [Double]) {
        let b = batch.count
        let (_, out) = forwardPass(batch, eps: eps)
        nll(out: out, batch.x, mask: batch.mask, xStride: inputSize, grad: nil, gradScale: 0)
        return (Array(recon[0..<b]), Array(kl[0..<b]))
    }

    /// The forward pass shared by training and evaluation: encoder output h [B, 2K], KL per row
    /// into `kl`, z = μ + σ·ε (μ when `eps` is nil) and the decoder's outputs.
    private func forwardPass(_ batch: Batch, eps: Tensor?) -> (h: Tensor, out: Tensor) {
        let b = batch.count, k = latent, d = inputSize
        // the shapes every row is read at (a smaller ε or mask was read past its end: garbage losses)
        precondition(batch.x.count == b * d, "VAE: x \(batch.x.shape) for \(b) rows of \(d) values")
        precondition(eps.map { $0.count == b * k } ?? true, "VAE: eps \(eps?.shape ?? []) for \(b) rows; the latent has \(k) (eps is [rows, latent])")
        precondition(batch.mask.map { $0.count == b * d } ?? true, "VAE: mask \(batch.mask?.shape ?? []) for x \(batch.x.shape)")
        precondition(batch.input.map { $0.count == b * d } ?? true, "VAE: input \(batch.input?.shape ?? []) for x \(batch.x.shape)")
        ensure(rows: b)
        setCondition(batch.condition, rows: b)
        let h = encoder.forward(batch.input ?? batch.x)
        let z = zBuf.view([b, k])
        kl.withUnsafeMutableBufferPointer { klp in
            Posterior.sample(h: h.pointer, eps: eps?.pointer, rows: b, latent: k, z: z.pointer, kl: klp.baseAddress)
        }
        return (h, decoder.forward(z))
    }

    @discardableResult
    public func perExampleLoss(x: Tensor, eps: Tensor?) -> (recon: [Double], kl: [Double]) {
        perExampleLoss(Batch(x: x), eps: eps)
    }

    /// Encoder output for a batch: μ and log σ², each [B, K] (copies; in passes of `passRows`).
    public func encode(_ x: Tensor, condition: Tensor? = nil) -> (mu: Tensor, logvar: Tensor) {
        let b = x.shape[0], k = latent
        let h = encodeRawInPasses(x, condition: condition)
        let mu = Tensor(shape: [b, k]), lv = Tensor(shape: [b, k])
        for r in 0..<b {
            (mu.pointer + r * k).update(from: h.pointer + r * 2 * k, count: k)
            (lv.pointer + r * k).update(from: h.pointer + r * 2 * k + k, count: k)
        }
        return withExtendedLifetime(h) { (mu, lv) }
    }

    /// `encodeRaw` for any number of rows, in passes: [B, 2K] (a new tensor, not a view).
    public func encodeRawInPasses(_ x: Tensor, condition: Tensor? = nil) -> Tensor {
        let w = 2 * latent
        let out = Tensor(shape: [x.shape[0], w])
        VAE.inPasses(x.shape[0]) { rows in
            let h = encodeRaw(x.rows(rows), condition: condition?.rows(rows))
            withExtendedLifetime(h) { (out.pointer + rows.lowerBound * w).update(from: h.pointer, count: rows.count * w) }
        }
        return out
    }

    /// `decodeLogits` for any number of rows, in passes: [B, outputWidth] (a new tensor).
    public func decodeLogitsInPasses(_ z: Tensor, condition: Tensor? = nil) -> Tensor {
        let w = likelihood.outputWidth
        let out = Tensor(shape: [z.shape[0], w])
        VAE.inPasses(z.shape[0]) { rows in
            let o = decodeLogits(z.rows(rows), condition: condition?.rows(rows))
            withExtendedLifetime(o) { (out.pointer + rows.lowerBound * w).update(from: o.pointer, count: rows.count * w) }
        }
        return out
    }

    /// Rows one pass of `encode`, `decode`, `decodeSample` and `reconstruct` takes: the layers'
    /// buffers grow to the largest pass (a conv network's to about 240 KB per image), so a larger
    /// call — 10,000 samples, a folder of images — runs in passes, each row as it would alone.
    public static let passRows = 512

    static func inPasses(_ rows: Int, _ body: (Range<Int>) -> Void) {
        var start = 0
        repeat {
            let end = min(rows, start + passRows)
            body(start..<end)
            start = end
        } while start < rows
    }

    /// Raw encoder output [B, 2K] (μ | log σ²) for a batch (its `input` when set, else x).
    public func encodeRaw(_ batch: Batch) -> Tensor { encodeRaw(batch.input ?? batch.x, condition: batch.condition) }

    /// −log p(xᵢ | z_r) for the rows r = i·samples + j of z (each item's condition repeated).
    public func negLogLikelihood(_ batch: Batch, z: Tensor, samples: Int, into nll: UnsafeMutablePointer<Double>) {
        let b = batch.count, d = inputSize, l = config.conditionSize, n = b * samples
        var cond: Tensor?
        if let c = batch.condition {
            let t = condBuf.view([n, l])
            for r in 0..<n { (t.pointer + r * l).update(from: c.pointer + (r / samples) * l, count: l) }
            cond = t
        }
        let out = decodeLogits(z, condition: cond)
        let ow = likelihood.outputWidth
        for r in 0..<n { nll[r] = 0 }
        for i in 0..<b {
            likelihood.negLogLikelihood(LikelihoodArguments(
                rows: samples, out: out.pointer + i * samples * ow, outStride: ow, x: batch.x.pointer + i * d, xStride: 0,
                mask: batch.mask.map { UnsafePointer($0.pointer + i * d) }, maskStride: 0, nll: nll + i * samples))
        }
    }

    /// Raw encoder output [B, 2K] (μ | log σ²), a view valid until the next encoder call.
    /// The tensor-level calls (`encode`, `decode`, `reconstruct`, …) take rows of the model's
    /// width — a precondition, as an array's index is; a `Batch` or `DataSource` of another shape
    /// is a thrown `VAEError` from `checkReadable` (which `Evaluator`, `Trainer` and `Analysis` call).
    public func encodeRaw(_ x: Tensor, condition: Tensor? = nil) -> Tensor {
        precondition(x.shape.count >= 1 && x.count == x.shape[0] * inputSize,
                     "VAE.encode: x \(x.shape) has \(x.shape.first.map { x.count / max($0, 1) } ?? 0) values a row; the model reads \(inputSize) (\(config.inputShape.map(String.init).joined(separator: "×")))")
        setCondition(condition, rows: x.shape[0])
        return encoder.forward(x)
    }

    /// Raw decoder outputs [B, outputWidth] (logits for Bernoulli), a view valid until the next
    /// decoder call.
    public func decodeLogits(_ z: Tensor, condition: Tensor? = nil) -> Tensor {
        precondition(z.shape.count >= 1 && z.count == z.shape[0] * latent,
                     "VAE.decode: z \(z.shape) has \(z.shape.first.map { z.count / max($0, 1) } ?? 0) values a row; the model's latent has \(latent)")
        setCondition(condition, rows: z.shape[0])
        return decoder.forward(z)
    }

    /// The likelihood's mean for each z: pixel intensities in [0, 1] for images, standardised
    /// numbers and class probabilities for tables. [B, D] (a new tensor).
    public func decode(_ z: Tensor, condition: Tensor? = nil) -> Tensor {
        let m = Tensor(shape: [z.shape[0], inputSize])
        VAE.inPasses(z.shape[0]) { rows in
            let out = decodeLogits(z.rows(rows), condition: condition?.rows(rows))
            likelihood.mean(out.pointer, outStride: likelihood.outputWidth, rows: rows.count,
                            into: m.pointer + rows.lowerBound * inputSize, stride: inputSize)
        }
        return m
    }

    /// One draw x ~ p(x | z) for each z. [B, D]
    public func decodeSample(_ z: Tensor, condition: Tensor? = nil, rng: inout RNG) -> Tensor {
        let s = Tensor(shape: [z.shape[0], inputSize])
        VAE.inPasses(z.shape[0]) { rows in
            let out = decodeLogits(z.rows(rows), condition: condition?.rows(rows))
            likelihood.sample(out.pointer, outStride: likelihood.outputWidth, rows: rows.count,
                              into: s.pointer + rows.lowerBound * inputSize, stride: inputSize, rng: &rng)
        }
        return s
    }

    /// Reconstructions x̂ = decode(μ(x)).
    public func reconstruct(_ x: Tensor, condition: Tensor? = nil) -> Tensor {
        decode(encode(x, condition: condition).mu, condition: condition)
    }

    /// −log p(x|o) for rows of decoder outputs against one row (xRowStride 0) or a batch (used by
    /// the IWAE bound).
    func negLogLikelihood(outputs: Tensor, x: UnsafePointer<Float>, xRowStride: Int, mask: UnsafePointer<Float>? = nil,
                          out: UnsafeMutablePointer<Double>) {
        let rows = outputs.shape[0]
        for r in 0..<rows { out[r] = 0 }
        likelihood.negLogLikelihood(LikelihoodArguments(
            rows: rows, out: outputs.pointer, outStride: likelihood.outputWidth, x: x, xStride: xRowStride,
            mask: mask, maskStride: xRowStride, nll: out))
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
