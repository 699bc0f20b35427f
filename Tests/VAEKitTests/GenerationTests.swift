import XCTest
@testable import VAEKit

final class GenerationTests: XCTestCase {
    /// The manifold grid: grid × grid images over z₁, z₂; one row over z₁ for a latent of one
    /// dimension (it drew grid identical rows).
    func testManifoldGridAndOneDimensionalStrip() throws {
        for (latent, images) in [(2, 16), (3, 16), (1, 4)] {
            let model = try VAE(config: VAEConfig(inputShape: [1, 5, 5], latent: latent, hidden: [8]), seed: 1)
            let x = Analysis.manifold(model, grid: 4, range: 2)
            XCTAssertEqual(x.shape, [images, 25], "latent \(latent)")
            // the first and the fourth image (z₁ = −2 and +2 in the first row) differ
            XCTAssertNotEqual(Array(UnsafeBufferPointer(start: x.pointer, count: 25)), Array(UnsafeBufferPointer(start: x.pointer + 75, count: 25)))
        }
    }

    func testCorruptionParsingAndDeterminism() throws {
        XCTAssertEqual(try Corruption(parsing: "gaussian:0.3"), .gaussian(0.3))
        XCTAssertEqual(try Corruption(parsing: "saltpepper:0.1"), .saltPepper(0.1))
        XCTAssertEqual(try Corruption(parsing: "mask:0.5"), .mask(0.5))
        for bad in ["gaussian", "mask:1.5", "blur:1", "gaussian:-1", "gaussian:nan"] {
            XCTAssertThrowsError(try Corruption(parsing: bad), bad)
        }
        let x = Tensor(shape: [200]); x.fill(0.5)
        for c in [Corruption.gaussian(0.3), .saltPepper(0.2), .mask(0.4)] {
            var r1 = RNG(seed: 1), r2 = RNG(seed: 1)
            let a = Tensor(shape: [200]), b = Tensor(shape: [200])
            c.apply(x.pointer, count: 200, shape: [200], into: a.pointer, rng: &r1)
            c.apply(x.pointer, count: 200, shape: [200], into: b.pointer, rng: &r2)
            XCTAssertEqual(a.array, b.array)
            XCTAssertTrue(a.array.allSatisfy { (0...1).contains($0) })
            XCTAssertNotEqual(a.array, x.array)
        }
        // mask:p zeroes about p of the values
        var r = RNG(seed: 2)
        let big = Tensor(shape: [10_000]); big.fill(1)
        let m = Tensor(shape: [10_000])
        Corruption.mask(0.4).apply(big.pointer, count: 10_000, shape: [10_000], into: m.pointer, rng: &r)
        XCTAssertEqual(Double(m.array.filter { $0 == 0 }.count) / 10_000, 0.4, accuracy: 0.02)
    }

    /// box:p hides one rectangle (each side ¼ to all of the image's, every channel) in about p of
    /// the images, and nothing else.
    func testBoxCorruptionHidesOneRectanglePerImage() throws {
        XCTAssertEqual(try Corruption(parsing: "box:0.5"), .box(0.5))
        XCTAssertThrowsError(try Corruption(parsing: "box:2"))
        XCTAssertTrue(Corruption.box(0.5).hidesWithZero && Corruption.mask(0.5).hidesWithZero)
        XCTAssertFalse(Corruption.gaussian(0.3).hidesWithZero)
        let (c, h, w, n) = (2, 12, 9, 400), d = 2 * 12 * 9
        let x = Tensor(shape: [n * d]); x.fill(1)
        let out = Tensor(shape: [n * d])
        var rng = RNG(seed: 7)
        Corruption.box(0.5).apply(x.pointer, count: n * d, shape: [c, h, w], into: out.pointer, rng: &rng)
        var hidden = 0
        for item in 0..<n {
            let img = Array(out.array[(item * d)..<((item + 1) * d)])
            let zeros = img.indices.filter { img[$0] == 0 }
            if zeros.isEmpty { continue }
            hidden += 1
            let ys = Set(zeros.map { ($0 % (h * w)) / w }), xs = Set(zeros.map { $0 % w })
            // a full rectangle, the same in both channels, sides at least a quarter
            XCTAssertEqual(zeros.count, c * ys.count * xs.count)
            XCTAssertEqual(ys.max()! - ys.min()! + 1, ys.count)
            XCTAssertEqual(xs.max()! - xs.min()! + 1, xs.count)
            XCTAssertGreaterThanOrEqual(ys.count, 3)
            XCTAssertGreaterThanOrEqual(xs.count, 3)
        }
        XCTAssertEqual(Double(hidden) / Double(n), 0.5, accuracy: 0.08)
    }

    /// Holes start at 0 for a model trained with holes hidden as 0, else at the model's own mean
    /// image, which after training is close to the mean training image (closer than any constant).
    func testInpaintingStartsAtTheModelsMeanImage() throws {
        let data = tinyDataset(train: 400, seed: 9)
        let model = try VAE(config: VAEConfig(inputShape: [1, 8, 8], latent: 2, hidden: [32]), seed: 3)
        XCTAssertEqual(Inpainting.start(for: model, trainedWith: .box(0.5)), [Float](repeating: 0, count: 64))
        var o = TrainingOptions()
        o.epochs = 20
        o.batchSize = 20
        o.learningRate = 3e-3
        let trainer = try Trainer(model: model, data: data, options: o)
        while !trainer.isFinished { _ = try trainer.runEpoch() }
        let start = Inpainting.start(for: model, trainedWith: nil)
        XCTAssertEqual(start, Inpainting.modelMean(model), "the same seeded draws every time")
        let x = data.train.batch(0..<data.train.count).x
        var mean = [Double](repeating: 0, count: 64)
        for i in 0..<x.count { mean[i % 64] += Double(x[i]) / Double(data.train.count) }
        let mse = { (v: [Double]) in zip(v, mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 64 }
        let average = mean.reduce(0, +) / 64
        XCTAssertLessThan(mse(start.map(Double.init)), 0.25 * mse([Double](repeating: average, count: 64)),
                          "the model's mean image should be far closer to the training mean than a constant")
    }

    /// The Metropolis–Hastings chain on z targets the model's own conditional: with one latent dimension,
    /// E[x_missing | x_observed] = ∫ mean(x_missing | z) p(x_observed | z) p(z) dz / p(x_observed)
    /// computed on a fine grid of z must match the chains' average, for a model whose encoder
    /// (untrained, a poor proposal) knows nothing of the data.
    func testMetropolisChainMatchesTheExactConditional() throws {
        let model = try VAE(config: VAEConfig(inputShape: [1, 2, 3], latent: 1, hidden: [8]), seed: 5)
        // larger decoder weights so that the observed pixels tell a lot about z
        for p in model.decoder.parameters { for i in 0..<p.value.count { p.value[i] *= 3 } }
        let d = 6, b = 3
        let x = Tensor(shape: [b, d]), observed = Tensor(shape: [b, d])
        let rows: [[Float]] = [[1, 1, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 0, 1, 0, 0, 0]]
        for r in 0..<b { for j in 0..<d { x[r * d + j] = rows[r][j]; observed[r * d + j] = j < 3 ? 1 : 0 } }
        // exact: a grid over z ∈ [−8, 8]
        let g = 4001, zs = Tensor(shape: [g, 1])
        for i in 0..<g { zs[i] = -8 + 16 * Float(i) / Float(g - 1) }
        let means = model.decode(zs)
        let outputs = model.decodeLogits(zs).copy()
        var exact = [[Double]](repeating: [Double](repeating: 0, count: d), count: b)
        for r in 0..<b {
            var nll = [Double](repeating: 0, count: g)
            nll.withUnsafeMutableBufferPointer { np in
                model.negLogLikelihood(outputs: outputs, x: x.pointer + r * d, xRowStride: 0,
                                       mask: UnsafePointer(observed.pointer + r * d), out: np.baseAddress!)
            }
            let logw = (0..<g).map { -nll[$0] - 0.5 * Double(zs[$0] * zs[$0]) }
            let mx = logw.max()!
            let w = logw.map { Foundation.exp($0 - mx) }, total = w.reduce(0, +)
            for j in 3..<d { exact[r][j] = (0..<g).reduce(0.0) { $0 + w[$1] * Double(means[$1 * d + j]) } / total }
        }
        var rng = RNG(seed: 11)
        let mwg = Inpainting.fill(model, x: x, observed: observed, method: .mean, iterations: 4000, chains: 4, start: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], rng: &rng)
        var worst = 0.0
        for r in 0..<b { for j in 3..<d { worst = max(worst, abs(Double(mwg[r * d + j]) - exact[r][j])) } }
        XCTAssertLessThan(worst, 0.02, "the Metropolis–Hastings chain strays from the exact conditional mean")
        // and the exact answer is not trivial: it differs from the unconditional mean of the pixels
        var spread = 0.0
        for j in 3..<d { spread = max(spread, abs(exact[0][j] - exact[2][j])) }
        XCTAssertGreaterThan(spread, 0.05)
    }

    func testMasks() throws {
        var rng = RNG(seed: 3)
        let shape = [2, 4, 6]
        let bottom = try InpaintingMask(parsing: "bottom").make(count: 1, shape: shape, rng: &rng)
        XCTAssertEqual(bottom.array.filter { $0 == 0 }.count, 2 * 2 * 6)
        XCTAssertEqual(bottom[0], 1)
        XCTAssertEqual(bottom[2 * 6], 0)              // row 2 of channel 0
        XCTAssertEqual(bottom[24 + 3 * 6 + 5], 0)     // channel 1, last pixel
        let center = try InpaintingMask(parsing: "center").make(count: 1, shape: [1, 8, 8], rng: &rng)
        XCTAssertEqual(center.array.filter { $0 == 0 }.count, 16)
        let random = try InpaintingMask(parsing: "random:0.5").make(count: 1, shape: [1, 100, 100], rng: &rng)
        XCTAssertEqual(Double(random.array.filter { $0 == 0 }.count) / 10_000, 0.5, accuracy: 0.03)
        XCTAssertThrowsError(try InpaintingMask(parsing: "random:2"))
        XCTAssertThrowsError(try InpaintingMask(parsing: "middle"))
    }

    func testInpaintingKeepsObservedPixelsForEveryMethod() throws {
        let data = tinyDataset()
        let model = try VAE(config: VAEConfig(inputShape: [1, 8, 8], latent: 2, hidden: [16]), seed: 1)
        let x = data.test.batch(0..<5).x
        var rng = RNG(seed: 4)
        let observed = try InpaintingMask(parsing: "top").make(count: 5, shape: [1, 8, 8], rng: &rng)
        for method in Inpainting.Fill.allCases {
            let f = Inpainting.fill(model, x: x, observed: observed, method: method, iterations: 3, chains: 2,
                                       start: Inpainting.start(for: model, trainedWith: nil), rng: &rng)
            for i in 0..<x.count where observed[i] != 0 { XCTAssertEqual(f[i], x[i]) }
            XCTAssertTrue(f.array.allSatisfy { (0...1).contains($0) })
            XCTAssertTrue(Inpainting.psnrOnMissing(x, f, observed: observed).isFinite)
        }
    }

    func testMedianFilter() {
        // an isolated bright pixel disappears, a constant image stays
        let img = Tensor(shape: [1, 25])
        img[12] = 1
        XCTAssertEqual(Analysis.medianFilter3x3(img, shape: [1, 5, 5]).array, [Float](repeating: 0, count: 25))
        let flat = Tensor(shape: [1, 25]); flat.fill(0.3)
        XCTAssertEqual(Analysis.medianFilter3x3(flat, shape: [1, 5, 5]).array, flat.array)
    }

    /// A conditional model learns to use its condition: on data whose image is fixed by the label,
    /// decoding the same z under two labels gives those labels' images.
    func testConditionalDecoderFollowsTheLabel() throws {
        // label 0: left half bright; label 1: right half bright
        var px: [UInt8] = [], lb: [UInt8] = []
        for i in 0..<400 {
            let l = i % 2
            for _ in 0..<4 { for c in 0..<4 { px.append((c < 2) == (l == 0) ? 250 : 5) } }
            lb.append(UInt8(l))
        }
        let set = ImageSet(images: px, labels: lb, count: 400, channels: 1, height: 4, width: 4)
        let data = Dataset(name: "halves", directory: "(memory)", train: set, test: set.first(20), classNames: ["left", "right"])
        let model = try VAE(config: VAEConfig(inputShape: [1, 4, 4], latent: 2, hidden: [16], conditionSize: 2), seed: 2)
        var o = TrainingOptions()
        o.epochs = 15
        o.batchSize = 20
        o.learningRate = 3e-3
        let trainer = try Trainer(model: model, data: data, options: o)
        while !trainer.isFinished { _ = try trainer.runEpoch() }
        let z = Tensor(shape: [2, 2])
        let x = model.decode(z, condition: Batch.oneHot([0, 1], classes: 2))
        XCTAssertGreaterThan(x[0], 0.8)        // label 0, left pixel
        XCTAssertLessThan(x[3], 0.2)           // label 0, right pixel
        XCTAssertLessThan(x[16 + 0], 0.2)      // label 1, left pixel
        XCTAssertGreaterThan(x[16 + 3], 0.8)   // label 1, right pixel
        // sampling without a class throws (it trapped: a run loaded with Checkpoint.load may be either kind)
        var rng = RNG(seed: 1)
        XCTAssertThrowsError(try Analysis.sample(model, count: 4, rng: &rng)) {
            XCTAssertTrue("\($0)".contains("the model is conditional: it samples a class at a time — use Analysis.sample(model, classes:perClass:rng:)"), "\($0)")
        }
        XCTAssertEqual(try Analysis.sample(model, classes: [1], perClass: 3, rng: &rng).shape, [3, 16])
    }
}
