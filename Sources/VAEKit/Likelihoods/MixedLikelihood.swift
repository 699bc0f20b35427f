import VAECore

/// Several likelihoods side by side over column groups of one row (a table: Gaussian for the
/// numbers, one categorical per text column): −log p(x|o) is the sum of the parts.
public final class MixedLikelihood: Likelihood {
    public let parts: [Likelihood]
    /// Where each part starts in x (features) and in o (outputs).
    public let featureOffsets: [Int], outputOffsets: [Int]
    public let width: Int, outputWidth: Int

    public init(_ parts: [Likelihood]) {
        self.parts = parts
        var f = 0, o = 0, fo: [Int] = [], oo: [Int] = []
        for p in parts { fo.append(f); oo.append(o); f += p.width; o += p.outputWidth }
        featureOffsets = fo
        outputOffsets = oo
        width = f
        outputWidth = o
    }

    public var parameters: [Parameter] { parts.flatMap { $0.parameters } }

    public func nameParameters(prefix: String) {
        for (i, p) in parts.enumerated() { p.nameParameters(prefix: "\(prefix).\(i)") }
    }

    public func negLogLikelihood(_ a: LikelihoodArguments) {
        for (i, p) in parts.enumerated() { p.negLogLikelihood(a.columns(feature: featureOffsets[i], output: outputOffsets[i])) }
    }

    public func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        for (i, p) in parts.enumerated() {
            p.mean(o + outputOffsets[i], outStride: outStride, rows: rows, into: m + featureOffsets[i], stride: stride)
        }
    }

    public func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                       rng: inout RNG) {
        for (i, p) in parts.enumerated() {
            p.sample(o + outputOffsets[i], outStride: outStride, rows: rows, into: s + featureOffsets[i], stride: stride, rng: &rng)
        }
    }
}
