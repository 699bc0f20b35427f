import XCTest
@testable import VAEKit
import VAECore

/// Data a model cannot read is a thrown `VAEError` naming what does not fit — from the trainer,
/// `Evaluator` and `Analysis` — not a trap in a layer or a number without meaning (a library
/// user's walk-through met each of these as a crash or a silent wrong number).
final class ReadableDataTests: XCTestCase {
    /// Rows of floats as they are (no scaling to [0, 1]).
    struct Rows: DataSource {
        let rows: [[Float]]
        var labels: [Int] = []
        var count: Int { rows.count }
        var itemShape: [Int] { [1, 1, rows.first?.count ?? 0] }
        var hasLabels: Bool { !labels.isEmpty }
        func label(_ i: Int) -> Int { labels[i] }
        func itemID(_ i: Int) -> String { String(i + 1) }
        var hasMissing: Bool { false }
        func fill(_ indices: UnsafeBufferPointer<Int32>, x: Tensor, mask: Tensor?, binarize: Bool, rng: inout RNG) {
            let d = featureCount
            for (r, i) in indices.enumerated() { for j in 0..<d { x.pointer[r * d + j] = rows[Int(i)][j] } }
            mask?.fill(1)
        }
        func subset(_ indices: [Int]) -> any DataSource {
            Rows(rows: indices.map { rows[$0] }, labels: labels.isEmpty ? [] : indices.map { labels[$0] })
        }
        func binarized(seed: UInt64) -> any DataSource { self }
    }

    func assertThrows(_ says: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(says), "\(error)", file: file, line: line)
        }
    }

    func rows(_ n: Int, width: Int, scale: Float = 1, labels: [Int] = []) -> Rows {
        var rng = RNG(seed: 3)
        return Rows(rows: (0..<n).map { _ in (0..<width).map { _ in Float(rng.uniform()) * scale } }, labels: labels)
    }

    /// An item's anomaly score is the item's, not its place's: the same seed scores a row the same
    /// in the whole set, alone, or at another position (one shared noise stream gave a row a
    /// different score in every file; a tables user's walk-through: 0 of 114 rows matched).
    func testAnItemScoresTheSameWhereverItStands() throws {
        let model = try VAE(config: VAEConfig(inputShape: [1, 1, 6], latent: 3, hidden: [8]), seed: 1)
        let set = rows(40, width: 6)
        let alone = Rows(rows: [set.rows[17]]), moved = Rows(rows: [set.rows[3], set.rows[17], set.rows[3]])
        for samples in [1, 4] {
            var r1 = RNG(seed: 9), r2 = RNG(seed: 9), r3 = RNG(seed: 9)
            let all = try Analysis.anomalyScores(model, set, samples: samples, batch: 16, rng: &r1)
            XCTAssertEqual(try Analysis.anomalyScores(model, alone, samples: samples, rng: &r2), [all[17]])
            XCTAssertEqual(try Analysis.anomalyScores(model, moved, samples: samples, rng: &r3), [all[3], all[17], all[3]])
        }
        var r1 = RNG(seed: 9), r2 = RNG(seed: 9)
        let iw = try Analysis.iwaeScores(model, set, k: 5, batch: 7, rng: &r1)
        XCTAssertEqual(try Analysis.iwaeScores(model, moved, k: 5, rng: &r2), [iw[3], iw[17], iw[3]])
        // another seed draws other noise
        var r4 = RNG(seed: 10), r5 = RNG(seed: 9)
        XCTAssertNotEqual(try Analysis.anomalyScores(model, alone, rng: &r4), try Analysis.anomalyScores(model, alone, rng: &r5))
    }

    func testAnotherShapeThrows() throws {
        let model = try VAE(config: VAEConfig(inputShape: [1, 1, 6], latent: 2, hidden: [8]), seed: 1)
        let other = rows(5, width: 4)
        var rng = RNG(seed: 1)
        let says = "holds items of 1×1×4, and the model reads 1×1×6"
        assertThrows(says) { _ = try Evaluator.elbo(model, other, rng: &rng) }
        assertThrows(says) { _ = try Evaluator.activeUnits(model, other) }
        assertThrows(says) { _ = try Evaluator.iwae(model, other, k: 2, batch: 10, rng: &rng) }
        assertThrows(says) { _ = try Analysis.latentMeans(model, other) }
        assertThrows(says) { _ = try Analysis.anomalyScores(model, other, rng: &rng) }
        assertThrows(says) { _ = try Analysis.iwaeScores(model, other, k: 2, rng: &rng) }
        assertThrows("the batch is 2×4, and the model reads rows of 6 values") {
            _ = try Evaluator.iwae(model, x: Tensor(shape: [2, 4]), k: 2, rng: &rng)
        }
        // the data of the right shape reads
        XCTAssertEqual(try Evaluator.elbo(model, rows(5, width: 6), rng: &rng).count, 5)
    }

    func testConditionalModelNeedsLabelsInItsRange() throws {
        let model = try VAE(config: VAEConfig(inputShape: [1, 1, 6], latent: 2, hidden: [8], conditionSize: 3), seed: 1)
        var rng = RNG(seed: 1)
        assertThrows("has no labels, and the model is conditional") { _ = try Analysis.latentMeans(model, rows(4, width: 6)) }
        assertThrows("item 3 has label 7, but the conditional model was built for classes 0…2") {
            _ = try Evaluator.elbo(model, rows(4, width: 6, labels: [0, 1, 7, 2]), rng: &rng)
        }
        assertThrows("item 2 has no label, and the model is conditional") {   // -1: a table row's empty label cell
            _ = try Analysis.latentMeans(model, rows(4, width: 6, labels: [0, -1, 1, 2]))
        }
        let x = Tensor(shape: [2, 6])
        assertThrows("the batch has no labels") { _ = try Evaluator.iwae(model, x: x, k: 2, rng: &rng) }
        assertThrows("the batch holds label 9") { _ = try Evaluator.iwae(model, Batch(x: x, labels: [1, 9]), k: 2, rng: &rng) }
        XCTAssertEqual(try Evaluator.iwae(model, Batch(x: x, labels: [1, 2]), k: 2, rng: &rng).count, 2)
        // sampling under a class the model does not have (it was an all-zero condition)
        assertThrows("class 7 is not one of the model's classes 0…2") { _ = try Analysis.sample(model, classes: [7], perClass: 2, rng: &rng) }
        XCTAssertEqual(try Analysis.sample(model, classes: [2], perClass: 2, rng: &rng).shape, [2, 6])
        let plain = try VAE(config: VAEConfig(inputShape: [1, 1, 6], latent: 2, hidden: [8]), seed: 1)
        assertThrows("the model is not conditional") { _ = try Analysis.sample(plain, classes: [0], perClass: 2, rng: &rng) }
    }

    func sequenceModel(vocabulary extra: [String], maxLength: Int = 5) throws -> SequenceVAE {
        let seq = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + extra, maxLength: maxLength,
                                 encoderHidden: 5, encoderLayers: 1, decoderHidden: 4, decoderLayers: 1)
        return try SequenceVAE(config: VAEConfig(sequence: seq, latent: 2), seed: 1)
    }

    func testSequenceModelReadsOnlyItsTokens() throws {
        let model = try sequenceModel(vocabulary: ["a"])
        var rng = RNG(seed: 1)
        // pixels are no token sequence (it scored them as tokens: a plausible-looking 608 nats)
        assertThrows("not token sequences, and this is a sequence model") { _ = try Evaluator.elbo(model, rows(3, width: 7), rng: &rng) }
        // a token id past the vocabulary (another vocabulary's ids) trapped in the GRU
        let v = UInt16(Vocabulary.specials.count)
        let past = SequenceSource(ids: [v, v + 3, v], starts: [0, 2, 3], lines: [4, 9], maxLength: 5)
        assertThrows("item 4 holds a token id past the model's vocabulary of 5") { _ = try Analysis.latentMeans(model, past) }
        let data = Dataset(name: "t", directory: "t", train: past, test: past, classNames: [])
        assertThrows("training item 4 holds a token id past the model's vocabulary") {
            _ = try Trainer(model: model, data: data, options: TrainingOptions())
        }
        assertThrows("holds items of up to 3 tokens, and the model reads 5") {
            _ = try Evaluator.elbo(model, SequenceSource(ids: [v], starts: [0, 1], lines: [1], maxLength: 3), rng: &rng)
        }
        assertThrows("no token id of the model's vocabulary of 5") {
            _ = try Evaluator.iwae(model, x: Tensor(shape: [1, 7], data: [0, 4, 9, 1, 2, 2, 2]), k: 2, rng: &rng)
        }
        let fine = SequenceSource(ids: [v, v, v], starts: [0, 2, 3], lines: [1, 2], maxLength: 5)
        XCTAssertEqual(try Evaluator.elbo(model, fine, rng: &rng).count, 2)
        // and an image model given token sequences
        let mlp = try VAE(config: VAEConfig(inputShape: [1, 1, 7], latent: 2, hidden: [8]), seed: 1)
        assertThrows("holds token sequences, and this is a mlp model") { _ = try Evaluator.elbo(mlp, fine, rng: &rng) }
    }

    /// Options a run could be saved with but never loaded again (its metadata refused), and a
    /// test loss of no items, are refused when training starts.
    func testOptionsThatCouldNotBeLoadedAgainAreRefused() {
        for (c, says) in [(Corruption.gaussian(.nan), "the noise level in corruption gaussian:nan must be a finite number ≥ 0"),
                          (.gaussian(-1), "must be a finite number ≥ 0"), (.mask(5), "the probability in corruption mask:5.0 must be between 0 and 1"),
                          (.saltPepper(-2), "must be between 0 and 1"), (.box(.infinity), "must be between 0 and 1")] {
            var o = TrainingOptions()
            o.corrupt = c
            assertThrows(says) { try o.validate() }
        }
        for t in [0, -5] {
            var o = TrainingOptions()
            o.testLimit = t
            assertThrows("the test limit \(t) must be at least 1") { try o.validate() }
        }
        var fine = TrainingOptions()
        fine.corrupt = .mask(0.5)
        fine.testLimit = 1
        XCTAssertNoThrow(try fine.validate())
    }

    /// An image likelihood models values in [0, 1]: a standardised table or 0…255 pixels trained
    /// to a loss of −463 nats or 3·10¹⁷ without a word.
    func testImageLikelihoodTrainsOnlyOnValuesInZeroOne() throws {
        let config = VAEConfig(inputShape: [1, 1, 6], latent: 2, hidden: [8])
        for (data, says) in [(rows(20, width: 6, scale: 255), "has 1"), (Rows(rows: [[0, 0, 0, -0.5, 0, 0]] + rows(9, width: 6).rows), "item 1 of d has -0.5 at value 4 of 6"),
                             (Rows(rows: rows(9, width: 6).rows + [[0, .nan, 0, 0, 0, 0]]), "item 10 of d has nan at value 2 of 6")] {
            let d = Dataset(name: "d", directory: "d", train: data, test: data, classNames: [])
            assertThrows(says) { _ = try Trainer(model: try Models.make(config, seed: 1), data: d, options: TrainingOptions()) }
            assertThrows("the bernoulli likelihood models values in [0, 1]") {
                _ = try Trainer(model: try Models.make(config, seed: 1), data: d, options: TrainingOptions())
            }
            // a table's groups say what each column is: a Gaussian group takes any number
            var grouped = config
            grouped.groups = [FeatureGroup(kind: .gaussianLearned, width: 6)]
            if says.contains("nan") {
                // a Gaussian group takes any number, but no NaN: the trainer's loss would be NaN at once
                XCTAssertThrowsError(try Trainer(model: try Models.make(grouped, seed: 1), data: d, options: TrainingOptions()))
            } else {
                XCTAssertNoThrow(try Trainer(model: try Models.make(grouped, seed: 1), data: d, options: TrainingOptions()))
            }
        }
        let fine = rows(20, width: 6)
        XCTAssertNoThrow(try Trainer(model: try Models.make(config, seed: 1), data: Dataset(name: "d", directory: "d", train: fine, test: fine, classNames: []),
                                     options: TrainingOptions()))
        // a NaN in the test split: every epoch's test loss was inf, and training "finished"
        let nanTest = Rows(rows: rows(4, width: 6).rows + [[0, 0, .nan, 0, 0, 0]])
        assertThrows("test item 5 of d has nan at value 3 of 6") {
            _ = try Trainer(model: try Models.make(config, seed: 1), data: Dataset(name: "d", directory: "d", train: fine, test: nanTest, classNames: []),
                            options: TrainingOptions())
        }
    }

    /// Evaluation reads what training reads, and says so when it cannot (a library user's
    /// walk-through: pixels × 7 gave a negative −ELBO and scores of ±4,000 without a word; a mask or
    /// an input of another shape than x trapped in a tensor's rows, or was read past its end; a
    /// condition given to an unconditional model was ignored; the ELBO of no items read 0 nats).
    func testEvaluationRefusesWhatItCannotRead() throws {
        let model = try VAE(config: VAEConfig(inputShape: [1, 1, 6], latent: 2, hidden: [8]), seed: 1)
        var rng = RNG(seed: 1)
        let big = rows(5, width: 6, scale: 7)
        assertThrows("the data item ") { _ = try Evaluator.elbo(model, big, rng: &rng) }
        assertThrows("the bernoulli likelihood models values in [0, 1]") { _ = try Analysis.anomalyScores(model, big, rng: &rng) }
        assertThrows("the bernoulli likelihood models values in [0, 1]") { _ = try Evaluator.iwae(model, big, k: 2, batch: 10, rng: &rng) }
        let x = Tensor(shape: [4, 6], data: (0..<24).map { Float($0 % 5) / 5 })
        assertThrows("the batch's item 0 has 7.0 at value 1 of 6") {
            _ = try Evaluator.iwae(model, Batch(x: Tensor(shape: [4, 6], data: [7] + [Float](repeating: 0.5, count: 23))), k: 2, rng: &rng)
        }
        assertThrows("the batch's mask is 1×6, and its x 4×6") { _ = try Evaluator.iwae(model, Batch(x: x, mask: Tensor(shape: [1, 6])), k: 2, rng: &rng) }
        assertThrows("the batch's input is 4×10, and its x 4×6") { _ = try Evaluator.iwae(model, Batch(x: x, input: Tensor(shape: [4, 10])), k: 2, rng: &rng) }
        assertThrows("the batch has a condition, and the model is not conditional") {
            _ = try Evaluator.iwae(model, Batch(x: x, condition: Tensor(shape: [4, 3])), k: 2, rng: &rng)
        }
        assertThrows("one dimension: give it as [items, values]") { _ = try Evaluator.iwae(model, Batch(x: Tensor(shape: [6])), k: 2, rng: &rng) }
        // a masked-out entry may hold anything (a table's missing cell)
        var masked = [Float](repeating: 1, count: 24)
        masked[0] = 0
        XCTAssertNoThrow(try Evaluator.iwae(model, Batch(x: Tensor(shape: [4, 6], data: [7] + x.array.dropFirst()), mask: Tensor(shape: [4, 6], data: masked)), k: 2, rng: &rng))
        assertThrows("the data has no items") { _ = try Evaluator.elbo(model, Rows(rows: []), rng: &rng) }
        XCTAssertNoThrow(try Evaluator.elbo(model, rows(5, width: 6), rng: &rng))
    }
}
