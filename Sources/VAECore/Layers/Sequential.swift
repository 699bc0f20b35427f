/// Layers applied one after the other; backward runs them in reverse.
///
/// A `Sequential` built with `init(name:input:_:)` is the one description of a network: it checks
/// the shapes from `input` through every layer, names the parameters as PyTorch's `nn.Sequential`
/// would (`<name>.<module index>.weight`, where a layer with a fused ReLU stands for two modules),
/// and gives the parameter count and the FLOPs of what runs — nothing is counted by hand elsewhere.
public final class Sequential: Layer {
    public let layers: [Layer]
    /// One example's input shape, when the network was described with one.
    public let inputShape: [Int]?

    /// Called after each layer's backward, when that layer's parameter gradients are final
    /// (data-parallel training starts reducing them while the earlier layers' backward runs).
    public var onBackward: ((Layer) -> Void)?

    public init(_ layers: [Layer]) {
        self.layers = layers
        inputShape = nil
    }
    public convenience init(_ layers: Layer...) { self.init(layers) }

    /// A network named `name` (e.g. "encoder") taking inputs of one example's shape `input`.
    /// Parameters get their state-dict names; no storage is allocated until first use.
    public init(name: String, input: [Int], _ layers: [Layer]) {
        self.layers = layers
        inputShape = input
        nameParameters(prefix: name)
        _ = outputShape(for: input)  // checks that the layers fit together
    }

    /// Setting false skips input gradients up to and including the first layer with parameters
    /// (the layers before it — Flatten, Reshape — have nothing to pass a gradient to either).
    public var needsInputGradient: Bool {
        get { layers.first?.needsInputGradient ?? true }
        set {
            for l in layers {
                l.needsInputGradient = newValue
                if !l.parameters.isEmpty { break }
            }
        }
    }

    public var parameters: [Parameter] { layers.flatMap { $0.parameters } }
    public var moduleCount: Int { layers.reduce(0) { $0 + $1.moduleCount } }

    /// Names as PyTorch's `nn.Sequential` would: every module counts, so a layer with a fused
    /// activation takes two indices.
    public func nameParameters(prefix: String) {
        var index = 0
        for l in layers {
            l.nameParameters(prefix: prefix.isEmpty ? "\(index)" : "\(prefix).\(index)")
            index += l.moduleCount
        }
    }

    public func initialize(using rng: inout RNG) {
        for l in layers { l.initialize(using: &rng) }
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        layers.reduce(inputShape) { $1.outputShape(for: $0) }
    }

    /// FLOPs per example of what runs: input gradients only where they are computed.
    public func flops(inputShape: [Int]) -> LayerFLOPs {
        var shape = inputShape, total = LayerFLOPs()
        for l in layers {
            let f = l.flops(inputShape: shape)
            total.forward += f.forward
            total.weightGradient += f.weightGradient
            if l.needsInputGradient { total.inputGradient += f.inputGradient }
            shape = l.outputShape(for: shape)
        }
        return total
    }

    /// Σ parameter elements, computed from the shapes (no storage needed); nil on overflow.
    public var parameterCount: Int? {
        var total = 0
        for p in parameters {
            var n = 1
            for d in p.shape {
                let (m, o) = n.multipliedReportingOverflow(by: d)
                if o { return nil }
                n = m
            }
            let (s, o) = total.addingReportingOverflow(n)
            if o { return nil }
            total = s
        }
        return total
    }

    public func forward(_ x: Tensor) -> Tensor {
        var h = x
        for l in layers { h = l.forward(h) }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        backward(dy, update: nil)
    }

    public func backward(_ dy: Tensor, update: FusedAdamStep?) -> Tensor {
        var g = dy
        for l in layers.reversed() {
            g = l.backward(g, update: update)
            onBackward?(l)
        }
        return g
    }
}
