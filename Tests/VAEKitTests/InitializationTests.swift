import XCTest
import VAECore
@testable import VAEKit

/// `--init glorot` and `--output-bias-from-data` (Burda et al.'s initialisation).
final class InitializationTests: XCTestCase {
    /// Every weight within its Glorot bound and reaching it (tens of thousands of draws per layer),
    /// every bias zero; the encoder's μ | log σ² layer bounded as two layers of `latent` outputs.
    func testGlorotBoundsPerLayerAndTheEncoderHeads() throws {
        let cfg = VAEConfig(architecture: .mlp, inputShape: [1, 20, 20], latent: 50, hidden: [300, 200], activation: .tanh)
        let vae = try VAE(config: cfg, seed: 3)
        vae.initializeGlorot(seed: 3)
        let expected: [(String, Double)] = [
            ("encoder.1.weight", (6.0 / 700).squareRoot()),  // 400 → 300
            ("encoder.3.weight", (6.0 / 500).squareRoot()),  // 300 → 200
            ("encoder.5.weight", (6.0 / 250).squareRoot()),  // 200 → 2·50: two heads of 50
            ("decoder.0.weight", (6.0 / 250).squareRoot()),  // 50 → 200
            ("decoder.2.weight", (6.0 / 500).squareRoot()),
            ("decoder.4.weight", (6.0 / 700).squareRoot()),  // 300 → 400
        ]
        let params = Dictionary(uniqueKeysWithValues: vae.store.parameters.map { ($0.name, $0) })
        for (name, bound) in expected {
            let w = try XCTUnwrap(params[name], name)
            let maxAbs = (0..<w.count).map { abs(Double(w.value.pointer[$0])) }.max()!
            XCTAssertLessThanOrEqual(maxAbs, bound * (1 + 1e-6), name)
            XCTAssertGreaterThan(maxAbs, bound * 0.995, name)
            let b = try XCTUnwrap(params[name.replacingOccurrences(of: "weight", with: "bias")])
            XCTAssertTrue((0..<b.count).allSatisfy { b.value.pointer[$0] == 0 }, name)
        }
        // the same seed, the same numbers
        let again = try VAE(config: cfg, seed: 3)
        again.initializeGlorot(seed: 3)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: again.store.values.pointer, count: again.store.count)),
                       Array(UnsafeBufferPointer(start: vae.store.values.pointer, count: vae.store.count)))
    }

    /// A convolution's fans count its receptive field: U(±√(6/((in + out)·k²))).
    func testGlorotBoundOfAConvolution() throws {
        let cfg = VAEConfig(architecture: .conv, inputShape: [1, 28, 28], latent: 2)
        let vae = try VAE(config: cfg, seed: 1)
        vae.initializeGlorot(seed: 1)
        let w = try XCTUnwrap(vae.store.parameters.first { $0.name.hasPrefix("encoder") && $0.shape.count == 4 && $0.shape[1] > 1 })
        let s = w.shape
        let bound = (6.0 / Double((s[0] + s[1]) * s[2] * s[3])).squareRoot()
        let maxAbs = (0..<w.count).map { abs(Double(w.value.pointer[$0])) }.max()!
        XCTAssertLessThanOrEqual(maxAbs, bound * (1 + 1e-6))
        XCTAssertGreaterThan(maxAbs, bound * 0.99)
    }

    /// The output bias is logit(mean) per pixel, clipped to [0.001, 0.999].
    func testOutputBiasFromTheTrainingMean() throws {
        // four 2×2 images: pixel 0 always 0, pixel 1 always 255, pixel 2 at 0/51/102/153 (mean 0.3),
        // pixel 3 at 255/255/255/0 (mean 0.75)
        let px: [UInt8] = [0, 255, 0, 255,  0, 255, 51, 255,  0, 255, 102, 255,  0, 255, 153, 0]
        let train = ImageSet(images: px, labels: [], count: 4, channels: 1, height: 2, width: 2)
        let vae = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 2, 2], latent: 2, hidden: [3]), seed: 1)
        try vae.setOutputBiasFromData(train)
        let bias = try XCTUnwrap(vae.store.parameters.last { $0.name.hasPrefix("decoder") && $0.name.hasSuffix("bias") })
        let means = [0.001, 0.999, 0.3, 0.75]
        for (j, m) in means.enumerated() {
            XCTAssertEqual(Double(bias.value.pointer[j]), log(m / (1 - m)), accuracy: 1e-5, "pixel \(j)")
        }
        let table = VAEConfig(architecture: .mlp, inputShape: [1, 1, 4], latent: 2, hidden: [3], likelihood: .gaussian,
                              groups: [FeatureGroup(kind: .gaussian, width: 4)])
        XCTAssertThrowsError(try VAE(config: table, seed: 1).setOutputBiasFromData(train)) {
            XCTAssertTrue(($0 as? VAEError)?.message.contains("is for images") ?? false, "\($0)")
        }
    }

    /// Active units: the variance over the set of each μ, against a two-pass computation from
    /// `encode`; none when the μ head ignores its input.
    func testActiveUnits() throws {
        let cfg = VAEConfig(architecture: .mlp, inputShape: [1, 6, 6], latent: 5, hidden: [16])
        let vae = try VAE(config: cfg, seed: 2)
        let px: [UInt8] = (0..<(60 * 36)).map { (i: Int) -> UInt8 in UInt8((i * 37 + i / 36 * 11) % 256) }
        let set = ImageSet(images: px, labels: [], count: 60, channels: 1, height: 6, width: 6)
        let head = try XCTUnwrap(vae.store.parameter(named: "encoder.3.weight"))  // [2·5, 16]
        for i in 0..<head.count { head.value.pointer[i] *= 8 }  // spread the means: some units above 0.01
        let got = try Evaluator.activeUnits(vae, set, batchSize: 7)
        let mu = vae.encode(set.batch(0..<60).x).mu
        var expected: [Double] = []
        for u in 0..<5 {
            let v: [Double] = (0..<60).map { (i: Int) -> Double in Double(mu.pointer[i * 5 + u]) }
            let mean: Double = v.reduce(0, +) / 60
            var ss = 0.0
            for x in v { ss += (x - mean) * (x - mean) }
            expected.append(ss / 60)
        }
        for u in 0..<5 { XCTAssertEqual(got.variances[u], expected[u], accuracy: 1e-9 + 1e-6 * expected[u]) }
        XCTAssertEqual(got.count, expected.filter { $0 > 0.01 }.count)
        XCTAssertGreaterThan(got.count, 0)
        for i in 0..<(5 * 16) { head.value.pointer[i] = 0 }  // the μ rows: μ = bias for every input
        XCTAssertEqual(try Evaluator.activeUnits(vae, set).count, 0)
    }
}
