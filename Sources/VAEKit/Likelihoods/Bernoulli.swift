import VAECore
import RealModule

/// p(x | o) = Π x̂ˣ (1 − x̂)¹⁻ˣ with x̂ = σ(o), computed from the logits o so it never sees log 0:
///   −log p = Σ softplus(o) − x·o,   ∂/∂o = σ(o) − x.
/// (For x in [0, 1] that are not binary this is the usual "continuous BCE" of VAE examples.)
public final class BernoulliLikelihood: Likelihood {
    public let width: Int
    public var outputWidth: Int { width }
    private let fused = FusedNLL()

    public init(width: Int) { self.width = width }

    public func negLogLikelihood(_ a: LikelihoodArguments) {
        if a.mask == nil && a.outStride == width && (a.grad == nil || a.gradStride == width) {
            // The fused C kernel (vectorised, rows over the pool), held to `reference` by the tests.
            fused.run(gaussian: false, sigma: 0, a, width: width)
            return
        }
        reference(a)
    }

    /// The plain Swift formula, per element.
    public func reference(_ a: LikelihoodArguments) {
        for r in 0..<a.rows {
            let o = a.out + r * a.outStride, x = a.x + r * a.xStride, m = a.mask.map { $0 + r * a.maskStride }
            let g = a.grad.map { $0 + r * a.gradStride }
            var s = 0.0
            for j in 0..<width {
                if let m, m[j] == 0 { g?[j] = 0; continue }
                let l = Double(o[j])
                // softplus(l) = max(l, 0) + log1p(exp(−|l|))
                s += max(l, 0) + Double.log(onePlus: Double.exp(-abs(l))) - Double(x[j]) * l
                g?[j] = a.gradScale * (Elementwise.sigmoid(o[j]) - x[j])
            }
            a.nll[r] += s
        }
    }

    public func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<rows { for j in 0..<width { m[r * stride + j] = Elementwise.sigmoid(o[r * outStride + j]) } }
    }

    public func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                       rng: inout RNG) {
        for r in 0..<rows {
            for j in 0..<width { s[r * stride + j] = rng.uniform() < Elementwise.sigmoid(o[r * outStride + j]) ? 1 : 0 }
        }
    }
}

/// The fused C pass for a whole-row Bernoulli or sigmoid-Gaussian likelihood without a mask. Its
/// per-row scratch grows to the largest batch and is reused (no allocation per batch).
final class FusedNLL {
    private var scratch: [Double] = []

    func run(gaussian: Bool, sigma: Double, _ a: LikelihoodArguments, width: Int) {
        if scratch.count < a.rows { scratch = [Double](repeating: 0, count: a.rows) }
        scratch.withUnsafeMutableBufferPointer { s in
            Elementwise.negLogLikelihoodFromLogits(gaussian: gaussian, sigma: sigma, logits: a.out, x: a.x,
                                                   xRowStride: a.xStride, rows: a.rows, cols: width, out: s.baseAddress!,
                                                   grad: a.grad, gradScale: a.gradScale)
            for r in 0..<a.rows { a.nll[r] += s[r] }
        }
    }
}
