/// A differentiable layer working on a batch: inputs and outputs are `[batch, ...]`.
///
/// `forward` keeps what `backward` needs (a view of its input, its own output buffer);
/// `backward` takes dL/dy, *accumulates* into the parameters' gradients and returns dL/dx.
/// Returned tensors are views of buffers the layer owns and reuses: they stay valid until the
/// layer's next call. Buffers grow to the largest batch seen and are not reallocated after.
public protocol Layer: AnyObject {
    /// The shape of one example's output for one example's input shape (no batch dimension).
    func outputShape(for inputShape: [Int]) -> [Int]
    var parameters: [Parameter] { get }
    /// PyTorch-default initialisation of the parameters.
    func initialize(using rng: inout RNG)
    func forward(_ x: Tensor) -> Tensor
    func backward(_ dy: Tensor) -> Tensor
    /// `backward` with the optimizer step fused in (when `update` is given): the layer's own
    /// gradients are overwritten rather than accumulated, and its parameters are updated
    /// once their gradients are final (after it has used the old values).
    func backward(_ dy: Tensor, update: FusedAdamStep?) -> Tensor
    /// When false, `backward` may skip computing dL/dx (first layer of a network) and
    /// returns an empty tensor.
    var needsInputGradient: Bool { get set }
    /// Gives every parameter a state-dict name under `prefix` (e.g. "encoder.0").
    func nameParameters(prefix: String)
    /// How many modules of a PyTorch `nn.Sequential` this layer stands for: 2 for a layer with
    /// a fused activation (Linear + ReLU), 1 otherwise, 0 for a functional step that has no
    /// module of its own (the conditioning concatenation).
    var moduleCount: Int { get }
    /// FLOPs per example (2 per multiply-add) of what this layer runs, for one example's
    /// `inputShape`.
    func flops(inputShape: [Int]) -> LayerFLOPs
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public func initialize(using rng: inout RNG) {}
    public func nameParameters(prefix: String) {}
    public var moduleCount: Int { 1 }
    public func flops(inputShape: [Int]) -> LayerFLOPs { LayerFLOPs() }

    /// Zero the layer's gradients, `backward`, then Adam on each parameter.
    public func backward(_ dy: Tensor, update: FusedAdamStep?) -> Tensor {
        guard let update else { return backward(dy) }
        let ps = parameters
        for p in ps { p.grad.zero() }
        let g = backward(dy)
        for p in ps { update.apply(p) }
        return g
    }
}

/// The matrix-product FLOPs of one layer per example: the forward pass, the weight gradient,
/// and the input gradient (which the first layer with parameters never computes).
public struct LayerFLOPs: Sendable, Equatable {
    public var forward: Double = 0
    public var weightGradient: Double = 0
    public var inputGradient: Double = 0
    public init(forward: Double = 0, weightGradient: Double = 0, inputGradient: Double = 0) {
        self.forward = forward
        self.weightGradient = weightGradient
        self.inputGradient = inputGradient
    }
    /// A product with `macs` multiply-adds per example: the same count again for each gradient.
    public static func product(_ macs: Int) -> LayerFLOPs {
        let f = 2 * Double(macs)
        return LayerFLOPs(forward: f, weightGradient: f, inputGradient: f)
    }
}

/// A layer whose parameters are one weight and one bias (Dense, Conv2D, ConvTranspose2D),
/// named `<prefix>.weight` and `<prefix>.bias` as in a PyTorch state dict.
public protocol WeightAndBiasLayer: Layer {
    var weight: Parameter { get }
    var bias: Parameter { get }
    /// The activation fused into the layer (a module of its own in PyTorch).
    var fusedActivation: Dense.Activation { get }
}

extension WeightAndBiasLayer {
    public var parameters: [Parameter] { [weight, bias] }
    public var moduleCount: Int { fusedActivation == .none ? 1 : 2 }

    public func nameParameters(prefix: String) {
        weight.name = prefix + ".weight"
        bias.name = prefix + ".bias"
    }
}

/// Kaiming-uniform with a = √5 (PyTorch's default for Linear and Conv weights):
/// bound = gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3), i.e. bound = 1/√fan_in.
/// Biases: uniform ±1/√fan_in.
func pytorchDefaultInit(weight: Parameter, bias: Parameter?, fanIn: Int, rng: inout RNG) {
    let bound = fanIn > 0 ? Float(1.0 / Double(fanIn).squareRoot()) : 0
    rng.fillUniform(weight.value.pointer, count: weight.count, -bound, bound)
    if let bias { rng.fillUniform(bias.value.pointer, count: bias.count, -bound, bound) }
}

/// The empty tensor returned by `backward` when no input gradient is needed.
let noGradient = Tensor(shape: [0])
