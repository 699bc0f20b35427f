/// Transposed 2-D convolution, NCHW, PyTorch's `nn.ConvTranspose2d` layout:
/// W [in, out, kh, kw], b [out]; OH = (H − 1)·s − 2p + kh + output_padding.
/// Computed as one GEMM over the batch (cols = Wᵀ · X) and col2im, with an optional fused ReLU.
public final class ConvTranspose2D: Layer {
    public let inChannels: Int, outChannels: Int
    public let kernelSize: Int, stride: Int, padding: Int, outputPadding: Int
    public let activation: Dense.Activation
    public let weight: Parameter
    public let bias: Parameter
    public var needsInputGradient = true

    /// Geometry of the *output* image seen through the kernel at the input's positions.
    private var geometry: ConvGeometry?
    private var batch = 0
    private var inputShape: [Int] = []
    private var output = noGradient
    private var xcm = Workspace(), cols = Workspace(), out = Workspace(), gcm = Workspace(), dx = Workspace()

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, activation: Dense.Activation = .none) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0)
        precondition(outputPadding >= 0 && outputPadding < max(stride, 1), "output padding must be smaller than the stride")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.activation = activation
        weight = Parameter(name: "weight", shape: [inChannels, outChannels, kernelSize, kernelSize])
        bias = Parameter(name: "bias", shape: [outChannels])
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func nameParameters(prefix: String) {
        weight.name = prefix + ".weight"
        bias.name = prefix + ".bias"
    }

    /// PyTorch computes fan_in of a ConvTranspose2d weight [in, out, k, k] as out·k·k.
    public func initialize(using rng: inout RNG) {
        pytorchDefaultInit(weight: weight, bias: bias, fanIn: outChannels * kernelSize * kernelSize, rng: &rng)
    }

    func geometry(for inputShape: [Int]) -> ConvGeometry {
        precondition(inputShape.count == 3 && inputShape[0] == inChannels,
                     "ConvTranspose2D(\(inChannels)→\(outChannels)) needs [\(inChannels), H, W] inputs, got \(inputShape)")
        let h = inputShape[1], w = inputShape[2]
        let oh = (h - 1) * stride - 2 * padding + kernelSize + outputPadding
        let ow = (w - 1) * stride - 2 * padding + kernelSize + outputPadding
        precondition(oh > 0 && ow > 0, "ConvTranspose2D: output would be empty")
        return ConvGeometry(channels: outChannels, imageH: oh, imageW: ow, gridH: h, gridW: w,
                            kernelH: kernelSize, kernelW: kernelSize, stride: stride, padding: padding)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        let g = geometry(for: inputShape)
        return [outChannels, g.imageH, g.imageW]
    }

    /// X [in, n·P] (channel-major);  cols = Wᵀ · X;  y = act(col2im(cols) + b)
    public func forward(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        let g = geometry(for: Array(x.shape.dropFirst()))
        geometry = g
        batch = n
        inputShape = x.shape
        let np = n * g.positions
        let xc = xcm.view([inChannels, np])
        ChannelMajor.toChannelMajor(x.pointer, n: n, c: inChannels, p: g.positions, reluOutput: nil,
                                    into: xc.pointer, biasGrad: nil)
        let c = cols.view([g.patchSize, np])
        GEMM.sgemm(transA: true, transB: false, m: g.patchSize, n: np, k: inChannels,
                   a: weight.value.pointer, lda: g.patchSize, b: xc.pointer, ldb: np,
                   beta: 0, c: c.pointer, ldc: np)
        let y = out.view([n, outChannels, g.imageH, g.imageW])
        Im2Col.col2im(c.pointer, count: n, g, into: y.pointer)
        let plane = g.imageH * g.imageW
        let relu = activation == .relu
        let yp = y.pointer, bp = bias.value.pointer
        ThreadPool.parallel(tasks: n) { img in
            for ch in 0..<self.outChannels {
                let d = yp + (img * self.outChannels + ch) * plane
                let b = bp[ch]
                if relu {
                    for i in 0..<plane { let v = d[i] + b; d[i] = v > 0 ? v : 0 }
                } else {
                    for i in 0..<plane { d[i] += b }
                }
            }
        }
        output = y
        return y
    }

    /// G = dy ⊙ act'(y);  db += Σ G;  dcols = im2col(G);  dW += X · dcolsᵀ;  dx = W · dcols
    public func backward(_ dy: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("ConvTranspose2D.backward before forward") }
        let n = batch, np = n * g.positions
        let plane = g.imageH * g.imageW
        precondition(dy.count == n * outChannels * plane, "ConvTranspose2D.backward got \(dy.shape)")
        var grad = dy
        if activation == .relu {
            grad = gcm.view(dy.shape)
            Elementwise.reluBackward(dy: dy.pointer, y: output.pointer, dx: grad.pointer, count: dy.count)
        }
        // bias gradient: per channel, images in order
        let gp = grad.pointer, bg = bias.grad.pointer
        for ch in 0..<outChannels {
            var s: Float = 0
            for img in 0..<n {
                let p = gp + (img * outChannels + ch) * plane
                var part: Float = 0
                for i in 0..<plane { part += p[i] }
                s += part
            }
            bg[ch] += s
        }
        let c = cols.view([g.patchSize, np])
        Im2Col.im2col(grad.pointer, count: n, g, into: c.pointer)
        let xc = xcm.view([inChannels, np])
        GEMM.sgemm(transA: false, transB: true, m: inChannels, n: g.patchSize, k: np,
                   a: xc.pointer, lda: np, b: c.pointer, ldb: np,
                   beta: 1, c: weight.grad.pointer, ldc: g.patchSize)
        guard needsInputGradient else { return noGradient }
        // dX [in, n·P] = W [in, K] · dcols [K, n·P], reusing xcm
        GEMM.sgemm(transA: false, transB: false, m: inChannels, n: np, k: g.patchSize,
                   a: weight.value.pointer, lda: g.patchSize, b: c.pointer, ldb: np,
                   beta: 0, c: xc.pointer, ldc: np)
        let d = dx.view(inputShape)
        ChannelMajor.toBatchMajor(xc.pointer, n: n, c: inChannels, p: g.positions, bias: nil, relu: false, into: d.pointer)
        return d
    }
}
