import VAECore
import RealModule

/// A discrete likelihood over the 256 levels of an 8-bit pixel (Salimans et al. 2017, PixelCNN++,
/// one logistic per pixel): the level k ∈ {0, …, 255}, read as x = k/255, has the mass of a
/// logistic(μ, s) on [x − ½/255, x + ½/255], the first and last level taking the tails:
///   P(k) = σ((x + h − μ)/s) − σ((x − h − μ)/s),  h = ½/255,
///   P(0) = σ((h − μ)/s),   P(255) = 1 − σ((1 − h − μ)/s).
/// The decoder gives [μ (width) | log s (width)] per row, μ as is, log s clamped to [−7, 3].
/// −log P is in nats and sums to the exact code length of a pixel: `vae evaluate` reports it in
/// bits per dimension, and `vae compress` codes 8-bit images with it.
public final class DiscretizedLogisticLikelihood: Likelihood {
    public let width: Int
    public var outputWidth: Int { 2 * width }
    public static let logScaleRange: ClosedRange<Float> = -7...3
    static let half = 0.5 / 255

    public init(width: Int) { self.width = width }

    @inline(__always) static func sigmoid(_ t: Double) -> Double { t >= 0 ? 1 / (1 + .exp(-t)) : { let e = Double.exp(t); return e / (1 + e) }() }
    @inline(__always) static func softplus(_ t: Double) -> Double { t > 0 ? t + Double.log(onePlus: Double.exp(-t)) : Double.log(onePlus: Double.exp(t)) }

    /// −log P(level of x) and its derivatives with respect to μ and log s.
    @inline(__always) static func term(x: Double, mu: Double, logScale: Double) -> (nll: Double, dMu: Double, dLogScale: Double) {
        let inv = Double.exp(-logScale), c = x - mu
        let a = inv * (c + half), b = inv * (c - half)
        if x < half {             // level 0: −log σ(a) = softplus(−a)
            let sa = sigmoid(a)
            return (softplus(-a), (1 - sa) * inv, (1 - sa) * a)
        }
        if x > 1 - half {         // level 255: −log(1 − σ(b)) = softplus(b)
            let sb = sigmoid(b)
            return (softplus(b), -sb * inv, -sb * b)
        }
        let sa = sigmoid(a), sb = sigmoid(b)
        // σ(a) − σ(b) without cancellation: on the right of the logistic use 1 − σ
        let mass = b > 0 ? sigmoid(-b) - sigmoid(-a) : sa - sb
        if mass > 1e-10 {
            let da = sa * (1 - sa), db = sb * (1 - sb)
            return (-Double.log(mass), inv * (da - db) / mass, (a * da - b * db) / mass)
        }
        // far in a tail: the density at the bin's centre times its width
        let m = inv * c, sm = sigmoid(m)
        let logPdf = m - logScale - 2 * softplus(m)
        return (-(logPdf + Double.log(2 * half)), (1 - 2 * sm) * inv, (1 - 2 * sm) * m + 1)
    }

    public func negLogLikelihood(_ a: LikelihoodArguments) {
        PairedOutputs.negLogLikelihood(a, width: width, first: nil, second: Self.logScaleRange) { x, mu, ls in
            let t = Self.term(x: Double(x), mu: Double(mu), logScale: Double(ls))
            return (t.nll, t.dMu, t.dLogScale)
        }
    }

    /// μ clamped to [0, 1] (the tails belong to the first and last levels).
    public func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<rows { for j in 0..<width { m[r * stride + j] = min(1, max(0, o[r * outStride + j])) } }
    }

    /// A level drawn from P: a logistic draw rounded to the nearest level.
    public func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                       rng: inout RNG) {
        let lo = Self.logScaleRange.lowerBound, hi = Self.logScaleRange.upperBound
        for r in 0..<rows {
            let row = o + r * outStride
            for j in 0..<width {
                let u = min(max(rng.uniform(), 1e-7), 1 - 1e-7)
                let v = row[j] + Float.exp(min(max(row[width + j], lo), hi)) * Float.log(u / (1 - u))
                s[r * stride + j] = (min(1, max(0, v)) * 255).rounded() / 255
            }
        }
    }
}
