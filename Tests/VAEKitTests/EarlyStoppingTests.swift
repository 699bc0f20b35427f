import Foundation
import XCTest
@testable import VAECore
@testable import VAEKit

/// Early stopping (`TrainingOptions.validationFraction`, `patience`): a seeded share of the
/// training items held out, scored after every epoch; training stops after `patience` epochs
/// without a better score, the best epoch's weights are the model kept, and a run stopped and
/// resumed (the best weights travel in the checkpoint) ends exactly as one that ran through.
final class EarlyStoppingTests: XCTestCase {
    let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [64])
    var options: TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 60
        o.batchSize = 16
        o.seed = 4
        o.learningRate = 1e-2   // 40 items and a fast rate: it overfits within a few epochs
        o.validationFraction = 0.25
        o.patience = 4
        return o
    }

    func testHoldOutIsSeededAndDisjoint() {
        let (rest, held) = Trainer.holdOut(count: 40, fraction: 0.25, seed: 4)
        XCTAssertEqual(held.count, 10)
        XCTAssertEqual(rest.count, 30)
        XCTAssertEqual(Set(rest + held), Set(0..<40))
        XCTAssertEqual(Trainer.holdOut(count: 40, fraction: 0.25, seed: 4).held, held)
        XCTAssertNotEqual(Trainer.holdOut(count: 40, fraction: 0.25, seed: 5).held, held)
        XCTAssertEqual(Trainer.holdOut(count: 3, fraction: 0.1, seed: 1).held.count, 1)   // at least one
    }

    func testStopsEarlyAndKeepsTheBestEpoch() throws {
        let data = tinyDataset(train: 40, test: 20)
        let dir = tempDir("early")
        let run = try TrainingRun.start(directory: dir, model: config, options: options, data: data)
        XCTAssertEqual(run.trainer.validation?.count, 10)
        XCTAssertEqual(run.trainer.data.train.count, 30)
        XCTAssertEqual(try run.run(), .finished)
        let st = run.trainer.state
        let best = try XCTUnwrap(st.bestEpoch)
        XCTAssertEqual(st.stoppedEarly, true, "60 epochs of 30 items at lr 1e-2 never stopped improving: \(run.metrics.compactMap(\.validation_loss))")
        XCTAssertEqual(run.metrics.count, best + 4, "stopped 4 epochs after the best")
        let scores = run.metrics.compactMap(\.validation_loss)
        XCTAssertEqual(scores.count, run.metrics.count)
        XCTAssertEqual(scores.min(), st.bestValidation)
        XCTAssertEqual(scores[best - 1], st.bestValidation)
        // the model kept is the best epoch's: its validation score is that epoch's, not the last's
        XCTAssertEqual(run.trainer.validationLoss(), st.bestValidation)
        XCTAssertNotEqual(scores.last, st.bestValidation)
        // on disk: the best weights are the model's, and a finished run carries no best.* copy
        let loaded = try Checkpoint.load(dir)
        XCTAssertNil(loaded.bestWeights)
        XCTAssertEqual(loaded.model.store.parameters.map { $0.value.array }, run.model.store.parameters.map { $0.value.array })
        XCTAssertEqual(loaded.state.stoppedEarly, true)
        // a stopped run stays stopped when resumed with more epochs
        let again = try TrainingRun.resume(directory: dir, data: data, epochs: 100)
        XCTAssertTrue(again.trainer.isFinished)
    }

    /// Interrupted mid-run (the best weights in the checkpoint as best.<name>) and resumed: the same
    /// metrics, the same stopping epoch and the same final weights as without the interruption.
    func testResumeWithBestWeightsIsExact() throws {
        let data = tinyDataset(train: 40, test: 20)
        let straight = try TrainingRun.start(directory: tempDir("es-straight"), model: config, options: options, data: data)
        _ = try straight.run()
        let dir = tempDir("es-resumed")
        let run = try TrainingRun.start(directory: dir, model: config, options: options, data: data)
        var epochs = 0
        let outcome = try run.run(shouldStop: { epochs >= 3 }, events: { if case .epochEnd = $0 { epochs += 1 } })
        XCTAssertEqual(outcome, .interrupted)
        let saved = try Checkpoint.load(dir)
        let best = try XCTUnwrap(saved.bestWeights, "an unfinished early-stopping run keeps its best weights")
        XCTAssertEqual(best.count, saved.model.store.count)
        let resumed = try TrainingRun.resume(directory: dir, data: data)
        _ = try resumed.run()
        XCTAssertEqual(resumed.metrics.map(\.validation_loss), straight.metrics.map(\.validation_loss))
        XCTAssertEqual(resumed.trainer.state.bestEpoch, straight.trainer.state.bestEpoch)
        XCTAssertEqual(resumed.model.store.parameters.map { $0.value.array }, straight.model.store.parameters.map { $0.value.array })
    }

    func testBadSettingsAreRefused() throws {
        var o = options
        o.validationFraction = 0.9
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("validation share 0.9"), "\($0)") }
        o.validationFraction = nil
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("patience needs a validation share"), "\($0)") }
        o.patience = nil
        o.validationFraction = 0.5
        // one training item cannot be split
        XCTAssertThrowsError(try Trainer(model: try Models.make(config), data: tinyDataset(train: 1, test: 2), options: o)) {
            XCTAssertTrue("\($0)".contains("too few to hold out"), "\($0)")
        }
    }
}

/// A table column's smallest σ: the larger of its recording step's, log(step/√12), and
/// log(1/√n) for n training rows.
final class ResolutionFloorTests: XCTestCase {
    func testFloorIsTheCoarserOfStepAndRowCount() {
        // 100 rows of 2 columns: the first only 0 or 1 (step 1), the second in steps of 1/255
        var px = [UInt8]()
        for i in 0..<100 { px += [i % 2 == 0 ? 0 : 255, UInt8((i * 37) % 256)] }
        let rows = ImageSet(images: px, labels: [UInt8](repeating: 0, count: 100), count: 100, channels: 1, height: 1, width: 2)
        let floors = TableData.resolutionFloors([FeatureGroup(kind: .gaussianHeteroscedastic, width: 2)], train: rows)[0].logSigmaFloor!
        XCTAssertEqual(Double(floors[0]), Foundation.log(1 / 12.0.squareRoot()), accuracy: 1e-5)   // the step wins
        XCTAssertEqual(Double(floors[1]), -0.5 * Foundation.log(100.0), accuracy: 1e-5)           // 1/√n wins
        // other kinds of groups get no floor
        XCTAssertNil(TableData.resolutionFloors([FeatureGroup(kind: .gaussianLearned, width: 2)], train: rows)[0].logSigmaFloor)
    }
}
