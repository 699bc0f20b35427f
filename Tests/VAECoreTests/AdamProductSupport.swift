import CVAEKernels
@testable import VAECore

/// A product C = 0.5·op(A)·op(B) + beta·C with Adam's state beside it, for the fused-Adam and the
/// sparse-product tests: C, p, m and v (count values each) drawn from `rng` after A and B, the
/// closure given raw pointers and Adam's arguments; returns p + m + v + C afterwards.
func adamProduct(count: Int, a: [Float], b: [Float], rng: inout RNG,
                 _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                          UnsafeMutablePointer<vk_adam_args>) -> Void) -> [Float] {
    var c = (0..<count).map { _ in rng.uniform(-1, 1) }
    var p = (0..<count).map { _ in rng.uniform(-1, 1) }
    var m = (0..<count).map { _ in rng.uniform(-0.1, 0.1) }
    var v = (0..<count).map { _ in rng.uniform(0, 0.01) }
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                p.withUnsafeMutableBufferPointer { pp in
                    m.withUnsafeMutableBufferPointer { pm in
                        v.withUnsafeMutableBufferPointer { pv in
                            var args = vk_adam_args(p: pp.baseAddress, m: pm.baseAddress, v: pv.baseAddress,
                                                    step_size: 1.3e-3, bc2_sqrt: 0.07, beta1: 0.9, beta2: 0.999,
                                                    eps: 1e-8, weight_decay: 0.01)
                            body(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, &args)
                        }
                    }
                }
            }
        }
    }
    return p + m + v + c
}

/// One backward pass with its Adam update: inside the backward pass (fused), or after it.
func backwardAndUpdate(_ net: Sequential, _ store: ParameterStore, _ adam: Adam, _ dy: Tensor, fused: Bool) {
    if fused {
        let step = adam.beginFusedStep()
        _ = net.backward(dy, update: step)
        adam.commitFusedStep()
    } else {
        store.zeroGrad()
        _ = net.backward(dy)
        adam.update()
    }
}

/// The parameters, then Adam's m and v.
func adamState(_ store: ParameterStore, _ adam: Adam) -> [Float] {
    Array(UnsafeBufferPointer(start: store.values.pointer, count: store.count))
        + Array(UnsafeBufferPointer(start: adam.m.pointer, count: store.count))
        + Array(UnsafeBufferPointer(start: adam.v.pointer, count: store.count))
}
