import XCTest
@testable import VAECore
@testable import VAEKit

/// One description per architecture: names, counts and FLOPs come from it; the first layer
/// computes no input gradient; conditional models and table likelihoods train with correct
/// gradients.
final class ModelDescriptionTests: XCTestCase {
    func testMLPFLOPsCountWhatRuns() throws {
        let vae = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 20, hidden: [400]))
        // forward 2·(784·400 + 400·40 + 20·400 + 400·784); the weight gradients the same again;
        // input gradients of every layer but the first (784·400 skipped).
        let forward = 2.0 * Double(784 * 400 + 400 * 40 + 20 * 400 + 400 * 784)
        XCTAssertEqual(vae.trainingFLOPsPerExample, 3 * forward - 2 * 784 * 400)
        XCTAssertLessThanOrEqual(vae.trainingFLOPsPerExample, 3.4e6)
    }

    /// `vae bench --kernels --hidden … --batch …` times the products one training step runs:
    /// their FLOPs are the model's own count, for one and for two hidden layers.
    func testKernelBenchStepProductsAreTheStepsProducts() throws {
        for (hidden, batch) in [([400], 128), ([1024], 512), ([512, 256], 32)] {
            let vae = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 20, hidden: hidden))
            let products = KernelBenchmark.mlpStepProducts(input: 784, hidden: hidden, latent: 20, batch: batch)
            let flops = products.reduce(0.0) { $0 + 2.0 * Double($1.m) * Double($1.n) * Double($1.k) }
            XCTAssertEqual(flops, vae.trainingFLOPsPerExample * Double(batch), "\(hidden) batch \(batch)")
            // forward, weight gradient of every layer; input gradient of all but the encoder's first
            let layers = 2 * (hidden.count + 1)
            XCTAssertEqual(products.count, 3 * layers - 1)
            XCTAssertEqual(Set(products.map(\.name)).count, products.count)
        }
        let h400 = KernelBenchmark.mlpStepProducts(input: 784, hidden: [400], latent: 20, batch: 128)
        XCTAssertEqual(h400.first?.name, "enc1 y=x·Wᵀ (128x784)·(400x784)ᵀ")
        XCTAssertEqual(h400.last?.name, "enc1 dW=dyᵀ·x (128x400)ᵀ·(128x784)")
        XCTAssertEqual(h400.filter { $0.name.hasPrefix("enc1") }.count, 2)  // no input gradient
    }

    func testFirstLayerWithParametersSkipsItsInputGradient() throws {
        for arch in [VAEConfig.Architecture.mlp, .conv] {  // the feed-forward kinds (gru: SequenceVAE)
            let vae = try VAE(config: VAEConfig(architecture: arch, inputShape: [1, 8, 8], latent: 2, hidden: [8]))
            let firstWithParameters = vae.encoder.layers.firstIndex { !$0.parameters.isEmpty }!
            for (i, l) in vae.encoder.layers.enumerated() {
                XCTAssertEqual(l.needsInputGradient, i > firstWithParameters, "\(arch) encoder layer \(i)")
            }
            XCTAssertTrue(vae.decoder.layers.allSatisfy { $0.needsInputGradient })
            var rng = RNG(seed: 1)
            let x = Tensor(shape: [3, 64]), eps = Tensor(shape: [3, 2])
            rng.fillUniform(x.pointer, count: x.count, 0, 1)
            rng.fillNormal(eps.pointer, count: eps.count)
            vae.store.zeroGrad()
            _ = vae.trainStep(x: x, eps: eps, klWeight: 1)
            // the encoder's backward returns no input gradient at all
            let h = vae.encoder.forward(x)
            XCTAssertEqual(vae.encoder.backward(Tensor(shape: h.shape)).count, 0)
        }
    }

    func testPyTorchNamesComeFromTheDescription() throws {
        let mlp = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 4, 4], latent: 2, hidden: [8, 6]))
        XCTAssertEqual(mlp.store.parameters.map(\.name), [
            "encoder.1.weight", "encoder.1.bias", "encoder.3.weight", "encoder.3.bias", "encoder.5.weight", "encoder.5.bias",
            "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias", "decoder.4.weight", "decoder.4.bias",
        ])
        // tanh hidden units are modules of their own, as ReLU: the same indices
        let tanh = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 4, 4], latent: 2, hidden: [8, 6], activation: .tanh))
        XCTAssertEqual(tanh.store.parameters.map(\.name), mlp.store.parameters.map(\.name))
        // a conditional model keeps the unconditional names (the concatenation is no module)
        let cond = try VAE(config: VAEConfig(architecture: .conv, inputShape: [1, 8, 8], latent: 2, hidden: [8], conditionSize: 3))
        let plain = try VAE(config: VAEConfig(architecture: .conv, inputShape: [1, 8, 8], latent: 2, hidden: [8]))
        XCTAssertEqual(cond.store.parameters.map(\.name), plain.store.parameters.map(\.name))
        XCTAssertEqual(cond.store.parameters.first!.shape, [32, 4, 3, 3])   // 1 image + 3 condition channels
        XCTAssertEqual(cond.decoder.parameters.first!.shape, [64 * 2 * 2, 2 + 3])
        // a learned σ is named after the likelihood
        let learned = try VAE(config: VAEConfig(inputShape: [1, 4, 4], latent: 2, hidden: [8], likelihood: .gaussianLearned))
        XCTAssertEqual(learned.store.parameters.last!.name, "likelihood.log_sigma")
        XCTAssertEqual(learned.store.parameters.last!.shape, [16])
    }

    /// Describing a model allocates nothing: a 4-TB model can be counted.
    func testDescriptionCountsWithoutAllocating() throws {
        let d = try VAE.describe(VAEConfig(architecture: .mlp, inputShape: [1, 4096, 4096], latent: 20, hidden: [65536]))
        XCTAssertEqual(d.parameterCount, 2 * (4096 * 4096 * 65536) + 65536 + 65536 * 40 + 40 + 20 * 65536 + 65536 + 4096 * 4096)
    }

    /// A config's long list of sizes is shortened in its message (100,000 hidden sizes from a
    /// damaged config made a 400 KB error line).
    func testAnInvalidConfigsLongListIsShortenedInItsMessage() throws {
        let config = VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 2, hidden: Array(repeating: 64, count: 100_000))
        XCTAssertThrowsError(try config.validate()) { e in
            XCTAssertEqual((e as? VAEError)?.message, "hidden sizes [64, 64, 64, 64, 64, 64, 64, 64, … (100000 in all)] must be between 1 and 65536 (at most 64 layers)")
        }
    }

    /// Conv stages chosen from the image size: 28 → 7, 32 → 8, 64 → 4.
    func testConvStagesFromTheSize() throws {
        XCTAssertEqual(ConvLayout.stages(height: 28, width: 28), 2)
        XCTAssertEqual(ConvLayout.stages(height: 32, width: 32), 2)
        XCTAssertEqual(ConvLayout.stages(height: 64, width: 64), 4)
        XCTAssertNil(ConvLayout.stages(height: 30, width: 30))
        for (side, map) in [(28, 7), (32, 8), (64, 4)] {
            let vae = try VAE(config: VAEConfig(architecture: .conv, inputShape: [3, side, side], latent: 2, hidden: [8]))
            let flat = vae.encoder.layers.compactMap { $0 as? Dense }.first!
            XCTAssertEqual(flat.inFeatures % (map * map), 0)
            XCTAssertEqual(vae.decoder.outputShape(for: [2]), [3 * side * side])
        }
    }

    /// 0.1 configs (without the newer fields) still decode.
    func testVersion01ConfigDecodes() throws {
        let json = #"{"architecture":"mlp","inputShape":[1,28,28],"latent":20,"hidden":[400],"likelihood":"bernoulli","gaussianSigma":0.1,"beta":1,"warmupEpochs":0}"#
        let c = try JSONDecoder().decode(VAEConfig.self, from: Data(json.utf8))
        XCTAssertEqual(c, VAEConfig())
    }

    /// The whole model's gradient (encoder, decoder, likelihood parameters) against finite
    /// differences of its loss, for a conditional mlp with a mixed table likelihood and a mask,
    /// and for a conditional conv model.
    func testWholeModelGradientsAgainstFiniteDifferences() throws {
        let table = VAEConfig(architecture: .mlp, inputShape: [1, 1, 6], latent: 2, hidden: [5],
                              groups: [FeatureGroup(kind: .gaussianLearned, width: 3), FeatureGroup(kind: .categorical, width: 3)],
                              conditionSize: 2, activation: .tanh)
        let conv = VAEConfig(architecture: .conv, inputShape: [1, 4, 4], latent: 2, hidden: [3], likelihood: .gaussianLearned,
                             conditionSize: 2)
        let hetero = VAEConfig(architecture: .mlp, inputShape: [1, 1, 6], latent: 2, hidden: [5],
                               groups: [FeatureGroup(kind: .gaussianHeteroscedastic, width: 4), FeatureGroup(kind: .categorical, width: 2)],
                               activation: .tanh)
        XCTAssertEqual(try VAE(config: hetero, seed: 1).likelihood.outputWidth, 4 * 2 + 2)
        XCTAssertThrowsError(try VAEConfig(architecture: .conv, inputShape: [1, 4, 4], latent: 2, hidden: [3],
                                           likelihood: .gaussianHeteroscedastic).validate())
        // a stored σ floor must match its group (a hostile config.json is refused, never trapped on)
        var bad = hetero
        bad.groups![0].logSigmaFloor = [-1, -2]
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("2 σ floors for 4"), "\($0)") }
        bad.groups![0].logSigmaFloor = [-1, -2, .nan, 0]
        XCTAssertThrowsError(try bad.validate())
        bad.groups![0].logSigmaFloor = [-1, -2, -3, 0]
        XCTAssertNoThrow(try bad.validate())
        for (config, masked) in [(table, true), (conv, false), (hetero, true)] {
            let vae = try VAE(config: config, seed: 3)
            var rng = RNG(seed: 4)
            let b = 3, d = config.inputSize
            let x = Tensor(shape: [b, d]), eps = Tensor(shape: [b, 2])
            rng.fillUniform(x.pointer, count: x.count, 0, 1)
            if config.groups != nil { for r in 0..<b { for j in 3..<6 { x[r * d + j] = j - 3 == r % 3 ? 1 : 0 } } }
            rng.fillNormal(eps.pointer, count: eps.count)
            let mask: Tensor? = masked ? Tensor(shape: [b, d], data: [1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]) : nil
            if let mask { for i in 0..<x.count where mask[i] == 0 { x[i] = 0 } }
            let batch = Batch(x: x, mask: mask, labels: [0, 1, 1], condition: Batch.oneHot([0, 1, 1], classes: 2))
            for p in vae.store.parameters where p.name.contains("log_sigma") { for i in 0..<p.count { p.value[i] = 0.2 * rng.normal() } }
            vae.store.zeroGrad()
            _ = vae.trainStep(batch, eps: eps, klWeight: 0.7)
            let analytic = Array(UnsafeBufferPointer(start: vae.store.grads.pointer, count: vae.store.count))
            func loss() -> Double { let l = vae.loss(batch, eps: eps); return (l.recon + 0.7 * l.kl) / Double(b) }
            let values = vae.store.values.pointer
            var checked = 0
            for i in Swift.stride(from: 0, to: vae.store.count, by: max(1, vae.store.count / 60)) {
                let v = values[i], h: Float = 1e-2
                values[i] = v + h
                let up = loss()
                values[i] = v - h
                let down = loss()
                values[i] = v
                let fd = (up - down) / Double(2 * h)
                XCTAssertEqual(Double(analytic[i]), fd, accuracy: 5e-3 + 3e-2 * abs(fd), "\(config.architecture) parameter \(i)")
                checked += 1
            }
            XCTAssertGreaterThan(checked, 30)
        }
    }
}
