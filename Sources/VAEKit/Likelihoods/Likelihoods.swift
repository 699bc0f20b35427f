extension VAEConfig {
    /// The likelihood of a whole image (when `groups` is nil). Gaussian means are σ(o).
    public enum Likelihood: String, Codable, Sendable, CaseIterable {
        case bernoulli, gaussian
        case gaussianLearned = "gaussian-learned"
        /// σ per pixel and item from the decoder (mlp only)
        case gaussianHeteroscedastic = "gaussian-heteroscedastic"
        /// the 256 levels of 8-bit pixels, a discretised logistic per pixel (mlp)
        case discretizedLogistic = "discretized-logistic"
        /// the 256 levels of 8-bit pixels, beta-binomial per pixel (mlp; BB-ANS's choice)
        case betaBinomial = "beta-binomial"

        /// The likelihoods whose decoder gives one output per pixel, the logit of its mean
        /// (`--output-bias-from-data` starts those at the data's means).
        public static let oneOutputPerPixel: Set<Likelihood> = [.bernoulli, .gaussian, .gaussianLearned]
    }
}

/// The likelihood of a group of adjacent columns of a table row.
public struct FeatureGroup: Codable, Equatable, Sendable {
    /// The likelihood of the group's columns.
    public enum Kind: String, Codable, Sendable {
        /// Values in [0, 1], logits out.
        case bernoulli
        /// Numbers (standardised), N(o, σ²) with the config's fixed σ.
        case gaussian
        /// Numbers (standardised), N(o, σⱼ²) with a learned σ per column.
        case gaussianLearned = "gaussian-learned"
        /// Numbers (standardised), N(o_μ, σ²) with log σ = o_s from the decoder: a σ per cell.
        case gaussianHeteroscedastic = "gaussian-heteroscedastic"
        /// One categorical variable: `width` one-hot columns, softmax over `width` logits.
        case categorical
    }
    public var kind: Kind
    public var width: Int
    /// The column(s) it stands for, for reports.
    public var name: String
    /// gaussian-heteroscedastic: the smallest log σ per column (nil: −5 for all). A column whose
    /// values come in steps (integers, one decimal) gets the step's σ, step/√12: a density over
    /// values recorded at a resolution cannot be sharper than it (`TableData.resolutionFloors`).
    public var logSigmaFloor: [Float]?

    public init(kind: Kind, width: Int, name: String = "") {
        self.kind = kind
        self.width = width
        self.name = name
    }
}

/// The likelihood a config describes: one over the whole image (Gaussian means σ(o)), or one
/// per column group of a table row (Gaussian means o, the standardised value).
///
/// A new likelihood is a new `Likelihood` type in this folder and a case here.
enum Likelihoods {
    static func make(_ c: VAEConfig) -> Likelihood {
        guard let groups = c.groups else {
            let d = c.inputSize
            switch c.likelihood {
            case .bernoulli: return BernoulliLikelihood(width: d)
            case .gaussian: return GaussianLikelihood(width: d, sigma: c.gaussianSigma, link: .sigmoid)
            case .gaussianLearned: return GaussianLikelihood(learnedWidth: d, link: .sigmoid)
            case .gaussianHeteroscedastic: return HeteroscedasticGaussianLikelihood(width: d, link: .sigmoid)
            case .discretizedLogistic: return DiscretizedLogisticLikelihood(width: d)
            case .betaBinomial: return BetaBinomialLikelihood(width: d)
            }
        }
        let parts: [Likelihood] = groups.map { g in
            switch g.kind {
            case .bernoulli: return BernoulliLikelihood(width: g.width)
            case .gaussian: return GaussianLikelihood(width: g.width, sigma: c.gaussianSigma, link: .identity)
            case .gaussianLearned: return GaussianLikelihood(learnedWidth: g.width, link: .identity)
            case .gaussianHeteroscedastic: return HeteroscedasticGaussianLikelihood(width: g.width, link: .identity, logSigmaFloor: g.logSigmaFloor)
            case .categorical: return CategoricalLikelihood(levels: g.width)
            }
        }
        return parts.count == 1 ? parts[0] : MixedLikelihood(parts)
    }
}
