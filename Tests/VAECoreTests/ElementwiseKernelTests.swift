import XCTest
import CVAEKernels
@testable import VAECore
#if canImport(Glibc)
import Glibc
#endif

/// The fused element-wise C kernels: accurate against a float64 reference, the AVX2 and
/// portable variants bit-identical, and no result depending on the thread count.
final class ElementwiseKernelTests: XCTestCase {
    /// Runs `body` at every kernel level this CPU has (portable first) and returns its results.
    func atEveryLevel<T>(_ body: () -> T) -> [T] {
        let top = GEMM.kernelLevel
        defer { GEMM.forceKernelLevel(top) }
        var out: [T] = []
        for level in 1...top {
            GEMM.forceKernelLevel(level)
            out.append(body())
        }
        return out
    }

    func withThreads<T>(_ n: Int, _ body: () -> T) -> T {
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        ThreadPool.threadCount = n
        return body()
    }

    func logitsAndTargets(rows: Int, cols: Int, seed: UInt64, binary: Bool) -> ([Float], [Float]) {
        var rng = RNG(seed: seed)
        var l = [Float](repeating: 0, count: rows * cols), x = l
        for i in 0..<l.count {
            // Mostly moderate logits, some extreme ones (saturation, underflow of exp).
            let u = rng.uniform()
            l[i] = u < 0.05 ? rng.uniform(-120, 120) : rng.uniform(-12, 12)
            x[i] = binary ? (rng.uniform() < 0.5 ? 1 : 0) : rng.uniform()
        }
        return (l, x)
    }

    func nll(gaussian: Bool, _ l: [Float], _ x: [Float], rows: Int, cols: Int, xStride: Int) -> ([Double], [Float]) {
        var out = [Double](repeating: 0, count: rows)
        var g = [Float](repeating: 0, count: rows * cols)
        l.withUnsafeBufferPointer { lp in
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in
                    g.withUnsafeMutableBufferPointer { gp in
                        Elementwise.negLogLikelihoodFromLogits(gaussian: gaussian, sigma: 0.1, logits: lp.baseAddress!,
                                                               x: xp.baseAddress!, xRowStride: xStride, rows: rows, cols: cols,
                                                               out: op.baseAddress!, grad: gp.baseAddress!, gradScale: 0.25)
                    }
                }
            }
        }
        return (out, g)
    }

    func testBernoulliNLLAccurateAndIdenticalAcrossLevelsAndThreads() {
        // 32 × 784: a batch of 32 images, split over the threads since the split starts at 8,192 values
        for (rows, cols) in [(300, 784), (32, 784), (7, 13), (7, 8), (7, 1)] {
            let (l, x) = logitsAndTargets(rows: rows, cols: cols, seed: UInt64(cols + rows), binary: cols == 13)
            let results = atEveryLevel { nll(gaussian: false, l, x, rows: rows, cols: cols, xStride: cols) }
            for r in results.dropFirst() {
                XCTAssertEqual(r.0, results[0].0, "row sums differ between kernel levels (cols \(cols))")
                XCTAssertEqual(r.1, results[0].1, "gradients differ between kernel levels (cols \(cols))")
            }
            for t in [1, 2, 3] {
                let r = withThreads(t) { nll(gaussian: false, l, x, rows: rows, cols: cols, xStride: cols) }
                XCTAssertEqual(r.0, results[0].0, "row sums differ with \(t) threads")
                XCTAssertEqual(r.1, results[0].1, "gradients differ with \(t) threads")
            }
            let (out, g) = results[0]
            for row in 0..<rows {
                var ref = 0.0
                for j in 0..<cols {
                    let lj = Double(l[row * cols + j]), xj = Double(x[row * cols + j])
                    ref += max(lj, 0) - lj * xj + log1p(exp(-Swift.abs(lj)))
                    let sig = 1 / (1 + exp(-lj))
                    let gr = 0.25 * (sig - xj)
                    // σ(ℓ) − x cancels: float σ (≤ 1.5 ulp of 1) bounds the absolute error.
                    XCTAssertEqual(Double(g[row * cols + j]), gr, accuracy: 1e-6 * Swift.abs(gr) + 0.25 * 2e-7, "gradient at \(row),\(j), logit \(lj)")
                }
                XCTAssertEqual(out[row], ref, accuracy: 2e-6 * Swift.abs(ref) + 1e-6, "row \(row) of \(cols)")
            }
        }
    }

    func testGaussianNLLAndBroadcastRow() {
        let rows = 50, cols = 784
        let (l, x) = logitsAndTargets(rows: rows, cols: cols, seed: 9, binary: false)
        let results = atEveryLevel { nll(gaussian: true, l, x, rows: rows, cols: cols, xStride: cols) }
        for r in results.dropFirst() { XCTAssertEqual(r.0, results[0].0); XCTAssertEqual(r.1, results[0].1) }
        let c = Double(cols) * 0.5 * log(2 * Double.pi * 0.01)
        for row in 0..<rows {
            var ref = c
            for j in 0..<cols {
                let p = 1 / (1 + exp(-Double(l[row * cols + j])))
                let d = p - Double(x[row * cols + j])
                ref += d * d / 0.02
            }
            XCTAssertEqual(results[0].0[row], ref, accuracy: 2e-6 * Swift.abs(ref) + 1e-4)
        }
        // Stride 0: every row against the first image equals the rows done one by one.
        let (b, _) = nll(gaussian: false, l, Array(x[0..<cols]), rows: rows, cols: cols, xStride: 0)
        for row in [0, 17, 49] {
            let (one, _) = nll(gaussian: false, Array(l[(row * cols)..<((row + 1) * cols)]), Array(x[0..<cols]), rows: 1, cols: cols, xStride: cols)
            XCTAssertEqual(b[row], one[0])
        }
    }

    func adamRun(_ n: Int, wd: Float) -> [Float] {
        var rng = RNG(seed: 3)
        let p = Buffer(count: n), g = Buffer(count: n), m = Buffer(count: n), v = Buffer(count: n)
        for i in 0..<n { p.pointer[i] = rng.uniform(-1, 1); m.pointer[i] = rng.uniform(-0.1, 0.1); v.pointer[i] = rng.uniform(0, 0.01) }
        for s in 1...3 {
            for i in 0..<n { g.pointer[i] = rng.uniform(-1, 1) }
            let bc1 = 1 - pow(0.9, Double(s)), bc2 = 1 - pow(0.999, Double(s))
            vk_adam_update(n, p.pointer, g.pointer, m.pointer, v.pointer, Float(1e-3 / bc1), Float(bc2.squareRoot()), 0.9, 0.999, 1e-8, wd)
        }
        return Array(UnsafeBufferPointer(start: p.pointer, count: n)) + Array(UnsafeBufferPointer(start: m.pointer, count: n))
            + Array(UnsafeBufferPointer(start: v.pointer, count: n))
    }

    /// The fused Adam pass gives exactly what the plain scalar formula gives (same IEEE
    /// operations), at every level and thread count; OptimizerTests holds it to PyTorch's formula.
    func testAdamMatchesScalarFormulaExactly() {
        for (n, wd) in [(100_003, Float(0)), (1000, Float(0.01)), (7, Float(0))] {
            var rng = RNG(seed: 3)
            var p = [Float](repeating: 0, count: n), m = p, v = p, g = p
            for i in 0..<n { p[i] = rng.uniform(-1, 1); m[i] = rng.uniform(-0.1, 0.1); v[i] = rng.uniform(0, 0.01) }
            for s in 1...3 {
                for i in 0..<n { g[i] = rng.uniform(-1, 1) }
                let bc1 = 1 - pow(0.9, Double(s)), bc2 = 1 - pow(0.999, Double(s))
                let step = Float(1e-3 / bc1), bc = Float(bc2.squareRoot())
                // PyTorch's step · m / (√v / bc + ε) with both sides multiplied by bc: one division
                let scaledStep = step * bc, scaledEps = Float(1e-8) * bc
                let b1: Float = 0.9, b2: Float = 0.999
                for i in 0..<n {
                    var gi = g[i]
                    if wd != 0 { gi += wd * p[i] }
                    let mi = b1 * m[i] + (1 - b1) * gi
                    let vi = b2 * v[i] + (1 - b2) * gi * gi
                    m[i] = mi; v[i] = vi
                    p[i] -= scaledStep * mi / (vi.squareRoot() + scaledEps)
                }
            }
            let want = p + m + v
            for r in atEveryLevel({ adamRun(n, wd: wd) }) { XCTAssertEqual(r, want, "n \(n)") }
            for t in [1, 2, 3] { XCTAssertEqual(withThreads(t) { adamRun(n, wd: wd) }, want, "\(t) threads") }
        }
    }

    /// Adam flushes subnormals to zero (kernels' `vk_flush_subnormals_begin`): a moment that
    /// decays below FLT_MIN becomes 0, a subnormal moment read in counts as 0 — on every level,
    /// thread count, and in the GEMM's fused epilogue — and the caller's floating-point mode is
    /// left as it was. (Without the flush, m = 0.9 · 1.2e-38 would be a subnormal.)
    func testAdamFlushesSubnormalMoments() {
        let n = 1003   // vector lanes and a scalar tail
        let p0 = (0..<n).map { Float($0 % 7) * 0.25 - 0.5 }
        func step(fused: Bool) -> (p: [Float], m: [Float], v: [Float]) {
            var p = p0
            var m = [Float](repeating: 1.2e-38, count: n)       // normal; 0.9·m is subnormal
            var v = [Float](repeating: Float(bitPattern: 0x0020_AAC8), count: n)   // 3e-39, subnormal already
            m[0] = 0.25; v[0] = 0.01                            // an ordinary parameter too
            var g = [Float](repeating: 0, count: n)
            g[0] = 0.5
            p.withUnsafeMutableBufferPointer { pp in
                m.withUnsafeMutableBufferPointer { pm in
                    v.withUnsafeMutableBufferPointer { pv in
                        g.withUnsafeMutableBufferPointer { pg in
                            if fused {
                                // C = 1·(zero A)(zero B) + 1·C = the gradient, Adam in the tiles' epilogue
                                let zeros = [Float](repeating: 0, count: n)
                                var args = vk_adam_args(p: pp.baseAddress, m: pm.baseAddress, v: pv.baseAddress,
                                                        step_size: 1e-3, bc2_sqrt: 1, beta1: 0.9, beta2: 0.999,
                                                        eps: 1e-8, weight_decay: 0)
                                vk_sgemm_adam(0, 0, 1, Int32(n), 1, 1, zeros, 1, zeros, Int32(n), 1, pg.baseAddress, Int32(n), &args)
                            } else {
                                vk_adam_update(n, pp.baseAddress, pg.baseAddress, pm.baseAddress, pv.baseAddress, 1e-3, 1, 0.9, 0.999, 1e-8, 0)
                            }
                        }
                    }
                }
            }
            return (p, m, v)
        }
        let b1: Float = 0.9, b2: Float = 0.999, g0: Float = 0.5
        let m0 = b1 * 0.25 + (1 - b1) * g0, v0 = b2 * 0.01 + (1 - b2) * g0 * g0
        let want0 = p0[0] - Float(1e-3) * m0 / (v0.squareRoot() + 1e-8)
        let runs = atEveryLevel { step(fused: false) } + atEveryLevel { step(fused: true) }
            + [1, 2].map { t in withThreads(t) { step(fused: false) } }
        for r in runs {
            XCTAssertEqual(r.m[0], m0); XCTAssertEqual(r.v[0], v0); XCTAssertEqual(r.p[0], want0)
            XCTAssertEqual(r.m[1...].filter { $0 != 0 }.count, 0, "moments left nonzero (subnormal)")
            XCTAssertEqual(r.v[1...].filter { $0 != 0 }.count, 0, "second moments left nonzero (subnormal)")
            XCTAssertEqual(zip(r.p, p0).dropFirst().filter { $0 != $1 }.count, 0, "parameters moved")
        }
        // The caller's mode is restored: its own arithmetic still makes subnormals.
        XCTAssertEqual(halve(Float.leastNormalMagnitude), Float.leastNormalMagnitude / 2)
        XCTAssertNotEqual(halve(Float.leastNormalMagnitude), 0)
    }

    @inline(never) func halve(_ x: Float) -> Float { x * [Float(0.5)].randomElement()! }

    func testReluBackwardColumnSums() {
        for (rows, cols) in [(128, 400), (300, 784), (5, 37), (64, 40)] {
            var rng = RNG(seed: UInt64(rows * cols))
            let dy = (0..<(rows * cols)).map { _ in rng.uniform(-1, 1) }
            let y = (0..<(rows * cols)).map { _ in rng.uniform() < 0.5 ? 0 : rng.uniform(0, 2) }
            let acc0 = (0..<cols).map { _ in rng.uniform(-1, 1) }
            var wantDx = [Float](repeating: 0, count: rows * cols), wantAcc = acc0, wantPlain = acc0
            for i in 0..<rows {
                for j in 0..<cols {
                    let v = y[i * cols + j] > 0 ? dy[i * cols + j] : 0
                    wantDx[i * cols + j] = v
                    wantAcc[j] += v
                    wantPlain[j] += dy[i * cols + j]
                }
            }
            func run() -> ([Float], [Float], [Float]) {
                var dx = [Float](repeating: 9, count: rows * cols), acc = acc0, plain = acc0
                Elementwise.reluBackwardColumnSums(dy: dy, y: y, dx: &dx, rows: rows, cols: cols, into: &acc)
                Elementwise.addColumnSums(dy, rows: rows, cols: cols, into: &plain)
                return (dx, acc, plain)
            }
            for r in atEveryLevel(run) + [1, 2, 3].map({ withThreads($0, run) }) {
                XCTAssertEqual(r.0, wantDx)
                XCTAssertEqual(r.1, wantAcc)
                XCTAssertEqual(r.2, wantPlain)
            }
        }
    }

    func testGatherScaleBytes() {
        let d = 29, n = 40
        let src = (0..<(n * d)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let idx: [Int32] = [3, 0, 39, 3, 17] + (0..<40).map { Int32($0) }  // all 256 byte values (7 is odd)
        func run() -> [Float] {
            var out = [Float](repeating: -1, count: idx.count * d)
            Elementwise.gatherScaleBytes(src, indices: idx, rows: idx.count, rowSize: d, into: &out)
            return out
        }
        var want: [Float] = []
        for i in idx { for j in 0..<d { want.append(Float(src[Int(i) * d + j]) / 255) } }
        for r in atEveryLevel(run) { XCTAssertEqual(r, want) }
    }

    /// tanh: every 613th float in [−10, 10] (of about 2.2 billion bit patterns: 3.6 million values,
    /// all of the exponents) within 1.5 ulp of float64's tanh (1.25 measured);
    /// the same bits at every level and for 1 or 2 threads; ±1 beyond 9; NaN kept.
    func testTanhAccurateOverItsRangeAndTheSameAtEveryLevel() {
        var xs: [Float] = []
        var u: UInt32 = 0
        while u < Float(10).bitPattern {
            xs.append(Float(bitPattern: u)); xs.append(-Float(bitPattern: u))
            u += 613
        }
        xs += [0, -0, 0.625, -0.625, 9, -9, 1e-30, 20, -20, .infinity, -.infinity, .greatestFiniteMagnitude]
        var y = [Float](repeating: 0, count: xs.count)
        let levels = atEveryLevel { () -> [Float] in
            vk_tanh(xs, &y, xs.count)
            return y
        }
        for (l, r) in levels.enumerated().dropFirst() {
            XCTAssertTrue(r.elementsEqual(levels[0]) { $0.bitPattern == $1.bitPattern }, "level \(l + 1) differs from the portable code")
        }
        let one = withThreads(1) { () -> [Float] in vk_tanh(xs, &y, xs.count); return y }
        XCTAssertTrue(one.elementsEqual(levels.last!) { $0.bitPattern == $1.bitPattern })
        var worst = 0.0, at: Float = 0
        for (x, t) in zip(xs, levels.last!) {
            let want = Foundation.tanh(Double(x))
            let ulp = Double(Float(want).ulp)
            let err = abs(Double(t) - want) / max(ulp, Double(Float.leastNormalMagnitude))
            if err > worst { worst = err; at = x }
        }
        XCTAssertLessThanOrEqual(worst, 1.5, "worst error \(worst) ulp at x = \(at)")
        print("tanh: worst error \(worst) ulp at x = \(at) over \(xs.count) values")
        var small = [Float](repeating: 0, count: 4)
        vk_tanh([Float.nan, 9.5, -30, 5], &small, 4)
        XCTAssertTrue(small[0].isNaN)
        XCTAssertEqual(small[1], 1)
        XCTAssertEqual(small[2], -1)
        XCTAssertEqual(small[3], Float(Foundation.tanh(5.0)), accuracy: Float(Foundation.tanh(5.0)).ulp * 2)
    }

    /// The GRU gate kernels: the same bits at every kernel level and thread count, and the
    /// formulas of GRU.swift's doc comment to float rounding.
    func testGRUGatesTheSameAtEveryLevelAndThreadCount() {
        let rows = 300, H = 37  // odd width: vector body and scalar tail
        var rng = RNG(seed: 8)
        func random(_ n: Int, _ s: Float = 2) -> [Float] { (0..<n).map { _ in s * rng.normal() } }
        // every third pre-activation wide (tanh's |x| ≥ 9 branch, saturated sigmoids), the rest ±2
        let gi0 = random(rows * 3 * H).enumerated().map { $0.offset % 3 == 0 ? 5 * $0.element : $0.element }
        let gh = random(rows * 3 * H), h0 = random(rows * H, 1), dh0 = random(rows * H, 1)
        func run() -> [Float] {
            var gi = gi0, h = h0, hn = [Float](repeating: 0, count: rows * H)
            vk_gru_gates_forward(&gi, gh, &h, &hn, rows, H)
            let forward = gi + h + hn
            var dh = dh0
            vk_gru_gates_backward(&dh, &gi, &hn, h0, rows, H)   // in place: gi → dGh, hn → da_n
            return forward + dh + gi + hn
        }
        let levels = atEveryLevel(run)
        for r in levels.dropFirst() { XCTAssertEqual(r, levels[0], "the GRU gates differ between kernel levels") }
        for t in [1, 2, 3] { XCTAssertEqual(withThreads(t, run), levels[0], "\(t) threads") }
        // the formulas, in Double
        let out = levels[0]
        for i in [0, 17, rows * H - 1] {
            let row = i / H, j = i % H, b = row * 3 * H
            func sig(_ x: Float) -> Double { 1 / (1 + Foundation.exp(-Double(x))) }
            let r = sig(gi0[b + j] + gh[b + j]), z = sig(gi0[b + H + j] + gh[b + H + j])
            let n = Foundation.tanh(Double(gi0[b + 2 * H + j]) + r * Double(gh[b + 2 * H + j]))
            XCTAssertEqual(Double(out[b + j]), r, accuracy: 1e-6)
            XCTAssertEqual(Double(out[rows * 3 * H + i]), (1 - z) * n + z * Double(h0[i]), accuracy: 1e-5)
            let dan = Double(dh0[i]) * (1 - z) * (1 - n * n)
            let back = rows * 3 * H + 2 * rows * H + rows * H   // forward (gi, h, hn), then dh
            XCTAssertEqual(Double(out[back + b + 2 * H + j]), dan * r, accuracy: 1e-5)   // dGh's n part
            XCTAssertEqual(Double(out[back + rows * 3 * H + i]), dan, accuracy: 1e-5)     // da_n
        }
    }

    /// The GRU's token rows (vk_gru_token_rows_forward / _backward): exactly the scalar loops they
    /// replace (each element one add per row, rows in order), at every kernel level, for column
    /// ranges that start and end inside 16-lane vectors and across the gate split at 2H.
    func testGRUTokenRowsAreTheScalarLoopsAtEveryLevel() {
        let H = 13, H3 = 3 * H, V = 5
        let layout = PackedLayout(lengths: [6, 5, 5, 2])
        var rng = RNG(seed: 77)
        let tokens = (0..<layout.rows).map { _ in Int32(rng.int(below: V)) }
        let base = (0..<(layout.batch * H3)).map { _ in rng.uniform(-1, 1) }
        let wT = (0..<(V * H3)).map { _ in rng.uniform(-1, 1) }
        let gh = (0..<(layout.rows * H3)).map { _ in rng.uniform(-1, 1) }
        let an = (0..<(layout.rows * H)).map { _ in rng.uniform(-1, 1) }
        let dT0 = (0..<(V * H3)).map { _ in rng.uniform(-1, 1) }
        let S0 = (0..<(layout.batch * H3)).map { _ in rng.uniform(-1, 1) }
        for cols in [0..<H3, 3..<20, 17..<H3, 26..<27, 5..<5] {
            var wantGi = [Float](repeating: 7, count: layout.rows * H3)
            var wantT = dT0, wantS = S0
            for t in 0..<layout.steps {
                for i in 0..<layout.batchSizes[t] {
                    let r = layout.offsets[t] + i, tok = Int(tokens[r])
                    for j in cols {
                        wantGi[r * H3 + j] = base[i * H3 + j] + wT[tok * H3 + j]
                        let g = j < 2 * H ? gh[r * H3 + j] : an[r * H + j - 2 * H]
                        wantT[tok * H3 + j] += g
                        wantS[i * H3 + j] += g
                    }
                }
            }
            let results = atEveryLevel { () -> [[Float]] in
                var gi = [Float](repeating: 7, count: layout.rows * H3), dT = dT0, S = S0, onlyS = S0
                layout.offsets.withUnsafeBufferPointer { o in layout.batchSizes.withUnsafeBufferPointer { b in
                    vk_gru_token_rows_forward(&gi, base, wT, H3, tokens, o.baseAddress, b.baseAddress, layout.steps,
                                              cols.lowerBound, cols.upperBound)
                    vk_gru_token_rows_backward(gh, an, H, tokens, o.baseAddress, b.baseAddress, layout.steps,
                                               cols.lowerBound, cols.upperBound, &dT, &S)
                    vk_gru_token_rows_backward(gh, an, H, tokens, o.baseAddress, b.baseAddress, layout.steps,
                                               cols.lowerBound, cols.upperBound, nil, &onlyS)
                } }
                return [gi, dT, S, onlyS]
            }
            for (level, r) in results.enumerated() {
                XCTAssertEqual(r[0].map(\.bitPattern), wantGi.map(\.bitPattern), "forward, columns \(cols), level \(level + 1)")
                XCTAssertEqual(r[1].map(\.bitPattern), wantT.map(\.bitPattern), "token rows, columns \(cols), level \(level + 1)")
                XCTAssertEqual(r[2].map(\.bitPattern), wantS.map(\.bitPattern), "sums, columns \(cols), level \(level + 1)")
                XCTAssertEqual(r[3].map(\.bitPattern), wantS.map(\.bitPattern), "sums alone, columns \(cols), level \(level + 1)")
            }
        }
    }

    /// Softmax cross-entropy per row (the sequence VAE's categorical per token): within float
    /// rounding of a float64 reference, loss and gradient, for row widths around the vector
    /// widths and a word vocabulary; bit-identical at every level and for 1–3 threads.
    func testSoftmaxCrossEntropyAccurateAndTheSameEverywhere() {
        for (rows, cols) in [(3, 1), (5, 7), (4, 8), (6, 9), (3, 15), (4, 16), (5, 17), (7, 33), (40, 1000), (2, 10_004), (300, 31)] {
            var rng = RNG(seed: UInt64(rows * 7919 + cols))
            let l = (0..<(rows * cols)).map { _ in 4 * rng.normal() }
            let targets = (0..<rows).map { _ in Int32(rng.int(below: cols)) }
            let scale: Float = 0.25
            func run() -> ([Double], [Float]) {
                var out = [Double](repeating: 0, count: rows), g = [Float](repeating: .nan, count: rows * cols)
                Elementwise.softmaxCrossEntropy(logits: l, targets: targets, rows: rows, cols: cols, out: &out, grad: &g, scale: scale)
                return (out, g)
            }
            let results = atEveryLevel { [1, 2, 3].map { t in withThreads(t) { run() } } }.flatMap { $0 }
            let (out, g) = results[0]
            for (o, gg) in results.dropFirst() {
                XCTAssertEqual(o.map(\.bitPattern), out.map(\.bitPattern), "\(rows)x\(cols): the loss differs between levels or thread counts")
                XCTAssertEqual(gg.map(\.bitPattern), g.map(\.bitPattern), "\(rows)x\(cols): the gradient differs between levels or thread counts")
            }
            // without a gradient: the same losses
            var plain = [Double](repeating: 0, count: rows)
            Elementwise.softmaxCrossEntropy(logits: l, targets: targets, rows: rows, cols: cols, out: &plain, grad: nil, scale: scale)
            XCTAssertEqual(plain, out)
            for r in 0..<rows {
                let row = l[(r * cols)..<((r + 1) * cols)].map(Double.init)
                let mx = row.max()!
                let sum = row.reduce(0) { $0 + Foundation.exp($1 - mx) }
                let want = mx + Foundation.log(sum) - row[Int(targets[r])]
                XCTAssertEqual(out[r], want, accuracy: 1e-5 * max(1, abs(want)), "\(rows)x\(cols) row \(r)")
                for c in 0..<cols {
                    let p = Foundation.exp(row[c] - mx) / sum
                    let wantG = Double(scale) * (p - (c == Int(targets[r]) ? 1 : 0))
                    XCTAssertEqual(Double(g[r * cols + c]), wantG, accuracy: 2e-6 * Double(scale) + 1e-5 * abs(wantG), "\(rows)x\(cols) [\(r), \(c)]")
                }
            }
        }
    }
}
