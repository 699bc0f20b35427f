/// Everything that defines a VAE's shape and objective. Stored as `config.json` in a run
/// folder and inside the checkpoint's metadata.
public struct VAEConfig: Codable, Equatable, Sendable {
    public var architecture: Architecture
    /// One example's shape [channels, height, width] (a table row of D columns: [1, 1, D]).
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
    /// A likelihood per column group (tables); nil = `likelihood` over the whole input.
    public var groups: [FeatureGroup]?
    /// Width of the conditioning input (the number of classes of a conditional VAE; 0 = none).
    public var conditionSize: Int
    /// Hidden activation of the mlp: relu (default) or tanh (Burda et al. 2015).
    public var activation: HiddenActivation
    /// The sequence model's vocabulary and networks (architecture gru; nil otherwise).
    public var sequence: SequenceConfig?
    /// Free bits: nats of KL per item that cost nothing in training (the KL term is
    /// max(KL, λ) per item; nil or 0: none). Keeps a posterior from collapsing.
    public var freeBits: Double?

    /// The nonlinearity between an mlp's hidden layers.
    public enum HiddenActivation: String, Codable, Sendable, CaseIterable { case relu, tanh }

    public init(architecture: Architecture = .mlp, inputShape: [Int] = [1, 28, 28], latent: Int = 20,
                hidden: [Int]? = nil, likelihood: Likelihood = .bernoulli, gaussianSigma: Double = 0.1,
                beta: Double = 1, warmupEpochs: Int = 0, groups: [FeatureGroup]? = nil, conditionSize: Int = 0,
                activation: HiddenActivation = .relu) {
        self.architecture = architecture
        self.inputShape = inputShape
        self.latent = latent
        // conv: a 16-wide bottleneck for 28×28 grayscale (the classic Keras example), 256 for colour
        self.hidden = hidden ?? (architecture == .mlp ? [400] : [inputShape.first == 3 ? 256 : 16])
        self.likelihood = likelihood
        self.gaussianSigma = gaussianSigma
        self.beta = beta
        self.warmupEpochs = warmupEpochs
        self.groups = groups
        self.conditionSize = conditionSize
        self.activation = activation
    }

    enum CodingKeys: String, CodingKey {
        case architecture, inputShape, latent, hidden, likelihood, gaussianSigma, beta, warmupEpochs, groups,
             conditionSize, activation, sequence, freeBits
    }

    /// Fields added after 0.1 are optional, so that 0.1 checkpoints load unchanged.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decode(Architecture.self, forKey: .architecture)
        inputShape = try c.decode([Int].self, forKey: .inputShape)
        latent = try c.decode(Int.self, forKey: .latent)
        hidden = try c.decode([Int].self, forKey: .hidden)
        likelihood = try c.decode(Likelihood.self, forKey: .likelihood)
        gaussianSigma = try c.decode(Double.self, forKey: .gaussianSigma)
        beta = try c.decode(Double.self, forKey: .beta)
        warmupEpochs = try c.decode(Int.self, forKey: .warmupEpochs)
        groups = try c.decodeIfPresent([FeatureGroup].self, forKey: .groups)
        conditionSize = try c.decodeIfPresent(Int.self, forKey: .conditionSize) ?? 0
        activation = try c.decodeIfPresent(HiddenActivation.self, forKey: .activation) ?? .relu
        sequence = try c.decodeIfPresent(SequenceConfig.self, forKey: .sequence)
        freeBits = try c.decodeIfPresent(Double.self, forKey: .freeBits)
    }

    /// The free bits in effect (0 when none).
    public var freeBitsValue: Double { freeBits ?? 0 }

    /// A sequence VAE's config: items of at most `sequence.maxLength` tokens, stored as token ids
    /// between <bos> and <eos> (`inputShape` [1, 1, maxLength + 2]).
    public init(sequence: SequenceConfig, latent: Int, beta: Double = 1, warmupEpochs: Int = 0) {
        self.init(architecture: .gru, inputShape: [1, 1, sequence.maxLength + 2], latent: latent,
                  hidden: [sequence.encoderHidden], beta: beta, warmupEpochs: warmupEpochs)
        self.sequence = sequence
    }

    public var inputSize: Int { inputShape.reduce(1, *) }

    /// The KL weight in effect during `epoch` (1-based): β·min(1, epoch / warmup).
    public func klWeight(epoch: Int) -> Double {
        guard warmupEpochs > 0 else { return beta }
        return beta * min(1, Double(epoch) / Double(warmupEpochs))
    }

    /// Checks that the numbers make sense; the message says what to change.
    public func validate() throws {
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }),
              inputShape[0] <= 4096, inputShape.reduce(1, *) <= 1 << 26 else {
            throw VAEError("input shape \(VAEConfig.listed(inputShape)) must be [channels, height, width] with positive sizes (at most 4096 channels and 2^26 values)")
        }
        guard latent >= 1 && latent <= 4096 else { throw VAEError("latent size \(latent) must be between 1 and 4096") }
        guard !hidden.isEmpty, hidden.count <= 64, hidden.allSatisfy({ $0 >= 1 && $0 <= 65536 }) else {
            throw VAEError("hidden sizes \(VAEConfig.listed(hidden)) must be between 1 and 65536 (at most 64 layers)")
        }
        guard beta >= 0 && beta.isFinite else { throw VAEError("beta \(beta) must be a finite number ≥ 0") }
        guard warmupEpochs >= 0 else { throw VAEError("warm-up epochs \(warmupEpochs) must be ≥ 0") }
        if let f = freeBits, !(f >= 0 && f <= 1e6) { throw VAEError("free bits \(f) must be a number of nats between 0 and 1000000") }
        guard gaussianSigma > 0 && gaussianSigma.isFinite else { throw VAEError("gaussian sigma \(gaussianSigma) must be > 0") }
        guard (0...65536).contains(conditionSize) else { throw VAEError("condition size \(conditionSize) must be between 0 and 65536") }
        if architecture == .conv && groups == nil && (likelihood == .gaussianHeteroscedastic || likelihood == .discretizedLogistic || likelihood == .betaBinomial) {
            throw VAEError("the \(likelihood.rawValue) likelihood (two decoder outputs per pixel) needs --model mlp; the conv decoder gives one output per pixel")
        }
        if let groups {
            guard !groups.isEmpty, groups.allSatisfy({ $0.width >= 1 }) else {
                throw VAEError("the likelihood's column groups must each cover at least one column")
            }
            let covered = groups.reduce(0) { $0 + $1.width }
            guard covered == inputSize else {
                throw VAEError("the likelihood's column groups cover \(covered) columns but the input has \(inputSize)")
            }
            for g in groups where g.logSigmaFloor != nil {
                guard g.kind == .gaussianHeteroscedastic, g.logSigmaFloor!.count == g.width, g.logSigmaFloor!.allSatisfy({ !$0.isNaN }) else {
                    throw VAEError("the likelihood's group \"\(g.name)\" has \(g.logSigmaFloor!.count) σ floors for \(g.width) \(g.kind.rawValue) columns")
                }
            }
        }
        if architecture == .gru {
            guard let sequence else { throw VAEError("a gru model needs its sequence settings (vocabulary, sizes)") }
            try sequence.validate()
            guard inputShape == [1, 1, sequence.maxLength + 2] else {
                throw VAEError("a gru model's input shape must be [1, 1, max length + 2], got \(VAEConfig.listed(inputShape))")
            }
            guard groups == nil, conditionSize == 0 else { throw VAEError("a gru model has no column groups and no condition") }
        } else if sequence != nil {
            throw VAEError("sequence settings belong to a gru model, not \(architecture.rawValue)")
        }
        if architecture == .conv {
            guard ConvLayout.stages(height: inputShape[1], width: inputShape[2]) != nil else {
                throw VAEError("the conv architecture needs images of at least 4×4 pixels whose sides are divisible by 4, got \(inputShape[1])×\(inputShape[2]); use --image-size (e.g. 28, 32 or 64) or --model mlp")
            }
            guard hidden.count == 1 else { throw VAEError("the conv architecture takes one dense width (--hidden N), got \(hidden)") }
            guard groups == nil else { throw VAEError("the conv architecture is for images; use --model mlp for tables") }
        }
    }
}

extension VAEConfig {
    /// A list of sizes for a message: "[64, 64, 32]", at most 8 of them, then "… (N in all)" (a
    /// damaged config's 100,000 sizes made a 400 KB line).
    static func listed(_ sizes: [Int]) -> String {
        sizes.count <= 8 ? "\(sizes)" : "[" + sizes.prefix(8).map(String.init).joined(separator: ", ") + ", … (\(sizes.count) in all)]"
    }
}
