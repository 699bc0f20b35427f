/// 2-D convolution, NCHW, PyTorch's `nn.Conv2d` layout: W [out, in, kh, kw], b [out].
/// Computed as im2col + one GEMM over the whole batch, with an optional fused ReLU.
///
/// y[n, o] = act(b[o] + Σ_c W[o, c] ⋆ x[n, c])   OH = (H + 2p − kh) / s + 1
public final class Conv2D: Layer {
    public let inChannels: Int, outChannels: Int
    public let kernelSize: Int, stride: Int, padding: Int
    public let activation: Dense.Activation
    public let weight: Parameter
    public let bias: Parameter
    public var needsInputGradient = true

    private var geometry: ConvGeometry?
    private var batch = 0
    private var inputShape: [Int] = []
    private var output = noGradient
    private var cols = Workspace(), ycm = Workspace(), out = Workspace(), dx = Workspace()

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                activation: Dense.Activation = .none) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.activation = activation
        weight = Parameter(name: "weight", shape: [outChannels, inChannels, kernelSize, kernelSize])
        bias = Parameter(name: "bias", shape: [outChannels])
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func nameParameters(prefix: String) {
        weight.name = prefix + ".weight"
        bias.name = prefix + ".bias"
    }

    public func initialize(using rng: inout RNG) {
        pytorchDefaultInit(weight: weight, bias: bias, fanIn: inChannels * kernelSize * kernelSize, rng: &rng)
    }

    func geometry(for inputShape: [Int]) -> ConvGeometry {
        precondition(inputShape.count == 3 && inputShape[0] == inChannels,
                     "Conv2D(\(inChannels)→\(outChannels)) needs [\(inChannels), H, W] inputs, got \(inputShape)")
        let h = inputShape[1], w = inputShape[2]
        let oh = (h + 2 * padding - kernelSize) / stride + 1
        let ow = (w + 2 * padding - kernelSize) / stride + 1
        precondition(oh > 0 && ow > 0, "Conv2D: input \(h)×\(w) too small for kernel \(kernelSize)")
        return ConvGeometry(channels: inChannels, imageH: h, imageW: w, gridH: oh, gridW: ow,
                            kernelH: kernelSize, kernelW: kernelSize, stride: stride, padding: padding)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        let g = geometry(for: inputShape)
        return [outChannels, g.gridH, g.gridW]
    }

    public func forward(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        let g = geometry(for: Array(x.shape.dropFirst()))
        geometry = g
        batch = n
        inputShape = x.shape
        let np = n * g.positions
        let c = cols.view([g.patchSize, np])
        Im2Col.im2col(x.pointer, count: n, g, into: c.pointer)
        // Y[o, n·P] = W[o, K] · cols[K, n·P]
        let yc = ycm.view([outChannels, np])
        GEMM.sgemm(transA: false, transB: false, m: outChannels, n: np, k: g.patchSize,
                   a: weight.value.pointer, lda: g.patchSize, b: c.pointer, ldb: np,
                   beta: 0, c: yc.pointer, ldc: np)
        let y = out.view([n, outChannels, g.gridH, g.gridW])
        ChannelMajor.toBatchMajor(yc.pointer, n: n, c: outChannels, p: g.positions, bias: bias.value.pointer,
                                  relu: activation == .relu, into: y.pointer)
        output = y
        return y
    }

    /// G = dy ⊙ act'(y) as [o, n·P];  db += Σ G;  dW += G · colsᵀ;  dx = col2im(Wᵀ · G)
    public func backward(_ dy: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("Conv2D.backward before forward") }
        let n = batch, np = n * g.positions
        precondition(dy.count == n * outChannels * g.positions, "Conv2D.backward got \(dy.shape)")
        let gc = ycm.view([outChannels, np])
        ChannelMajor.toChannelMajor(dy.pointer, n: n, c: outChannels, p: g.positions,
                                    reluOutput: activation == .relu ? UnsafePointer(output.pointer) : nil,
                                    into: gc.pointer, biasGrad: bias.grad.pointer)
        let c = cols.view([g.patchSize, np])
        GEMM.sgemm(transA: false, transB: true, m: outChannels, n: g.patchSize, k: np,
                   a: gc.pointer, lda: np, b: c.pointer, ldb: np,
                   beta: 1, c: weight.grad.pointer, ldc: g.patchSize)
        guard needsInputGradient else { return noGradient }
        // cols is no longer needed: reuse it for dcols
        GEMM.sgemm(transA: true, transB: false, m: g.patchSize, n: np, k: outChannels,
                   a: weight.value.pointer, lda: g.patchSize, b: gc.pointer, ldb: np,
                   beta: 0, c: c.pointer, ldc: np)
        let d = dx.view(inputShape)
        Im2Col.col2im(c.pointer, count: n, g, into: d.pointer)
        return d
    }
}

/// Layout changes between NCHW and channel-major [C, N·P], fused with the bias, the ReLU
/// and its derivative, and the bias gradient.
enum ChannelMajor {
    /// dst[n, c, p] = act(src[c, n·P + p] + bias[c])
    static func toBatchMajor(_ src: UnsafePointer<Float>, n: Int, c: Int, p: Int, bias: UnsafePointer<Float>?,
                             relu: Bool, into dst: UnsafeMutablePointer<Float>) {
        ThreadPool.parallel(tasks: n) { img in
            for ch in 0..<c {
                let s = src + ch * n * p + img * p
                let d = dst + (img * c + ch) * p
                let b = bias?[ch] ?? 0
                if relu {
                    for i in 0..<p { let v = s[i] + b; d[i] = v > 0 ? v : 0 }
                } else {
                    for i in 0..<p { d[i] = s[i] + b }
                }
            }
        }
    }

    /// dst[c, n·P + p] = src[n, c, p] · (reluOutput[n, c, p] > 0 when given);
    /// biasGrad[c] += Σ_{n,p} dst[c, n·P + p]  (summed per channel in a fixed order)
    static func toChannelMajor(_ src: UnsafePointer<Float>, n: Int, c: Int, p: Int, reluOutput: UnsafePointer<Float>?,
                               into dst: UnsafeMutablePointer<Float>, biasGrad: UnsafeMutablePointer<Float>?) {
        ThreadPool.parallel(tasks: c) { ch in
            var sum: Float = 0
            for img in 0..<n {
                let s = src + (img * c + ch) * p
                let d = dst + ch * n * p + img * p
                if let r = reluOutput.map({ $0 + (img * c + ch) * p }) {
                    for i in 0..<p { d[i] = r[i] > 0 ? s[i] : 0 }
                } else {
                    d.update(from: s, count: p)
                }
                var part: Float = 0
                for i in 0..<p { part += d[i] }
                sum += part
            }
            biasGrad?[ch] += sum
        }
    }
}
