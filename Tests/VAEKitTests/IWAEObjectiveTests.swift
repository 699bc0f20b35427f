import Foundation
import XCTest
@testable import VAECore
@testable import VAEKit

/// The IWAE training objective: its gradient against finite differences (mlp and conv, masks,
/// conditioning, a likelihood with parameters), K = 1 against the ELBO with the sampled KL, and
/// training with it (the learning-rate schedule and Adam ε stored so that resuming is exact).
final class IWAEObjectiveTests: XCTestCase {
    struct Case {
        var name: String
        var config: VAEConfig
        var masked: Bool
        var k: Int
    }

    static let cases: [Case] = [
        Case(name: "mlp bernoulli masked conditional", config: VAEConfig(architecture: .mlp, inputShape: [1, 1, 6], latent: 2, hidden: [5, 4],
                                                                     conditionSize: 2, activation: .tanh), masked: true, k: 3),
        Case(name: "mlp table learned σ", config: VAEConfig(architecture: .mlp, inputShape: [1, 1, 6], latent: 2, hidden: [5],
                                                             groups: [FeatureGroup(kind: .gaussianLearned, width: 3), FeatureGroup(kind: .categorical, width: 3)],
                                                             conditionSize: 2), masked: true, k: 4),
        Case(name: "conv bernoulli conditional", config: VAEConfig(architecture: .conv, inputShape: [1, 4, 4], latent: 2, hidden: [3], conditionSize: 2),
             masked: false, k: 3),
        Case(name: "conv gaussian", config: VAEConfig(architecture: .conv, inputShape: [1, 4, 4], latent: 2, hidden: [3], likelihood: .gaussian,
                                                      gaussianSigma: 0.5), masked: false, k: 2),
    ]

    /// x in [0, 1] (one-hot in a table's categorical columns), an optional mask, labels 0, 1, 1.
    func makeBatch(_ config: VAEConfig, masked: Bool, rng: inout RNG) -> Batch {
        let b = 3, d = config.inputSize
        let x = Tensor(shape: [b, d])
        rng.fillUniform(x.pointer, count: x.count, 0, 1)
        if config.groups != nil { for r in 0..<b { for j in 3..<6 { x[r * d + j] = j - 3 == r % 3 ? 1 : 0 } } }
        var mask: Tensor?
        if masked {
            let m = Tensor(shape: [b, d])
            for i in 0..<m.count { m[i] = i % 5 == 1 ? 0 : 1 }
            for i in 0..<x.count where m[i] == 0 { x[i] = 0 }
            mask = m
        }
        let labels: [Int32] = [0, 1, 1]
        return Batch(x: x, mask: mask, labels: labels,
                     condition: config.conditionSize > 0 ? Batch.oneHot(labels, classes: config.conditionSize) : nil)
    }

    func testGradientsAgainstFiniteDifferences() throws {
        for c in Self.cases {
            let vae = try VAE(config: c.config, seed: 5)
            var rng = RNG(seed: 6)
            let batch = makeBatch(c.config, masked: c.masked, rng: &rng)
            for p in vae.store.parameters where p.name.contains("log_sigma") { for i in 0..<p.count { p.value[i] = 0.2 * rng.normal() } }
            let b = batch.count
            let eps = Tensor(shape: [b, c.k * vae.latent])
            rng.fillNormal(eps.pointer, count: eps.count)
            let objective = IWAEObjective(model: vae, samples: c.k)
            vae.store.zeroGrad()
            let l = objective.trainStep(batch, eps: eps)
            let analytic = Array(UnsafeBufferPointer(start: vae.store.grads.pointer, count: vae.store.count))
            func loss() -> Double { objective.negativeBound(batch, eps: eps).reduce(0, +) / Double(b) }
            XCTAssertEqual((l.recon + l.kl) / Double(b), loss(), accuracy: 1e-9, c.name)
            let values = vae.store.values.pointer
            var checked = 0, nonzero = 0
            for i in Swift.stride(from: 0, to: vae.store.count, by: max(1, vae.store.count / 80)) {
                let v = values[i], h: Float = 1e-2
                values[i] = v + h
                let up = loss()
                values[i] = v - h
                let down = loss()
                values[i] = v
                let fd = (up - down) / Double(2 * h)
                XCTAssertEqual(Double(analytic[i]), fd, accuracy: 5e-3 + 3e-2 * abs(fd), "\(c.name): parameter \(i) (\(vae.store.count))")
                checked += 1
                if abs(fd) > 1e-5 { nonzero += 1 }
            }
            XCTAssertGreaterThan(checked, 30, c.name)
            XCTAssertGreaterThan(nonzero, 10, "\(c.name): the check needs non-zero gradients")
        }
    }

    /// K = 1: −L₁ = −log p(x|z) + log q(z|x) − log p(z) at z = μ + σε (the ELBO with the sampled
    /// KL), and the decoder's gradient is the ELBO's (the KL term does not reach the decoder).
    func testOneSampleIsTheELBOWithTheSampledKL() throws {
        for c in Self.cases {
            let vae = try VAE(config: c.config, seed: 7)
            var rng = RNG(seed: 8)
            let batch = makeBatch(c.config, masked: c.masked, rng: &rng)
            let b = batch.count, kz = vae.latent
            let eps = Tensor(shape: [b, kz])
            rng.fillNormal(eps.pointer, count: eps.count)
            let got = IWAEObjective(model: vae, samples: 1).negativeBound(batch, eps: eps)
            let recon = vae.perExampleLoss(vae.conditioned(batch), eps: eps).recon
            let (mu, lv) = vae.encode(batch.x, condition: batch.condition)
            for i in 0..<b {
                // log q − log p = Σ −½ε² − ½ log σ² + ½z²
                var klSample = 0.0
                for t in 0..<kz {
                    let m = Double(mu[i * kz + t]), v = Double(lv[i * kz + t]), e = Double(eps[i * kz + t])
                    let z = m + Foundation.exp(0.5 * v) * e
                    klSample += -0.5 * e * e - 0.5 * v + 0.5 * z * z
                }
                XCTAssertEqual(got[i], recon[i] + klSample, accuracy: 1e-4 * abs(got[i]) + 1e-5, "\(c.name) image \(i)")
            }
            // decoder gradients: IWAE (K = 1) == ELBO
            vae.store.zeroGrad()
            IWAEObjective(model: vae, samples: 1).trainStep(batch, eps: eps)
            let iwaeGrads = vae.decoder.parameters.map { $0.grad.array }
            vae.store.zeroGrad()
            _ = vae.trainStep(vae.conditioned(batch), eps: eps, klWeight: 1)
            let elboGrads = vae.decoder.parameters.map { $0.grad.array }
            for (a, e) in zip(iwaeGrads, elboGrads) { assertClose(a, e.map(Double.init), rel: 1e-5, abs: 1e-7, "\(c.name) decoder grad") }
        }
    }

    /// The bound is invariant to the order of the samples and never below the mean of the K
    /// single-sample bounds (Jensen): log mean w ≥ mean log w.
    func testBoundIsAtLeastTheMeanSingleSampleBound() throws {
        let config = VAEConfig(architecture: .mlp, inputShape: [1, 1, 6], latent: 2, hidden: [5])
        let vae = try VAE(config: config, seed: 9)
        var rng = RNG(seed: 10)
        let batch = makeBatch(config, masked: false, rng: &rng)
        let k = 5, kz = 2, b = batch.count
        let eps = Tensor(shape: [b, k * kz])
        rng.fillNormal(eps.pointer, count: eps.count)
        let lk = IWAEObjective(model: vae, samples: k).negativeBound(batch, eps: eps)
        var mean = [Double](repeating: 0, count: b)
        let one = IWAEObjective(model: vae, samples: 1)
        for j in 0..<k {
            let e = Tensor(shape: [b, kz])
            for i in 0..<b { for t in 0..<kz { e[i * kz + t] = eps[i * k * kz + j * kz + t] } }
            let l1 = one.negativeBound(batch, eps: e)
            for i in 0..<b { mean[i] += l1[i] / Double(k) }
        }
        for i in 0..<b { XCTAssertLessThan(lk[i], mean[i] - 1e-6, "image \(i)") }
    }

    /// The training objective and the evaluator's IWAE estimate agree on the same noise
    /// (masks and conditions included).
    func testTrainingBoundEqualsTheEvaluatorsEstimate() throws {
        for c in Self.cases {
            let vae = try VAE(config: c.config, seed: 13)
            var rng = RNG(seed: 14)
            let batch = vae.conditioned(makeBatch(c.config, masked: c.masked, rng: &rng))
            let b = batch.count, kz = vae.latent, k = 6
            let eps = Tensor(shape: [b, k * kz])
            rng.fillNormal(eps.pointer, count: eps.count)
            let got = IWAEObjective(model: vae, samples: k).negativeBound(batch, eps: eps)
            var r = RNG(seed: 0)
            let expected = try Evaluator.iwae(vae, batch, k: k, chunk: 4, rng: &r) { image, j, e in
                for t in 0..<kz { e[t] = eps[(image * k + j) * kz + t] }
            }
            for i in 0..<b { XCTAssertEqual(got[i], expected[i], accuracy: 1e-4 * abs(expected[i]) + 1e-5, "\(c.name) image \(i)") }
        }
    }

    var iwaeOptions: TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 4
        o.batchSize = 32
        o.seed = 12
        o.objective = .iwae
        o.samples = 3
        o.adamEpsilon = 1e-4
        o.learningRateSchedule = LearningRateSchedule(epochs: [1, 2], factors: [1, 0.1])
        return o
    }

    /// IWAE training lowers its loss, records K and the scheduled learning rate per epoch, and
    /// 2 + 2 resumed epochs equal 4 straight ones bit for bit (schedule, Adam ε and K restored).
    func testTrainingWithScheduleResumesExactly() throws {
        let data = tinyDataset()
        let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16], activation: .tanh)
        let straight = try TrainingRun.start(directory: tempDir("iwae-straight"), model: config, options: iwaeOptions, data: data)
        XCTAssertEqual(straight.trainer.optimizer.epsilon, 1e-4)
        _ = try straight.run()
        XCTAssertEqual(straight.metrics.map { $0.learning_rate }, [1e-3, 1e-4, 1e-4, 1e-4])
        XCTAssertEqual(straight.metrics.map { $0.train_iwae_k }, [3, 3, 3, 3])
        XCTAssertLessThan(straight.metrics.last!.train_loss, straight.metrics.first!.train_loss)

        let dir = tempDir("iwae-resumed")
        var two = iwaeOptions
        two.epochs = 2
        _ = try TrainingRun.start(directory: dir, model: config, options: two, data: data).run()
        let resumed = try TrainingRun.resume(directory: dir, data: data, epochs: 4)
        XCTAssertEqual(resumed.trainer.options.learningRateSchedule, iwaeOptions.learningRateSchedule)
        XCTAssertEqual(resumed.trainer.optimizer.epsilon, 1e-4)
        _ = try resumed.run()
        XCTAssertEqual(straight.model.store.parameters.map { $0.value.array }, resumed.model.store.parameters.map { $0.value.array })
        XCTAssertEqual(straight.metrics.map { $0.train_loss }, resumed.metrics.map { $0.train_loss })
    }

    func testBurdaScheduleAndOldOptionsDecode() throws {
        let s = LearningRateSchedule.burda2015
        XCTAssertEqual(s.epochs, [1, 3, 9, 27, 81, 243, 729, 2187])
        XCTAssertEqual(s.totalEpochs, 3280)
        XCTAssertEqual(s.factor(epoch: 1), 1)
        XCTAssertEqual(s.factor(epoch: 2), pow(10, -1.0 / 7), accuracy: 1e-15)
        XCTAssertEqual(s.factor(epoch: 4), pow(10, -1.0 / 7), accuracy: 1e-15)
        XCTAssertEqual(s.factor(epoch: 5), pow(10, -2.0 / 7), accuracy: 1e-15)
        // stage ends: 1, 4, 13, 40, 121, 364, 1093, 3280
        XCTAssertEqual(s.factor(epoch: 1093), pow(10, -6.0 / 7), accuracy: 1e-15)
        XCTAssertEqual(s.factor(epoch: 1094), pow(10, -7.0 / 7), accuracy: 1e-15)
        XCTAssertEqual(s.factor(epoch: 3280), pow(10, -7.0 / 7), accuracy: 1e-15)
        XCTAssertEqual(s.factor(epoch: 5000), 0.1, accuracy: 1e-15)
        // options written before these fields existed
        let old = #"{"epochs":3,"batchSize":20,"learningRate":0.001,"seed":1,"binarize":true,"weightDecay":0}"#
        let o = try JSONDecoder().decode(TrainingOptions.self, from: Data(old.utf8))
        XCTAssertEqual(o.trainingObjective, .elbo)
        XCTAssertEqual(o.importanceSamples, 1)
        XCTAssertEqual(o.adamEpsilonValue, 1e-8)
        XCTAssertEqual(o.learningRate(epoch: 3), 0.001)
        var bad = TrainingOptions()
        bad.samples = 5
        XCTAssertThrowsError(try bad.validate())   // --k without --objective iwae
        bad.objective = .iwae
        XCTAssertNoThrow(try bad.validate())
        bad.adamEpsilon = -1
        XCTAssertThrowsError(try bad.validate())
    }
}
