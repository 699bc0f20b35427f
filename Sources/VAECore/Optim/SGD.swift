/// Stochastic gradient descent with momentum, as `torch.optim.SGD` (no dampening):
///   g ← g + λ·p;  buf ← μ·buf + g;  p ← p − lr·buf
public final class SGD {
    public var learningRate: Float
    public let momentum: Float
    public var weightDecay: Float
    public let store: ParameterStore
    public let velocity: Buffer
    private var started = false

    public init(_ store: ParameterStore, learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.store = store
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        velocity = Buffer(count: store.count)
    }

    public func update() {
        let p = store.values.pointer, g = store.grads.pointer, b = velocity.pointer
        let lr = learningRate, mu = momentum, wd = weightDecay
        let first = !started
        started = true
        for i in 0..<store.count {
            var gi = g[i]
            if wd != 0 { gi += wd * p[i] }
            if mu != 0 {
                // PyTorch initialises the buffer with the first gradient
                b[i] = first ? gi : mu * b[i] + gi
                gi = b[i]
            }
            p[i] -= lr * gi
        }
    }
}
