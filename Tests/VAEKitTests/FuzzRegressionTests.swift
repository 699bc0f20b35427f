import Foundation
import XCTest
@testable import VAEKit

/// Inputs that once crashed a SwiftVAE reader, committed under fuzz/regressions/<target>/ (the
/// target names of Sources/vae-fuzz). Each must now be refused with a `VAEError`.
///
/// fuzz/regressions/checkpoint/ (found while hardening Checkpoint.load, issue 6):
/// - giant-config-*.safetensors: a few hundred bytes whose metadata config describes a model of
///   up to 10^15 parameters (or one whose input size overflows Int); building the model trapped
///   ("out of memory allocating 2621440000000000 bytes", or an arithmetic overflow).
/// - state-negative-*.safetensors: a training state with a negative epoch, batch or optimizer
///   step; resuming trapped in `UInt64(epoch)` or in a reversed range of batches.
final class FuzzRegressionTests: XCTestCase {
    static let root = FormatsFixture.packageRoot.path + "/fuzz/regressions"

    func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let dir = FuzzRegressionTests.root + "/" + target
        guard AtomicFile.isDirectory(dir) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map {
            ($0, try AtomicFile.readAll(path: dir + "/" + $0, maxBytes: 1 << 20))
        }
    }

    func check(_ target: String, _ parse: ([UInt8]) throws -> Void) throws -> Int {
        let found = try inputs(target)
        for (name, bytes) in found {
            FormatsFixture.assertVAEError([]) {
                do { try parse(bytes) } catch let error as VAEError {
                    print("\(target)/\(name): \(error.message.prefix(160))")
                    throw error
                }
            }
        }
        return found.count
    }

    func testCommittedCrashersAreRefused() throws {
        // Committed with the package: missing is a failure.
        guard AtomicFile.isDirectory(FuzzRegressionTests.root) else {
            throw Fixture.Missing(description: "no \(FuzzRegressionTests.root) (committed with the package)")
        }
        var count = 0
        count += try check("idx") { _ = try IDX.parse(Array($0.dropFirst())) }
        count += try check("gzip") { _ = try IDX.parse(try Gzip.decompress($0, maxOutput: 16 << 20)) }
        count += try check("cifar") { _ = try Dataset.parseCIFARBatch($0, source: "batch.bin") }
        count += try check("safetensors") { _ = try SafeTensorsFile.parse($0) }
        count += try check("config") { _ = try RunConfig.parse($0, source: "config.json") }
        count += try check("metrics") { _ = try TrainingRun.parseMetrics($0, source: "metrics.jsonl") }
        // Image targets: through the image-folder decode (PNG or JPEG by content, then resize).
        count += try check("png") { _ = try ImageFolder.decode($0, source: "fuzz.png", channels: 3, height: 8, width: 8) }
        count += try check("jpeg") { _ = try ImageFolder.decode($0, source: "fuzz.jpg", channels: 3, height: 8, width: 8) }
        count += try check("image") { _ = try ImageFolder.decode(Array($0.dropFirst()), source: "fuzz.img", channels: 1, height: 8, width: 8) }
        let dir = try FormatsFixture.makeTempDirectory(self, name: "fuzz-regression")
        count += try check("checkpoint") { bytes in
            try FormatsFixture.writeFile(bytes, dir + "/model.safetensors")
            _ = try Checkpoint.load(dir)
        }
        XCTAssertGreaterThanOrEqual(count, 7)
    }
}
