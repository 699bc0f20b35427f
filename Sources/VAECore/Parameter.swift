/// A learnable tensor and its gradient. Layers create their parameters with their own
/// storage; `ParameterStore` then moves every parameter of a model into one contiguous
/// value buffer and one contiguous gradient buffer, so that the optimizer is one loop and a
/// checkpoint one write (as in llm.c).
public final class Parameter {
    /// State-dict style name, e.g. "encoder.0.weight" (PyTorch layout of the values).
    public var name: String
    public let shape: [Int]
    public let count: Int
    /// Storage is allocated on first use (or when a `ParameterStore` takes the parameter), so
    /// that a model can be described — names, shapes, parameter count — without allocating it.
    /// Where value and gradient start in their `ParameterStore`'s buffers (nil before a store
    /// takes the parameter); the optimizer's moments use the same offsets.
    public private(set) var storeOffset: Int?
    private var storedValue: Tensor?
    private var storedGrad: Tensor?
    public var value: Tensor {
        if let v = storedValue { return v }
        let v = Tensor(shape: shape)
        storedValue = v
        return v
    }
    public var grad: Tensor {
        if let g = storedGrad { return g }
        let g = Tensor(shape: shape)
        storedGrad = g
        return g
    }

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
        self.count = Tensor.elementCount(shape)
    }

    /// Re-point value and gradient into shared storage, keeping the current values.
    func rebind(values: Buffer, grads: Buffer, offset: Int) {
        let v = Tensor(buffer: values, offset: offset, shape: shape)
        if let old = storedValue { v.pointer.update(from: old.pointer, count: count) }
        let g = Tensor(buffer: grads, offset: offset, shape: shape)
        if let old = storedGrad { g.pointer.update(from: old.pointer, count: count) }
        storedValue = v
        storedGrad = g
        storeOffset = offset
    }
}

/// All parameters of a model in one contiguous value buffer and one gradient buffer.
public final class ParameterStore {
    public let parameters: [Parameter]
    public let values: Buffer
    public let grads: Buffer
    public var count: Int { values.count }

    public init(_ parameters: [Parameter]) {
        var seen = Set<String>()
        for p in parameters {
            precondition(seen.insert(p.name).inserted, "duplicate parameter name \(p.name)")
        }
        self.parameters = parameters
        let total = parameters.reduce(0) { $0 + $1.count }
        values = Buffer(count: total)
        grads = Buffer(count: total)
        var off = 0
        for p in parameters {
            p.rebind(values: values, grads: grads, offset: off)
            off += p.count
        }
    }

    public func zeroGrad() { grads.pointer.update(repeating: 0, count: grads.count) }

    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Global L2 norm of all gradients (computed in Double, fixed order).
    public func gradNorm() -> Double {
        var s = 0.0
        let g = grads.pointer
        for i in 0..<grads.count { let x = Double(g[i]); s += x * x }
        return s.squareRoot()
    }

    /// Scales gradients so that their global norm is at most `maxNorm`; returns the norm
    /// before clipping (as torch.nn.utils.clip_grad_norm_ does).
    @discardableResult
    public func clipGradNorm(_ maxNorm: Double) -> Double {
        let norm = gradNorm()
        if norm > maxNorm && norm.isFinite {
            let scale = Float(maxNorm / (norm + 1e-6))
            let g = grads.pointer
            for i in 0..<grads.count { g[i] *= scale }
        }
        return norm
    }
}
