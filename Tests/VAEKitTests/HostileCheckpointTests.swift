import Foundation
import XCTest
@testable import VAECore
@testable import VAEKit

/// Hostile checkpoints loaded the way every command loads them, through `Checkpoint.load(dir)`:
/// each must be one clear error that names the file and the problem — never a crash, never a
/// model with garbage in it. (Parser-level cases are in FormatsSafeTensorsTests.testHostileHeaders.)
final class HostileCheckpointTests: XCTestCase {
    let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16])

    /// A valid run folder (weights with Adam moments, config.json) to spoil.
    func runFolder() throws -> String {
        let dir = try FormatsFixture.makeTempDirectory(self, name: "hostile-ckpt")
        let model = try VAE(config: config, seed: 5)
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: TrainingState(), data: nil, to: dir)
        XCTAssertNoThrow(try Checkpoint.load(dir))
        return dir
    }

    var weightsPath: (String) -> String { { $0 + "/model.safetensors" } }

    /// The header (as a mutable JSON dictionary) and the data buffer of the folder's weights.
    func split(_ dir: String) throws -> (header: [String: Any], body: [UInt8]) {
        let bytes = try AtomicFile.readAll(path: weightsPath(dir), maxBytes: 1 << 26)
        var length = 0
        for index in 0..<8 { length |= Int(bytes[index]) << (8 * index) }
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        return (header, Array(bytes[(8 + length)...]))
    }

    /// Writes header + body as the folder's weights, with a correct header length.
    func join(_ header: [String: Any], _ body: [UInt8], to dir: String) throws {
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var bytes: [UInt8] = []
        for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64(index)))) }
        bytes += Array(json) + body
        try FormatsFixture.writeFile(bytes, weightsPath(dir))
    }

    /// Rewrites one tensor's header entry.
    func edit(_ dir: String, tensor: String, _ change: (inout [String: Any]) -> Void) throws {
        var (header, body) = try split(dir)
        var entry = header[tensor] as! [String: Any]
        change(&entry)
        header[tensor] = entry
        try join(header, body, to: dir)
    }

    func offsets(_ header: [String: Any], _ name: String) -> [Int] {
        (header[name] as! [String: Any])["data_offsets"] as! [Int]
    }

    func assertLoadFails(_ dir: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        FormatsFixture.assertVAEError(fragments, file: file, line: line) { try Checkpoint.load(dir) }
    }

    func testHeaderLength2To63() throws {
        let dir = try runFolder()
        var bytes = try AtomicFile.readAll(path: weightsPath(dir), maxBytes: 1 << 26)
        bytes.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x80])
        try FormatsFixture.writeFile(bytes, weightsPath(dir))
        assertLoadFails(dir, [weightsPath(dir), "declares a 9223372036854775808-byte header", "100 MB limit", "corrupt"])
    }

    func testHeaderLengthPastTheEnd() throws {
        let dir = try runFolder()
        var bytes = try AtomicFile.readAll(path: weightsPath(dir), maxBytes: 1 << 26)
        let declared = bytes.count + 1
        for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: declared >> (8 * index)) }
        try FormatsFixture.writeFile(bytes, weightsPath(dir))
        assertLoadFails(dir, [weightsPath(dir), "-byte header but only", "truncated"])
    }

    func testOffsetsPastTheEndOfTheFile() throws {
        // A truncated file: the last tensor's data_offsets point past the end.
        let dir = try runFolder()
        let (header, body) = try split(dir)
        try join(header, Array(body.dropLast(4)), to: dir)
        assertLoadFails(dir, [weightsPath(dir), "tensor \"decoder.2.bias\"", "run past the end", "truncated"])

        // Offsets far beyond any file.
        let dir2 = try runFolder()
        try edit(dir2, tensor: "encoder.1.bias") { $0["data_offsets"] = [Int.max - 64, Int.max] }
        assertLoadFails(dir2, ["tensor \"encoder.1.bias\"", "data_offsets [9223372036854775743, 9223372036854775807] run past the end"])
    }

    func testOverlappingTensors() throws {
        let dir = try runFolder()
        let (header, _) = try split(dir)
        // encoder.1.bias (16 floats) moved to start inside encoder.1.weight.
        let weight = offsets(header, "encoder.1.weight")
        try edit(dir, tensor: "encoder.1.bias") { $0["data_offsets"] = [weight[0] + 8, weight[0] + 8 + 64] }
        assertLoadFails(dir, [weightsPath(dir), "overlap", "\"encoder.1.bias\"", "corrupt"])
    }

    func testShapeWhoseElementCountOverflows() throws {
        let dir = try runFolder()
        try edit(dir, tensor: "encoder.1.weight") { $0["shape"] = [4_294_967_296, 4_294_967_296] }
        assertLoadFails(dir, [weightsPath(dir), "tensor \"encoder.1.weight\"", "element count", "overflows"])

        let dir2 = try runFolder()
        try edit(dir2, tensor: "encoder.1.weight") { $0["shape"] = [1 << 62, 2] }
        assertLoadFails(dir2, ["tensor \"encoder.1.weight\"", "overflow"])
    }

    func testDtypeThatDoesNotMatchTheByteLength() throws {
        // F64 on bytes written as F32: the shape needs twice the bytes the offsets hold.
        let dir = try runFolder()
        try edit(dir, tensor: "encoder.1.bias") { $0["dtype"] = "F64" }
        assertLoadFails(dir, [weightsPath(dir), "tensor \"encoder.1.bias\"", "shape [16] of F64 needs 128 bytes", "hold 64 bytes"])

        // A shape that does not match the bytes.
        let dir2 = try runFolder()
        try edit(dir2, tensor: "encoder.1.bias") { $0["shape"] = [17] }
        assertLoadFails(dir2, ["tensor \"encoder.1.bias\"", "shape [17] of F32 needs 68 bytes", "hold 64 bytes"])

        // A half-precision checkpoint is named as such, with what to do.
        let dir3 = try runFolder()
        try edit(dir3, tensor: "encoder.1.bias") { $0["dtype"] = "F16"; $0["shape"] = [32] }
        assertLoadFails(dir3, ["tensor \"encoder.1.bias\" has dtype F16", "F32 only", "convert"])
    }

    func testConfigJSONNamingAnotherArchitecture() throws {
        let dir = try runFolder()
        var rc = try RunConfig.parse(try AtomicFile.readAll(path: dir + "/config.json", maxBytes: 1 << 20), source: "config.json")
        rc.model = VAEConfig(architecture: .conv, inputShape: [1, 8, 8], latent: 3, hidden: [16])
        try AtomicFile.write(rc.json(), to: dir + "/config.json")
        assertLoadFails(dir, [dir + "/config.json", "describes a different model", "conv", "mlp", "mixes two runs"])
    }

    func testMetadataConfigWhoseShapesDifferFromTheWeights() throws {
        // The checkpoint's own config says conv; its tensors are an mlp's.
        let dir = try runFolder()
        var (header, body) = try split(dir)
        var meta = header["__metadata__"] as! [String: String]
        let conv = VAEConfig(architecture: .conv, inputShape: [1, 8, 8], latent: 3, hidden: [16])
        meta["config"] = String(decoding: try JSONEncoder().encode(conv), as: UTF8.self)
        header["__metadata__"] = meta
        try join(header, body, to: dir)
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        assertLoadFails(dir, [weightsPath(dir), "the weights and the config do not match"])

        // Latent 4 instead of 3: the shapes are named.
        let dir2 = try runFolder()
        (header, body) = try split(dir2)
        meta = header["__metadata__"] as! [String: String]
        var other = config
        other.latent = 4
        meta["config"] = String(decoding: try JSONEncoder().encode(other), as: UTF8.self)
        header["__metadata__"] = meta
        try join(header, body, to: dir2)
        try FileManager.default.removeItem(atPath: dir2 + "/config.json")
        assertLoadFails(dir2, ["tensor \"encoder.3.weight\" has shape [6, 16] but the config needs [8, 16]",
                               "the weights and the config do not match"])
    }

    func testMissingExtraAndNonFiniteTensors() throws {
        let dir = try runFolder()
        var (header, body) = try split(dir)
        // Drop the last tensor (decoder.2.bias: the last 64 floats' bytes).
        let last = offsets(header, "decoder.2.bias")
        header["decoder.2.bias"] = nil
        body.removeSubrange(last[0]..<last[1])
        try join(header, body, to: dir)
        assertLoadFails(dir, [weightsPath(dir), "has no tensor \"decoder.2.bias\"", "do not match"])

        let dir2 = try runFolder()
        (header, body) = try split(dir2)
        header["extra"] = ["dtype": "F32", "shape": [1], "data_offsets": [body.count, body.count + 4]] as [String: Any]
        try join(header, body + [0, 0, 0, 0], to: dir2)
        assertLoadFails(dir2, ["has a tensor \"extra\" that the config's model does not have"])

        let dir3 = try runFolder()
        (header, body) = try split(dir3)
        let bias = offsets(header, "encoder.1.bias")
        body.replaceSubrange(bias[0]..<(bias[0] + 4), with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init))
        try join(header, body, to: dir3)
        assertLoadFails(dir3, ["tensor \"encoder.1.bias\" holds NaN or infinite values", "damaged"])
    }

    func testMetadataThatIsNotSwiftVAEs() throws {
        let dir = try runFolder()
        var (header, body) = try split(dir)
        var meta = header["__metadata__"] as! [String: String]
        meta["format"] = "pt"
        header["__metadata__"] = meta
        try join(header, body, to: dir)
        assertLoadFails(dir, ["not a SwiftVAE checkpoint", "format \"pt\""])

        let dir2 = try runFolder()
        (header, body) = try split(dir2)
        meta = header["__metadata__"] as! [String: String]
        meta["state"] = "{\"epoch\": \"three\"}"
        header["__metadata__"] = meta
        try join(header, body, to: dir2)
        assertLoadFails(dir2, ["metadata \"state\" is not valid"])

        let dir3 = try runFolder()
        (header, body) = try split(dir3)
        meta = header["__metadata__"] as! [String: String]
        meta["config"] = "{\"architecture\":\"mlp\",\"inputShape\":[1,8,8],\"latent\":-1,\"hidden\":[16],\"likelihood\":\"bernoulli\",\"gaussianSigma\":0.1,\"beta\":1,\"warmupEpochs\":0}"
        header["__metadata__"] = meta
        try join(header, body, to: dir3)
        assertLoadFails(dir3, [weightsPath(dir3), "latent size -1"])
    }

    func testTruncatedAndEmptyWeights() throws {
        let dir = try runFolder()
        let bytes = try AtomicFile.readAll(path: weightsPath(dir), maxBytes: 1 << 26)
        for keep in [0, 5, 8, 100, bytes.count / 2, bytes.count - 1] {
            try FormatsFixture.writeFile(Array(bytes.prefix(keep)), weightsPath(dir))
            FormatsFixture.assertVAEError([weightsPath(dir)]) { try Checkpoint.load(dir) }
        }
        try FormatsFixture.writeFile([], weightsPath(dir))
        assertLoadFails(dir, ["too short", "truncated or empty"])
    }

    /// Another run's config.json beside the weights — the same model, trained on other data — is
    /// named as such: every command read that run's data, counts and epochs as this one's, exit 0.
    /// One save behind (the same data, an earlier epoch: a save cut short) still loads.
    func testConfigJSONOfAnotherRunOnOtherDataIsRefused() throws {
        let dir = try FormatsFixture.makeTempDirectory(self, name: "two-runs")
        let model = try VAE(config: config, seed: 5)
        var mine = TrainingState(), theirs = TrainingState()
        mine.data = "5000 training and 1000 test items of 1×8×8, first items 40912b07260ea603"
        theirs.data = "60000 training and 10000 test items of 1×8×8, first items 77aa0c61d2e09b14"
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: theirs, data: nil, to: dir)
        let other = try AtomicFile.readAll(path: dir + "/config.json", maxBytes: 1 << 20)
        mine.epoch = 3
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: mine, data: nil, to: dir)
        var behind = mine
        behind.epoch = 2
        let weights = try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 24)
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: behind, data: nil, to: dir)
        try AtomicFile.write(weights, to: dir + "/model.safetensors")   // config.json one save behind the weights
        XCTAssertEqual(try Checkpoint.load(dir).state.epoch, 3)
        try AtomicFile.write(other, to: dir + "/config.json")
        assertLoadFails(dir, ["config.json is another run's: it was trained on other data (60000 training", "the folder mixes two runs"])
        // a config.json one save behind that was written before the whole-data hash (a run resumed
        // by this version since) is the same run's
        var upgraded = mine
        upgraded.data = mine.data! + ", all items 00c0ffee00c0ffee"
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: behind, data: nil, to: dir)
        let old = try AtomicFile.readAll(path: dir + "/config.json", maxBytes: 1 << 20)
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: upgraded, data: nil, to: dir)
        try AtomicFile.write(old, to: dir + "/config.json")
        XCTAssertEqual(try Checkpoint.load(dir).state.epoch, 3)
    }

    /// A data description of today (the whole-data hash at its end) matches one recorded before
    /// that hash on the part the old one holds; two of today's must agree whole.
    func testDataDescriptionsOfTwoVersions() {
        let first = "128 training and 32 test items of 1×8×8, first items 40912b07260ea603"
        XCTAssertTrue(Trainer.sameData(recorded: first, now: first + ", all items 1234567890abcdef"))
        XCTAssertFalse(Trainer.sameData(recorded: first, now: "96 training and 32 test items of 1×8×8, first items 40912b07260ea603, all items 1234567890abcdef"))
        XCTAssertFalse(Trainer.sameData(recorded: first + ", all items 1234567890abcdef", now: first + ", all items 1234567890abcdee"))
        XCTAssertTrue(Trainer.sameData(recorded: first + ", all items 1234567890abcdef", now: first + ", all items 1234567890abcdef"))
    }

    /// A folder whose checkpoint has another name (renamed, or PyTorch's own) says which file to
    /// pass; a safetensors file without SwiftVAE's metadata says how PyTorch can keep it.
    func testOtherSafetensorsNamesAndForeignFilesSayWhatToDo() throws {
        let dir = try runFolder()
        try FileManager.default.moveItem(atPath: dir + "/model.safetensors", toPath: dir + "/weights.safetensors")
        assertLoadFails(dir, ["has no model.safetensors but holds weights.safetensors: pass that file as the run (\(dir)/weights.safetensors), or rename it model.safetensors"])
        XCTAssertNoThrow(try Checkpoint.load(dir + "/weights.safetensors"))
        try FormatsFixture.writeFile(SafeTensorsFile.serialize(tensors: [(name: "w", shape: [1], data: [1])], metadata: [:]), dir + "/weights.safetensors")
        assertLoadFails(dir + "/weights.safetensors", ["not a SwiftVAE checkpoint", "save_file(tensors, PATH, metadata=the original file's metadata)"])
    }

    func testDamagedConfigJSON() throws {
        let dir = try runFolder()
        try FormatsFixture.writeFile(Array("{\"model\": [".utf8), dir + "/config.json")
        assertLoadFails(dir, [dir + "/config.json", "damaged"])
        try FormatsFixture.writeFile(Array("{}".utf8), dir + "/config.json")
        assertLoadFails(dir, [dir + "/config.json", "missing field", "model.safetensors holds the model and its state: restore config.json from a copy of the run, or remove it"])
        try FormatsFixture.writeFile(Array("[]".utf8), dir + "/config.json")
        assertLoadFails(dir, ["config.json: not a JSON object (a run config is one)"])   // it was: field "" has the wrong type
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        XCTAssertNoThrow(try Checkpoint.load(dir))
    }

    // MARK: Found while hardening: these crashed `vae info` / `vae train --resume` before the fix

    /// Rewrites one metadata entry (a JSON string) of the folder's weights; config.json is removed.
    func setMetadata(_ dir: String, _ key: String, _ json: String) throws {
        var (header, body) = try split(dir)
        var meta = header["__metadata__"] as! [String: String]
        meta[key] = json
        header["__metadata__"] = meta
        try join(header, body, to: dir)
        try? FileManager.default.removeItem(atPath: dir + "/config.json")
    }

    func configJSON(_ architecture: String = "mlp", inputShape: String = "[1,8,8]", latent: Int = 3, hidden: String = "[16]") -> String {
        "{\"architecture\":\"\(architecture)\",\"inputShape\":\(inputShape),\"latent\":\(latent),\"hidden\":\(hidden),\"likelihood\":\"bernoulli\",\"gaussianSigma\":0.1,\"beta\":1,\"warmupEpochs\":0}"
    }

    /// A tiny file whose config describes a gigantic model: refused before the model is built
    /// (it used to trap: "out of memory allocating 2621440000000000 bytes", or an overflow in
    /// the input size).
    func testConfigDescribingAGiganticModelIsRefusedBeforeAllocating() throws {
        // Within the config's bounds but far bigger than the file's weights.
        let tooBig: [(String, [String])] = [
            (configJSON(inputShape: "[1,4096,4096]", hidden: "[65536]"), ["parameters, but the file holds only", "mlp model", "do not match"]),
            (configJSON(latent: 4096, hidden: "[" + Array(repeating: "65536", count: 40).joined(separator: ",") + "]"), ["parameters", "do not match"]),
            (configJSON("conv", inputShape: "[1,4096,4096]", hidden: "[65536]"), ["conv model", "do not match"]),
        ]
        for (json, fragments) in tooBig {
            let dir = try runFolder()
            try setMetadata(dir, "config", json)
            assertLoadFails(dir, [weightsPath(dir), "the config describes a"] + fragments)
        }
        // Outside the bounds (sizes that overflowed the count before): refused by the config check.
        for shape in ["[1,100000,100000]", "[1073741824,1073741824,1073741824]", "[1048576,1048576,4]", "[4611686018427387904,2,1]"] {
            let dir = try runFolder()
            try setMetadata(dir, "config", configJSON(inputShape: shape))
            assertLoadFails(dir, [weightsPath(dir), "input shape", "at most 4096 channels and 2^26 values"])
        }
    }

    /// A sequence run with a token embedding whose config is spoiled: a width out of range, none
    /// (one-hot) or another width than the weights hold — one clear error each, nothing built.
    func testSequenceEmbeddingConfigThatDoesNotFitIsRefused() throws {
        let seq = SequenceConfig(tokenizer: .words, vocabulary: Vocabulary.specials + ["a", "b", "c"], maxLength: 5,
                                 encoderHidden: 4, encoderLayers: 1, decoderHidden: 5, decoderLayers: 1, embedding: 6)
        let cfg = VAEConfig(sequence: seq, latent: 2)
        func folder() throws -> String {
            let dir = try FormatsFixture.makeTempDirectory(self, name: "hostile-emb")
            try Checkpoint.save(model: try SequenceVAE(config: cfg, seed: 3), optimizer: nil, options: TrainingOptions(), state: TrainingState(),
                                data: nil, to: dir)
            XCTAssertEqual((try Checkpoint.load(dir).model as? SequenceVAE)?.sequence.embedding, 6)
            return dir
        }
        func spoiled(_ width: Int) throws -> String {
            var c = cfg
            c.sequence!.embedding = width
            return String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        }
        for (width, fragments) in [(9000, ["embedding's width 9000 must be between 0"]), (0, ["do not match"]), (4, ["do not match"])] {
            let dir = try folder()
            try setMetadata(dir, "config", try spoiled(width))
            assertLoadFails(dir, [weightsPath(dir)] + fragments)
        }
        XCTAssertEqual(SequenceVAE.parameterCount(cfg), try SequenceVAE(config: cfg).parameterCount)
        // config.json edited beside the weights: the message names the nested field that differs
        for (width, shown) in [(8, "8"), (0, "absent")] {
            let dir = try folder()
            let path = dir + "/config.json"
            var json = try JSONSerialization.jsonObject(with: Data(try AtomicFile.readAll(path: path, maxBytes: 1 << 20))) as! [String: Any]
            var model = json["model"] as! [String: Any], sequence = model["sequence"] as! [String: Any]
            if width == 0 { sequence.removeValue(forKey: "embedding") } else { sequence["embedding"] = width }
            model["sequence"] = sequence
            json["model"] = model
            try FormatsFixture.writeFile(Array(try JSONSerialization.data(withJSONObject: json)), path)
            assertLoadFails(dir, ["config.json describes a different model", "sequence.embedding: \(shown) in config.json, 6 in the weights' file"])
        }
    }

    /// The size check uses the same layer sizes as the model itself.
    func testParameterCountWithoutBuildingMatchesTheModel() throws {
        let configs = [
            config,
            VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 20, hidden: [400]),
            VAEConfig(architecture: .mlp, inputShape: [3, 5, 7], latent: 2, hidden: [64, 32, 16]),
            VAEConfig(architecture: .conv, inputShape: [1, 28, 28], latent: 2, hidden: [16]),
            VAEConfig(architecture: .conv, inputShape: [3, 32, 32], latent: 8, hidden: [64]),
            VAEConfig(architecture: .conv, inputShape: [2, 8, 12], latent: 1, hidden: [1]),
            VAEConfig(architecture: .conv, inputShape: [3, 64, 64], latent: 8, hidden: [64], conditionSize: 10),
            VAEConfig(architecture: .mlp, inputShape: [1, 1, 9], latent: 2, hidden: [8],
                      groups: [FeatureGroup(kind: .gaussianLearned, width: 4), FeatureGroup(kind: .categorical, width: 5)],
                      activation: .tanh),
        ]
        for c in configs {
            XCTAssertEqual(try Checkpoint.parameterCount(c), try VAE(config: c).parameterCount, "\(c)")
        }
    }

    /// A training state that cannot be resumed: a clear error on load (these trapped in training:
    /// a negative epoch in UInt64(epoch), a batch past the epoch's end in a reversed range).
    func testHostileTrainingStateIsRefused() throws {
        let base = try JSONEncoder().encode(TrainingState())
        let cases: [(String, Any, String)] = [
            ("epoch", -3, "epoch -3"), ("epoch", 1_000_000_000_000, "epoch 1000000000000"),
            ("batchInEpoch", -2, "batch -2"), ("adamStep", -5, "optimizer step -5"), ("partialCount", -1, "image count -1"),
        ]
        for (key, value, fragment) in cases {
            var state = try JSONSerialization.jsonObject(with: base) as! [String: Any]
            state[key] = value
            let dir = try runFolder()
            try setMetadata(dir, "state", String(decoding: try JSONSerialization.data(withJSONObject: state), as: UTF8.self))
            assertLoadFails(dir, [weightsPath(dir), "metadata \"state\" is not valid", fragment])
        }
        let dir = try runFolder()
        try setMetadata(dir, "training", "{\"epochs\":1,\"batchSize\":0,\"learningRate\":0.001,\"seed\":1,\"binarize\":false,\"weightDecay\":0}")
        assertLoadFails(dir, [weightsPath(dir), "training options", "batch size 0"])
    }

    func testResumeAtABatchPastTheEpochsEndIsAClearError() throws {
        let dir = try FormatsFixture.makeTempDirectory(self, name: "hostile-resume")
        var options = TrainingOptions()
        options.epochs = 2
        options.batchSize = 32
        let data = tinyDataset()  // 200 images: 7 batches of 32
        _ = try TrainingRun.start(directory: dir, model: config, options: options, data: data)
        var state = TrainingState()
        state.batchInEpoch = 1_000_000
        state.rng = RNG(seed: 1).savedState
        try setMetadata(dir, "state", String(decoding: try JSONEncoder().encode(state), as: UTF8.self))
        FormatsFixture.assertVAEError(["stopped at batch 1000000 of an epoch", "7 batches per epoch"]) {
            try TrainingRun.resume(directory: dir, data: data)
        }
    }
}
