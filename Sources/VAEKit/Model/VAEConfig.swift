/// Everything that defines a VAE's shape and objective. Stored as `config.json` in a run
/// folder and inside the checkpoint's metadata.
public struct VAEConfig: Codable, Equatable, Sendable {
    public enum Architecture: String, Codable, Sendable, CaseIterable { case mlp, conv }
    public enum Likelihood: String, Codable, Sendable, CaseIterable { case bernoulli, gaussian }

    public var architecture: Architecture
    /// One example's shape [channels, height, width].
    public var inputShape: [Int]
    public var latent: Int
    /// MLP: widths of the hidden layers (encoder order; the decoder mirrors them).
    /// conv: width of the dense layer between the convolutions and the latent code
    /// (default 16 for one channel, 256 for RGB such as CIFAR-10's 32×32×3).
    public var hidden: [Int]
    public var likelihood: Likelihood
    /// Fixed standard deviation of the Gaussian likelihood p(x|z) = N(x; x̂, σ²I).
    public var gaussianSigma: Double
    /// Weight of the KL term (β-VAE); 1 is the ELBO.
    public var beta: Double
    /// Epochs over which the KL weight rises linearly from 0 to β (0 = no warm-up).
    public var warmupEpochs: Int

    public init(architecture: Architecture = .mlp, inputShape: [Int] = [1, 28, 28], latent: Int = 20,
                hidden: [Int]? = nil, likelihood: Likelihood = .bernoulli, gaussianSigma: Double = 0.1,
                beta: Double = 1, warmupEpochs: Int = 0) {
        self.architecture = architecture
        self.inputShape = inputShape
        self.latent = latent
        // conv: a 16-wide bottleneck for 28×28 grayscale (the classic Keras example), 256 for colour
        self.hidden = hidden ?? (architecture == .mlp ? [400] : [inputShape.first == 3 ? 256 : 16])
        self.likelihood = likelihood
        self.gaussianSigma = gaussianSigma
        self.beta = beta
        self.warmupEpochs = warmupEpochs
    }

    public var inputSize: Int { inputShape.reduce(1, *) }

    /// The KL weight in effect during `epoch` (1-based): β·min(1, epoch / warmup).
    public func klWeight(epoch: Int) -> Double {
        guard warmupEpochs > 0 else { return beta }
        return beta * min(1, Double(epoch) / Double(warmupEpochs))
    }

    /// Checks that the numbers make sense; the message says what to change.
    public func validate() throws {
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
            throw VAEError("input shape \(inputShape) must be [channels, height, width] with positive sizes")
        }
        guard latent >= 1 && latent <= 4096 else { throw VAEError("latent size \(latent) must be between 1 and 4096") }
        guard !hidden.isEmpty, hidden.allSatisfy({ $0 >= 1 && $0 <= 65536 }) else {
            throw VAEError("hidden sizes \(hidden) must be between 1 and 65536")
        }
        guard beta >= 0 && beta.isFinite else { throw VAEError("beta \(beta) must be a finite number ≥ 0") }
        guard warmupEpochs >= 0 else { throw VAEError("warm-up epochs \(warmupEpochs) must be ≥ 0") }
        guard gaussianSigma > 0 && gaussianSigma.isFinite else { throw VAEError("gaussian sigma \(gaussianSigma) must be > 0") }
        if architecture == .conv {
            guard inputShape[1] % 4 == 0 && inputShape[2] % 4 == 0 && inputShape[1] >= 4 && inputShape[2] >= 4 else {
                throw VAEError("the conv architecture needs image sides divisible by 4 (e.g. 28×28 or 32×32), got \(inputShape[1])×\(inputShape[2]); use --model mlp for other sizes")
            }
            guard hidden.count == 1 else { throw VAEError("the conv architecture takes one dense width (--hidden N), got \(hidden)") }
        }
    }
}
