import VAECore
import RealModule

/// p(x | o) = N(x; μ, σ²) per feature with μ = link(o):
///   −log p = Σ (x − μ)² / (2σ²) + log σ + ½ log 2π,   ∂/∂o = (μ − x)/σ² · dμ/do.
/// σ is fixed (`sigma`) or learned per feature (a parameter log σ, clamped to [−7, 5] as
/// torch.clamp would: no gradient outside), ∂/∂log σ = 1 − (x − μ)²/σ².
public final class GaussianLikelihood: Likelihood {
    public let width: Int
    public var outputWidth: Int { width }
    public let link: MeanLink
    /// The fixed σ, or nil when σ is learned.
    public let sigma: Double?
    /// log σ per feature when learned, initialised to 0 (σ = 1).
    public let logSigma: Parameter?
    static let logSigmaRange: ClosedRange<Float> = -7...5
    private let fused = FusedNLL()

    public init(width: Int, sigma: Double, link: MeanLink) {
        self.width = width
        self.sigma = sigma
        self.link = link
        logSigma = nil
    }

    /// A learned per-feature σ.
    public init(learnedWidth width: Int, link: MeanLink) {
        self.width = width
        self.sigma = nil
        self.link = link
        logSigma = Parameter(name: "log_sigma", shape: [width])
    }

    public var parameters: [Parameter] { logSigma.map { [$0] } ?? [] }
    public func nameParameters(prefix: String) { logSigma?.name = prefix + ".log_sigma" }

    public func negLogLikelihood(_ a: LikelihoodArguments) {
        if let sigma, link == .sigmoid, a.mask == nil, a.outStride == width, a.grad == nil || a.gradStride == width {
            fused.run(gaussian: true, sigma: sigma, a, width: width)
            return
        }
        reference(a)
    }

    @inline(__always) func logSigma(_ j: Int) -> (value: Float, clamped: Bool) {
        guard let p = logSigma else { return (Float(Double.log(sigma!)), true) }
        let v = p.value[j]
        return (min(max(v, Self.logSigmaRange.lowerBound), Self.logSigmaRange.upperBound), !Self.logSigmaRange.contains(v))
    }

    /// The plain Swift formula, per element.
    public func reference(_ a: LikelihoodArguments) {
        let halfLog2Pi = 0.5 * Double.log(2 * Double.pi)
        let gs = logSigma?.grad.pointer
        for r in 0..<a.rows {
            let o = a.out + r * a.outStride, x = a.x + r * a.xStride, m = a.mask.map { $0 + r * a.maskStride }
            let g = a.grad.map { $0 + r * a.gradStride }
            var s = 0.0
            for j in 0..<width {
                if let m, m[j] == 0 { g?[j] = 0; continue }
                let (ls, fixed) = logSigma(j)
                let inv = Double.exp(-2 * Double(ls))      // 1/σ²
                let mu = link.apply(o[j])
                let d = Double(mu) - Double(x[j])
                s += 0.5 * d * d * inv + Double(ls) + halfLog2Pi
                g?[j] = a.gradScale * Float(d * inv) * link.derivative(mean: mu)
                if let gs, a.grad != nil, !fixed { gs[j] += a.gradScale * Float(1 - d * d * inv) }
            }
            a.nll[r] += s
        }
    }

    public func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<rows { for j in 0..<width { m[r * stride + j] = link.apply(o[r * outStride + j]) } }
    }

    public func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                       rng: inout RNG) {
        for r in 0..<rows {
            for j in 0..<width {
                let sd = Float.exp(logSigma(j).value)
                var v = link.apply(o[r * outStride + j]) + sd * rng.normal()
                if link == .sigmoid { v = min(1, max(0, v)) }
                s[r * stride + j] = v
            }
        }
    }
}
