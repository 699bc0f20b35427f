import RealModule
import CVAEKernels

/// Element-wise passes used by the layers. Plain loops over raw pointers; every reduction
/// runs in a fixed order so results do not depend on the thread count.
public enum Elementwise {
    /// dx = dy where y > 0, else 0
    @inline(__always)
    public static func reluBackward(dy: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
    }

    /// dx = dy where y > 0, else 0, and acc[j] += Σ_i dx[i, j] (one fused pass in C; rows summed
    /// in order, so the result is the same for any thread count).
    public static func reluBackwardColumnSums(dy: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                              rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>) {
        vk_relu_backward_colsum(dy, y, dx, Int32(rows), Int32(cols), acc)
    }

    /// acc[j] += Σ_i m[i, j]   (row by row: a fixed summation order)
    public static func addColumnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>) {
        vk_relu_backward_colsum(m, nil, nil, Int32(rows), Int32(cols), acc)
    }

    /// −log p(x|z) per row from logits (Bernoulli, or Gaussian with fixed σ on σ(ℓ)) and, if
    /// `grad` is given, gradScale·∂/∂ℓ; see `vk_nll_logits`.
    public static func negLogLikelihoodFromLogits(gaussian: Bool, sigma: Double, logits: UnsafePointer<Float>,
                                                  x: UnsafePointer<Float>, xRowStride: Int, rows: Int, cols: Int,
                                                  out: UnsafeMutablePointer<Double>,
                                                  grad: UnsafeMutablePointer<Float>?, gradScale: Float) {
        vk_nll_logits(gaussian ? Int32(VK_NLL_GAUSSIAN) : Int32(VK_NLL_BERNOULLI), logits, x, xRowStride,
                      Int32(rows), Int32(cols), sigma, gradScale, grad, out)
    }

    /// −log softmax(row r of logits)[targets[r]] into out[r] and, if `grad` is given,
    /// scale·(softmax − one-hot(target)) per row; see `vk_softmax_xent` (the same bits for any
    /// thread count and kernel level).
    public static func softmaxCrossEntropy(logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows: Int, cols: Int,
                                           out: UnsafeMutablePointer<Double>, grad: UnsafeMutablePointer<Float>?, scale: Float) {
        vk_softmax_xent(logits, targets, Int32(rows), Int32(cols), scale, grad, out)
    }

    /// dst row r = bytes of image idx[r] / 255 (float division, as PyTorch's x / 255.0).
    public static func gatherScaleBytes(_ src: UnsafePointer<UInt8>, indices: UnsafePointer<Int32>, rows: Int,
                                        rowSize: Int, into dst: UnsafeMutablePointer<Float>) {
        vk_gather_scale_u8(src, indices, Int32(rows), Int32(rowSize), dst)
    }

    /// y[i] = tanh(x[i]), vectorised (Cephes' tanhf: within 1.25 ulp of the exact value; the
    /// same bits at every kernel level). libm's scalar tanhf was a fifth of a tanh model's step.
    public static func tanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        vk_tanh(x, y, count)
    }

    /// Numerically stable logistic function.
    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + Float.exp(-x)) }
        let e = Float.exp(x)
        return e / (1 + e)
    }
}
