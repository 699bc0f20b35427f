import CVAEKernels
import Foundation

/// The lengths of a batch of sequences in the packed, time-major layout of PyTorch's
/// `PackedSequence`: the batch is sorted by length (longest first), and step t holds the rows
/// 0 ..< `batchSizes[t]` — the sequences still running. A packed tensor has one row per real
/// token (Σ lengths rows), step after step, so no work is spent on padding.
public struct PackedLayout: Equatable, Sendable {
    /// Sequence lengths, non-increasing, each ≥ 1.
    public let lengths: [Int]
    /// Rows of step t: `batchSizes[t]` = how many lengths exceed t (non-increasing).
    public let batchSizes: [Int]
    /// First packed row of step t.
    public let offsets: [Int]
    /// Σ lengths: the packed rows.
    public let rows: Int

    public var batch: Int { lengths.count }
    public var steps: Int { batchSizes.count }

    public init(lengths: [Int]) {
        precondition(!lengths.isEmpty && lengths.allSatisfy { $0 >= 1 }, "PackedLayout: lengths must be ≥ 1")
        precondition(zip(lengths, lengths.dropFirst()).allSatisfy { $0 >= $1 }, "PackedLayout: lengths must be sorted longest first")
        self.lengths = lengths
        var sizes: [Int] = [], offsets: [Int] = [], off = 0
        for t in 0..<lengths[0] {
            var b = lengths.count
            while b > 0 && lengths[b - 1] <= t { b -= 1 }
            sizes.append(b)
            offsets.append(off)
            off += b
        }
        batchSizes = sizes
        self.offsets = offsets
        rows = off
    }

    /// The packed row of sequence `i` at step `t` (t < lengths[i]).
    @inline(__always) public func row(_ i: Int, _ t: Int) -> Int { offsets[t] + i }

    /// `offsets` and `batchSizes` as pointers (for the C kernels).
    @inline(__always) func withSteps<R>(_ body: (UnsafePointer<Int>, UnsafePointer<Int>) -> R) -> R {
        offsets.withUnsafeBufferPointer { o in batchSizes.withUnsafeBufferPointer { b in body(o.baseAddress!, b.baseAddress!) } }
    }
}

/// A multi-layer gated recurrent unit, `torch.nn.GRU`'s maths, parameter names and layouts:
///
///     r = σ(W_ir x + b_ir + W_hr h + b_hr)
///     z = σ(W_iz x + b_iz + W_hz h + b_hz)
///     n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
///     h' = (1 − z) ⊙ n + z ⊙ h
///
/// `weight_ih_l{k}` [3H, in], `weight_hh_l{k}` [3H, H], `bias_ih_l{k}`, `bias_hh_l{k}` [3H], gates in
/// the order r, z, n. Sequences are packed (`PackedLayout`): the input projection of every step of
/// a layer is one matrix product, each step one product with W_hh, and the backward pass through
/// time is exact. Two entry points, as a recurrent layer needs: `forward` runs whole sequences
/// (training), `step` advances one token (sampling).
public final class GRU {
    public let inputSize: Int
    public let hiddenSize: Int
    public let layers: Int
    public private(set) var parameters: [Parameter] = []
    /// When false, `backward` skips dL/dx of the first layer (its input is data).
    public var needsInputGradient = true

    private struct LayerState {
        let wih, whh, bih, bhh: Parameter
        var input = noGradient      // [N, in]   the layer's input (the caller's x, or the layer below's output)
        var gi = Workspace()        // [N, 3H]   x W_ihᵀ + b_ih, then the gates r, z, n
        var hn = Workspace()        // [N, H]    W_hn h + b_hn
        var hprev = Workspace()     // [N, H]    the state each step started from
        var out = Workspace()       // [N, H]    h' of every step
        var stepGates = Workspace() // [B, 3H]   `step`'s gates
        var stepHn = Workspace()    // [B, H]    `step`'s W_hn h + b_hn
        var dx = Workspace()        // [N, in]
    }
    private var state: [LayerState] = []
    private var h = Workspace()        // [B, H] running state
    private var gh = Workspace()       // [B, 3H] one step's h W_hhᵀ + b_hh
    private var dh = Workspace()       // [B, H] running dL/dh
    private var hN = Workspace()       // [layers, B, H]
    private var dh0 = Workspace()      // [layers, B, H]
    private var layout: PackedLayout?
    /// How layer 0 was fed in the last `forward`: a dense input, or token ids (a one-hot input
    /// read as a gather of W_ih's columns) with an optional per-sequence part of the input.
    private var tokenInput: (tokens: [Int32], vocabulary: Int, constant: Tensor?)?
    /// A dense layer-0 input's per-sequence part (`forward(_:constant:…)`), for the backward pass.
    private var denseConstant: Tensor?
    private var sums = Workspace()     // [B, 3H] per-sequence Σ_t dGi (token input with a constant part); column sums
    private var dConstant = Workspace() // [B, C]
    private var tokenColumns = Workspace() // [V, 3H] W_ih's (or its gradient's) token columns as rows

    public init(inputSize: Int, hiddenSize: Int, layers: Int = 1) {
        precondition(inputSize >= 1 && hiddenSize >= 1 && layers >= 1)
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        for k in 0..<layers {
            let inK = k == 0 ? inputSize : hiddenSize
            let s = LayerState(wih: Parameter(name: "weight_ih_l\(k)", shape: [3 * hiddenSize, inK]),
                               whh: Parameter(name: "weight_hh_l\(k)", shape: [3 * hiddenSize, hiddenSize]),
                               bih: Parameter(name: "bias_ih_l\(k)", shape: [3 * hiddenSize]),
                               bhh: Parameter(name: "bias_hh_l\(k)", shape: [3 * hiddenSize]))
            state.append(s)
            parameters += [s.wih, s.whh, s.bih, s.bhh]
        }
    }

    /// `prefix.weight_ih_l0`, … as in a PyTorch state dict.
    public func nameParameters(prefix: String) { nameParameters(prefix: prefix, firstLayer: 0, suffix: "") }

    /// Names for a layer of a bigger stack: `prefix.weight_ih_l{firstLayer + k}{suffix}` (a
    /// bidirectional GRU's reverse direction has the suffix `_reverse`, as in PyTorch).
    public func nameParameters(prefix: String, firstLayer: Int, suffix: String) {
        for (k, s) in state.enumerated() {
            let l = firstLayer + k
            s.wih.name = "\(prefix).weight_ih_l\(l)\(suffix)"
            s.whh.name = "\(prefix).weight_hh_l\(l)\(suffix)"
            s.bih.name = "\(prefix).bias_ih_l\(l)\(suffix)"
            s.bhh.name = "\(prefix).bias_hh_l\(l)\(suffix)"
        }
    }

    /// PyTorch's default: every weight and bias uniform in ±1/√H.
    public func initialize(using rng: inout RNG) {
        let bound = Float(1 / Double(hiddenSize).squareRoot())
        for p in parameters { rng.fillUniform(p.value.pointer, count: p.count, -bound, bound) }
    }

    /// Multiply-adds per token of the forward pass (the gate arithmetic not counted).
    public var macsPerToken: Int {
        (0..<layers).reduce(0) { $0 + 3 * hiddenSize * (($1 == 0 ? inputSize : hiddenSize) + hiddenSize) }
    }

    /// Runs the packed sequences `x` [N, in] (N = layout.rows) from `h0` [layers, B, H] (nil: zeros).
    /// Returns the top layer's output [N, H] (packed) and each sequence's final state [layers, B, H]
    /// (after its own last token). Views of buffers the layer owns: valid until its next call.
    public func forward(_ x: Tensor, layout: PackedLayout, h0: Tensor? = nil) -> (output: Tensor, hN: Tensor) {
        forward(x, constant: nil, layout: layout, h0: h0)
    }

    /// `forward` with layer 0's input [x, constant]: x [N, D] packed rows, `constant` [B, C] the same
    /// C values at every step of sequence i (the decoder's z; inputSize = D + C). The constant
    /// part is one product per sequence, not per step. nil: x is the whole input.
    public func forward(_ x: Tensor, constant: Tensor?, layout: PackedLayout, h0: Tensor? = nil) -> (output: Tensor, hN: Tensor) {
        let C = constant?.rowSize ?? 0
        precondition(C < inputSize && x.count == layout.rows * (inputSize - C) && (constant == nil || constant!.shape[0] == layout.batch),
                     "GRU.forward: input \(x.shape) and constant \(constant?.shape ?? []) for \(layout.rows) packed rows of \(inputSize)")
        tokenInput = nil
        denseConstant = constant
        return run(x, layout: layout, h0: h0)
    }

    /// `forward` with layer 0's input the one-hot of packed token ids (values < `vocabulary`),
    /// joined by `constant` [B, C] — the same C values at every step of sequence i (the
    /// decoder's z) — so that inputSize = vocabulary + C. The one-hot part is a gather of W_ih's
    /// columns and the constant part one product per sequence, not per step.
    public func forward(tokens: [Int32], vocabulary: Int, constant: Tensor? = nil, layout: PackedLayout,
                        h0: Tensor? = nil) -> (output: Tensor, hN: Tensor) {
        precondition(tokens.count == layout.rows, "GRU.forward: \(tokens.count) tokens for \(layout.rows) packed rows")
        precondition(vocabulary + (constant?.rowSize ?? 0) == inputSize && (constant == nil || constant!.shape[0] == layout.batch),
                     "GRU.forward: vocabulary \(vocabulary) + constant \(constant?.shape ?? []) for input size \(inputSize)")
        tokenInput = (tokens, vocabulary, constant)
        denseConstant = nil
        return run(noGradient, layout: layout, h0: h0)
    }

    private func run(_ x: Tensor, layout: PackedLayout, h0: Tensor?) -> (output: Tensor, hN: Tensor) {
        let H = hiddenSize, B = layout.batch, N = layout.rows
        precondition(h0 == nil || h0!.count == layers * B * H, "GRU.forward: h0 \(h0!.shape) for \(layers)×\(B)×\(H)")
        self.layout = layout
        let finals = hN.view([layers, B, H])
        var below = x
        for k in 0..<layers {
            let inK = k == 0 ? inputSize : H
            let input = below
            state[k].input = below
            let gi = state[k].gi.view([N, 3 * H]), hn = state[k].hn.view([N, H])
            let hprev = state[k].hprev.view([N, H]), out = state[k].out.view([N, H])
            let wih = state[k].wih, whh = state[k].whh, bhh = state[k].bhh
            if k == 0, let t = tokenInput {
                gatherInputProjection(t.tokens, vocabulary: t.vocabulary, constant: t.constant, layout: layout, into: gi)
            } else if k == 0, let c = denseConstant {
                denseInputProjection(input, constant: c, layout: layout, into: gi)
            } else {
                // every step's input side at once: gi = x W_ihᵀ + b_ih
                GEMM.sgemm(transA: false, transB: true, m: N, n: 3 * H, k: inK, a: input.pointer, lda: inK,
                           b: wih.value.pointer, ldb: inK, beta: 0, c: gi.pointer, ldc: 3 * H, bias: state[k].bih.value.pointer)
            }
            let hcur = h.view([B, H])
            if let h0 { hcur.pointer.update(from: h0.pointer + k * B * H, count: B * H) } else { hcur.zero() }
            let ghT = gh.view([B, 3 * H])
            // W_hh is read at every step: packed once for all of them
            let packedWhh = GEMM.PackedB(transB: true, n: 3 * H, k: H, b: whh.value.pointer, ldb: H)
            for t in 0..<layout.steps {
                let b = layout.batchSizes[t], off = layout.offsets[t]
                GEMM.sgemm(transA: false, m: b, a: hcur.pointer, lda: H, packed: packedWhh, beta: 0, c: ghT.pointer, ldc: 3 * H,
                           bias: bhh.value.pointer)
                (hprev.pointer + off * H).update(from: hcur.pointer, count: b * H)
                GRU.gatesForward(gi: gi.pointer + off * 3 * H, gh: ghT.pointer, h: hcur.pointer, hn: hn.pointer + off * H,
                                 rows: b, hidden: H)
                (out.pointer + off * H).update(from: hcur.pointer, count: b * H)
            }
            (finals.pointer + k * B * H).update(from: hcur.pointer, count: B * H)
            below = out
        }
        return (below, finals)
    }

    /// gi[row(i, t)] = (W_ih[:, D…] cᵢ + b_ih) + W_ih[:, :D] x[row(i, t)]: each row starts as its
    /// sequence's part (one product per sequence), then one product adds every row's x part.
    private func denseInputProjection(_ x: Tensor, constant c: Tensor, layout: PackedLayout, into gi: Tensor) {
        let H3 = 3 * hiddenSize, inK = inputSize, B = layout.batch, C = c.rowSize, D = inK - C
        let w = state[0].wih.value.pointer
        let perSeq = gh.view([B, H3])  // scratch until the recurrence uses it
        GEMM.sgemm(transA: false, transB: true, m: B, n: H3, k: C, a: c.pointer, lda: C,
                   b: w + D, ldb: inK, beta: 0, c: perSeq.pointer, ldc: H3, bias: state[0].bih.value.pointer)
        for t in 0..<layout.steps {
            let off = layout.offsets[t]
            for i in 0..<layout.batchSizes[t] { (gi.pointer + (off + i) * H3).update(from: perSeq.pointer + i * H3, count: H3) }
        }
        GEMM.sgemm(transA: false, transB: true, m: layout.rows, n: H3, k: D, a: x.pointer, lda: D,
                   b: w, ldb: inK, beta: 1, c: gi.pointer, ldc: H3)
    }

    /// gi[row(i, t)] = W_ih[:, token] + W_ih[:, V…] cᵢ + b_ih, with W_ih[:, V…] cᵢ one product per sequence.
    private func gatherInputProjection(_ tokens: [Int32], vocabulary V: Int, constant: Tensor?, layout: PackedLayout, into gi: Tensor) {
        let H3 = 3 * hiddenSize, inK = inputSize, B = layout.batch
        let w = state[0].wih.value.pointer, bias = state[0].bih.value.pointer
        let perSeq = gh.view([B, H3])  // scratch until the recurrence uses it
        if let c = constant {
            let C = c.rowSize
            GEMM.sgemm(transA: false, transB: true, m: B, n: H3, k: C, a: c.pointer, lda: C,
                       b: w + V, ldb: inK, beta: 0, c: perSeq.pointer, ldc: H3, bias: bias)
        } else {
            for i in 0..<B { (perSeq.pointer + i * H3).update(from: bias, count: H3) }
        }
        // A small vocabulary read by many rows (characters, SMILES): its columns of W_ih are laid
        // out as rows first, so that each row's gather is contiguous. The same additions either way.
        let transposed = GRU.readsTokenColumnsAsRows(vocabulary: V, rows: layout.rows)
        let wT = tokenColumns.view([transposed ? V * H3 : 1])
        for r in 0..<layout.rows {
            let tok = Int(tokens[r])
            precondition(tok >= 0 && tok < V, "GRU: token \(tok) outside the vocabulary of \(V)")
        }
        let wTp = wT.pointer, gp = gi.pointer, bp = perSeq.pointer
        GRU.forEachColumnRange(H3, rows: layout.rows + (transposed ? V : 0)) { cols in
            if transposed {
                for tok in 0..<V { for j in cols { wTp[tok * H3 + j] = w[j * inK + tok] } }
                // each row = its sequence's part + its token's row, vectorised (vk_gru_token_rows_forward)
                tokens.withUnsafeBufferPointer { tk in layout.withSteps { off, bs in
                    vk_gru_token_rows_forward(gp, bp, wTp, H3, tk.baseAddress, off, bs, layout.steps, cols.lowerBound, cols.upperBound)
                } }
                return
            }
            for t in 0..<layout.steps {
                let off = layout.offsets[t]
                for i in 0..<layout.batchSizes[t] {
                    let row = gp + (off + i) * H3, tok = Int(tokens[off + i]), base = bp + i * H3
                    for j in cols { row[j] = base[j] + w[j * inK + tok] }
                }
            }
        }
    }

    /// Runs body over ranges of the columns 0..<width (multiples of 16 floats), split over the
    /// threads from 65,536 elements: the row-by-row loops over a batch's packed rows (gathers and
    /// accumulations along the token columns) ran on one thread at MOSES's shape while the other
    /// waited. Each element's additions keep their order: the same bits for any thread count.
    static func forEachColumnRange(_ width: Int, rows: Int, _ body: (Range<Int>) -> Void) {
        ThreadPool.forEachRange(width, work: rows * width, minWork: 65_536, align: 16, body)
    }

    /// Columns [r.lowerBound, g) of a range r of dGi's 3H columns lie in dGh (the first 2H), and
    /// [n, r.upperBound) in dan (the last H, at column − 2H).
    @inline(__always) static func gateSplit(_ r: Range<Int>, hidden H: Int) -> (g: Int, n: Int) {
        (max(r.lowerBound, min(r.upperBound, 2 * H)), min(r.upperBound, max(r.lowerBound, 2 * H)))
    }

    /// Whether the token columns of W_ih (and of its gradient) are worth copying into rows for a
    /// batch: when the batch has many more rows than the vocabulary has tokens.
    @inline(__always) static func readsTokenColumnsAsRows(vocabulary V: Int, rows: Int) -> Bool {
        tokenColumnsAsRows && 4 * V <= rows
    }
    /// Tests turn the copy off to compare the two ways bit for bit.
    nonisolated(unsafe) static var tokenColumnsAsRows = true

    /// r, z, n and h' for `rows` rows: gi holds x W_ihᵀ + b_ih and is overwritten with (r, z, n);
    /// gh = h W_hhᵀ + b_hh; h is updated in place; hn keeps W_hn h + b_hn for the backward pass.
    /// (The C kernel `vk_gru_gates_forward`: vectorised, rows over the threads.)
    @inline(__always)
    static func gatesForward(gi: UnsafeMutablePointer<Float>, gh: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>,
                             hn: UnsafeMutablePointer<Float>, rows: Int, hidden H: Int) {
        vk_gru_gates_forward(gi, gh, h, hn, rows, H)
    }

    /// Backward through time. `dOutput` [N, H] is dL/d(top layer's output) (nil: 0), `dhN`
    /// [layers, B, H] dL/d(final states) (nil: 0). *Accumulates* into the parameters' gradients;
    /// returns dL/dx [N, in] (empty when `needsInputGradient` is false) and dL/dh0 [layers, B, H].
    public func backward(dOutput: Tensor?, dhN: Tensor?) -> (dx: Tensor, dh0: Tensor) {
        let g = backwardAll(dOutput: dOutput, dhN: dhN)
        return (g.dx, g.dh0)
    }

    /// The gradients `backward` gives, and for a token input with a constant part dL/dconstant [B, C].
    public struct Gradients {
        public var dx: Tensor
        public var dh0: Tensor
        public var dConstant: Tensor?
    }

    /// `backward` for either kind of input (see `forward(tokens:…)`).
    public func backwardAll(dOutput: Tensor?, dhN: Tensor?) -> Gradients {
        guard let layout else { preconditionFailure("GRU.backward before forward") }
        let H = hiddenSize, B = layout.batch, N = layout.rows
        let dInit = dh0.view([layers, B, H])
        var dAbove: Tensor? = dOutput
        var dxOut = noGradient
        var dConstantOut: Tensor?
        for k in stride(from: layers - 1, through: 0, by: -1) {
            let inK = k == 0 ? inputSize : H
            // the forward's buffers become the gradients, step by step: gates → dGh, hn → da_n
            let dGh = state[k].gi.view([N, 3 * H]), dan = state[k].hn.view([N, H])
            let hprev = state[k].hprev.view([N, H]), input = state[k].input
            let whh = state[k].whh, wih = state[k].wih
            let dhCur = dh.view([B, H])
            if let dhN { dhCur.pointer.update(from: dhN.pointer + k * B * H, count: B * H) } else { dhCur.zero() }
            let packedWhh = GEMM.PackedB(transB: false, n: H, k: 3 * H, b: whh.value.pointer, ldb: H)
            for t in stride(from: layout.steps - 1, through: 0, by: -1) {
                let b = layout.batchSizes[t], off = layout.offsets[t]
                if let dAbove { GRU.add(dAbove.pointer + off * H, into: dhCur.pointer, count: b * H) }
                GRU.gatesBackward(dh: dhCur.pointer, gates: dGh.pointer + off * 3 * H, hn: dan.pointer + off * H,
                                  hprev: hprev.pointer + off * H, rows: b, hidden: H)
                // dh_prev = dh ⊙ z (set above) + dGh W_hh
                GEMM.sgemm(transA: false, m: b, a: dGh.pointer + off * 3 * H, lda: 3 * H, packed: packedWhh, beta: 1,
                           c: dhCur.pointer, ldc: H)
            }
            (dInit.pointer + k * B * H).update(from: dhCur.pointer, count: B * H)
            // over all steps at once: dW_hh += dGhᵀ h_prev; db_hh += Σ dGh; the input side's
            // dGi = (dGh_r, dGh_z, da_n): db_ih += Σ dGi, dW_ih += dGiᵀ x, dx = dGi W_ih
            GEMM.sgemm(transA: true, transB: false, m: 3 * H, n: H, k: N, a: dGh.pointer, lda: 3 * H,
                       b: hprev.pointer, ldb: H, beta: 1, c: whh.grad.pointer, ldc: H)
            let colSums = sums.view([3 * H])
            colSums.zero()
            Elementwise.addColumnSums(dGh.pointer, rows: N, cols: 3 * H, into: colSums.pointer)
            GRU.add(colSums.pointer, into: state[k].bhh.grad.pointer, count: 3 * H)
            GRU.add(colSums.pointer, into: state[k].bih.grad.pointer, count: 2 * H)
            Elementwise.addColumnSums(dan.pointer, rows: N, cols: H, into: state[k].bih.grad.pointer + 2 * H)
            if k == 0, let t = tokenInput {
                dConstantOut = tokenInputBackward(t.tokens, vocabulary: t.vocabulary, constant: t.constant, layout: layout,
                                                  dGh: dGh, dan: dan)
                break
            }
            // a dense input of D columns (the rest of layer 0's input a per-sequence constant)
            let constant = k == 0 ? denseConstant : nil
            let D = inK - (constant?.rowSize ?? 0)
            GEMM.sgemm(transA: true, transB: false, m: 2 * H, n: D, k: N, a: dGh.pointer, lda: 3 * H,
                       b: input.pointer, ldb: D, beta: 1, c: wih.grad.pointer, ldc: inK)
            GEMM.sgemm(transA: true, transB: false, m: H, n: D, k: N, a: dan.pointer, lda: H,
                       b: input.pointer, ldb: D, beta: 1, c: wih.grad.pointer + 2 * H * inK, ldc: inK)
            if let constant {
                dConstantOut = constantBackward(constant, columns: D, layout: layout, dGh: dGh, dan: dan)
            }
            if k == 0 && !needsInputGradient { break }
            let dx = state[k].dx.view([N, D])
            GEMM.sgemm(transA: false, transB: false, m: N, n: D, k: 2 * H, a: dGh.pointer, lda: 3 * H,
                       b: wih.value.pointer, ldb: inK, beta: 0, c: dx.pointer, ldc: D)
            GEMM.sgemm(transA: false, transB: false, m: N, n: D, k: H, a: dan.pointer, lda: H,
                       b: wih.value.pointer + 2 * H * inK, ldb: inK, beta: 1, c: dx.pointer, ldc: D)
            dAbove = dx
            if k == 0 { dxOut = dx }
        }
        return Gradients(dx: dxOut, dh0: dInit, dConstant: dConstantOut)
    }

    /// dGi = (dGh_r, dGh_z, da_n):  dW_ih[:, token] += dGi[row];  Sᵢ = Σ_t dGi[row(i, t)];
    /// dW_ih[:, V…] += Sᵀ C;  dC = S W_ih[:, V…]
    private func tokenInputBackward(_ tokens: [Int32], vocabulary V: Int, constant: Tensor?, layout: PackedLayout,
                                    dGh: Tensor, dan: Tensor) -> Tensor? {
        let H = hiddenSize, H3 = 3 * H, inK = inputSize, B = layout.batch
        let dw = state[0].wih.grad.pointer
        // dGi's columns: dGh's first 2H, then dan's H (gateSplit). One pass over the packed rows
        // (step by step; the rows of a step are contiguous, so r ascends) adds each row to its
        // token's column of dW_ih and, with a constant input, to its sequence's row of S = Σ_t dGi:
        // each element's additions in the same order as two separate passes, read once.
        let gh = dGh.pointer, an = dan.pointer
        // the gradient's token columns as rows (when worth it), accumulated in the same order, then back
        let dT = GRU.readsTokenColumnsAsRows(vocabulary: V, rows: layout.rows) ? tokenColumns.view([V * H3]).pointer : nil
        let S = constant.map { _ in sums.view([B, H3]) }
        S?.zero()
        let sp = S?.pointer
        GRU.forEachColumnRange(H3, rows: layout.rows * (sp == nil ? 1 : 2) + (dT == nil ? 0 : 2 * V)) { cols in
            if let dT { for tok in 0..<V { for j in cols { dT[tok * H3 + j] = dw[j * inK + tok] } } }
            // the contiguous rows (token rows, per-sequence sums), vectorised: vk_gru_token_rows_backward
            if dT != nil || sp != nil {
                tokens.withUnsafeBufferPointer { tk in layout.withSteps { off, bs in
                    vk_gru_token_rows_backward(gh, an, H, tk.baseAddress, off, bs, layout.steps, cols.lowerBound, cols.upperBound, dT, sp)
                } }
            }
            if let dT {
                for tok in 0..<V { for j in cols { dw[j * inK + tok] = dT[tok * H3 + j] } }
            } else {
                // a large vocabulary: the token columns of dW_ih in place (strided)
                let (g1, n0) = GRU.gateSplit(cols, hidden: H)
                for t in 0..<layout.steps {
                    let off = layout.offsets[t]
                    for i in 0..<layout.batchSizes[t] {
                        let r = off + i, tok = Int(tokens[r])
                        for j in cols.lowerBound..<g1 { dw[j * inK + tok] += gh[r * H3 + j] }
                        for j in n0..<cols.upperBound { dw[j * inK + tok] += an[r * H + j - 2 * H] }
                    }
                }
            }
        }
        guard let c = constant, let S else { return nil }
        let C = c.rowSize
        GEMM.sgemm(transA: true, transB: false, m: H3, n: C, k: B, a: S.pointer, lda: H3, b: c.pointer, ldb: C,
                   beta: 1, c: dw + V, ldc: inK)
        let dc = dConstant.view([B, C])
        GEMM.sgemm(transA: false, transB: false, m: B, n: C, k: H3, a: S.pointer, lda: H3, b: state[0].wih.value.pointer + V,
                   ldb: inK, beta: 0, c: dc.pointer, ldc: C)
        return dc
    }

    /// A dense input's constant part: Sᵢ = Σ_t dGi[row(i, t)];  dW_ih[:, D…] += Sᵀ C;  dC = S W_ih[:, D…]
    private func constantBackward(_ c: Tensor, columns D: Int, layout: PackedLayout, dGh: Tensor, dan: Tensor) -> Tensor {
        let H = hiddenSize, H3 = 3 * H, inK = inputSize, B = layout.batch, C = c.rowSize
        let S = sums.view([B, H3])
        S.zero()
        let sp = S.pointer, gh = dGh.pointer, an = dan.pointer
        GRU.forEachColumnRange(H3, rows: layout.rows) { cols in
            layout.withSteps { off, bs in
                vk_gru_token_rows_backward(gh, an, H, nil, off, bs, layout.steps, cols.lowerBound, cols.upperBound, nil, sp)
            }
        }
        GEMM.sgemm(transA: true, transB: false, m: H3, n: C, k: B, a: sp, lda: H3, b: c.pointer, ldb: C,
                   beta: 1, c: state[0].wih.grad.pointer + D, ldc: inK)
        let dc = dConstant.view([B, C])
        GEMM.sgemm(transA: false, transB: false, m: B, n: C, k: H3, a: sp, lda: H3, b: state[0].wih.value.pointer + D,
                   ldb: inK, beta: 0, c: dc.pointer, ldc: C)
        return dc
    }

    @inline(__always)
    static func add(_ a: UnsafePointer<Float>, into b: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { b[i] += a[i] }
    }

    /// For `rows` rows, in place (the C kernel `vk_gru_gates_backward`): from dh = dL/dh', the
    /// gates (r, z, n), hn = W_hn h + b_hn and h:  da_n = dh(1 − z)(1 − n²),
    /// da_r = da_n·hn·r(1 − r), da_z = dh(h − n)·z(1 − z);  gates ← dGh = (da_r, da_z, da_n·r),
    /// hn ← da_n, dh ← dh·z. The input side's dGi is (da_r, da_z, da_n).
    @inline(__always)
    static func gatesBackward(dh: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>, hn: UnsafeMutablePointer<Float>,
                              hprev: UnsafePointer<Float>, rows: Int, hidden H: Int) {
        vk_gru_gates_backward(dh, gates, hn, hprev, rows, H)
    }

    /// One step for sampling: `x` [B, in] and `state` [layers, B, H], updated in place.
    /// Returns the top layer's new state [B, H] (a view of `state`). Keeps nothing for `backward`.
    public func step(_ x: Tensor, state st: Tensor) -> Tensor {
        step(x, constant: nil, state: st)
    }

    /// `step` with the input [x, constant] (see `forward(_:constant:…)`): x [B, D], constant [B, C].
    public func step(_ x: Tensor, constant: Tensor?, state st: Tensor) -> Tensor {
        let B = x.shape[0], C = constant?.rowSize ?? 0
        precondition(x.count == B * (inputSize - C) && (constant == nil || constant!.shape[0] == B),
                     "GRU.step: x \(x.shape) and constant \(constant?.shape ?? [])")
        return stepLayers(batch: B, state: st) { gi in
            if let constant {
                denseInputProjection(x, constant: constant, layout: PackedLayout(lengths: [Int](repeating: 1, count: B)), into: gi)
            } else {
                GEMM.sgemm(transA: false, transB: true, m: B, n: 3 * hiddenSize, k: inputSize, a: x.pointer, lda: inputSize,
                           b: state[0].wih.value.pointer, ldb: inputSize, beta: 0, c: gi.pointer, ldc: 3 * hiddenSize,
                           bias: state[0].bih.value.pointer)
            }
        }
    }

    /// `step` with the one-hot of `tokens` [B] joined by `constant` [B, C] as the input (see
    /// `forward(tokens:…)`).
    public func step(tokens: [Int32], vocabulary: Int, constant: Tensor? = nil, state st: Tensor) -> Tensor {
        let B = tokens.count
        return stepLayers(batch: B, state: st) { gi in
            gatherInputProjection(tokens, vocabulary: vocabulary, constant: constant,
                                  layout: PackedLayout(lengths: [Int](repeating: 1, count: B)), into: gi)
        }
    }

    private func stepLayers(batch B: Int, state st: Tensor, layer0: (Tensor) -> Void) -> Tensor {
        let H = hiddenSize
        precondition(st.count == layers * B * H, "GRU.step: state \(st.shape) for \(layers)×\(B)×\(H)")
        var below = noGradient
        for k in 0..<layers {
            let gi = state[k].stepGates.view([B, 3 * H]), hn = state[k].stepHn.view([B, H])
            if k == 0 {
                layer0(gi)
            } else {
                GEMM.sgemm(transA: false, transB: true, m: B, n: 3 * H, k: H, a: below.pointer, lda: H,
                           b: state[k].wih.value.pointer, ldb: H, beta: 0, c: gi.pointer, ldc: 3 * H, bias: state[k].bih.value.pointer)
            }
            let ghT = gh.view([B, 3 * H])
            let hk = Tensor(buffer: st.buffer, offset: st.offset + k * B * H, shape: [B, H])
            GEMM.sgemm(transA: false, transB: true, m: B, n: 3 * H, k: H, a: hk.pointer, lda: H,
                       b: state[k].whh.value.pointer, ldb: H, beta: 0, c: ghT.pointer, ldc: 3 * H, bias: state[k].bhh.value.pointer)
            GRU.gatesForward(gi: gi.pointer, gh: ghT.pointer, h: hk.pointer, hn: hn.pointer, rows: B, hidden: H)
            below = hk
        }
        return below
    }
}
