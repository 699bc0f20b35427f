import VAECore
import RealModule

/// p(x | o) = N(x; μ, σ²) per feature with both from the decoder: μ = link(o_μ) and
/// log σ = clamp(o_s, −5, 5), so that every item gets its own σ per feature (a heteroscedastic
/// Gaussian). The decoder's outputs of a row are [o_μ (width) | o_s (width)].
///   −log p = Σ (x − μ)² / (2σ²) + log σ + ½ log 2π,
///   ∂/∂o_μ = (μ − x)/σ² · dμ/do,   ∂/∂o_s = 1 − (x − μ)²/σ² (0 outside the clamp, as torch.clamp).
///
/// A σ that follows z lets the model say which cells of an item it is unsure of — what a table's
/// anomaly score and imputation need: a cell the model predicts loosely costs little when it is
/// off, one it predicts tightly costs much. The clamp keeps a cell from claiming near-certainty
/// (σ ≥ e⁻⁵ ≈ 0.007 of a standardised column).
public final class HeteroscedasticGaussianLikelihood: Likelihood {
    public let width: Int
    public var outputWidth: Int { 2 * width }
    public let link: MeanLink
    public static let logSigmaRange: ClosedRange<Float> = -5...5

    /// The smallest log σ per feature (nil: the range's −5 everywhere).
    public let logSigmaFloor: [Float]?

    public init(width: Int, link: MeanLink, logSigmaFloor: [Float]? = nil) {
        precondition(logSigmaFloor == nil || logSigmaFloor!.count == width)
        self.width = width
        self.link = link
        self.logSigmaFloor = logSigmaFloor?.map { min(max($0, Self.logSigmaRange.lowerBound), Self.logSigmaRange.upperBound) }
    }

    public func negLogLikelihood(_ a: LikelihoodArguments) {
        let halfLog2Pi = 0.5 * Double.log(2 * Double.pi), link = link
        PairedOutputs.negLogLikelihood(a, width: width, first: nil, second: Self.logSigmaRange, secondLower: logSigmaFloor) { x, o, ls in
            let inv = Double.exp(-2 * Double(ls))      // 1/σ²
            let mu = link.apply(o)
            let d = Double(mu) - Double(x)
            return (0.5 * d * d * inv + Double(ls) + halfLog2Pi, d * inv * Double(link.derivative(mean: mu)), 1 - d * d * inv)
        }
    }

    public func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<rows { for j in 0..<width { m[r * stride + j] = link.apply(o[r * outStride + j]) } }
    }

    public func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                       rng: inout RNG) {
        let lo = Self.logSigmaRange.lowerBound, hi = Self.logSigmaRange.upperBound
        for r in 0..<rows {
            let row = o + r * outStride
            for j in 0..<width {
                let sd = Float.exp(min(max(row[width + j], logSigmaFloor?[j] ?? lo), hi))
                var v = link.apply(row[j]) + sd * rng.normal()
                if link == .sigmoid { v = min(1, max(0, v)) }
                s[r * stride + j] = v
            }
        }
    }
}
