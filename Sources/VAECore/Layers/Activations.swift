import RealModule

/// Element-wise activation layers. Each keeps its output (ReLU, Sigmoid, Tanh) or its input
/// (LeakyReLU) for the backward pass.
public final class Activation: Layer {
    public enum Kind: Sendable, Equatable {
        case relu
        case leakyReLU(slope: Float)
        case sigmoid
        case tanh
    }

    public let kind: Kind
    public var needsInputGradient = true
    private var input = noGradient
    private var output = noGradient
    private var out = Workspace()
    private var dx = Workspace()

    public init(_ kind: Kind) { self.kind = kind }

    public static func relu() -> Activation { Activation(.relu) }
    public static func leakyReLU(_ slope: Float = 0.01) -> Activation { Activation(.leakyReLU(slope: slope)) }
    public static func sigmoid() -> Activation { Activation(.sigmoid) }
    public static func tanh() -> Activation { Activation(.tanh) }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ x: Tensor) -> Tensor {
        input = x
        let y = out.view(x.shape)
        let n = x.count
        let xp = x.pointer, yp = y.pointer
        switch kind {
        case .relu:
            for i in 0..<n { yp[i] = xp[i] > 0 ? xp[i] : 0 }
        case .leakyReLU(let s):
            for i in 0..<n { yp[i] = xp[i] > 0 ? xp[i] : s * xp[i] }
        case .sigmoid:
            for i in 0..<n { yp[i] = Elementwise.sigmoid(xp[i]) }
        case .tanh:
            Elementwise.tanh(xp, into: yp, count: n)
        }
        output = y
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard needsInputGradient else { return noGradient }
        precondition(dy.count == input.count, "activation backward got \(dy.shape) for input \(input.shape)")
        let g = dx.view(input.shape)
        let n = dy.count
        let d = dy.pointer, gp = g.pointer, y = output.pointer, x = input.pointer
        switch kind {
        case .relu:
            // y' = 1 where y > 0 (PyTorch's convention: 0 at x = 0)
            Elementwise.reluBackward(dy: d, y: y, dx: gp, count: n)
        case .leakyReLU(let s):
            for i in 0..<n { gp[i] = x[i] > 0 ? d[i] : s * d[i] }
        case .sigmoid:
            // y' = y (1 - y)
            for i in 0..<n { gp[i] = d[i] * y[i] * (1 - y[i]) }
        case .tanh:
            // y' = 1 - y²
            for i in 0..<n { gp[i] = d[i] * (1 - y[i] * y[i]) }
        }
        return g
    }
}

/// Reshapes each example (a view, no copy): `Reshape([64, 7, 7])` turns [batch, 3136] into
/// [batch, 64, 7, 7]; `Flatten()` turns [batch, ...] into [batch, n].
public final class Reshape: Layer {
    public let target: [Int]?   // nil = flatten
    public var needsInputGradient = true
    private var inputShape: [Int] = []

    public init(_ shape: [Int]) { target = shape }
    fileprivate init(flatten: Void) { target = nil }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        let n = Tensor.elementCount(inputShape)
        guard let target else { return [n] }
        precondition(Tensor.elementCount(target) == n, "cannot reshape \(inputShape) to \(target)")
        return target
    }

    public func forward(_ x: Tensor) -> Tensor {
        inputShape = x.shape
        return x.reshaped([x.shape[0]] + outputShape(for: Array(x.shape.dropFirst())))
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard needsInputGradient else { return noGradient }
        return dy.reshaped(inputShape)
    }
}

public func Flatten() -> Reshape { Reshape(flatten: ()) }
