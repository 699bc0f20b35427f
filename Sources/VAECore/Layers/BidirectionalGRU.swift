/// A bidirectional multi-layer GRU over token ids, `torch.nn.GRU(bidirectional=True)`'s maths and
/// names: in every layer one GRU reads each sequence forward and one backward
/// (`weight_ih_l{k}_reverse`, …); layer k + 1 reads both directions' outputs joined,
/// [forward hₜ, backward hₜ] (2H). What it gives is each sequence's final states of the top
/// layer, [forward after the last token, backward after the first] ([B, 2H]): an encoder.
public final class BidirectionalGRU {
    public let vocabulary: Int
    public let hiddenSize: Int
    public let layers: Int
    let forwardLayers: [GRU]
    let backwardLayers: [GRU]
    public var parameters: [Parameter] { zip(forwardLayers, backwardLayers).flatMap { $0.parameters + $1.parameters } }

    private var joined: [Workspace]     // layer k + 1's input in time order, per layer
    private var joinedReversed: [Workspace]
    private var finals = Workspace(), dJoined = Workspace(), dForward = Workspace(), dBackward = Workspace()
    private var layout: PackedLayout?
    /// reversed[r]: the packed row of the same sequence at the mirrored step (L − 1 − t).
    private var reversed: [Int] = []

    public init(vocabulary: Int, hiddenSize: Int, layers: Int) {
        self.vocabulary = vocabulary
        self.hiddenSize = hiddenSize
        self.layers = layers
        forwardLayers = (0..<layers).map { GRU(inputSize: $0 == 0 ? vocabulary : 2 * hiddenSize, hiddenSize: hiddenSize) }
        backwardLayers = (0..<layers).map { GRU(inputSize: $0 == 0 ? vocabulary : 2 * hiddenSize, hiddenSize: hiddenSize) }
        joined = Array(repeating: Workspace(), count: layers)
        joinedReversed = Array(repeating: Workspace(), count: layers)
    }

    public func nameParameters(prefix: String) {
        for k in 0..<layers {
            forwardLayers[k].nameParameters(prefix: prefix, firstLayer: k, suffix: "")
            backwardLayers[k].nameParameters(prefix: prefix, firstLayer: k, suffix: "_reverse")
        }
    }

    /// PyTorch's default: uniform in ±1/√H.
    public func initialize(using rng: inout RNG) {
        for k in 0..<layers {
            forwardLayers[k].initialize(using: &rng)
            backwardLayers[k].initialize(using: &rng)
        }
    }

    /// The top layer's final states [B, 2H] of the packed token sequences.
    public func forward(tokens: [Int32], layout: PackedLayout) -> Tensor {
        self.layout = layout
        let H = hiddenSize, N = layout.rows, B = layout.batch
        reversed = [Int](repeating: 0, count: N)
        for t in 0..<layout.steps {
            for i in 0..<layout.batchSizes[t] { reversed[layout.row(i, t)] = layout.row(i, layout.lengths[i] - 1 - t) }
        }
        let backwardTokens = reversed.map { tokens[$0] }
        var (outF, hF) = forwardLayers[0].forward(tokens: tokens, vocabulary: vocabulary, layout: layout)
        var (outB, hB) = backwardLayers[0].forward(tokens: backwardTokens, vocabulary: vocabulary, layout: layout)
        for k in 1..<max(layers, 1) where k < layers {
            // x[row(i, t)] = [forward out (i, t), backward out (i, L − 1 − t)]; the backward GRU reads it mirrored
            let x = joined[k].view([N, 2 * H]), xr = joinedReversed[k].view([N, 2 * H])
            for r in 0..<N {
                let m = reversed[r]
                (x.pointer + r * 2 * H).update(from: outF.pointer + r * H, count: H)
                (x.pointer + r * 2 * H + H).update(from: outB.pointer + m * H, count: H)
            }
            for r in 0..<N { (xr.pointer + r * 2 * H).update(from: x.pointer + reversed[r] * 2 * H, count: 2 * H) }
            (outF, hF) = forwardLayers[k].forward(x, layout: layout)
            (outB, hB) = backwardLayers[k].forward(xr, layout: layout)
        }
        let out = finals.view([B, 2 * H])
        for i in 0..<B {
            (out.pointer + i * 2 * H).update(from: hF.pointer + i * H, count: H)
            (out.pointer + i * 2 * H + H).update(from: hB.pointer + i * H, count: H)
        }
        return out
    }

    /// From dL/d(final states) [B, 2H]: *accumulates* every parameter's gradient.
    public func backward(_ dFinal: Tensor) {
        guard let layout else { preconditionFailure("BidirectionalGRU.backward before forward") }
        let H = hiddenSize, N = layout.rows, B = layout.batch
        let dhF = Tensor(shape: [1, B, H]), dhB = Tensor(shape: [1, B, H])
        for i in 0..<B {
            (dhF.pointer + i * H).update(from: dFinal.pointer + i * 2 * H, count: H)
            (dhB.pointer + i * H).update(from: dFinal.pointer + i * 2 * H + H, count: H)
        }
        var dOutF: Tensor? = nil, dOutB: Tensor? = nil
        for k in stride(from: layers - 1, through: 0, by: -1) {
            let top = k == layers - 1
            let gf = forwardLayers[k].backwardAll(dOutput: dOutF, dhN: top ? dhF : nil)
            let gb = backwardLayers[k].backwardAll(dOutput: dOutB, dhN: top ? dhB : nil)
            guard k > 0 else { break }
            // dx (time order) = dx of the forward GRU + the backward GRU's dx mirrored back
            let dx = dJoined.view([N, 2 * H])
            for r in 0..<N {
                let a = gf.dx.pointer + r * 2 * H, b = gb.dx.pointer + reversed[r] * 2 * H, d = dx.pointer + r * 2 * H
                for j in 0..<(2 * H) { d[j] = a[j] + b[j] }
            }
            // split: the forward outputs' part in time order, the backward outputs' part mirrored
            let f = dForward.view([N, H]), bw = dBackward.view([N, H])
            for r in 0..<N {
                (f.pointer + r * H).update(from: dx.pointer + r * 2 * H, count: H)
                (bw.pointer + reversed[r] * H).update(from: dx.pointer + r * 2 * H + H, count: H)
            }
            dOutF = f
            dOutB = bw
        }
    }
}
