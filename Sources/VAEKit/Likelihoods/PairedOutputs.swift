import VAECore

/// The loop shared by likelihoods with two decoder outputs per feature, a row's outputs laid out
/// as [first (width) | second (width)] (heteroscedastic Gaussian, discretised logistic,
/// beta-binomial): masked features contribute nothing, each output is clamped to its range as
/// torch.clamp would (no gradient outside), and `cell` gives one feature's −log p and its
/// derivatives with respect to the two clamped outputs.
enum PairedOutputs {
    /// `secondLower` replaces the second output's lower bound feature by feature.
    static func negLogLikelihood(_ a: LikelihoodArguments, width: Int, first: ClosedRange<Float>?, second: ClosedRange<Float>?,
                                 secondLower: [Float]? = nil,
                                 cell: (_ x: Float, _ o1: Float, _ o2: Float) -> (nll: Double, d1: Double, d2: Double)) {
        @inline(__always) func clamp(_ v: Float, _ r: ClosedRange<Float>?) -> (Float, Bool) {
            guard let r else { return (v, true) }
            return (min(max(v, r.lowerBound), r.upperBound), r.contains(v))
        }
        for r in 0..<a.rows {
            let o = a.out + r * a.outStride, x = a.x + r * a.xStride, m = a.mask.map { $0 + r * a.maskStride }
            let g = a.grad.map { $0 + r * a.gradStride }
            var s = 0.0
            for j in 0..<width {
                if let m, m[j] == 0 { g?[j] = 0; g?[width + j] = 0; continue }
                let (o1, free1) = clamp(o[j], first)
                let (o2, free2) = clamp(o[width + j], secondLower.map { $0[j]...max($0[j], second!.upperBound) } ?? second)
                let t = cell(x[j], o1, o2)
                s += t.nll
                if let g {
                    g[j] = free1 ? a.gradScale * Float(t.d1) : 0
                    g[width + j] = free2 ? a.gradScale * Float(t.d2) : 0
                }
            }
            a.nll[r] += s
        }
    }
}
