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
    /// When false, `backward` may skip computing dL/dx (first layer of a network) and
    /// returns an empty tensor.
    var needsInputGradient: Bool { get set }
    /// Gives every parameter a state-dict name under `prefix` (e.g. "encoder.0").
    func nameParameters(prefix: String)
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public func initialize(using rng: inout RNG) {}
    public func nameParameters(prefix: String) {}
}

/// A layer whose parameters are one weight and one bias (Dense, Conv2D, ConvTranspose2D),
/// named `<prefix>.weight` and `<prefix>.bias` as in a PyTorch state dict.
public protocol WeightAndBiasLayer: Layer {
    var weight: Parameter { get }
    var bias: Parameter { get }
}

extension WeightAndBiasLayer {
    public var parameters: [Parameter] { [weight, bias] }

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
