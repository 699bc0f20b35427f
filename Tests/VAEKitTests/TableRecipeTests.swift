import Foundation
import XCTest
@testable import VAEKit

/// The table settings `vae train` picks, for a library caller (they lived in the command-line tool).
final class TableRecipeTests: XCTestCase {
    func write(rows: Int) throws -> String {
        var rng = RNG(seed: 4)
        var lines = ["x,y,colour,kind"]
        for i in 0..<rows {
            let x = Double(rng.normal())
            lines.append(String(format: "%.3f,%.3f,%@,%@", x, 2 * x + 0.1 * Double(rng.normal()), ["red", "blue"][i % 2], i % 3 == 0 ? "a" : "b"))
        }
        let path = NSTemporaryDirectory() + "recipe-\(getpid())-\(rows).csv"
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testSmallAndLargeTables() throws {
        var o = TableOptions()
        o.label = "kind"
        let few = try Dataset.loadTable(path: try write(rows: 75), options: o)   // 60 training rows
        let r = try TableRecipe.make(VAEConfig(inputShape: few.itemShape), data: few)
        XCTAssertEqual(r.rows, few.train.count)
        XCTAssertTrue(r.small)
        XCTAssertEqual(r.batchSize, 16)
        XCTAssertEqual(r.epochs, max(10, (2000 + 3) / 4))   // 60 rows: 4 batches an epoch
        XCTAssertEqual(r.config.hidden, [64])
        XCTAssertEqual(r.config.latent, 2)                  // 4 encoded columns: min(8, max(2, 4 / 2))
        XCTAssertEqual(r.config.groups?.map(\.kind), [.gaussianLearned, .categorical])
        XCTAssertNil(r.validationFraction)
        var options = TrainingOptions()
        r.apply(to: &options)
        XCTAssertEqual(options.batchSize, 16)
        XCTAssertEqual(options.epochs, r.epochs)
        XCTAssertNoThrow(try options.validate())
        var some = TableRecipe.Choices()
        some.classes = [1]
        let b = try TableRecipe.make(VAEConfig(inputShape: few.itemShape), data: few, some)
        XCTAssertEqual(b.rows, few.train.filtered(classes: [1]).count)
        b.apply(to: &options)
        XCTAssertEqual(options.classes, [1], "apply sets the classes the rows were counted for")
        some.patience = 5
        XCTAssertThrowsError(try TableRecipe.make(VAEConfig(inputShape: few.itemShape), data: few, some)) { XCTAssertTrue("\($0)".contains("patience needs a validation share")) }

        let many = try Dataset.loadTable(path: try write(rows: 500), options: o)
        var c = TableRecipe.Choices()
        c.validationFraction = 0.2
        c.latent = 3
        let m = try TableRecipe.make(VAEConfig(inputShape: many.itemShape), data: many, c)
        XCTAssertFalse(m.small)
        XCTAssertEqual(m.rows, many.train.count - Trainer.holdOutCount(count: many.train.count, fraction: 0.2))
        XCTAssertEqual(m.config.groups?.first?.kind, .gaussianHeteroscedastic)
        XCTAssertEqual(m.config.latent, 3)
        XCTAssertEqual(m.validationFraction, 0.2)
        XCTAssertNotNil(m.patience)
        // a likelihood that is not a table's, and data that is no table: usage errors
        c.likelihood = .bernoulli
        XCTAssertThrowsError(try TableRecipe.make(VAEConfig(inputShape: many.itemShape), data: many, c)) {
            XCTAssertTrue(($0 as? VAEError)?.isUsage == true && "\($0)".contains("--likelihood bernoulli is for images"), "\($0)")
        }
        let images = Dataset(name: "x", directory: "x", train: ImageSet(images: [0], labels: [], count: 1, channels: 1, height: 1, width: 1),
                             test: ImageSet(images: [0], labels: [], count: 1, channels: 1, height: 1, width: 1), classNames: [])
        XCTAssertThrowsError(try TableRecipe.make(VAEConfig(inputShape: [1, 1, 1]), data: images))
    }
}
