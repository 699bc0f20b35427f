import XCTest
@testable import VAEKit
@testable import VAECore

/// Training with Adam fused into the backward pass (the default without clipping) gives the
/// same weights, bit for bit, as zeroing the gradients, a backward pass and a separate Adam pass
/// (what runs with clipping; a clip norm no gradient reaches changes nothing).
final class FusedAdamTrainingTests: XCTestCase {
    func testFusedTrainingMatchesSeparateAdamPass() throws {
        XCTAssertTrue(Trainer.fusedAdam, "VAE_FUSED_ADAM=0 is set: the fused path is not under test")
        let data = tinyDataset(train: 96, test: 16, side: 8)
        for (arch, hidden) in [(VAEConfig.Architecture.mlp, [24]), (.conv, [16])] {
            let config = VAEConfig(architecture: arch, inputShape: [1, 8, 8], latent: 3, hidden: hidden)
            var weights: [[Float]] = []
            for clip in [nil, 1e30] as [Double?] {
                var o = TrainingOptions()
                o.epochs = 2
                o.batchSize = 20
                o.seed = 4
                o.weightDecay = 1e-3
                o.clipNorm = clip
                let vae = try VAE(config: config, seed: 2)
                let trainer = try Trainer(model: vae, data: data, options: o)
                while !trainer.isFinished { _ = try trainer.runEpoch() }
                XCTAssertEqual(trainer.optimizer.step, 10)
                weights.append(Array(UnsafeBufferPointer(start: vae.store.values.pointer, count: vae.store.count))
                               + Array(UnsafeBufferPointer(start: trainer.optimizer.m.pointer, count: vae.store.count)))
            }
            XCTAssertTrue(weights[0] == weights[1], "\(arch): fused and separate Adam differ")
        }
    }
}
