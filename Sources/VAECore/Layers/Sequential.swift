/// Layers applied one after the other; backward runs them in reverse.
/// Parameter names follow PyTorch's `nn.Sequential`: "<prefix>.<index>.weight".
public final class Sequential: Layer {
    public let layers: [Layer]

    /// Called after each layer's backward, when that layer's parameter gradients are final
    /// (data-parallel training starts reducing them while the earlier layers' backward runs).
    public var onBackward: ((Layer) -> Void)?

    public init(_ layers: [Layer]) { self.layers = layers }
    public convenience init(_ layers: Layer...) { self.init(layers) }

    public var needsInputGradient: Bool {
        get { layers.first?.needsInputGradient ?? true }
        set { layers.first?.needsInputGradient = newValue }
    }

    public var parameters: [Parameter] { layers.flatMap { $0.parameters } }

    public func nameParameters(prefix: String) {
        for (i, l) in layers.enumerated() { l.nameParameters(prefix: prefix.isEmpty ? "\(i)" : "\(prefix).\(i)") }
    }

    public func initialize(using rng: inout RNG) {
        for l in layers { l.initialize(using: &rng) }
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        layers.reduce(inputShape) { $1.outputShape(for: $0) }
    }

    public func forward(_ x: Tensor) -> Tensor {
        var h = x
        for l in layers { h = l.forward(h) }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for l in layers.reversed() {
            g = l.backward(g)
            onBackward?(l)
        }
        return g
    }
}
