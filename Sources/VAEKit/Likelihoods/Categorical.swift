import VAECore
import RealModule

/// One categorical variable with K values, x its one-hot (or soft) encoding over K columns and
/// o its K logits:  −log p = logsumexp(o) − Σₖ xₖ oₖ,   ∂/∂o = softmax(o) − x.
/// The variable is missing when its first column's mask is 0 (the whole one-hot is masked).
public final class CategoricalLikelihood: Likelihood {
    public let levels: Int
    public var width: Int { levels }
    public var outputWidth: Int { levels }

    public init(levels: Int) {
        precondition(levels >= 1)
        self.levels = levels
    }

    public func negLogLikelihood(_ a: LikelihoodArguments) {
        let k = levels
        var p = [Float](repeating: 0, count: k)
        for r in 0..<a.rows {
            let o = a.out + r * a.outStride, x = a.x + r * a.xStride
            let g = a.grad.map { $0 + r * a.gradStride }
            if let m = a.mask, m[r * a.maskStride] == 0 {
                if let g { for j in 0..<k { g[j] = 0 } }
                continue
            }
            let lse = softmax(o, into: &p)
            var dot = 0.0
            for j in 0..<k { dot += Double(x[j]) * Double(o[j]) }
            var mass = 0.0
            for j in 0..<k { mass += Double(x[j]) }
            a.nll[r] += mass * lse - dot
            if let g { for j in 0..<k { g[j] = a.gradScale * (Float(mass) * p[j] - x[j]) } }
        }
    }

    /// p = softmax(o); returns logsumexp(o).
    @discardableResult
    func softmax(_ o: UnsafePointer<Float>, into p: inout [Float]) -> Double {
        var mx = o[0]
        for j in 1..<levels { mx = max(mx, o[j]) }
        var s = 0.0
        for j in 0..<levels { let e = Double.exp(Double(o[j] - mx)); p[j] = Float(e); s += e }
        for j in 0..<levels { p[j] = Float(Double(p[j]) / s) }
        return Double(mx) + Double.log(s)
    }

    /// The class probabilities.
    public func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        var p = [Float](repeating: 0, count: levels)
        for r in 0..<rows {
            softmax(o + r * outStride, into: &p)
            for j in 0..<levels { m[r * stride + j] = p[j] }
        }
    }

    /// A one-hot draw.
    public func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                       rng: inout RNG) {
        var p = [Float](repeating: 0, count: levels)
        for r in 0..<rows {
            softmax(o + r * outStride, into: &p)
            var u = rng.uniform(), pick = levels - 1
            for j in 0..<levels { u -= p[j]; if u < 0 { pick = j; break } }
            for j in 0..<levels { s[r * stride + j] = j == pick ? 1 : 0 }
        }
    }
}
