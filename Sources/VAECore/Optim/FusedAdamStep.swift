import CVAEKernels

/// One Adam step applied during the backward pass: each layer updates its parameters as soon
/// as their gradients are final (a weight inside its gradient GEMM, tile by tile while the
/// tile is in cache), so the gradients need no zeroing pass and no second read. Element-wise
/// with the same operations as `Adam.update()`: the same numbers, for any thread count.
/// Not for gradient clipping or data-parallel training (they need every gradient first).
public struct FusedAdamStep {
    let store: ParameterStore
    let m: Buffer, v: Buffer
    let stepSize: Float, bc2Sqrt: Float
    let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float

    /// The C kernels' arguments for `p` (which must belong to the optimizer's store).
    public func arguments(for p: Parameter) -> vk_adam_args {
        guard let off = p.storeOffset, p.value.buffer === store.values else {
            preconditionFailure("parameter \(p.name) is not in the optimizer's store")
        }
        return vk_adam_args(p: store.values.pointer + off, m: m.pointer + off, v: v.pointer + off,
                            step_size: stepSize, bc2_sqrt: bc2Sqrt, beta1: beta1, beta2: beta2,
                            eps: epsilon, weight_decay: weightDecay)
    }

    /// Adam on all of `p` from its (final) gradient.
    public func apply(_ p: Parameter) {
        let a = arguments(for: p)
        vk_adam_update(p.count, a.p, p.grad.pointer, a.m, a.v, stepSize, bc2Sqrt, beta1, beta2, epsilon, weightDecay)
    }
}
