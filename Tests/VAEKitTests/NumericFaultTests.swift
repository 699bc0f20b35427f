import Foundation
import XCTest
@testable import VAECore
@testable import VAEKit

/// log σ² is where exp can overflow: exp(log σ²) is +inf in Float32 from log σ² ≈ 88.7 on. That must
/// never be silent: the loss becomes non-finite and training stops, naming the epoch and batch,
/// before the update — the weights and the checkpoint on disk stay the last good ones.
final class NumericFaultTests: XCTestCase {
    let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16])

    func testEnormousLogVarianceIsNotSilent() {
        XCTAssertEqual(VAEMath.klDivergence(mu: [0], logvar: [200]), .infinity)
        XCTAssertFalse(VAEMath.klDivergence(mu: [0, 0], logvar: [1000, 0]).isFinite)
        // A sample drawn with σ = inf is not finite either; nothing turns it into a plausible number.
        XCTAssertFalse(VAEMath.reparameterize(mu: [0], logvar: [200], eps: [0.5])[0].isFinite)
        // Very negative log σ² is harmless: σ² underflows to 0 and the KL stays finite.
        XCTAssertTrue(VAEMath.klDivergence(mu: [0], logvar: [-200]).isFinite)
    }

    func testEnormousLogVarianceStopsTrainingWithEpochAndBatch() throws {
        let data = tinyDataset()
        var options = TrainingOptions()
        options.epochs = 2
        options.batchSize = 32
        let dir = tempDir("logvar")
        let run = try TrainingRun.start(directory: dir, model: config, options: options, data: data)
        let saved = try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 24)
        // The encoder's last layer outputs [μ | log σ²]: push the log σ² half to 200 through its bias.
        let bias = try XCTUnwrap(run.model.store.parameter(named: "encoder.3.bias"))
        XCTAssertEqual(bias.count, 2 * config.latent)
        for j in config.latent..<(2 * config.latent) { bias.value.pointer[j] = 200 }
        let weights = run.model.store.parameters.map { $0.value.array }
        XCTAssertThrowsError(try run.run()) { error in
            let message = "\(error)"
            XCTAssertTrue(error is VAEError, message)
            XCTAssertTrue(message.contains("training diverged at epoch 1, batch 1 of"), message)
            XCTAssertTrue(message.contains("not finite"), message)
            XCTAssertTrue(message.contains("the last good checkpoint is kept"), message)
        }
        // a NaN whose sign bit is set (as 0·inf − inf gives) printed "-nan"
        XCTAssertEqual(Trainer.shownLoss(-Double.nan), "nan")
        XCTAssertEqual(Trainer.shownLoss(-Double.infinity), "-inf")
        // Stopped before the update: the weights are untouched, and so is the checkpoint.
        XCTAssertEqual(run.model.store.parameters.map { $0.value.array }, weights)
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 24), saved)
        XCTAssertNoThrow(try Checkpoint.load(dir))
    }

    func testLargeButFiniteLogVarianceTrains() throws {
        // log σ² = 60: σ² ≈ 1e26 is finite in Float32; the loss is huge but finite, no false alarm.
        XCTAssertTrue(VAEMath.klDivergence(mu: [0], logvar: [60]).isFinite)
        var options = TrainingOptions()
        options.epochs = 1
        options.batchSize = 32
        let run = try TrainingRun.start(directory: tempDir("logvar60"), model: config, options: options, data: tinyDataset())
        let bias = try XCTUnwrap(run.model.store.parameter(named: "encoder.3.bias"))
        for j in config.latent..<(2 * config.latent) { bias.value.pointer[j] = 60 }
        // the loss stays finite (no alarm on it), but the KL's gradient, ½(σ² − 1) ≈ 5e25, squares past
        // Float32 in Adam's second moment: a checkpoint of it is one every command refuses as
        // damaged, so the run stops as diverged before saving it (it finished and saved it)
        XCTAssertThrowsError(try run.run()) { e in
            XCTAssertTrue("\(e)".contains("training diverged by epoch 1: the model's Adam's second moments are no longer finite numbers, though the loss was"), "\(e)")
        }
        let m = try XCTUnwrap(run.metrics.last)
        XCTAssertTrue(m.train_loss.isFinite && m.train_loss > 1e20, "\(m.train_loss)")   // the KL of σ² ≈ 1e26, finite
    }

    /// A checkpoint holds what JSON has no number for (a validation score that overflowed, +∞ or
    /// NaN) as metrics.jsonl does; the save trapped on it (try! on the encoder).
    func testNonFiniteValidationScoreIsSavedAndReadBack() throws {
        for v in [Double.infinity, .nan] {
            let dir = tempDir("nonfinite")
            var state = TrainingState()
            state.bestValidation = v
            state.bestEpoch = 1
            try Checkpoint.save(model: try VAE(config: config, seed: 1), optimizer: nil, options: TrainingOptions(), state: state, data: nil, to: dir)
            let back = try XCTUnwrap(try Checkpoint.load(dir).state.bestValidation)
            XCTAssertTrue(v.isNaN ? back.isNaN : back == v, "\(back)")
        }
    }

    func testCheckpointWithInfiniteWeightsIsRefused() throws {
        let dir = tempDir("infw")
        let model = try VAE(config: config, seed: 1)
        model.store.parameters[0].value.pointer[0] = .infinity
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: TrainingState(), data: nil, to: dir)
        XCTAssertThrowsError(try Checkpoint.load(dir)) { error in
            XCTAssertTrue("\(error)".contains("holds NaN or infinite values"), "\(error)")
        }
    }
}
