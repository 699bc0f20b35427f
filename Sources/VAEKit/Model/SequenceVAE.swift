import VAECore
import RealModule

/// A VAE over sequences of tokens (Bowman et al. 2016; the MOSES VAE's shape):
///
///     encoder: GRU over the one-hot tokens <bos> … <eos>; its top state after the last token
///              → Linear → (μ, log σ²)
///     z = μ + σ·ε
///     decoder: h₀ = Linear(z) (every layer); a GRU fed [one-hot token t, z] at every step
///              (teacher forcing); Linear → logits of token t + 1; a categorical per position,
///              nothing after <eos>
///
/// With `sequence.embedding` = D > 0 both GRUs read a learned D-wide vector per token instead of
/// its one-hot (one table, `embedding.weight`, shared as MOSES's `x_emb` is).
///
/// The negative ELBO of an item is Σ_t −log p(x_{t+1} | x_≤t, z) + KL, in nats. Items come in a
/// `Batch` as token ids (x: [B, maxLength + 2], <bos> … <eos> then <pad>); inside, each batch is
/// sorted by length and packed (`PackedLayout`), so it costs its real tokens. Parameters carry
/// PyTorch's names: `encoder.gru.weight_ih_l0`, `encoder.head.weight`, `decoder.h0.weight`,
/// `decoder.gru.*`, `decoder.out.weight`.
public final class SequenceVAE: LatentVariableModel {
    public let config: VAEConfig
    public let sequence: SequenceConfig
    public let store: ParameterStore
    public var isConditional: Bool { false }
    /// The encoder: one GRU stack reading forward, or both ways (`sequence.bidirectional`).
    public let encoderGRU: GRU?
    public let encoderBidirectional: BidirectionalGRU?
    public let head: Dense
    public let decoderInit: Dense
    public let decoderGRU: GRU
    public let output: Dense
    /// The token vectors both GRUs read (nil: one-hot tokens).
    public let embedding: Embedding?
    public var vocabularySize: Int { sequence.vocabulary.count }

    private var h = Workspace(), z = Workspace(), dh = Workspace(), dlogits = Workspace(), encGrad = Workspace()
    private var h0 = Workspace(), dh0 = Workspace()
    /// ε or z rows in the packed (sorted) order, and the word-dropped decoder inputs: reused every batch.
    private var sortedRows = Workspace(), dropped = Workspace()
    /// The embedded encoder and decoder inputs, and one sampling step's.
    private var encoderInput = Workspace(), decoderInput = Workspace(), stepInput = Workspace()
    private var recon: [Double] = [], kl: [Double] = [], rowLoss: [Double] = []

    public init(config: VAEConfig, seed: UInt64 = 0) throws {
        try config.validate()
        guard config.architecture == .gru, let s = config.sequence else { throw VAEError("SequenceVAE needs a gru config") }
        self.config = config
        sequence = s
        let V = s.vocabulary.count, K = config.latent
        embedding = s.embedding > 0 ? Embedding(vocabulary: V, dim: s.embedding) : nil
        let input = s.embedding > 0 ? s.embedding : V   // what a GRU reads per token
        if s.bidirectional {
            encoderGRU = nil
            encoderBidirectional = BidirectionalGRU(vocabulary: input, hiddenSize: s.encoderHidden, layers: s.encoderLayers)
        } else {
            encoderGRU = GRU(inputSize: input, hiddenSize: s.encoderHidden, layers: s.encoderLayers)
            encoderBidirectional = nil
        }
        let encoderParameters = encoderGRU?.parameters ?? encoderBidirectional!.parameters
        head = Dense(s.encoderHidden * (s.bidirectional ? 2 : 1), 2 * K)
        decoderInit = Dense(K, s.decoderHidden)
        decoderGRU = GRU(inputSize: input + K, hiddenSize: s.decoderHidden, layers: s.decoderLayers)
        output = Dense(s.decoderHidden, V)
        embedding?.nameParameters(prefix: "embedding")
        encoderGRU?.nameParameters(prefix: "encoder.gru")
        encoderBidirectional?.nameParameters(prefix: "encoder.gru")
        head.nameParameters(prefix: "encoder.head")
        decoderInit.nameParameters(prefix: "decoder.h0")
        decoderGRU.nameParameters(prefix: "decoder.gru")
        output.nameParameters(prefix: "decoder.out")
        // one-hot inputs are data; embedded ones pass their gradient on to the table
        encoderGRU?.needsInputGradient = embedding != nil
        decoderGRU.needsInputGradient = embedding != nil
        store = ParameterStore((embedding?.parameters ?? []) + encoderParameters + head.parameters + decoderInit.parameters + decoderGRU.parameters + output.parameters)
        var rng = RNG(seed: seed)
        embedding?.initialize(using: &rng)
        encoderGRU?.initialize(using: &rng)
        encoderBidirectional?.initialize(using: &rng)
        head.initialize(using: &rng)
        decoderInit.initialize(using: &rng)
        decoderGRU.initialize(using: &rng)
        output.initialize(using: &rng)
    }

    /// The parameter count of a gru config, from the sizes alone.
    public static func parameterCount(_ config: VAEConfig) -> Int? {
        guard let s = config.sequence else { return nil }
        let V = s.vocabulary.count, K = config.latent
        let input = s.embedding > 0 ? s.embedding : V
        func gru(_ input: Int, _ hidden: Int, _ layers: Int) -> Int {
            (0..<layers).reduce(0) { $0 + 3 * hidden * (($1 == 0 ? input : hidden) + hidden + 2) }
        }
        let directions = s.bidirectional ? 2 : 1
        let encoder = s.bidirectional
            ? 2 * (0..<s.encoderLayers).reduce(0) { $0 + 3 * s.encoderHidden * (($1 == 0 ? input : 2 * s.encoderHidden) + s.encoderHidden + 2) }
            : gru(input, s.encoderHidden, s.encoderLayers)
        return V * s.embedding + encoder + (directions * s.encoderHidden + 1) * 2 * K + (K + 1) * s.decoderHidden
            + gru(input + K, s.decoderHidden, s.decoderLayers) + (s.decoderHidden + 1) * V
    }

    /// Matrix-product FLOPs of one training step for an item of the longest length (the one-hot
    /// input products are gathers and not counted; an embedding's are).
    public var trainingFLOPsPerExample: Double {
        let s = sequence, K = Double(config.latent), V = Double(vocabularySize), E = Double(s.embedding)
        let He = Double(s.encoderHidden), Hd = Double(s.decoderHidden)
        let enc = 3 * He * He * Double(s.encoderLayers) + 3 * He * He * Double(s.encoderLayers - 1) + 3 * He * E
        let dec = 3 * Hd * Hd * Double(s.decoderLayers) + 3 * Hd * Hd * Double(s.decoderLayers - 1) + Hd * V + 3 * Hd * E
        let perToken = 2 * 3 * (enc * (s.bidirectional ? 2 : 1) + dec)  // forward and the two gradients
        return perToken * Double(s.maxLength + 1) + 2 * 3 * (He * 2 * K + 2 * K * Hd)
    }

    public func conditioned(_ batch: Batch) -> Batch { batch }

    // MARK: Batches of token ids

    /// A batch's items sorted longest first, and their tokens packed for the encoder (<bos> …
    /// <eos>) and the decoder (inputs <bos> … last token, targets first token … <eos>).
    struct Packed {
        /// Batch row of the i-th longest item.
        var order: [Int]
        var encoder: PackedLayout
        var encoderTokens: [Int32]
        var decoder: PackedLayout
        var decoderInputs: [Int32]
        var targets: [Int32]
    }

    /// The token ids of row r of x (up to and including <eos>).
    func tokens(_ x: Tensor, row r: Int) -> [Int32] {
        let w = x.rowSize, p = x.pointer + r * w
        var out: [Int32] = []
        for t in 0..<w {
            let id = Int32(p[t])
            out.append(id)
            if id == Vocabulary.eos { break }
        }
        precondition(out.count >= 2 && out[0] == Vocabulary.bos && out.last == Vocabulary.eos,
                     "SequenceVAE: row \(r) is not <bos> … <eos>")
        return out
    }

    /// `repeats` copies of each row (rows i·repeats + j), sorted and packed; `dropout` replaces
    /// decoder inputs after <bos> by <unk> (from `batch.decoderInput` when set).
    func pack(_ batch: Batch, repeats: Int = 1) -> Packed {
        let b = batch.count
        var items: [[Int32]] = []
        var inputs: [[Int32]] = []
        for r in 0..<b {
            let t = tokens(batch.x, row: r)
            let d = batch.decoderInput.map { tokens($0, row: r) } ?? t
            for _ in 0..<repeats {
                items.append(t)
                inputs.append(d)
            }
        }
        let order = items.indices.sorted { items[$0].count != items[$1].count ? items[$0].count > items[$1].count : $0 < $1 }
        let enc = PackedLayout(lengths: order.map { items[$0].count })
        let dec = PackedLayout(lengths: order.map { items[$0].count - 1 })
        var et = [Int32](repeating: 0, count: enc.rows), di = [Int32](repeating: 0, count: dec.rows), tg = di
        for (i, o) in order.enumerated() {
            let seq = items[o], inp = inputs[o]
            for t in 0..<seq.count { et[enc.row(i, t)] = seq[t] }
            for t in 0..<(seq.count - 1) {
                di[dec.row(i, t)] = inp[t]
                tg[dec.row(i, t)] = seq[t + 1]
            }
        }
        return Packed(order: order, encoder: enc, encoderTokens: et, decoder: dec, decoderInputs: di, targets: tg)
    }

    // MARK: The model's passes

    /// Encoder output [B, 2K] in the packed (sorted) order.
    private func encodeSorted(_ p: Packed) -> Tensor {
        let x = embedding?.gather(p.encoderTokens, into: &encoderInput)
        if let bi = encoderBidirectional {
            return head.forward(x.map { bi.forward($0, layout: p.encoder) } ?? bi.forward(tokens: p.encoderTokens, layout: p.encoder))
        }
        let (_, hN) = x.map { encoderGRU!.forward($0, layout: p.encoder) }
            ?? encoderGRU!.forward(tokens: p.encoderTokens, vocabulary: vocabularySize, layout: p.encoder)
        let B = p.order.count, He = sequence.encoderHidden
        let L = sequence.encoderLayers
        let top = hN.reshaped([L * B, He]).rows(((L - 1) * B)..<(L * B))
        return head.forward(top)
    }

    /// Decoder logits [N, V] for z [B, K] (sorted order) and the packed inputs.
    private func decodeSorted(_ p: Packed, z: Tensor) -> Tensor {
        let B = p.order.count, Hd = sequence.decoderHidden, L = sequence.decoderLayers
        let init1 = decoderInit.forward(z)
        let start = h0.view([L, B, Hd])
        for l in 0..<L { (start.pointer + l * B * Hd).update(from: init1.pointer, count: B * Hd) }
        let (out, _) = embedding.map { decoderGRU.forward($0.gather(p.decoderInputs, into: &decoderInput), constant: z, layout: p.decoder, h0: start) }
            ?? decoderGRU.forward(tokens: p.decoderInputs, vocabulary: vocabularySize, constant: z, layout: p.decoder, h0: start)
        return output.forward(out)
    }

    /// Σ over each item's positions of −log softmax(logits)[target] into `nll` (sorted order),
    /// and with `gradScale` the gradient (softmax − one-hot)·scale into `grad`.
    private func crossEntropy(_ logits: Tensor, _ p: Packed, nll: inout [Double], grad: Tensor?, gradScale: Float) {
        let V = vocabularySize, N = p.decoder.rows
        for i in 0..<p.order.count { nll[i] = 0 }
        // each packed row's −log softmax[target] (and gradient) at once, vectorised over the threads
        if rowLoss.count < N { rowLoss = [Double](repeating: 0, count: N) }
        for r in 0..<N { precondition(p.targets[r] >= 0 && Int(p.targets[r]) < V, "SequenceVAE: target \(p.targets[r]) outside the vocabulary") }
        rowLoss.withUnsafeMutableBufferPointer { out in
            p.targets.withUnsafeBufferPointer { tg in
                Elementwise.softmaxCrossEntropy(logits: logits.pointer, targets: tg.baseAddress!, rows: N, cols: V,
                                                out: out.baseAddress!, grad: grad?.pointer, scale: gradScale)
            }
        }
        // each item's positions in step order
        for t in 0..<p.decoder.steps {
            for i in 0..<p.decoder.batchSizes[t] { nll[i] += rowLoss[p.decoder.row(i, t)] }
        }
    }

    private func ensure(_ n: Int) {
        if recon.count < n { recon = [Double](repeating: 0, count: n); kl = recon }
    }

    /// Rows of `t` ([n, w], batch order) in the sorted order of `p` (repeated `repeats` times).
    private func sorted(_ t: Tensor, _ p: Packed, into w: inout Workspace) -> Tensor {
        let cols = t.rowSize
        let out = w.view([p.order.count, cols])
        for (i, o) in p.order.enumerated() { (out.pointer + i * cols).update(from: t.pointer + o * cols, count: cols) }
        return out
    }

    public func trainStep(_ batch: Batch, eps: Tensor, klWeight: Double, gradScale: Float? = nil,
                          update: FusedAdamStep? = nil) -> BatchLoss {
        let b = batch.count, K = latent
        precondition(eps.count == b * K, "SequenceVAE.trainStep: eps \(eps.shape) for \(b) items")
        let scale = gradScale ?? 1 / Float(b)
        if update != nil { store.zeroGrad() }
        let p = pack(batch)
        ensure(b)
        let hs = encodeSorted(p)
        let es = sorted(eps, p, into: &sortedRows)
        let zs = z.view([b, K])
        kl.withUnsafeMutableBufferPointer { klp in
            Posterior.sample(h: hs.pointer, eps: es.pointer, rows: b, latent: K, z: zs.pointer, kl: klp.baseAddress)
        }
        let logits = decodeSorted(p, z: zs)
        let g = dlogits.view([p.decoder.rows, vocabularySize])
        crossEntropy(logits, p, nll: &recon, grad: g, gradScale: scale)
        let loss = BatchLoss(recon: recon[0..<b].reduce(0, +), kl: kl[0..<b].reduce(0, +), count: b)
        if update != nil && !(loss.recon.isFinite && loss.kl.isFinite) { return loss }
        // decoder: logits → GRU → (h₀, z)
        let dOut = output.backward(g)
        let gg = decoderGRU.backwardAll(dOutput: dOut, dhN: nil)
        embedding?.accumulateGradient(p.decoderInputs, gg.dx)
        let Hd = sequence.decoderHidden, L = sequence.decoderLayers
        let dInit = dh0.view([b, Hd])
        dInit.pointer.update(from: gg.dh0.pointer, count: b * Hd)
        if L > 1 { for l in 1..<L { SequenceVAE.add(gg.dh0.pointer + l * b * Hd, into: dInit.pointer, count: b * Hd) } }
        let dz = decoderInit.backward(dInit)
        if let dc = gg.dConstant { SequenceVAE.add(dc.pointer, into: dz.pointer, count: b * K) }
        // posterior and encoder
        let dhs = dh.view([b, 2 * K])
        kl.withUnsafeBufferPointer { klp in
            Posterior.backward(h: hs.pointer, eps: es.pointer, dz: dz.pointer, rows: b, latent: K, klScale: Float(klWeight) * scale,
                               dh: dhs.pointer, kl: klp.baseAddress, freeBits: config.freeBitsValue)
        }
        let dTop = head.backward(dhs)
        if let bi = encoderBidirectional {
            if let dx = bi.backward(dTop) { embedding?.accumulateGradient(p.encoderTokens, dx) }
        } else {
            let He = sequence.encoderHidden, Le = sequence.encoderLayers
            let dhN = encGrad.view([Le, b, He])
            dhN.zero()
            (dhN.pointer + (Le - 1) * b * He).update(from: dTop.pointer, count: b * He)
            let ge = encoderGRU!.backwardAll(dOutput: nil, dhN: dhN)
            embedding?.accumulateGradient(p.encoderTokens, ge.dx)
        }
        if let update { for q in store.parameters { update.apply(q) } }
        return loss
    }

    @discardableResult
    public func perExampleLoss(_ batch: Batch, eps: Tensor?) -> (recon: [Double], kl: [Double]) {
        let b = batch.count, K = latent
        let p = pack(batch)
        ensure(b)
        let hs = encodeSorted(p)
        let es = eps.map { sorted($0, p, into: &sortedRows) }
        let zs = z.view([b, K])
        kl.withUnsafeMutableBufferPointer { klp in
            Posterior.sample(h: hs.pointer, eps: es?.pointer, rows: b, latent: K, z: zs.pointer, kl: klp.baseAddress)
        }
        let logits = decodeSorted(p, z: zs)
        crossEntropy(logits, p, nll: &recon, grad: nil, gradScale: 0)
        var r = [Double](repeating: 0, count: b), k = r
        for (i, o) in p.order.enumerated() { r[o] = recon[i]; k[o] = kl[i] }
        return (r, k)
    }

    public func encodeRaw(_ batch: Batch) -> Tensor {
        let p = pack(batch)
        let hs = encodeSorted(p)
        let K2 = 2 * latent
        let out = h.view([batch.count, K2])
        for (i, o) in p.order.enumerated() { (out.pointer + o * K2).update(from: hs.pointer + i * K2, count: K2) }
        return out
    }

    public func negLogLikelihood(_ batch: Batch, z zIn: Tensor, samples: Int, into nll: UnsafeMutablePointer<Double>) {
        let p = pack(batch, repeats: samples)
        let n = p.order.count
        let zs = sorted(zIn, p, into: &sortedRows)
        ensure(n)
        let logits = decodeSorted(p, z: zs)
        crossEntropy(logits, p, nll: &recon, grad: nil, gradScale: 0)
        for (i, o) in p.order.enumerated() { nll[o] = recon[i] }
    }

    /// A pass keeps, per token of its items (at most `maxLength` + <eos>), the vocabulary's logits
    /// and each GRU layer's six rows of gates and states: items of at most `maxLength` tokens take
    /// about `passFloats` floats (256 MB) in all — 143 items for the 1×512 SMILES model, 45 for
    /// 10,000 words, at most the requested number (real items are shorter than the longest).
    public func itemsPerPass(_ requested: Int) -> Int {
        let s = sequence
        let perToken = max(vocabularySize, 1) + 2 * s.embedding + 6 * (s.decoderHidden * s.decoderLayers
                                                     + s.encoderHidden * s.encoderLayers * (s.bidirectional ? 2 : 1))
        return max(1, min(requested, SequenceVAE.passFloats / ((s.maxLength + 1) * perToken)))
    }
    public static let passFloats = 64 << 20

    /// Word dropout (Bowman et al. 2016): the decoder's inputs after <bos> become <unk> with
    /// probability `wordDropout`, drawn per token from `rng` (row by row).
    public func prepareTrainingBatch(_ batch: inout Batch, rng: inout RNG) {
        let p = Float(sequence.wordDropout)
        guard p > 0 else { return }
        let x = batch.x, w = x.rowSize
        let d = dropped.view(x.shape)
        d.pointer.update(from: x.pointer, count: x.count)
        for r in 0..<batch.count {
            let row = d.pointer + r * w
            for t in 1..<w {
                if Int32(row[t]) == Vocabulary.eos || Int32(row[t]) == Vocabulary.pad { break }
                if rng.uniform() < p { row[t] = Float(Vocabulary.unk) }
            }
        }
        batch.decoderInput = d
    }

    // MARK: Generation

    /// `count` items from the prior: z ~ N(0, I) drawn in item order from `RNG(seed:)`, each item's
    /// tokens from its own stream (`generate`), decoded `chunk` items at a time — so memory is
    /// bounded by the chunk, and the first n items are the same whatever `count` and `chunk` are.
    /// `progress` gets the number of items done after each chunk.
    /// `cutShort` gets each item that reached `maxLength` tokens without drawing `<eos>`.
    public func sample(count: Int, temperature: Double = 1, greedy: Bool = false, seed: UInt64, chunk: Int = 1024,
                       progress: (Int) -> Void = { _ in }, cutShort: ((Int) -> Void)? = nil) -> [[Int32]] {
        precondition(count >= 0 && chunk > 0, "SequenceVAE.sample: count must be ≥ 0 and chunk > 0, got \(count) and \(chunk)")
        precondition(greedy || (temperature > 0 && temperature.isFinite), "SequenceVAE.sample: temperature must be a positive number, got \(temperature)")
        var rng = RNG(seed: seed)
        return SequenceVAE.inChunks(count, chunk) { items in
            let z = Tensor(shape: [items.count, latent])
            rng.fillNormal(z.pointer, count: z.count)
            defer { progress(items.upperBound) }
            return generate(z, temperature: temperature, greedy: greedy, seed: seed, firstItem: items.lowerBound, cutShort: cutShort)
        }
    }

    /// `generate` over the rows of z [B, K], `chunk` rows at a time (memory bounded by the chunk;
    /// the same tokens as one call).
    public func decode(_ z: Tensor, temperature: Double = 1, greedy: Bool = true, seed: UInt64 = 1, chunk: Int = 1024) -> [[Int32]] {
        SequenceVAE.inChunks(z.shape[0], chunk) { items in
            generate(z.rows(items).copy(), temperature: temperature, greedy: greedy, seed: seed, firstItem: items.lowerBound)
        }
    }

    /// `part` of each run of at most `chunk` of `count` items, in order, joined.
    private static func inChunks(_ count: Int, _ chunk: Int, _ part: (Range<Int>) -> [[Int32]]) -> [[Int32]] {
        precondition(count >= 0 && chunk > 0)
        var out: [[Int32]] = []
        out.reserveCapacity(count)
        for first in stride(from: 0, to: count, by: chunk) { out += part(first..<min(count, first + chunk)) }
        return out
    }

    /// Decodes each z [B, K] into tokens (without <bos> and <eos>), at most `maxLength` tokens:
    /// `greedy` takes the most likely token, else one is drawn from softmax(logits / temperature).
    /// <bos>, <pad> and <unk> are never produced. Row i draws from its own stream,
    /// `RNG(seed: seed, stream: firstItem + i)`: an item's tokens depend on its z, the seed and its
    /// index, not on the other rows decoded with it.
    /// `cutShort` gets the index (`firstItem` + row) of each item stopped at the length limit
    /// without drawing `<eos>`.
    public func generate(_ zIn: Tensor, temperature: Double = 1, greedy: Bool = false, maxLength: Int? = nil,
                         seed: UInt64 = 1, firstItem: Int = 0, cutShort: ((Int) -> Void)? = nil) -> [[Int32]] {
        let B = zIn.shape[0], V = vocabularySize
        var rngs = greedy ? [] : (0..<B).map { RNG(seed: seed, stream: UInt64(firstItem + $0)) }
        let Hd = sequence.decoderHidden, L = sequence.decoderLayers, K = zIn.rowSize
        // the rows still decoding: item rows[r] is row r of zc, state and tokens. Rows that ended
        // are dropped once an eighth of them have (each row's numbers are its own in a product,
        // so the items decode as they would in any batch) — a chunk no longer runs its finished
        // items for as many steps as its longest one needs.
        var rows = Array(0..<B)
        var zc = zIn.copy()
        let start = decoderInit.forward(zc)
        var state = Tensor(shape: [L, B, Hd])
        for l in 0..<L { (state.pointer + l * B * Hd).update(from: start.pointer, count: B * Hd) }
        var tokens = [Int32](repeating: Vocabulary.bos, count: B)
        var out = [[Int32]](repeating: [], count: B)
        var done = [Bool](repeating: false, count: B)
        let limit = min(maxLength ?? sequence.maxLength, sequence.maxLength)
        var picks = [Int](repeating: 0, count: B)
        for _ in 0...limit {
            let top = embedding.map { decoderGRU.step($0.gather(tokens, into: &stepInput), constant: zc, state: state) }
                ?? decoderGRU.step(tokens: tokens, vocabulary: V, constant: zc, state: state)
            let logits = output.forward(top)
            var alive = 0
            // each row's token from its own logits (and, sampling, its own generator): the rows
            // split over the threads draw the same tokens as one thread does
            let live = rows.map { !done[$0] }, order = rows
            picks.withUnsafeMutableBufferPointer { pk in
                rngs.withUnsafeMutableBufferPointer { rg in
                    ThreadPool.forEachRange(order.count, work: order.count * V, minWork: 1 << 16) { range in
                        var p = [Double](repeating: 0, count: greedy ? 0 : V)
                        for r in range where live[r] {
                            pk[r] = greedy ? SequenceVAE.greedyToken(logits.pointer + r * V, V)
                                           : SequenceVAE.sampledToken(logits.pointer + r * V, V, temperature: temperature, rng: &rg[order[r]], p: &p)
                        }
                    }
                }
            }
            for r in 0..<rows.count {
                let i = rows[r]
                guard !done[i] else { continue }
                let pick = picks[r]
                if pick == Int(Vocabulary.eos) || out[i].count == limit {
                    done[i] = true
                    if pick != Int(Vocabulary.eos) { cutShort?(firstItem + i) }
                } else {
                    out[i].append(Int32(pick))
                    alive += 1
                }
                tokens[r] = Int32(pick)
            }
            if alive == 0 { break }
            if alive <= rows.count - max(1, rows.count / 8) {
                let keep = (0..<rows.count).filter { !done[rows[$0]] }, n = keep.count, m = rows.count
                let z2 = Tensor(shape: [n, K]), s2 = Tensor(shape: [L, n, Hd])
                for (to, from) in keep.enumerated() {
                    (z2.pointer + to * K).update(from: zc.pointer + from * K, count: K)
                    for l in 0..<L { (s2.pointer + (l * n + to) * Hd).update(from: state.pointer + (l * m + from) * Hd, count: Hd) }
                }
                rows = keep.map { rows[$0] }
                tokens = keep.map { tokens[$0] }
                zc = z2
                state = s2
            }
        }
        return out
    }

    /// The most probable token that may be generated (the first of equals).
    static func greedyToken(_ o: UnsafePointer<Float>, _ V: Int) -> Int {
        var pick = Int(Vocabulary.eos), best = -Float.infinity
        for j in 0..<V where !Vocabulary.neverGenerated(j) && o[j] > best { best = o[j]; pick = j }
        return pick
    }

    /// A token drawn from softmax(o / temperature) over the tokens that may be generated, in
    /// double precision (`p`: V doubles of scratch).
    static func sampledToken(_ o: UnsafePointer<Float>, _ V: Int, temperature: Double, rng: inout RNG, p: inout [Double]) -> Int {
        var mx = -Double.infinity
        for j in 0..<V where !Vocabulary.neverGenerated(j) { mx = max(mx, Double(o[j]) / temperature) }
        var s = 0.0
        for j in 0..<V {
            p[j] = Vocabulary.neverGenerated(j) ? 0 : Double.exp(Double(o[j]) / temperature - mx)
            s += p[j]
        }
        var pick = Int(Vocabulary.eos)
        var u = Double(rng.uniform()) * s
        for j in 0..<V where p[j] > 0 {
            pick = j
            u -= p[j]
            if u < 0 { break }
        }
        return pick
    }

    static func add(_ a: UnsafePointer<Float>, into b: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { b[i] += a[i] }
    }
}
