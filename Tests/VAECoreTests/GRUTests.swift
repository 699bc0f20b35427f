import XCTest
@testable import VAECore

/// The GRU layer: central finite differences for every input, initial state and parameter,
/// over packed sequences of different lengths; `step` against `forward`; packing against
/// sequences run one by one. (PyTorch's float64 numbers: VAEKitTests/GRUParityTests.)
final class GRUTests: XCTestCase {
    /// loss = Σ output·r + Σ h_N·s for fixed random r, s.
    func loss(_ gru: GRU, _ x: Tensor, _ layout: PackedLayout, _ h0: Tensor, _ r: [Float], _ s: [Float]) -> Double {
        let (out, hN) = gru.forward(x, layout: layout, h0: h0)
        var l = 0.0
        for i in 0..<out.count { l += Double(out[i]) * Double(r[i]) }
        for i in 0..<hN.count { l += Double(hN[i]) * Double(s[i]) }
        return l
    }

    func testPackedLayout() {
        let p = PackedLayout(lengths: [4, 2, 2, 1])
        XCTAssertEqual(p.batchSizes, [4, 3, 1, 1])
        XCTAssertEqual(p.offsets, [0, 4, 7, 8])
        XCTAssertEqual(p.rows, 9)
        XCTAssertEqual(p.row(2, 1), 6)
    }

    func testGradientsAgainstFiniteDifferences() {
        for (layers, lengths, seed) in [(2, [5, 3, 3, 1], UInt64(1)), (1, [4], UInt64(2)), (3, [3, 2], UInt64(3))] {
            let gru = GRU(inputSize: 3, hiddenSize: 4, layers: layers)
            gru.nameParameters(prefix: "gru")
            var rng = RNG(seed: seed)
            gru.initialize(using: &rng)
            let layout = PackedLayout(lengths: lengths)
            let x = Tensor(shape: [layout.rows, 3]), h0 = Tensor(shape: [layers, lengths.count, 4])
            rng.fillNormal(x.pointer, count: x.count)
            rng.fillNormal(h0.pointer, count: h0.count)
            let (out, hN) = gru.forward(x, layout: layout, h0: h0)
            let r = (0..<out.count).map { _ in rng.normal() }, s = (0..<hN.count).map { _ in rng.normal() }
            for p in gru.parameters { p.grad.zero() }
            _ = gru.forward(x, layout: layout, h0: h0)
            let (dx, dh0) = gru.backward(dOutput: Tensor(shape: out.shape, data: r), dhN: Tensor(shape: hN.shape, data: s))
            let dxA = dx.array, dh0A = dh0.array, grads = gru.parameters.map { $0.grad.array }
            // accumulation: a second backward doubles the parameter gradients
            _ = gru.forward(x, layout: layout, h0: h0)
            _ = gru.backward(dOutput: Tensor(shape: out.shape, data: r), dhN: Tensor(shape: hN.shape, data: s))
            for (p, g) in zip(gru.parameters, grads) {
                for i in 0..<p.count { XCTAssertEqual(p.grad[i], 2 * g[i], accuracy: 1e-5 * max(1, abs(2 * g[i])), "\(p.name) does not accumulate") }
            }
            let h: Float = 1e-2
            func compare(_ name: String, _ v: UnsafeMutablePointer<Float>, _ analytic: Float) {
                let old = v.pointee
                v.pointee = old + h; let lp = loss(gru, x, layout, h0, r, s)
                v.pointee = old - h; let lm = loss(gru, x, layout, h0, r, s)
                v.pointee = old
                let num = (lp - lm) / (2 * Double(h))
                XCTAssertLessThanOrEqual(abs(num - Double(analytic)), 2e-3 + 1e-2 * abs(num),
                                         "layers \(layers), lengths \(lengths): \(name): numeric \(num) vs backward \(analytic)")
            }
            for i in 0..<x.count { compare("dx[\(i)]", x.pointer + i, dxA[i]) }
            for i in 0..<h0.count { compare("dh0[\(i)]", h0.pointer + i, dh0A[i]) }
            for (p, g) in zip(gru.parameters, grads) { for i in 0..<p.count { compare("\(p.name)[\(i)]", p.value.pointer + i, g[i]) } }
        }
    }

    /// A packed batch gives each sequence exactly what running it alone gives.
    func testPackingMatchesOneByOne() {
        let gru = GRU(inputSize: 2, hiddenSize: 5, layers: 2)
        var rng = RNG(seed: 9)
        gru.initialize(using: &rng)
        let lengths = [6, 4, 4, 2]
        let layout = PackedLayout(lengths: lengths)
        let x = Tensor(shape: [layout.rows, 2])
        rng.fillNormal(x.pointer, count: x.count)
        let (outAll, hNAll) = gru.forward(x, layout: layout)
        let out = outAll.array, hN = hNAll.array
        for (i, L) in lengths.enumerated() {
            let xi = Tensor(shape: [L, 2])
            for t in 0..<L { for c in 0..<2 { xi[t * 2 + c] = x[layout.row(i, t) * 2 + c] } }
            let (o, s) = gru.forward(xi, layout: PackedLayout(lengths: [L]))
            for t in 0..<L { for j in 0..<5 { XCTAssertEqual(o[t * 5 + j], out[layout.row(i, t) * 5 + j], accuracy: 1e-6) } }
            for k in 0..<2 { for j in 0..<5 { XCTAssertEqual(s[k * 5 + j], hN[(k * 4 + i) * 5 + j], accuracy: 1e-6) } }
        }
    }

    /// `step` token by token reproduces `forward`'s outputs and final state.
    func testStepMatchesForward() {
        let gru = GRU(inputSize: 3, hiddenSize: 4, layers: 2)
        var rng = RNG(seed: 4)
        gru.initialize(using: &rng)
        let layout = PackedLayout(lengths: [5, 5])
        let x = Tensor(shape: [layout.rows, 3]), h0 = Tensor(shape: [2, 2, 4])
        rng.fillNormal(x.pointer, count: x.count)
        rng.fillNormal(h0.pointer, count: h0.count)
        let (outT, hNT) = gru.forward(x, layout: layout, h0: h0)
        let out = outT.array, hN = hNT.array
        let state = h0.copy()
        for t in 0..<5 {
            let top = gru.step(x.rows((2 * t)..<(2 * t + 2)), state: state)
            for i in 0..<8 { XCTAssertEqual(top[i], out[t * 8 + i], accuracy: 1e-6) }
        }
        for i in 0..<hN.count { XCTAssertEqual(state[i], hN[i], accuracy: 1e-6) }
    }

    /// Token input (a gather of W_ih's columns plus a per-sequence constant) is the dense input
    /// [one-hot, constant] exactly: outputs, states, every gradient, dL/dconstant; and `step`.
    /// Two GRUs with the same weights after their forward passes (`fa`, `fb`: outputs and final
    /// states): the same outputs and states, then, from the same random dL/d(outputs) and
    /// dL/d(final states), added onto the same random gradients, the same gradient of every
    /// parameter and initial state. Returns both.
    func assertSameForwardAndBackward(_ a: GRU, _ b: GRU, layout: PackedLayout, rng: inout RNG,
                                      _ fa: (output: Tensor, hN: Tensor), _ fb: (output: Tensor, hN: Tensor),
                                      file: StaticString = #filePath, line: UInt = #line) -> (GRU.Gradients, GRU.Gradients) {
        for i in 0..<fa.output.count { XCTAssertEqual(fa.output[i], fb.output[i], accuracy: 1e-5, file: file, line: line) }
        for i in 0..<fa.hN.count { XCTAssertEqual(fa.hN[i], fb.hN[i], accuracy: 1e-5, file: file, line: line) }
        let dOut = Tensor(shape: [layout.rows, a.hiddenSize]), dhN = Tensor(shape: fa.hN.shape)
        rng.fillNormal(dOut.pointer, count: dOut.count)
        rng.fillNormal(dhN.pointer, count: dhN.count)
        // the same gradients beforehand in both: the backward accumulates onto them
        for (p, q) in zip(a.parameters, b.parameters) {
            rng.fillNormal(p.grad.pointer, count: p.count)
            q.grad.pointer.update(from: p.grad.pointer, count: p.count)
        }
        let ga = a.backwardAll(dOutput: dOut, dhN: dhN)
        let gb = b.backwardAll(dOutput: dOut, dhN: dhN)
        for (p, q) in zip(a.parameters, b.parameters) {
            for i in 0..<p.count { XCTAssertEqual(p.grad[i], q.grad[i], accuracy: 1e-4, "\(p.name)[\(i)]", file: file, line: line) }
        }
        for i in 0..<ga.dh0.count { XCTAssertEqual(ga.dh0[i], gb.dh0[i], accuracy: 1e-4, file: file, line: line) }
        return (ga, gb)
    }

    func testTokenInputEqualsOneHotInput() {
        let V = 5, C = 3, H = 4
        let a = GRU(inputSize: V + C, hiddenSize: H, layers: 2), b = GRU(inputSize: V + C, hiddenSize: H, layers: 2)
        var rng = RNG(seed: 12)
        a.initialize(using: &rng)
        for (p, q) in zip(a.parameters, b.parameters) { q.value.pointer.update(from: p.value.pointer, count: p.count) }
        let layout = PackedLayout(lengths: [4, 3, 1])
        let tokens = (0..<layout.rows).map { _ in Int32(rng.int(below: V)) }
        let constant = Tensor(shape: [3, C]), h0 = Tensor(shape: [2, 3, H])
        rng.fillNormal(constant.pointer, count: constant.count)
        rng.fillNormal(h0.pointer, count: h0.count)
        let dense = Tensor(shape: [layout.rows, V + C])
        for t in 0..<layout.steps {
            for i in 0..<layout.batchSizes[t] {
                let r = layout.row(i, t)
                dense[r * (V + C) + Int(tokens[r])] = 1
                for c in 0..<C { dense[r * (V + C) + V + c] = constant[i * C + c] }
            }
        }
        let (ga, gb) = assertSameForwardAndBackward(a, b, layout: layout, rng: &rng,
                                                    a.forward(tokens: tokens, vocabulary: V, constant: constant, layout: layout, h0: h0),
                                                    b.forward(dense, layout: layout, h0: h0))
        let dc = try! XCTUnwrap(ga.dConstant)
        for i in 0..<3 {
            for c in 0..<C {
                var sum: Float = 0  // dL/dconstant = Σ over the sequence's steps of dx's constant columns
                for t in 0..<layout.lengths[i] { sum += gb.dx[layout.row(i, t) * (V + C) + V + c] }
                XCTAssertEqual(dc[i * C + c], sum, accuracy: 1e-4)
            }
        }
        // step with tokens: the first step of every sequence
        let st = h0.copy()
        let top = a.step(tokens: Array(tokens[0..<3]), vocabulary: V, constant: constant, state: st)
        let (o1, _) = b.forward(dense.rows(0..<3), layout: PackedLayout(lengths: [1, 1, 1]), h0: h0)
        for i in 0..<(3 * H) { XCTAssertEqual(top[i], o1[i], accuracy: 1e-5) }
    }

    /// A dense input joined by a per-sequence constant (an embedded decoder input and z) gives what
    /// the joined rows [x, constant] give: outputs, states, every gradient, dx's x columns, and
    /// dL/dconstant = Σ over the sequence's steps of dx's constant columns; `step` likewise.
    func testDenseInputWithConstantEqualsJoinedInput() {
        let D = 3, C = 2, H = 4, W = D + C
        let a = GRU(inputSize: W, hiddenSize: H, layers: 2), b = GRU(inputSize: W, hiddenSize: H, layers: 2)
        var rng = RNG(seed: 13)
        a.initialize(using: &rng)
        for (p, q) in zip(a.parameters, b.parameters) { q.value.pointer.update(from: p.value.pointer, count: p.count) }
        let layout = PackedLayout(lengths: [5, 3, 3, 1])
        let x = Tensor(shape: [layout.rows, D]), constant = Tensor(shape: [4, C]), h0 = Tensor(shape: [2, 4, H])
        for t in [x, constant, h0] { rng.fillNormal(t.pointer, count: t.count) }
        let joined = Tensor(shape: [layout.rows, W])
        for t in 0..<layout.steps {
            for i in 0..<layout.batchSizes[t] {
                let r = layout.row(i, t)
                for j in 0..<D { joined[r * W + j] = x[r * D + j] }
                for c in 0..<C { joined[r * W + D + c] = constant[i * C + c] }
            }
        }
        let (ga, gb) = assertSameForwardAndBackward(a, b, layout: layout, rng: &rng,
                                                    a.forward(x, constant: constant, layout: layout, h0: h0),
                                                    b.forward(joined, layout: layout, h0: h0))
        XCTAssertEqual(ga.dx.shape, [layout.rows, D])
        for r in 0..<layout.rows { for j in 0..<D { XCTAssertEqual(ga.dx[r * D + j], gb.dx[r * W + j], accuracy: 1e-4) } }
        let dc = try! XCTUnwrap(ga.dConstant)
        for i in 0..<4 {
            for c in 0..<C {
                var sum: Float = 0
                for t in 0..<layout.lengths[i] { sum += gb.dx[layout.row(i, t) * W + D + c] }
                XCTAssertEqual(dc[i * C + c], sum, accuracy: 1e-4)
            }
        }
        // step: the first step of every sequence
        let st = h0.copy()
        let top = a.step(x.rows(0..<4), constant: constant, state: st)
        let (o1, _) = b.forward(joined.rows(0..<4), layout: PackedLayout(lengths: [1, 1, 1, 1]), h0: h0)
        for i in 0..<(4 * H) { XCTAssertEqual(top[i], o1[i], accuracy: 1e-5) }
    }

    /// A small vocabulary read by many rows goes through W_ih's token columns copied as rows (gather
    /// forward, gradient scatter backward): the same bits as reading the columns in place.
    func testTokenColumnsAsRowsGiveTheSameBits() {
        let V = 3, C = 2, H = 5
        func run(_ asRows: Bool) -> [[Float]] {
            GRU.tokenColumnsAsRows = asRows
            defer { GRU.tokenColumnsAsRows = true }
            let g = GRU(inputSize: V + C, hiddenSize: H, layers: 2)
            var rng = RNG(seed: 21)
            g.initialize(using: &rng)
            let layout = PackedLayout(lengths: [9, 7, 6, 3])   // 25 rows ≥ 4·V: copied as rows
            XCTAssertEqual(GRU.readsTokenColumnsAsRows(vocabulary: V, rows: layout.rows), asRows)
            let tokens = (0..<layout.rows).map { _ in Int32(rng.int(below: V)) }
            let constant = Tensor(shape: [4, C]), dOut = Tensor(shape: [layout.rows, H])
            rng.fillNormal(constant.pointer, count: constant.count)
            rng.fillNormal(dOut.pointer, count: dOut.count)
            for p in g.parameters { p.grad.zero() }
            let (out, hN) = g.forward(tokens: tokens, vocabulary: V, constant: constant, layout: layout, h0: nil)
            let grads = g.backwardAll(dOutput: dOut, dhN: nil)
            return [out.array, hN.array, grads.dConstant!.array] + g.parameters.map { $0.grad.array }
        }
        let rows = run(true), columns = run(false)
        for (a, b) in zip(rows, columns) { XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern)) }
    }

    /// The token gather, the gradient's scatter into W_ih's token columns and the per-sequence sums
    /// split their columns over the threads from 65,536 elements: the same bits for 1–3 threads,
    /// with the columns copied as rows or read in place.
    func testTokenInputSameBitsForAnyThreadCount() {
        let V = 6, C = 4, H = 64
        let lengths = (0..<40).map { 14 - $0 / 4 }   // 40 sequences, 434 rows: 434 × 192 ≥ 65,536
        XCTAssertGreaterThanOrEqual(PackedLayout(lengths: lengths).rows * 3 * H, 65_536)
        func run(threads: Int, asRows: Bool) -> [[UInt32]] {
            let saved = ThreadPool.threadCount
            defer { ThreadPool.threadCount = saved; GRU.tokenColumnsAsRows = true }
            ThreadPool.threadCount = threads
            GRU.tokenColumnsAsRows = asRows
            let g = GRU(inputSize: V + C, hiddenSize: H, layers: 2)
            var rng = RNG(seed: 31)
            g.initialize(using: &rng)
            let layout = PackedLayout(lengths: lengths)
            let tokens = (0..<layout.rows).map { _ in Int32(rng.int(below: V)) }
            let constant = Tensor(shape: [lengths.count, C]), dOut = Tensor(shape: [layout.rows, H])
            rng.fillNormal(constant.pointer, count: constant.count)
            rng.fillNormal(dOut.pointer, count: dOut.count)
            for p in g.parameters { rng.fillNormal(p.grad.pointer, count: p.count) }   // accumulates onto
            let (out, hN) = g.forward(tokens: tokens, vocabulary: V, constant: constant, layout: layout, h0: nil)
            let grads = g.backwardAll(dOutput: dOut, dhN: nil)
            return ([out.array, hN.array, grads.dConstant!.array] + g.parameters.map { $0.grad.array }).map { $0.map(\.bitPattern) }
        }
        for asRows in [true, false] {
            let want = run(threads: 1, asRows: asRows)
            for t in [2, 3] { XCTAssertEqual(run(threads: t, asRows: asRows), want, "\(t) threads, columns as rows: \(asRows)") }
        }
    }

    /// A dense input with a constant part (the per-sequence sums split over the threads) and an
    /// embedding table's gradient (columns over the threads): the same bits for 1–3 threads.
    func testDenseConstantAndEmbeddingSameBitsForAnyThreadCount() {
        let V = 9, D = 5, C = 4, H = 64
        let lengths = (0..<40).map { 14 - $0 / 4 }
        func run(threads: Int) -> [[UInt32]] {
            let saved = ThreadPool.threadCount
            defer { ThreadPool.threadCount = saved }
            ThreadPool.threadCount = threads
            let g = GRU(inputSize: D + C, hiddenSize: H, layers: 2), e = Embedding(vocabulary: V, dim: 96)
            var rng = RNG(seed: 41)
            g.initialize(using: &rng)
            e.initialize(using: &rng)
            let layout = PackedLayout(lengths: lengths)
            let tokens = (0..<layout.rows).map { _ in Int32(rng.int(below: V)) }
            var w = Workspace()
            let x = e.gather(tokens, into: &w).copy()
            let xin = Tensor(shape: [layout.rows, D])
            for r in 0..<layout.rows { for j in 0..<D { xin[r * D + j] = x[r * 96 + j] } }
            let constant = Tensor(shape: [lengths.count, C]), dOut = Tensor(shape: [layout.rows, H])
            rng.fillNormal(constant.pointer, count: constant.count)
            rng.fillNormal(dOut.pointer, count: dOut.count)
            for p in g.parameters + e.parameters { rng.fillNormal(p.grad.pointer, count: p.count) }
            let (out, hN) = g.forward(xin, constant: constant, layout: layout, h0: nil)
            let grads = g.backwardAll(dOutput: dOut, dhN: nil)
            let dTable = Tensor(shape: [layout.rows, 96])
            rng.fillNormal(dTable.pointer, count: dTable.count)
            XCTAssertGreaterThanOrEqual(2 * dTable.count, 65_536)   // the table's gradient is split
            e.accumulateGradient(tokens + tokens, Tensor(shape: [2 * layout.rows, 96], data: dTable.array + dTable.array))
            return ([out.array, hN.array, grads.dx.array, grads.dConstant!.array] + (g.parameters + e.parameters).map { $0.grad.array })
                .map { $0.map(\.bitPattern) }
        }
        let want = run(threads: 1)
        for t in [2, 3] { XCTAssertEqual(run(threads: t), want, "\(t) threads") }
    }

    /// `Embedding`: gather gives the table's rows; the gradient of a row read twice is the sum of
    /// both reads' gradients added onto what was there.
    func testEmbeddingGatherAndGradient() {
        let e = Embedding(vocabulary: 4, dim: 3)
        for i in 0..<12 { e.weight.value[i] = Float(i) }
        var w = Workspace()
        let out = e.gather([2, 0, 2], into: &w)
        XCTAssertEqual(out.shape, [3, 3])
        XCTAssertEqual(out.array, [6, 7, 8, 0, 1, 2, 6, 7, 8])
        e.weight.grad.zero()
        e.weight.grad[1] = 0.5
        e.accumulateGradient([2, 0, 2], Tensor(shape: [3, 3], data: [1, 2, 3, 4, 5, 6, 10, 20, 30]))
        XCTAssertEqual(e.weight.grad.array, [4, 5.5, 6, 0, 0, 0, 11, 22, 33, 0, 0, 0])
    }
}
