import RealModule

/// What a training step maximises.
public enum TrainingObjective: String, Codable, Sendable, CaseIterable {
    /// The ELBO with one z per image and the analytic KL (β and warm-up apply).
    case elbo
    /// The importance-weighted bound of Burda et al. (2015) with K samples per image:
    ///   L_K = log (1/K) Σⱼ p(x, zⱼ) / q(zⱼ | x)
    case iwae
}

/// Learning rate per epoch as multiples of the base rate (`--lr`): stage s lasts `epochs[s]`
/// epochs at `base · factors[s]`; after the last stage the last factor stays.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var epochs: [Int]
    public var factors: [Double]

    public init(epochs: [Int], factors: [Double]) {
        self.epochs = epochs
        self.factors = factors
    }

    /// Burda et al. (2015): stage i = 0…7 lasts 3^i epochs at 10^(−i/7) (3,280 epochs in all).
    public static let burda2015 = LearningRateSchedule(
        epochs: (0...7).map { Int(Double.pow(3, Double($0)).rounded()) },
        factors: (0...7).map { Double.pow(10, -Double($0) / 7) })

    public var totalEpochs: Int { epochs.reduce(0, +) }

    /// The factor in effect during `epoch` (1-based).
    public func factor(epoch: Int) -> Double {
        var end = 0
        for (n, f) in zip(epochs, factors) {
            end += n
            if epoch <= end { return f }
        }
        return factors.last ?? 1
    }

    func validate() throws {
        guard !epochs.isEmpty, epochs.count == factors.count, epochs.count <= 1000,
              epochs.allSatisfy({ $0 >= 1 && $0 <= 100_000 }), factors.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw VAEError("the learning-rate schedule needs as many stage lengths (≥ 1 epoch) as positive factors, at most 1000 stages")
        }
    }
}

extension TrainingOptions {
    /// The objective in effect (nil in options written before it existed: the ELBO).
    public var trainingObjective: TrainingObjective { objective ?? .elbo }
    /// Importance samples per image of the IWAE objective (1 for the ELBO).
    public var importanceSamples: Int { trainingObjective == .iwae ? (samples ?? 1) : 1 }
    /// Adam's ε (PyTorch's default 1e-8 unless set).
    public var adamEpsilonValue: Double { adamEpsilon ?? 1e-8 }

    /// The learning rate during `epoch` (1-based): the base rate times the schedule's factor.
    public func learningRate(epoch: Int) -> Double {
        learningRate * (learningRateSchedule?.factor(epoch: epoch) ?? 1)
    }

    /// Checks the objective, Adam ε and schedule (called by `validate()`).
    func validateObjective() throws {
        if let k = samples, !(1...100_000).contains(k) { throw VAEError("importance samples (--k) \(k) must be between 1 and 100000") }
        if samples != nil && trainingObjective != .iwae { throw VAEError("--k is the number of importance samples of --objective iwae") }
        if let e = adamEpsilon, !(e > 0 && e.isFinite && e < 1) { throw VAEError("Adam's ε \(e) must be a positive number below 1") }
        try learningRateSchedule?.validate()
    }
}
