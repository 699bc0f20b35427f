import Foundation
import VAECore
import RealModule

/// A discrete likelihood over the 256 levels of an 8-bit pixel, as BB-ANS uses (Townsend et al.
/// 2019): the level k ∈ {0, …, 255} (x = k/255) is beta-binomial with n = 255,
///   P(k) = C(n, k) B(k + α, n − k + β) / B(α, β),
/// α = exp(o_α), β = exp(o_β) from the decoder ([o_α (width) | o_β (width)] per row, each clamped
/// to [−7, 7]). With α, β < 1 it is U-shaped — most of an MNIST digit's pixels are 0 or 255, which
/// one logistic per pixel cannot say.
///   ∂(−log P)/∂o_α = −α (ψ(k + α) − ψ(n + α + β) − ψ(α) + ψ(α + β)), and likewise for β with n − k.
public final class BetaBinomialLikelihood: Likelihood {
    public let width: Int
    public var outputWidth: Int { 2 * width }
    public static let logParameterRange: ClosedRange<Float> = -7...7
    static let n = 255.0

    public init(width: Int) { self.width = width }

    /// ψ(x) for x > 0: the recurrence up to 6, then the asymptotic series.
    static func digamma(_ x: Double) -> Double {
        var x = x, r = 0.0
        while x < 6 { r -= 1 / x; x += 1 }
        let f = 1 / (x * x)
        return r + Double.log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
    }

    static func logGamma(_ x: Double) -> Double { Foundation.lgamma(x) }

    /// −log P(k) and its derivatives with respect to o_α and o_β.
    static func term(level k: Double, a: Double, b: Double) -> (nll: Double, dA: Double, dB: Double) {
        let n = Self.n
        let logP = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)
            + logGamma(k + a) + logGamma(n - k + b) - logGamma(n + a + b)
            - logGamma(a) - logGamma(b) + logGamma(a + b)
        let common = digamma(a + b) - digamma(n + a + b)
        let dA = -a * (digamma(k + a) - digamma(a) + common)
        let dB = -b * (digamma(n - k + b) - digamma(b) + common)
        return (-logP, dA, dB)
    }

    public func negLogLikelihood(_ args: LikelihoodArguments) {
        PairedOutputs.negLogLikelihood(args, width: width, first: Self.logParameterRange, second: Self.logParameterRange) { x, la, lb in
            let k = min(max((Double(x) * Self.n).rounded(), 0), Self.n)
            let t = Self.term(level: k, a: Double.exp(Double(la)), b: Double.exp(Double(lb)))
            return (t.nll, t.dA, t.dB)
        }
    }

    /// E[k]/255 = α / (α + β).
    public func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        let lo = Self.logParameterRange.lowerBound, hi = Self.logParameterRange.upperBound
        for r in 0..<rows {
            for j in 0..<width {
                let la = min(max(o[r * outStride + j], lo), hi), lb = min(max(o[r * outStride + width + j], lo), hi)
                m[r * stride + j] = 1 / (1 + Float.exp(lb - la))
            }
        }
    }

    /// A level drawn by inverting the CDF over the 256 levels.
    public func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                       rng: inout RNG) {
        let lo = Self.logParameterRange.lowerBound, hi = Self.logParameterRange.upperBound
        for r in 0..<rows {
            for j in 0..<width {
                let a = Double.exp(Double(min(max(o[r * outStride + j], lo), hi)))
                let b = Double.exp(Double(min(max(o[r * outStride + width + j], lo), hi)))
                let p = Self.masses(a: a, b: b)
                var u = Double(rng.uniform()), k = 255
                for (i, pi) in p.enumerated() { u -= pi; if u < 0 { k = i; break } }
                s[r * stride + j] = Float(k) / 255
            }
        }
    }

    /// The 256 probabilities, from P(k + 1)/P(k) = (n − k)(k + α) / ((k + 1)(n − k − 1 + β)) —
    /// only +, ×, ÷ in a fixed order, so the same bits on every machine (the codec uses it).
    public static func masses(a: Double, b: Double) -> [Double] {
        var p = [Double](repeating: 0, count: 256)
        masses(a: a, b: b, into: &p)
        return p
    }

    /// `masses(a:b:)` into a buffer of 256 (the codec's, reused for every pixel).
    public static func masses(a: Double, b: Double, into p: inout [Double]) {
        precondition(p.count == 256)
        var v = 1.0, total = 0.0
        for k in 0..<256 {
            p[k] = v
            if k < 255 {
                let kk = Double(k)
                v = v * ((n - kk) * (kk + a)) / ((kk + 1) * (n - kk - 1 + b))
                if v > 1e250 {   // rescale what came before; the ratio is what matters
                    for i in 0...k { p[i] *= 1e-250 }
                    v *= 1e-250
                }
            }
        }
        for k in 0..<256 { total += p[k] }
        for k in 0..<256 { p[k] = p[k] / total }
    }
}
