import VAECore

/// A feed-forward network evaluated so that its outputs are the same bits on every machine,
/// thread count and kernel level: one item at a time, each output a Double sum over its inputs in
/// index order, activations from ``PortableMath``. The training kernels (blocked GEMMs with
/// per-CPU tiles and FMAs) are fast but differ in the last bits between AVX-512, AVX2 and portable
/// code; a codec whose probabilities moved by one ulp would decode garbage.
public struct PortableNetwork: Sendable {
    enum Stage: Sendable {
        case dense(weight: [Float], bias: [Float], inputs: Int, outputs: Int, relu: Bool)
        case tanh, relu, sigmoid
        case leakyReLU(Double)
    }
    let stages: [Stage]
    public let inputs: Int
    public let outputs: Int

    /// The layers of `network` (Flatten, Dense, element-wise activations); anything else is refused.
    public init(_ network: Sequential, what: String) throws {
        var stages: [Stage] = []
        var width = network.layers.isEmpty ? 0 : -1, first = -1, last = 0
        for layer in network.layers {
            switch layer {
            case is Reshape: continue   // Flatten: the vector is already flat
            case let d as Dense:
                if first < 0 { first = d.inFeatures }
                guard width < 0 || width == d.inFeatures else { throw VAEError("\(what): layer widths do not chain") }
                stages.append(.dense(weight: d.weight.value.array, bias: d.bias.value.array, inputs: d.inFeatures,
                                     outputs: d.outFeatures, relu: d.activation == .relu))
                width = d.outFeatures
                last = d.outFeatures
            case let a as Activation:
                switch a.kind {
                case .tanh: stages.append(.tanh)
                case .relu: stages.append(.relu)
                case .sigmoid: stages.append(.sigmoid)
                case .leakyReLU(let s): stages.append(.leakyReLU(Double(s)))
                }
            default:
                throw VAEError("\(what): compression runs mlp models (dense layers and activations); this one has a \(type(of: layer)) layer")
            }
        }
        guard first > 0 else { throw VAEError("\(what): the network has no dense layer") }
        self.stages = stages
        inputs = first
        outputs = last
    }

    /// The outputs for one input vector.
    public func callAsFunction(_ x: [Double]) -> [Double] {
        precondition(x.count == inputs)
        var v = x
        for stage in stages {
            switch stage {
            case let .dense(weight, bias, n, m, relu):
                var y = [Double](repeating: 0, count: m)
                weight.withUnsafeBufferPointer { w in
                    v.withUnsafeBufferPointer { xv in
                        for o in 0..<m {
                            var s = 0.0
                            let row = w.baseAddress! + o * n
                            for i in 0..<n { s += Double(row[i]) * xv[i] }
                            s += Double(bias[o])
                            y[o] = relu ? max(0, s) : s
                        }
                    }
                }
                v = y
            case .tanh: for i in v.indices { v[i] = PortableMath.tanh(v[i]) }
            case .relu: for i in v.indices { v[i] = max(0, v[i]) }
            case .sigmoid: for i in v.indices { v[i] = PortableMath.sigmoid(v[i]) }
            case .leakyReLU(let s): for i in v.indices where v[i] < 0 { v[i] *= s }
            }
        }
        return v
    }

    /// FNV-1a 64 over the stages' shapes and the bits of every weight: the model an archive needs.
    func hash(into h: inout FNV64) {
        func add(_ w: UInt64) { h.add(w) }
        for stage in stages {
            switch stage {
            case let .dense(weight, bias, n, m, relu):
                add(1); add(UInt64(n)); add(UInt64(m)); add(relu ? 1 : 0)
                for w in weight { add(UInt64(w.bitPattern)) }
                for b in bias { add(UInt64(b.bitPattern)) }
            case .tanh: add(2)
            case .relu: add(3)
            case .sigmoid: add(4)
            case .leakyReLU(let s): add(5); add(s.bitPattern)
            }
        }
    }
}
