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
}
