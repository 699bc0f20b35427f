import CVAEKernels

/// Fully connected layer, PyTorch's `nn.Linear` layout, with an optional fused ReLU.
///
/// Shapes: x [batch, in], W [out, in], b [out], y [batch, out].
public final class Dense: WeightAndBiasLayer {
    public enum Activation: String, Sendable { case none, relu }

    public let inFeatures: Int
    public let outFeatures: Int
    public let activation: Activation
    public let weight: Parameter
    public let bias: Parameter
    public var needsInputGradient = true

    private var input = noGradient
    private var out = Workspace()
    private var dpre = Workspace()
    private var dx = Workspace()
    private var output = noGradient

    public init(_ inFeatures: Int, _ outFeatures: Int, activation: Activation = .none) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.activation = activation
        weight = Parameter(name: "weight", shape: [outFeatures, inFeatures])
        bias = Parameter(name: "bias", shape: [outFeatures])
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(Tensor.elementCount(inputShape) == inFeatures, "Dense(\(inFeatures), \(outFeatures)) got input \(inputShape)")
        return [outFeatures]
    }

    public func initialize(using rng: inout RNG) {
        pytorchDefaultInit(weight: weight, bias: bias, fanIn: inFeatures, rng: &rng)
    }

    public var fusedActivation: Activation { activation }

    /// x Wᵀ: in·out multiply-adds; dW and dx the same again.
    public func flops(inputShape: [Int]) -> LayerFLOPs { .product(inFeatures * outFeatures) }

    /// y = act(x Wᵀ + b)   (bias and ReLU fused into the GEMM's epilogue)
    public func forward(_ x: Tensor) -> Tensor {
        let batch = x.shape[0]
        precondition(x.rowSize == inFeatures, "Dense(\(inFeatures), \(outFeatures)) got \(x.shape)")
        input = x
        let y = out.view([batch, outFeatures])
        GEMM.sgemm(transA: false, transB: true, m: batch, n: outFeatures, k: inFeatures,
                   a: x.pointer, lda: inFeatures, b: weight.value.pointer, ldb: inFeatures,
                   beta: 0, c: y.pointer, ldc: outFeatures,
                   bias: bias.value.pointer, relu: activation == .relu)
        output = y
        return y
    }

    /// g = dy ⊙ act'(y);  db += Σ_batch g;  dW += gᵀ x;  dx = g W
    public func backward(_ dy: Tensor) -> Tensor {
        let g = preActivationGradient(dy)
        weightGradient(g, beta: 1, adam: nil)
        return inputGradient(g)
    }

    /// Fused step: db = Σ_batch g then Adam on b;  dx = g W (old W);  dW = gᵀ x with Adam on
    /// W in the GEMM's epilogue, tile by tile.
    public func backward(_ dy: Tensor, update: FusedAdamStep?) -> Tensor {
        guard let update else { return backward(dy) }
        bias.grad.zero()
        let g = preActivationGradient(dy)
        update.apply(bias)
        let dxT = inputGradient(g)
        var a = update.arguments(for: weight)
        withUnsafePointer(to: &a) { weightGradient(g, beta: 0, adam: $0) }
        return dxT
    }

    /// dW = gᵀ x + beta·dW (then Adam on W when `adam` is given). A ReLU layer's g is zero
    /// wherever its unit was off, and the product skips those zeros when they are most of g
    /// (`vk_sgemm_adam_sparse_a`: the same bits as the dense product).
    private func weightGradient(_ g: Tensor, beta: Float, adam: UnsafePointer<vk_adam_args>?) {
        let m = Int32(outFeatures), n = Int32(inFeatures), k = Int32(g.shape[0])
        if activation == .relu {
            vk_sgemm_adam_sparse_a(m, n, k, 1, g.pointer, m, input.pointer, n, beta, weight.grad.pointer, n, adam)
        } else if let adam {
            vk_sgemm_adam(1, 0, m, n, k, 1, g.pointer, m, input.pointer, n, beta, weight.grad.pointer, n, adam)
        } else {
            GEMM.sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: g.shape[0],
                       a: g.pointer, lda: outFeatures, b: input.pointer, ldb: inFeatures,
                       beta: beta, c: weight.grad.pointer, ldc: inFeatures)
        }
    }

    /// g = dy ⊙ act'(y), and db += Σ_batch g
    private func preActivationGradient(_ dy: Tensor) -> Tensor {
        let batch = dy.shape[0]
        precondition(batch == input.shape[0] && dy.rowSize == outFeatures, "Dense.backward got \(dy.shape)")
        var g = dy
        if activation == .relu {
            g = dpre.view([batch, outFeatures])
            Elementwise.reluBackwardColumnSums(dy: dy.pointer, y: output.pointer, dx: g.pointer,
                                               rows: batch, cols: outFeatures, into: bias.grad.pointer)
        } else {
            Elementwise.addColumnSums(g.pointer, rows: batch, cols: outFeatures, into: bias.grad.pointer)
        }
        return g
    }

    /// dx = g W (empty when no input gradient is needed)
    private func inputGradient(_ g: Tensor) -> Tensor {
        guard needsInputGradient else { return noGradient }
        let batch = g.shape[0]
        let dxT = dx.view([batch, inFeatures]).reshaped(input.shape)
        GEMM.sgemm(transA: false, transB: false, m: batch, n: inFeatures, k: outFeatures,
                   a: g.pointer, lda: outFeatures, b: weight.value.pointer, ldb: inFeatures,
                   beta: 0, c: dxT.pointer, ldc: inFeatures)
        return dxT
    }
}
