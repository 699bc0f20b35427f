import RealModule
import CVAEKernels

/// Adam (Kingma & Ba) with bias correction, written as PyTorch's `torch.optim.Adam` computes it
/// so that trajectories can be compared step by step:
///   g ← g + λ·p (weight decay, L2 form);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
///   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
/// One pass over the model's contiguous parameter buffer.
public final class Adam {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public var weightDecay: Float
    public private(set) var step: Int = 0
    public let store: ParameterStore
    /// First and second moments, same layout as the parameter buffer.
    public let m: Buffer
    public let v: Buffer

    public init(_ store: ParameterStore, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.store = store
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        m = Buffer(count: store.count)
        v = Buffer(count: store.count)
    }

    /// Restores the optimizer state from a checkpoint.
    public func restore(step: Int, m mValues: UnsafeBufferPointer<Float>, v vValues: UnsafeBufferPointer<Float>) {
        precondition(mValues.count == store.count && vValues.count == store.count, "Adam state size mismatch")
        self.step = step
        m.pointer.update(from: mValues.baseAddress!, count: store.count)
        v.pointer.update(from: vValues.baseAddress!, count: store.count)
    }

    public func update() {
        step += 1
        let (stepSize, bc2Sqrt) = constants(step: step)
        // One fused pass in C (AVX-512, AVX2 or portable, chosen at run time), split over the
        // pool in fixed chunks: element-wise, so the result does not depend on the thread count.
        vk_adam_update(store.count, store.values.pointer, store.grads.pointer, m.pointer, v.pointer,
                       stepSize, bc2Sqrt, beta1, beta2, epsilon, weightDecay)
    }

    /// lr / (1 − β1ᵗ) and √(1 − β2ᵗ) for step t.
    func constants(step t: Int) -> (stepSize: Float, bc2Sqrt: Float) {
        let bc1 = 1 - Double.pow(Double(beta1), Double(t))
        let bc2 = 1 - Double.pow(Double(beta2), Double(t))
        return (Float(Double(learningRate) / bc1), Float(bc2.squareRoot()))
    }

    /// The next step, to be applied inside the backward pass, parameter by parameter, as each
    /// gradient becomes final (`Layer.backward(_:update:)`); `commitFusedStep()` then counts it.
    /// Same numbers as zeroing the gradients, a backward pass and `update()`.
    public func beginFusedStep() -> FusedAdamStep {
        let (stepSize, bc2Sqrt) = constants(step: step + 1)
        return FusedAdamStep(store: store, m: m, v: v, stepSize: stepSize, bc2Sqrt: bc2Sqrt,
                             beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    }

    /// Counts a step begun with `beginFusedStep()` once every parameter has been updated.
    public func commitFusedStep() { step += 1 }
}
