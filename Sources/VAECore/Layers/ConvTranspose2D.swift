import CVAEKernels

/// Transposed 2-D convolution, NCHW, PyTorch's `nn.ConvTranspose2d` layout:
/// W [in, out, kh, kw], b [out]; OH = (H − 1)·s − 2p + kh + output_padding.
/// Computed as GEMM (cols = Wᵀ · X) and col2im, group of images by group, the groups spread
/// over the threads (`ConvGroups`), with an optional fused ReLU — or, for stride 1 and one output
/// channel (a grayscale conv decoder's last layer), directly (`vk_convt1_forward`/`_backward`):
/// there the GEMM's operands would be 9 rows, 9 columns or 9 deep.
public final class ConvTranspose2D: WeightAndBiasLayer {
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
    private var input = noGradient
    private var xcm = Workspace(), out = Workspace(), gcm = Workspace(), dx = Workspace(), parts = Workspace(),
        sums = Workspace()

    /// Output channels up to which a stride-1 layer is computed directly, without a GEMM: 1, a
    /// grayscale decoder's last layer (7–13% faster conv steps on an Intel Xeon). For 3 (RGB) the
    /// GEMM's 27-row operands fit its tile well enough, and the direct kernel, with 3 × the sums per
    /// pixel, was not faster (docs/benchmarks.md). Tests raise it to run the kernel with more channels.
    nonisolated(unsafe) static var directMaxOutChannels = 1
    /// Images per task of the direct path (fixed: the weight gradient is summed per group).
    static let directGroup = 8
    /// Whether this layer runs the direct kernels.
    public var isDirect: Bool {
        stride == 1 && outputPadding == 0 && padding <= kernelSize - 1 && outChannels <= Self.directMaxOutChannels
    }

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

    public var fusedActivation: Dense.Activation { activation }

    /// Wᵀ · X: (out·k²)·in multiply-adds at each input position.
    public func flops(inputShape: [Int]) -> LayerFLOPs {
        let g = geometry(for: inputShape)
        return .product(g.patchSize * inChannels * g.positions)
    }

    /// X [in, n·P] (channel-major);  cols = Wᵀ · X;  y = act(col2im(cols) + b)
    public func forward(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        let g = geometry(for: Array(x.shape.dropFirst()))
        geometry = g
        batch = n
        inputShape = x.shape
        if isDirect { return forwardDirect(x, g) }
        let np = n * g.positions
        let xc = xcm.view([inChannels, np])
        // Per group: X_g channel-major into xcm's columns of the group (kept for the backward
        // pass; copied by the group's thread, so the product reads it from its cache), cols_g =
        // Wᵀ · X_g, then col2im with the bias and ReLU applied per image while it is in cache
        let groups = ConvGroups(g, batch: n)
        let y = out.view([n, outChannels, g.imageH, g.imageW])
        let xp = xc.pointer, wp = weight.value.pointer, bp = bias.value.pointer, yp = y.pointer, xin = x.pointer
        let inC = inChannels, relu = activation == .relu, P = g.positions
        groups.run { g0, m in
            for c in 0..<inC {
                for i in g0..<(g0 + m) { (xp + c * np + i * P).update(from: xin + (i * inC + c) * P, count: P) }
            }
            let w = m * g.positions
            let c = vk_thread_scratch(0, g.patchSize * w)!
            GEMM.sgemm(transA: true, transB: false, m: g.patchSize, n: w, k: inC,
                       a: wp, lda: g.patchSize, b: xp + g0 * g.positions, ldb: np,
                       beta: 0, c: c, ldc: w)
            Im2Col.col2im(c, count: m, g, into: yp + g0 * g.imageSize, bias: bp, relu: relu)
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
        if isDirect { return backwardDirect(dy, g) }
        // Per group: G_g = dy_g ⊙ act'(y_g) with each image's channel sums (the bias gradient,
        // added in image order afterwards);  dcols_g = im2col(G_g);  dW_g = X_g · dcols_gᵀ (added
        // to dW in group order afterwards);  dX_g [in, g·P] = W [in, K] · dcols_g, into xcm's
        // columns of the group, then back to the batch's layout
        var grad = dy
        if activation == .relu { grad = gcm.view(dy.shape) }
        let dyp = dy.pointer, yo: UnsafePointer<Float>? = activation == .relu ? UnsafePointer(output.pointer) : nil
        let smp = sums.view([n, outChannels]).pointer, outC = outChannels
        let groups = ConvGroups(g, batch: n)
        let xc = xcm.view([inChannels, np])
        let dw = parts.view([groups.count, inChannels * g.patchSize])
        let gp = grad.pointer, xp = xc.pointer, wp = weight.value.pointer, dwp = dw.pointer
        let inC = inChannels, wantDx = needsInputGradient, P = g.positions
        let d = needsInputGradient ? dx.view(inputShape) : noGradient
        let dp = d.pointer
        groups.run { g0, m in
            let w = m * g.positions
            let c = vk_thread_scratch(0, g.patchSize * w)!
            vk_relu_grad_images(dyp, yo, Int32(g0), Int32(g0 + m), Int32(outC), Int32(plane), gp, 0, smp)
            Im2Col.im2col(gp + g0 * g.imageSize, count: m, g, into: c)
            GEMM.sgemm(transA: false, transB: true, m: inC, n: g.patchSize, k: w,
                       a: xp + g0 * g.positions, lda: np, b: c, ldb: w,
                       beta: 0, c: dwp + groups.index(of: g0) * inC * g.patchSize, ldc: g.patchSize)
            guard wantDx else { return }
            // X_g is no longer needed once dW_g has used it: dX_g overwrites it in place
            GEMM.sgemm(transA: false, transB: false, m: inC, n: w, k: g.patchSize,
                       a: wp, lda: g.patchSize, b: c, ldb: w,
                       beta: 0, c: xp + g0 * g.positions, ldc: np)
            // dX_g back to the batch's layout while it is in this thread's cache
            for i in g0..<(g0 + m) {
                for ch in 0..<inC { (dp + (i * inC + ch) * P).update(from: xp + ch * np + i * P, count: P) }
            }
        }
        vk_sum_parts(weight.grad.pointer, dw.pointer, Int32(groups.count), inChannels * g.patchSize)
        vk_add_image_sums(smp, Int32(n), Int32(outChannels), bias.grad.pointer)
        return d
    }

    private func forwardDirect(_ x: Tensor, _ g: ConvGeometry) -> Tensor {
        let n = x.shape[0]
        let y = out.view([n, outChannels, g.imageH, g.imageW])
        vk_convt1_forward(x.pointer, Int32(n), Int32(inChannels), Int32(outChannels), Int32(g.gridH), Int32(g.gridW),
                          Int32(kernelSize), Int32(padding), weight.value.pointer, bias.value.pointer,
                          activation == .relu ? 1 : 0, Int32(Self.directGroup), y.pointer)
        input = x   // read by the backward pass, as Dense keeps its input
        output = y
        return y
    }

    private func backwardDirect(_ dy: Tensor, _ g: ConvGeometry) -> Tensor {
        let n = batch, group = Self.directGroup, tasks = (n + group - 1) / group
        let dw = parts.view([tasks, weight.value.count])
        let sm = sums.view([n, outChannels])
        let d = needsInputGradient ? dx.view(inputShape) : noGradient
        vk_convt1_backward(input.pointer, dy.pointer, activation == .relu ? UnsafePointer(output.pointer) : nil,
                           Int32(n), Int32(inChannels), Int32(outChannels), Int32(g.gridH), Int32(g.gridW),
                           Int32(kernelSize), Int32(padding), weight.value.pointer, Int32(group),
                           needsInputGradient ? d.pointer : nil, dw.pointer, sm.pointer)
        vk_sum_parts(weight.grad.pointer, dw.pointer, Int32(tasks), weight.value.count)
        vk_add_image_sums(sm.pointer, Int32(n), Int32(outChannels), bias.grad.pointer)
        return d
    }
}
