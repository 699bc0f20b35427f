import XCTest
@testable import VAECore
@testable import VAEKit

/// Every likelihood against finite differences of its own loss, the fused C kernels against the
/// plain Swift references, and masks that really remove entries.
final class LikelihoodTests: XCTestCase {
    func randomArray(_ n: Int, _ rng: inout RNG, scale: Float = 1) -> [Float] { (0..<n).map { _ in scale * rng.normal() } }

    /// −log p summed over rows (Double) and the gradient w.r.t. the outputs.
    func evaluate(_ l: Likelihood, o: [Float], x: [Float], mask: [Float]?, rows: Int) -> (Double, [Float]) {
        var nll = [Double](repeating: 0, count: rows)
        var g = [Float](repeating: 0, count: o.count)
        o.withUnsafeBufferPointer { op in
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeMutableBufferPointer { gp in
                    nll.withUnsafeMutableBufferPointer { np in
                        let m = mask.map { Array($0) } ?? []
                        m.withUnsafeBufferPointer { mp in
                            l.negLogLikelihood(LikelihoodArguments(
                                rows: rows, out: op.baseAddress!, outStride: l.outputWidth, x: xp.baseAddress!, xStride: l.width,
                                mask: mask == nil ? nil : mp.baseAddress!, maskStride: l.width, nll: np.baseAddress!,
                                grad: gp.baseAddress!, gradStride: l.outputWidth, gradScale: 1))
                        }
                    }
                }
            }
        }
        return (nll.reduce(0, +), g)
    }

    func checkGradient(_ l: Likelihood, x: [Float], mask: [Float]?, rows: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = RNG(seed: seed)
        let o = randomArray(rows * l.outputWidth, &rng)
        for p in l.parameters { for i in 0..<p.count { p.value[i] = 0.3 * rng.normal() }; p.grad.zero() }
        let (_, g) = evaluate(l, o: o, x: x, mask: mask, rows: rows)
        let h: Float = 1e-2
        for i in 0..<o.count {
            var a = o, b = o
            a[i] += h
            b[i] -= h
            let fd = (evaluate(l, o: a, x: x, mask: mask, rows: rows).0 - evaluate(l, o: b, x: x, mask: mask, rows: rows).0) / Double(2 * h)
            XCTAssertEqual(Double(g[i]), fd, accuracy: 2e-3 + 2e-3 * abs(fd), "output \(i)", file: file, line: line)
        }
        // parameters (learned σ): gradient accumulated by one evaluation vs finite differences
        for p in l.parameters {
            p.grad.zero()
            _ = evaluate(l, o: o, x: x, mask: mask, rows: rows)
            let analytic = p.grad.array
            for j in 0..<p.count {
                let v = p.value[j]
                p.value[j] = v + h
                let up = evaluate(l, o: o, x: x, mask: mask, rows: rows).0
                p.value[j] = v - h
                let down = evaluate(l, o: o, x: x, mask: mask, rows: rows).0
                p.value[j] = v
                let fd = (up - down) / Double(2 * h)
                XCTAssertEqual(Double(analytic[j]), fd, accuracy: 2e-3 + 2e-3 * abs(fd), "\(p.name)[\(j)]", file: file, line: line)
            }
        }
    }

    func testGradientsAgainstFiniteDifferences() {
        var rng = RNG(seed: 5)
        let rows = 3, w = 5
        let unit = (0..<(rows * w)).map { _ in rng.uniform() }
        let numbers = randomArray(rows * w, &rng)
        var mask = (0..<(rows * w)).map { _ in Float(rng.uniform() < 0.7 ? 1 : 0) }
        mask[0] = 0
        for m in [nil, mask] {
            checkGradient(BernoulliLikelihood(width: w), x: unit, mask: m, rows: rows, seed: 1)
            checkGradient(GaussianLikelihood(width: w, sigma: 0.5, link: .sigmoid), x: unit, mask: m, rows: rows, seed: 2)
            checkGradient(GaussianLikelihood(width: w, sigma: 0.7, link: .identity), x: numbers, mask: m, rows: rows, seed: 3)
            checkGradient(GaussianLikelihood(learnedWidth: w, link: .identity), x: numbers, mask: m, rows: rows, seed: 4)
            checkGradient(GaussianLikelihood(learnedWidth: w, link: .sigmoid), x: unit, mask: m, rows: rows, seed: 5)
            checkGradient(HeteroscedasticGaussianLikelihood(width: w, link: .identity), x: numbers, mask: m, rows: rows, seed: 8)
            checkGradient(HeteroscedasticGaussianLikelihood(width: w, link: .sigmoid), x: unit, mask: m, rows: rows, seed: 9)
            // 8-bit levels, the first and the last among them
            var levels = unit.map { ($0 * 255).rounded() / 255 }
            levels[1] = 0; levels[2] = 1
            checkGradient(DiscretizedLogisticLikelihood(width: w), x: levels, mask: m, rows: rows, seed: 10)
            checkGradient(BetaBinomialLikelihood(width: w), x: levels, mask: m, rows: rows, seed: 11)
        }
        // categorical: one-hot rows (row 1 missing)
        let k = 4
        var onehot = [Float](repeating: 0, count: rows * k)
        for r in 0..<rows { onehot[r * k + (r * 3) % k] = 1 }
        checkGradient(CategoricalLikelihood(levels: k), x: onehot, mask: nil, rows: rows, seed: 6)
        let cmask: [Float] = [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]
        checkGradient(CategoricalLikelihood(levels: k), x: onehot, mask: cmask, rows: rows, seed: 7)
    }

    /// The heteroscedastic Gaussian is N(x; μ, σ²) with σ = exp(clamp(o_s, −5, 5)) per cell: its
    /// −log p is the textbook density's, and outside the clamp σ stops moving and so does the gradient.
    func testHeteroscedasticGaussianIsTheNormalDensityWithItsClamp() {
        let l = HeteroscedasticGaussianLikelihood(width: 2, link: .identity)
        let o: [Float] = [0.5, -1, 0.3, 7], x: [Float] = [1.5, -1.25]
        let (nll, g) = evaluate(l, o: o, x: x, mask: nil, rows: 1)
        func normal(_ x: Double, _ mu: Double, _ sd: Double) -> Double { -Foundation.log(Foundation.exp(-0.5 * pow((x - mu) / sd, 2)) / (sd * (2 * Double.pi).squareRoot())) }
        XCTAssertEqual(nll, normal(1.5, 0.5, Foundation.exp(0.3)) + normal(-1.25, -1, Foundation.exp(5)), accuracy: 1e-6)
        XCTAssertEqual(g[3], 0, "log σ clamped at 5: no gradient")
        XCTAssertNotEqual(g[2], 0)
        // a column's own floor (a value recorded in steps): log σ = −3 is read as the floor −1
        let floored = HeteroscedasticGaussianLikelihood(width: 2, link: .identity, logSigmaFloor: [-1, -9])
        let (nf, gf) = evaluate(floored, o: [0.5, -1, -3, -3], x: x, mask: nil, rows: 1)
        XCTAssertEqual(nf, normal(1.5, 0.5, Foundation.exp(-1)) + normal(-1.25, -1, Foundation.exp(-3)), accuracy: 1e-6)
        XCTAssertEqual(gf[2], 0, "below the column's floor: no gradient")
        XCTAssertNotEqual(gf[3], 0, "the floor −9 is below the range: −5 holds, −3 is free")
    }

    /// The discretised logistic is a distribution over the 256 levels (the masses sum to 1), and in
    /// a far tail, where the difference of two CDFs underflows, it follows the density and its gradient.
    func testDiscretizedLogisticIsANormalisedDistribution() {
        let l = DiscretizedLogisticLikelihood(width: 1)
        for (mu, logScale) in [(Float(0.3), Float(-3)), (0.0, -6.5), (1.2, 0), (0.5, 2.9)] {
            var total = 0.0
            for k in 0..<256 { total += Foundation.exp(-evaluate(l, o: [mu, logScale], x: [Float(k) / 255], mask: nil, rows: 1).0) }
            XCTAssertEqual(total, 1, accuracy: 1e-6, "μ \(mu), log s \(logScale)")
        }
        // a level 100 scales away from μ: finite, and its gradient matches finite differences
        let x = Double(40) / 255, mu = 0.9, ls = -6.0
        let t = DiscretizedLogisticLikelihood.term(x: x, mu: mu, logScale: ls)
        XCTAssertTrue(t.nll.isFinite && t.nll > 100)
        let h = 1e-4
        let fdMu = (DiscretizedLogisticLikelihood.term(x: x, mu: mu + h, logScale: ls).nll
                    - DiscretizedLogisticLikelihood.term(x: x, mu: mu - h, logScale: ls).nll) / (2 * h)
        let fdLs = (DiscretizedLogisticLikelihood.term(x: x, mu: mu, logScale: ls + h).nll
                    - DiscretizedLogisticLikelihood.term(x: x, mu: mu, logScale: ls - h).nll) / (2 * h)
        XCTAssertEqual(t.dMu, fdMu, accuracy: 1e-4 * abs(fdMu))
        XCTAssertEqual(t.dLogScale, fdLs, accuracy: 1e-4 * abs(fdLs))
    }

    /// The beta-binomial's −log P (from log Γ) and the codec's masses (from the ratio recurrence)
    /// are one distribution, summing to 1, U-shaped for α, β < 1.
    func testBetaBinomialMassesAgreeWithItsLogGammaForm() {
        for (a, b) in [(0.3, 0.2), (2.0, 5.0), (0.001, 1000.0), (800.0, 900.0)] {
            let p = BetaBinomialLikelihood.masses(a: a, b: b)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
            for k in [0, 1, 100, 254, 255] {
                let viaLogGamma = Foundation.exp(-BetaBinomialLikelihood.term(level: Double(k), a: a, b: b).nll)
                XCTAssertEqual(p[k], viaLogGamma, accuracy: 1e-9 + 1e-7 * viaLogGamma, "α \(a), β \(b), k \(k)")
            }
        }
        let u = BetaBinomialLikelihood.masses(a: 0.3, b: 0.2)
        XCTAssertGreaterThan(u[0], u[128])
        XCTAssertGreaterThan(u[255], u[128])
        XCTAssertEqual(BetaBinomialLikelihood.digamma(1), -0.5772156649015329, accuracy: 1e-10)    // −γ
        XCTAssertEqual(BetaBinomialLikelihood.digamma(0.25), -0.5772156649015329 - Double.pi / 2 - 3 * log(2), accuracy: 1e-10)
    }

    func testCategoricalIsANormalisedDistribution() {
        // Σ over the K classes of p(class) = 1, and −log p of the one-hot is −log softmax.
        let l = CategoricalLikelihood(levels: 3)
        let o: [Float] = [0.5, -1, 2]
        var total = 0.0
        for c in 0..<3 {
            var x: [Float] = [0, 0, 0]
            x[c] = 1
            total += Foundation.exp(-evaluate(l, o: o, x: x, mask: nil, rows: 1).0)
        }
        XCTAssertEqual(total, 1, accuracy: 1e-6)
    }

    func testMixedIsTheSumOfItsParts() {
        var rng = RNG(seed: 9)
        let g = GaussianLikelihood(learnedWidth: 2, link: .identity), c = CategoricalLikelihood(levels: 3)
        let mixed = MixedLikelihood([g, c])
        mixed.nameParameters(prefix: "likelihood")
        XCTAssertEqual(g.logSigma?.name, "likelihood.0.log_sigma")
        XCTAssertEqual(mixed.width, 5)
        let rows = 2
        let o = randomArray(rows * 5, &rng)
        let x: [Float] = [0.3, -1.2, 0, 1, 0, 2.0, 0.1, 1, 0, 0]
        let (total, grad) = evaluate(mixed, o: o, x: x, mask: nil, rows: rows)
        let gPart = evaluate(g, o: [o[0], o[1], o[5], o[6]], x: [x[0], x[1], x[5], x[6]], mask: nil, rows: rows)
        let cPart = evaluate(c, o: [o[2], o[3], o[4], o[7], o[8], o[9]], x: [x[2], x[3], x[4], x[7], x[8], x[9]], mask: nil, rows: rows)
        XCTAssertEqual(total, gPart.0 + cPart.0, accuracy: 1e-9)
        XCTAssertEqual(grad[3], cPart.1[1])
        XCTAssertEqual(grad[6], gPart.1[3])
    }

    /// The fused C kernels (whole rows, no mask) agree with the plain Swift references.
    func testFusedKernelsMatchReferences() {
        var rng = RNG(seed: 11)
        let rows = 37, w = 101
        let o = randomArray(rows * w, &rng, scale: 4)
        let x = (0..<(rows * w)).map { _ in rng.uniform() }
        for (l, ref) in [(BernoulliLikelihood(width: w) as Likelihood, { (a: LikelihoodArguments) in BernoulliLikelihood(width: w).reference(a) }),
                         (GaussianLikelihood(width: w, sigma: 0.1, link: .sigmoid), { (a: LikelihoodArguments) in
                             GaussianLikelihood(width: w, sigma: 0.1, link: .sigmoid).reference(a) })] {
            var fused = [Double](repeating: 0, count: rows), plain = fused
            var gf = [Float](repeating: 0, count: rows * w), gp = gf
            o.withUnsafeBufferPointer { op in
                x.withUnsafeBufferPointer { xp in
                    let args = { (n: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Float>) in
                        LikelihoodArguments(rows: rows, out: op.baseAddress!, outStride: w, x: xp.baseAddress!, xStride: w,
                                            nll: n, grad: g, gradStride: w, gradScale: 0.25)
                    }
                    fused.withUnsafeMutableBufferPointer { n in gf.withUnsafeMutableBufferPointer { g in l.negLogLikelihood(args(n.baseAddress!, g.baseAddress!)) } }
                    plain.withUnsafeMutableBufferPointer { n in gp.withUnsafeMutableBufferPointer { g in ref(args(n.baseAddress!, g.baseAddress!)) } }
                }
            }
            for r in 0..<rows { XCTAssertEqual(fused[r], plain[r], accuracy: 1e-4 * max(1, abs(plain[r]))) }
            for i in 0..<(rows * w) { XCTAssertEqual(gf[i], gp[i], accuracy: 1e-6) }
        }
    }

    /// A missing entry changes nothing: not the loss, whatever x holds there, nor any gradient.
    func testMaskedEntriesContributeNothing() {
        var rng = RNG(seed: 12)
        let w = 6
        let o = randomArray(w, &rng)
        let mask: [Float] = [1, 0, 1, 1, 0, 1]
        var x1 = randomArray(w, &rng), x2 = x1
        x1[1] = 5; x2[1] = -7; x2[4] = 100
        for l: Likelihood in [BernoulliLikelihood(width: w), GaussianLikelihood(learnedWidth: w, link: .identity),
                              GaussianLikelihood(width: w, sigma: 1, link: .identity),
                              HeteroscedasticGaussianLikelihood(width: w, link: .identity)] {
            let o = l.outputWidth == w ? o : o + randomArray(w, &rng)
            let a = evaluate(l, o: o, x: x1, mask: mask, rows: 1), b = evaluate(l, o: o, x: x2, mask: mask, rows: 1)
            XCTAssertEqual(a.0, b.0)
            XCTAssertEqual(a.1[1], 0)
            XCTAssertEqual(a.1[4], 0)
            if l.outputWidth == 2 * w { XCTAssertEqual(a.1[w + 1], 0); XCTAssertEqual(a.1[w + 4], 0) }
            let full = evaluate(l, o: o, x: x1, mask: nil, rows: 1)
            XCTAssertNotEqual(full.0, a.0)
        }
    }
}
