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
            }
        }
        let parts: [Likelihood] = groups.map { g in
            switch g.kind {
            case .bernoulli: return BernoulliLikelihood(width: g.width)
            case .gaussian: return GaussianLikelihood(width: g.width, sigma: c.gaussianSigma, link: .identity)
            case .gaussianLearned: return GaussianLikelihood(learnedWidth: g.width, link: .identity)
            case .categorical: return CategoricalLikelihood(levels: g.width)
            }
        }
        return parts.count == 1 ? parts[0] : MixedLikelihood(parts)
    }
}
