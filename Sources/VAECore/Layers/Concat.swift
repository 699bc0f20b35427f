/// Concatenates a conditioning vector c (e.g. a one-hot label, set by the model before each
/// forward pass) to every example: `[x | c]` for flat inputs, or c tiled over the image as
/// extra channels for `[C, H, W]` inputs (the conditional VAE of Sohn et al. 2015).
/// A functional step, not a module of its own in PyTorch's naming (`torch.cat` outside the
/// `nn.Sequential`), so it takes no module index.
public final class ConcatCondition: Layer {
    /// Width of c.
    public let width: Int
    /// The conditioning input of the next forward pass: [batch, width].
    public var condition = Tensor(shape: [0])
    public var needsInputGradient = true
    private var inputShape: [Int] = []
    private var out = Workspace(), dx = Workspace()

    public init(width: Int) {
        precondition(width >= 0)
        self.width = width
    }

    public var moduleCount: Int { 0 }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        if inputShape.count == 3 { return [inputShape[0] + width, inputShape[1], inputShape[2]] }
        return [Tensor.elementCount(inputShape) + width]
    }

    /// y = [x | c]  (per example; for images c[j] fills channel C + j everywhere)
    public func forward(_ x: Tensor) -> Tensor {
        let b = x.shape[0]
        inputShape = x.shape
        precondition(condition.count == b * width, "ConcatCondition: condition \(condition.shape) for a batch of \(b)")
        let itemShape = Array(x.shape.dropFirst())
        let outShape = outputShape(for: itemShape)
        let y = out.view([b] + outShape)
        let d = x.rowSize, o = y.rowSize
        let plane = itemShape.count == 3 ? itemShape[1] * itemShape[2] : 1
        for r in 0..<b {
            let dst = y.pointer + r * o
            dst.update(from: x.pointer + r * d, count: d)
            for j in 0..<width {
                (dst + d + j * plane).update(repeating: condition[r * width + j], count: plane)
            }
        }
        return y
    }

    /// dx = the x part of dy (c is an input, not learned)
    public func backward(_ dy: Tensor) -> Tensor {
        guard needsInputGradient else { return Tensor(shape: [0]) }
        let b = inputShape[0]
        let g = dx.view(inputShape)
        let d = g.rowSize, o = dy.rowSize
        for r in 0..<b { (g.pointer + r * d).update(from: dy.pointer + r * o, count: d) }
        return g
    }
}
