import VAECore

/// p(x | z) given the decoder's outputs: what a VAE's reconstruction term is.
///
/// A likelihood covers `width` features of x and reads `outputWidth` decoder outputs per row.
/// All arrays are row-major with their own row strides, so that a `MixedLikelihood` can hand
/// each part its columns of one row. Missing entries (mask 0) contribute nothing to the loss
/// or to any gradient.
public protocol Likelihood: AnyObject {
    var width: Int { get }
    var outputWidth: Int { get }
    /// Learned parameters of the likelihood itself (e.g. a per-feature log σ), trained with the
    /// networks and saved in the checkpoint.
    var parameters: [Parameter] { get }
    /// Gives the parameters their state-dict names under `prefix` (e.g. "likelihood").
    func nameParameters(prefix: String)
    /// nll[r] += −log p(x_r | o_r) over the observed features; if `a.grad` is given it receives
    /// gradScale·∂(−log p)/∂o (0 at missing entries), and parameter gradients accumulate
    /// gradScale·∂(−log p)/∂θ.
    func negLogLikelihood(_ a: LikelihoodArguments)
    /// The mean of p(x | o) — what a picture, a reconstruction or an imputation shows.
    func mean(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into m: UnsafeMutablePointer<Float>, stride: Int)
    /// One draw x ~ p(x | o).
    func sample(_ o: UnsafePointer<Float>, outStride: Int, rows: Int, into s: UnsafeMutablePointer<Float>, stride: Int,
                rng: inout RNG)
}

extension Likelihood {
    public var parameters: [Parameter] { [] }
    public func nameParameters(prefix: String) {}
}

/// Pointers and strides of one likelihood evaluation over `rows` rows.
public struct LikelihoodArguments {
    public var rows: Int
    /// Decoder outputs, row r at `out + r·outStride`.
    public var out: UnsafePointer<Float>
    public var outStride: Int
    /// Targets, row r at `x + r·xStride` (0 broadcasts one row to all).
    public var x: UnsafePointer<Float>
    public var xStride: Int
    /// 1 = observed, 0 = missing; nil = all observed.
    public var mask: UnsafePointer<Float>?
    public var maskStride: Int
    /// Per-row sums, accumulated.
    public var nll: UnsafeMutablePointer<Double>
    public var grad: UnsafeMutablePointer<Float>?
    public var gradStride: Int
    public var gradScale: Float

    public init(rows: Int, out: UnsafePointer<Float>, outStride: Int, x: UnsafePointer<Float>, xStride: Int,
                mask: UnsafePointer<Float>? = nil, maskStride: Int = 0, nll: UnsafeMutablePointer<Double>,
                grad: UnsafeMutablePointer<Float>? = nil, gradStride: Int = 0, gradScale: Float = 1) {
        self.rows = rows
        self.out = out
        self.outStride = outStride
        self.x = x
        self.xStride = xStride
        self.mask = mask
        self.maskStride = maskStride
        self.nll = nll
        self.grad = grad
        self.gradStride = gradStride
        self.gradScale = gradScale
    }

    /// The same rows, shifted to columns `x`/`mask` + `feature` and `out`/`grad` + `output`.
    func columns(feature: Int, output: Int) -> LikelihoodArguments {
        var a = self
        a.out = out + output
        a.x = x + feature
        a.mask = mask.map { $0 + feature }
        a.grad = grad.map { $0 + output }
        return a
    }
}

/// How the decoder's output o becomes the mean of a Gaussian: σ(o) for images in [0, 1], o itself
/// for standardised table columns.
public enum MeanLink: String, Codable, Sendable {
    case sigmoid, identity

    @inline(__always) func apply(_ o: Float) -> Float { self == .sigmoid ? Elementwise.sigmoid(o) : o }
    /// dμ/do given μ
    @inline(__always) func derivative(mean m: Float) -> Float { self == .sigmoid ? m * (1 - m) : 1 }
}
