/// A bidirectional multi-layer GRU over token ids, `torch.nn.GRU(bidirectional=True)`'s maths and
/// names: in every layer one GRU reads each sequence forward and one backward
/// (`weight_ih_l{k}_reverse`, …); layer k + 1 reads both directions' outputs joined,
/// [forward hₜ, backward hₜ] (2H). What it gives is each sequence's final states of the top
/// layer, [forward after the last token, backward after the first] ([B, 2H]): an encoder.
public final class BidirectionalGRU {
    /// Layer 0's input: token ids of this vocabulary (`forward(tokens:…)`), or rows of this many
    /// columns (`forward(_:layout:)`).
    public let vocabulary: Int
    public let hiddenSize: Int
    public let layers: Int
    let forwardLayers: [GRU]
    let backwardLayers: [GRU]
    public var parameters: [Parameter] { zip(forwardLayers, backwardLayers).flatMap { $0.parameters + $1.parameters } }

    private var joined: [Workspace]     // layer k + 1's input in time order, per layer
    private var joinedReversed: [Workspace]
    private var finals = Workspace(), dJoined = Workspace(), dForward = Workspace(), dBackward = Workspace()
    private var inputReversed = Workspace(), dInput = Workspace()
    /// Whether the last `forward` read dense rows (then `backward` gives their gradient).
    private var denseInput = false
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
        prepare(layout)
        denseInput = false
        let backwardTokens = reversed.map { tokens[$0] }
        return run(layout, forwardLayers[0].forward(tokens: tokens, vocabulary: vocabulary, layout: layout),
                   backwardLayers[0].forward(tokens: backwardTokens, vocabulary: vocabulary, layout: layout))
    }

    /// The top layer's final states [B, 2H] of the packed rows x [N, vocabulary] (e.g. token
    /// embeddings); `backward` then returns dL/dx.
    public func forward(_ x: Tensor, layout: PackedLayout) -> Tensor {
        precondition(x.count == layout.rows * vocabulary, "BidirectionalGRU.forward: input \(x.shape) for \(layout.rows) rows of \(vocabulary)")
        prepare(layout)
        denseInput = true
        let D = vocabulary, xr = inputReversed.view([layout.rows, D])
        for (r, m) in reversed.enumerated() { (xr.pointer + r * D).update(from: x.pointer + m * D, count: D) }
        return run(layout, forwardLayers[0].forward(x, layout: layout), backwardLayers[0].forward(xr, layout: layout))
    }

    private func prepare(_ layout: PackedLayout) {
        self.layout = layout
        let N = layout.rows
        reversed = [Int](repeating: 0, count: N)
        for t in 0..<layout.steps {
            for i in 0..<layout.batchSizes[t] { reversed[layout.row(i, t)] = layout.row(i, layout.lengths[i] - 1 - t) }
        }
    }

    /// Layers 1… over layer 0's two directions' outputs; the top layer's final states.
    private func run(_ layout: PackedLayout, _ first: (output: Tensor, hN: Tensor), _ firstReversed: (output: Tensor, hN: Tensor)) -> Tensor {
        let H = hiddenSize, N = layout.rows, B = layout.batch
        var (outF, hF) = first
        var (outB, hB) = firstReversed
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

    /// From dL/d(final states) [B, 2H]: *accumulates* every parameter's gradient. After a dense
    /// `forward`, returns dL/dx [N, vocabulary] (a view valid until the next call); else nil.
    @discardableResult
    public func backward(_ dFinal: Tensor) -> Tensor? {
        guard let layout else { preconditionFailure("BidirectionalGRU.backward before forward") }
        let H = hiddenSize, N = layout.rows, B = layout.batch
        let dhF = Tensor(shape: [1, B, H]), dhB = Tensor(shape: [1, B, H])
        for i in 0..<B {
            (dhF.pointer + i * H).update(from: dFinal.pointer + i * 2 * H, count: H)
            (dhB.pointer + i * H).update(from: dFinal.pointer + i * 2 * H + H, count: H)
        }
        var dOutF: Tensor? = nil, dOutB: Tensor? = nil
        var k = layers - 1
        while true {
            let top = k == layers - 1
            let gf = forwardLayers[k].backwardAll(dOutput: dOutF, dhN: top ? dhF : nil)
            let gb = backwardLayers[k].backwardAll(dOutput: dOutB, dhN: top ? dhB : nil)
            // layer 0: its input is the data (token ids, or the dense rows whose gradient is returned)
            if k == 0 { return denseInput ? mirroredSum(gf.dx, gb.dx, width: vocabulary, into: &dInput) : nil }
            let dx = mirroredSum(gf.dx, gb.dx, width: 2 * H, into: &dJoined)
            // split: the forward outputs' part in time order, the backward outputs' part mirrored
            let f = dForward.view([N, H]), bw = dBackward.view([N, H])
            for r in 0..<N {
                (f.pointer + r * H).update(from: dx.pointer + r * 2 * H, count: H)
                (bw.pointer + reversed[r] * H).update(from: dx.pointer + r * 2 * H + H, count: H)
            }
            dOutF = f
            dOutB = bw
            k -= 1
        }
    }

    /// dx in time order: the forward GRU's dx + the backward GRU's dx mirrored back.
    private func mirroredSum(_ a: Tensor, _ b: Tensor, width w: Int, into buffer: inout Workspace) -> Tensor {
        let N = reversed.count, dx = buffer.view([N, w])
        for r in 0..<N {
            let x = a.pointer + r * w, y = b.pointer + reversed[r] * w, d = dx.pointer + r * w
            for j in 0..<w { d[j] = x[j] + y[j] }
        }
        return dx
    }
}
