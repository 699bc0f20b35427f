import XCTest
@testable import VAECore

/// The direct stride-1 transposed convolution (`vk_convt1_forward` / `_backward`; the layers use
/// it for one output channel, the tests for up to 4): forward, input, weight and bias gradients
/// against the definition summed in Double and against the GEMM path, over kernel sizes,
/// paddings, row widths across 16-float chunks and batches across its groups of 8 images; and
/// the same bits for every thread count and kernel level.
final class ConvTransposeDirectTests: XCTestCase {
    struct Case { var cin, cout, k, pad, h, w, n: Int; var relu: Bool }

    /// y[co, oy, ox] = b + Σ x[ci, iy, ix] · W[ci, co, oy − iy + p, ox − ix + p] over the taps in range.
    func reference(_ c: Case, x: [Float], wt: [Float], b: [Float], dy: [Float])
        -> (y: [Double], dx: [Double], dw: [Double], db: [Double]) {
        let oh = c.h + c.k - 1 - 2 * c.pad, ow = c.w + c.k - 1 - 2 * c.pad
        var y = [Double](repeating: 0, count: c.n * c.cout * oh * ow)
        func wi(_ ci: Int, _ co: Int, _ t: Int, _ u: Int) -> Int { ((ci * c.cout + co) * c.k + t) * c.k + u }
        for i in 0..<c.n { for co in 0..<c.cout { for oy in 0..<oh { for ox in 0..<ow {
            var s = Double(b[co])
            for ci in 0..<c.cin { for t in 0..<c.k { for u in 0..<c.k {
                let iy = oy + c.pad - t, ix = ox + c.pad - u
                guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
                s += Double(x[((i * c.cin + ci) * c.h + iy) * c.w + ix]) * Double(wt[wi(ci, co, t, u)])
            } } }
            y[((i * c.cout + co) * oh + oy) * ow + ox] = c.relu ? max(0, s) : s
        } } } }
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: wt.count)
        var db = [Double](repeating: 0, count: c.cout)
        for i in 0..<c.n { for co in 0..<c.cout { for oy in 0..<oh { for ox in 0..<ow {
            let o = ((i * c.cout + co) * oh + oy) * ow + ox
            let g = c.relu && !(y[o] > 0) ? 0 : Double(dy[o])
            db[co] += g
            for ci in 0..<c.cin { for t in 0..<c.k { for u in 0..<c.k {
                let iy = oy + c.pad - t, ix = ox + c.pad - u
                guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
                let xi = ((i * c.cin + ci) * c.h + iy) * c.w + ix
                dx[xi] += g * Double(wt[wi(ci, co, t, u)])
                dw[wi(ci, co, t, u)] += g * Double(x[xi])
            } } }
        } } } }
        return (y, dx, dw, db)
    }

    func run(_ c: Case, seed: UInt64, threads: Int = ThreadPool.threadCount, level: Int? = nil, inputGradient: Bool = true,
             direct: Bool = true) -> Run {
        let savedThreads = ThreadPool.threadCount, savedLevel = GEMM.kernelLevel
        let savedMax = ConvTranspose2D.directMaxOutChannels
        defer {
            ThreadPool.threadCount = savedThreads
            GEMM.forceKernelLevel(savedLevel)
            ConvTranspose2D.directMaxOutChannels = savedMax
        }
        // the kernel runs for any channel count; the layers use it for one (directMaxOutChannels)
        ConvTranspose2D.directMaxOutChannels = direct ? 4 : 0
        ThreadPool.threadCount = threads
        if let level { GEMM.forceKernelLevel(level) }
        let layer = ConvTranspose2D(c.cin, c.cout, kernelSize: c.k, stride: 1, padding: c.pad, activation: c.relu ? .relu : .none)
        layer.needsInputGradient = inputGradient
        var rng = RNG(seed: seed)
        layer.initialize(using: &rng)
        for i in 0..<layer.bias.value.count { layer.bias.value[i] = rng.uniform(-0.3, 0.3) }
        let x = Tensor(shape: [c.n, c.cin, c.h, c.w])
        rng.fillNormal(x.pointer, count: x.count)
        let y = layer.forward(x)
        let dy = Tensor(shape: y.shape)
        rng.fillNormal(dy.pointer, count: dy.count)
        let dx = layer.backward(dy)
        return Run(layer: layer, x: x.array, dy: dy.array, y: y.array, dx: dx.array, direct: layer.isDirect)
    }

    struct Run { var layer: ConvTranspose2D; var x, dy, y, dx: [Float]; var direct: Bool }

    let cases = [
        Case(cin: 32, cout: 1, k: 3, pad: 1, h: 28, w: 28, n: 11, relu: false),   // the conv decoder's last layer, 2 groups
        Case(cin: 5, cout: 3, k: 3, pad: 1, h: 9, w: 17, n: 3, relu: true),
        Case(cin: 3, cout: 2, k: 3, pad: 0, h: 6, w: 14, n: 2, relu: false),      // OW 16: one whole chunk
        Case(cin: 2, cout: 4, k: 5, pad: 2, h: 7, w: 33, n: 9, relu: true),       // 3 chunks, generic k
        Case(cin: 4, cout: 1, k: 2, pad: 0, h: 5, w: 5, n: 1, relu: false),
        Case(cin: 3, cout: 2, k: 1, pad: 0, h: 4, w: 20, n: 2, relu: false),
        Case(cin: 2, cout: 2, k: 4, pad: 3, h: 8, w: 8, n: 2, relu: false),       // pad = k − 1: a smaller output
    ]

    func testMatchesDefinition() {
        for (index, c) in cases.enumerated() {
            let r = run(c, seed: UInt64(100 + index))
            XCTAssertTrue(r.direct, "case \(index)")
            let e = reference(c, x: r.x, wt: r.layer.weight.value.array, b: r.layer.bias.value.array, dy: r.dy)
            func close(_ got: [Float], _ want: [Double], _ what: String) {
                XCTAssertEqual(got.count, want.count, "case \(index) \(what)")
                let scale = max(1, want.map(abs).max() ?? 1)
                for (i, (g, w)) in zip(got, want).enumerated() where abs(Double(g) - w) > 2e-5 * scale {
                    XCTFail("case \(index) \(what)[\(i)]: \(g) vs \(w)")
                    return
                }
            }
            close(r.y, e.y, "y")
            close(r.dx, e.dx, "dx")
            close(r.layer.weight.grad.array, e.dw, "dW")
            close(r.layer.bias.grad.array, e.db, "db")
        }
    }

    func testSameBitsForThreadsAndKernelLevels() {
        for (index, c) in cases.enumerated() where c.n > 1 {
            func bits(_ r: Run) -> [UInt32] {
                (r.y + r.dx + r.layer.weight.grad.array + r.layer.bias.grad.array).map(\.bitPattern)
            }
            let one = bits(run(c, seed: 7, threads: 1))
            XCTAssertEqual(one, bits(run(c, seed: 7, threads: 2)), "case \(index), 2 threads")
            XCTAssertEqual(one, bits(run(c, seed: 7, threads: 3)), "case \(index), 3 threads")
            for level in 1...GEMM.kernelLevel {
                XCTAssertEqual(one, bits(run(c, seed: 7, threads: 2, level: level)), "case \(index), kernel level \(level)")
            }
        }
    }

    /// The direct kernel and the GEMM with col2im/im2col give the same numbers up to rounding.
    func testAgreesWithTheGEMMPath() {
        for (index, c) in cases.enumerated() {
            let d = run(c, seed: 11), g = run(c, seed: 11, direct: false)
            XCTAssertTrue(d.direct && !g.direct)
            for (what, a, b) in [("y", d.y, g.y), ("dx", d.dx, g.dx), ("dW", d.layer.weight.grad.array, g.layer.weight.grad.array),
                                 ("db", d.layer.bias.grad.array, g.layer.bias.grad.array)] {
                XCTAssertEqual(a.count, b.count)
                let scale = max(1, b.map(abs).max() ?? 1)
                let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 3e-5 * scale, "case \(index) \(what)")
            }
        }
    }

    func testWithoutInputGradient() {
        let c = cases[0]
        let full = run(c, seed: 3), noDx = run(c, seed: 3, inputGradient: false)
        XCTAssertEqual(noDx.dx.count, 0)
        XCTAssertEqual(full.layer.weight.grad.array, noDx.layer.weight.grad.array)
        XCTAssertEqual(full.layer.bias.grad.array, noDx.layer.bias.grad.array)
    }

    func testWhichLayersRunDirectly() {
        XCTAssertTrue(ConvTranspose2D(32, 1, kernelSize: 3, stride: 1, padding: 1).isDirect)
        XCTAssertFalse(ConvTranspose2D(32, 3, kernelSize: 3, stride: 1, padding: 1).isDirect)
        XCTAssertFalse(ConvTranspose2D(64, 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1).isDirect)
    }
}
