import CVAEKernels

/// 2-D convolution, NCHW, PyTorch's `nn.Conv2d` layout: W [out, in, kh, kw], b [out].
/// Computed as im2col + GEMM, group of images by group, the groups spread over the threads
/// (`ConvGroups`), with an optional fused ReLU.
///
/// y[n, o] = act(b[o] + Σ_c W[o, c] ⋆ x[n, c])   OH = (H + 2p − kh) / s + 1
public final class Conv2D: WeightAndBiasLayer {
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
    private var input = noGradient
    private var ycm = Workspace(), out = Workspace(), dx = Workspace(), parts = Workspace(), sums = Workspace()

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

    public var fusedActivation: Dense.Activation { activation }

    /// W · cols: out·(in·k²) multiply-adds at each output position.
    public func flops(inputShape: [Int]) -> LayerFLOPs {
        let g = geometry(for: inputShape)
        return .product(outChannels * g.patchSize * g.positions)
    }

    public func forward(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        let g = geometry(for: Array(x.shape.dropFirst()))
        geometry = g
        batch = n
        inputShape = x.shape
        input = x
        // Per group: cols = im2col(x_g);  Y_g [o, g·P] = W · cols;  y_g = act(Y_g + b) as NCHW
        let groups = ConvGroups(g, batch: n)
        let y = out.view([n, outChannels, g.gridH, g.gridW])
        let xp = x.pointer, wp = weight.value.pointer, bp = bias.value.pointer, yp = y.pointer
        let outC = outChannels, relu = activation == .relu
        groups.run { g0, m in
            let w = m * g.positions
            let c = vk_thread_scratch(0, g.patchSize * w)!, yc = vk_thread_scratch(1, outC * w)!
            Im2Col.im2col(xp + g0 * g.imageSize, count: m, g, into: c)
            GEMM.sgemm(transA: false, transB: false, m: outC, n: w, k: g.patchSize,
                       a: wp, lda: g.patchSize, b: c, ldb: w, beta: 0, c: yc, ldc: w)
            ChannelMajor.toBatchMajor(yc, n: m, c: outC, p: g.positions, bias: bp, relu: relu,
                                      into: yp + g0 * outC * g.positions)
        }
        output = y
        return y
    }

    /// G = dy ⊙ act'(y) as [o, n·P];  db += Σ G;  dW += G · colsᵀ;  dx = col2im(Wᵀ · G)
    public func backward(_ dy: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("Conv2D.backward before forward") }
        let n = batch, np = n * g.positions
        precondition(dy.count == n * outChannels * g.positions, "Conv2D.backward got \(dy.shape)")
        let gc = ycm.view([outChannels, np])
        // Per group: G_g = dy_g ⊙ act'(y_g) channel-major into gc's columns of the group, with
        // each image's channel sums (the bias gradient, added in image order afterwards); cols
        // again (im2col); dW_g = G_g · cols_gᵀ (added to dW in group order afterwards);
        // dx_g = col2im(Wᵀ · G_g) reusing the same buffer.
        let groups = ConvGroups(g, batch: n)
        let d = needsInputGradient ? dx.view(inputShape) : noGradient
        let dw = parts.view([groups.count, outChannels * g.patchSize])
        let xp = input.pointer, gp = gc.pointer, wp = weight.value.pointer, dwp = dw.pointer, dp = d.pointer
        let dyp = dy.pointer, yp: UnsafePointer<Float>? = activation == .relu ? UnsafePointer(output.pointer) : nil
        let smp = sums.view([n, outChannels]).pointer
        let outC = outChannels, wantDx = needsInputGradient
        groups.run { g0, m in
            let w = m * g.positions
            let gcg = gp + g0 * g.positions
            vk_relu_grad_images(dyp, yp, Int32(g0), Int32(g0 + m), Int32(outC), Int32(g.positions), gp, np, smp)
            let c = vk_thread_scratch(0, g.patchSize * w)!
            Im2Col.im2col(xp + g0 * g.imageSize, count: m, g, into: c)
            GEMM.sgemm(transA: false, transB: true, m: outC, n: g.patchSize, k: w,
                       a: gcg, lda: np, b: c, ldb: w,
                       beta: 0, c: dwp + groups.index(of: g0) * outC * g.patchSize, ldc: g.patchSize)
            guard wantDx else { return }
            GEMM.sgemm(transA: true, transB: false, m: g.patchSize, n: w, k: outC,
                       a: wp, lda: g.patchSize, b: gcg, ldb: np,
                       beta: 0, c: c, ldc: w)
            Im2Col.col2im(c, count: m, g, into: dp + g0 * g.imageSize)
        }
        vk_sum_parts(weight.grad.pointer, dw.pointer, Int32(groups.count), outChannels * g.patchSize)
        vk_add_image_sums(smp, Int32(n), Int32(outChannels), bias.grad.pointer)
        guard needsInputGradient else { return noGradient }
        return d
    }
}

/// From channel-major [C, N·P] back to NCHW, fused with the bias and the ReLU (the other way,
/// fused with the ReLU's derivative and the bias gradient, is `vk_relu_grad_images`, per group).
enum ChannelMajor {
    /// dst[n, c, p] = act(src[c, n·P + p] + bias[c])
    static func toBatchMajor(_ src: UnsafePointer<Float>, n: Int, c: Int, p: Int, bias: UnsafePointer<Float>?,
                             relu: Bool, into dst: UnsafeMutablePointer<Float>) {
        vk_to_batch_major(src, Int32(n), Int32(c), Int32(p), bias, relu ? 1 : 0, dst)
    }
}
