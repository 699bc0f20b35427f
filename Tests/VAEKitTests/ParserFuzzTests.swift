import Foundation
import XCTest
@testable import VAEKit

/// The short, in-process version of the fuzzing in fuzz/run.sh (which runs libFuzzer for millions
/// of executions): seeded random mutations of valid inputs — bit flips, interesting bytes,
/// truncations, insertions, deletions, duplicated ranges and tweaked length fields — a few
/// thousand per parser. Every input must parse or throw a `VAEError`; a trap fails the whole run.
final class ParserFuzzTests: XCTestCase {
    static let iterations = 5000

    /// Applies 1...4 random mutations.
    struct Mutator {
        var state: UInt64

        init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }

        static let interestingBytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x1F, 0x8B, UInt8(ascii: "{"), UInt8(ascii: "\""),
                                                UInt8(ascii: "-"), UInt8(ascii: "9"), UInt8(ascii: "\n"), UInt8(ascii: "\\")]
        static let interestingWords: [UInt64] = [0, 1, 2, 0x7F, 0xFF, 0x100, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                                 0x1_0000_0000, 1 << 62, 1 << 63, UInt64.max, 3073, 100_000_001]

        mutating func mutate(_ input: [UInt8]) -> [UInt8] {
            var bytes = input
            for _ in 0...below(4) {
                switch below(9) {
                case 0 where !bytes.isEmpty:  // bit flip
                    bytes[below(bytes.count)] ^= UInt8(1) << UInt8(below(8))
                case 1 where !bytes.isEmpty:  // interesting byte
                    bytes[below(bytes.count)] = Mutator.interestingBytes[below(Mutator.interestingBytes.count)]
                case 2:  // truncate
                    bytes = Array(bytes.prefix(below(bytes.count + 1)))
                case 3:  // insert random bytes
                    let count = 1 + below(16)
                    let insert = (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
                    bytes.insert(contentsOf: insert, at: below(bytes.count + 1))
                case 4 where !bytes.isEmpty:  // delete a range
                    let start = below(bytes.count)
                    bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(32)))
                case 5 where !bytes.isEmpty:  // duplicate a range
                    let start = below(bytes.count)
                    let range = Array(bytes[start..<min(bytes.count, start + 1 + below(64))])
                    bytes.insert(contentsOf: range, at: below(bytes.count + 1))
                case 6, 7:  // a length field: a 4- or 8-byte integer, big or little endian, at a 4-aligned offset
                    let width = below(2) == 0 ? 4 : 8
                    guard bytes.count >= width else { continue }
                    let offset = min(bytes.count - width, 4 * below(bytes.count / 4 + 1))
                    var value = Mutator.interestingWords[below(Mutator.interestingWords.count)]
                    if below(3) == 0 { value = value &+ UInt64(bitPattern: Int64(below(5) - 2)) }
                    let littleEndian = below(2) == 0
                    for index in 0..<width {
                        let shift = UInt64(8 * (littleEndian ? index : width - 1 - index))
                        bytes[offset + index] = UInt8(truncatingIfNeeded: value >> shift)
                    }
                default:  // a random byte
                    if !bytes.isEmpty { bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: next()) }
                }
            }
            return bytes
        }
    }

    /// Runs `iterations` mutations of the seeds through `parse`; returns how many parsed.
    @discardableResult
    static func fuzz(_ name: String, seeds: [[UInt8]], iterations: Int = iterations, seed: UInt64,
                     file: StaticString = #filePath, line: UInt = #line, _ parse: ([UInt8]) throws -> Void) -> Int {
        var mutator = Mutator(seed: seed)
        var accepted = 0
        for seedInput in seeds {
            do { try parse(seedInput) } catch { XCTFail("\(name): a seed does not parse: \(error)", file: file, line: line) }
        }
        for iteration in 0..<iterations {
            let input = mutator.mutate(seeds[iteration % seeds.count])
            do {
                try parse(input)
                accepted += 1
            } catch is VAEError {
            } catch {
                XCTFail("\(name): iteration \(iteration) threw \(type(of: error)), not a VAEError: \(error)", file: file, line: line)
            }
        }
        print("\(name): \(iterations) mutated inputs, \(accepted) parsed, \(iterations - accepted) rejected with a VAEError")
        return accepted
    }

    // MARK: Seeds

    static let images = try! IDX.encodeImages((0..<48).map { UInt8($0 * 5) }, count: 3, rows: 4, cols: 4)
    static let labels = IDX.encodeLabels([1, 2, 3])

    static func cifarRecords(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for index in 0..<count {
            bytes.append(UInt8(index % 10))
            bytes += FormatsFixture.bytes(count: 3072, seed: UInt64(index))
        }
        return bytes
    }

    static var runConfig: RunConfig {
        var options = TrainingOptions()
        options.clipNorm = 5
        options.classes = [0, 3]
        var state = TrainingState()
        state.rng = [1, UInt64.max, 3]
        state.epoch = 2
        return RunConfig(model: VAEConfig(architecture: .mlp, inputShape: [1, 28, 28], latent: 2, hidden: [16]),
                         training: options, data: nil, state: state, parameterCount: 26004)
    }

    static let metrics = [1, 2].map {
        EpochMetrics(epoch: $0, train_loss: 500, train_recon: 490, train_kl: 10, test_loss: 430, test_recon: 420,
                     test_kl: 10, test_loss_mu: 429, kl_weight: 1, seconds: 2.5, images_per_second: 2000)
    }

    // MARK: Parsers

    func testIDX() {
        let seeds = [ParserFuzzTests.images, ParserFuzzTests.labels, IDX.encode(dims: [2, 2, 2, 2], data: [UInt8](repeating: 9, count: 16))!]
        ParserFuzzTests.fuzz("IDX.parse", seeds: seeds, seed: 1) { _ = try IDX.parse($0) }
        ParserFuzzTests.fuzz("IDX.parseImages", seeds: [ParserFuzzTests.images], seed: 2) { _ = try IDX.parseImages($0) }
        ParserFuzzTests.fuzz("IDX.parseLabels", seeds: [ParserFuzzTests.labels], seed: 3) { _ = try IDX.parseLabels($0) }
    }

    func testGzip() {
        let seeds = [Gzip.compress(ParserFuzzTests.images), Gzip.compress(ParserFuzzTests.labels) + Gzip.compress([1, 2, 3]),
                     Gzip.compress(ParserFuzzTests.labels, level: 0)]
        ParserFuzzTests.fuzz("Gzip.decompress", seeds: seeds, seed: 4) { bytes in
            let raw = try Gzip.decompress(bytes, maxOutput: 1 << 20)
            XCTAssertLessThanOrEqual(raw.count, 1 << 20)
            FormatsFixture.parsesOrRejects("IDX.parse of a decompressed mutation") { _ = try IDX.parse(raw) }
        }
    }

    func testCIFAR() {
        let seeds = [ParserFuzzTests.cifarRecords(1), ParserFuzzTests.cifarRecords(2)]
        ParserFuzzTests.fuzz("Dataset.parseCIFARBatch", seeds: seeds, iterations: 1500, seed: 5) { bytes in
            let (images, labels) = try Dataset.parseCIFARBatch(bytes, source: "batch.bin")
            XCTAssertEqual(images.count, labels.count * 3072)
        }
    }

    func testSafeTensors() {
        let seeds = [
            SafeTensorsFile.serialize(tensors: [(name: "encoder.1.weight", shape: [2, 3], data: [1, 2, 3, 4, 5, 6]),
                                                (name: "b", shape: [], data: [7])], metadata: ["format": "x", "k": "v"]),
            SafeTensorsFile.serialize(tensors: [(name: "e", shape: [0, 4], data: [])]),
        ]
        ParserFuzzTests.fuzz("SafeTensorsFile.parse", seeds: seeds, iterations: 8000, seed: 6) { bytes in
            let file = try SafeTensorsFile.parse(bytes, source: "model.safetensors")
            for (name, tensor) in file.tensors {
                XCTAssertEqual(tensor.shape.reduce(1, *), tensor.data.count, name)
            }
        }
    }

    func testRunConfig() {
        let pretty = Array(ParserFuzzTests.runConfig.json().utf8)
        let encoder = JSONEncoder()
        let compact = Array(try! encoder.encode(ParserFuzzTests.runConfig))
        ParserFuzzTests.fuzz("RunConfig.parse", seeds: [pretty, compact], seed: 7) { bytes in
            let config = try RunConfig.parse(bytes, source: "config.json")
            // a config that parses may still hold values a run cannot use: validate() says so with
            // a VAEError (which `fuzz` counts as a rejection), never anything else
            try config.model.validate()
            try config.training.validate()
        }
    }

    func testMetrics() {
        let text = Array(TrainingRun.metricsText(ParserFuzzTests.metrics).utf8)
        ParserFuzzTests.fuzz("TrainingRun.parseMetrics", seeds: [text, Array("\n \r\n".utf8) + text], seed: 8) { bytes in
            _ = try TrainingRun.parseMetrics(bytes, source: "metrics.jsonl")
        }
    }

    /// Whole checkpoints through Checkpoint.load (metadata, config, model size, state, shapes).
    func testCheckpointLoad() throws {
        let dir = try FormatsFixture.makeTempDirectory(self, name: "fuzz-checkpoint")
        let model = try VAE(config: VAEConfig(architecture: .mlp, inputShape: [1, 2, 2], latent: 1, hidden: [2]), seed: 3)
        var state = TrainingState()
        state.rng = [1, 2, 3, 4, 0]
        try Checkpoint.save(model: model, optimizer: nil, options: TrainingOptions(), state: state, data: nil, to: dir)
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        let seed = try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 20)
        ParserFuzzTests.fuzz("Checkpoint.load", seeds: [seed], iterations: 3000, seed: 9) { bytes in
            try FormatsFixture.writeFile(bytes, dir + "/model.safetensors")
            _ = try Checkpoint.load(dir)
        }
    }

    /// The committed libFuzzer seeds (fuzz/seeds) parse as they should.
    func testCommittedFuzzSeedsParse() throws {
        let root = FormatsFixture.packageRoot.path + "/fuzz/seeds"
        // Committed with the package: missing is a failure.
        guard FileManager.default.fileExists(atPath: root) else { throw Fixture.Missing(description: "no \(root) (committed with the package)") }
        func files(_ target: String) throws -> [[UInt8]] {
            try FileManager.default.contentsOfDirectory(atPath: root + "/" + target).sorted().map {
                try AtomicFile.readAll(path: root + "/" + target + "/" + $0, maxBytes: 1 << 20)
            }
        }
        for bytes in try files("safetensors") { XCTAssertNoThrow(try SafeTensorsFile.parse(bytes)) }
        for bytes in try files("config") { XCTAssertNoThrow(try RunConfig.parse(bytes, source: "config.json")) }
        for bytes in try files("metrics") { XCTAssertNoThrow(try TrainingRun.parseMetrics(bytes, source: "metrics.jsonl")) }
        for bytes in try files("cifar") { XCTAssertNoThrow(try Dataset.parseCIFARBatch(bytes, source: "batch.bin")) }
        for bytes in try files("gzip") { XCTAssertNoThrow(try IDX.parse(try Gzip.decompress(bytes, maxOutput: 1 << 20))) }
        let dir = try FormatsFixture.makeTempDirectory(self, name: "fuzz-seeds")
        for bytes in try files("checkpoint") {
            try FormatsFixture.writeFile(bytes, dir + "/model.safetensors")
            XCTAssertNoThrow(try Checkpoint.load(dir))
        }
    }

    /// Files of sequences: one item per line or a CSV column, tokenized as characters, words and
    /// SMILES with a bounded vocabulary; every mutation parses or is refused with a VAEError.
    func testSequences() throws {
        let seeds = try CSVFuzzTests.files(FormatsFixture.packageRoot.path + "/fuzz/seeds/sequences").map(\.1)
        guard !seeds.isEmpty else { return }  // files() has failed the test
        let parsed = ParserFuzzTests.fuzz("sequences", seeds: seeds, iterations: 3000, seed: 26) { bytes in
            guard let first = bytes.first else { throw VAEError("empty") }
            let items = try Dataset.parseItems(Array(bytes.dropFirst()), source: "fuzz.txt", textColumn: first & 1 == 1 ? "SMILES" : nil)
            var o = SequenceOptions()
            o.tokenizer = SequenceConfig.Tokenizer.allCases[Int(first >> 1) % 3]
            o.maxLength = 1 + Int(first >> 3)
            o.maxVocabulary = 50
            let (set, vocab, _, _) = try Dataset.encodeItems(items, options: o, vocabulary: nil, source: "fuzz.txt")
            XCTAssertLessThanOrEqual(vocab.count, 54)
            XCTAssertTrue((0..<set.count).allSatisfy { set.tokens($0).count <= o.maxLength && set.tokens($0).allSatisfy { Int($0) < vocab.count } })
        }
        XCTAssertGreaterThan(parsed, 100, "the mutations should not all be refused")
    }

    /// Windows line ends ("\r\n", one Character in Swift) separate items as "\n" does.
    func testSequenceLinesWithCRLF() throws {
        let items = try Dataset.parseItems(Array("CCO\r\nc1ccccc1\r\n\r\nCl\r\n".utf8), source: "crlf.smi", textColumn: nil)
        XCTAssertEqual(items.map { String($0.text) }, ["CCO", "c1ccccc1", "Cl"])
        XCTAssertEqual(items.map(\.line), [1, 2, 4])
        let csv = try Dataset.parseItems(Array("SMILES,id\r\nCCO,1\r\nCN,2\r\n".utf8), source: "crlf.csv", textColumn: "SMILES")
        XCTAssertEqual(csv.map { String($0.text) }, ["CCO", "CN"])
        // a UTF-8 byte-order mark is no part of the first column's name or the first item
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        XCTAssertEqual(try Dataset.parseItems(bom + Array("SMILES,id\nCCO,1\n".utf8), source: "bom.csv", textColumn: "SMILES").map { String($0.text) }, ["CCO"])
        XCTAssertEqual(try Dataset.parseItems(bom + Array("CCO\nCN\n".utf8), source: "bom.smi", textColumn: nil).map { String($0.text) }, ["CCO", "CN"])
    }

    /// The notes of a training read: skipped long items counted against the file that held them (a
    /// --test file's were put on the training file), <unk> tokens of the training items counted too.
    func testSequenceNotesNameTheirFiles() throws {
        let dir = NSTemporaryDirectory() + "vae-seqnotes-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write("ab\nabc\nabcdefgh\nba\n", to: dir + "/train.txt")
        try AtomicFile.write("ab\nabcdefghij\nabcdefghijk\n", to: dir + "/test.txt")
        var o = SequenceOptions()
        o.maxLength = 5
        o.maxVocabulary = 2
        o.testFile = dir + "/test.txt"
        let (d, vocab) = try Dataset.loadSequences(path: dir + "/train.txt", options: o)
        XCTAssertEqual(vocab.count - 4, 2, "\(vocab)")   // the specials, then a and b
        XCTAssertTrue(d.notes.contains("\(dir)/train.txt: 1 item longer than --max-length 5 tokens was skipped"), "\(d.notes)")
        XCTAssertTrue(d.notes.contains("\(dir)/test.txt: 2 items longer than --max-length 5 tokens were skipped"), "\(d.notes)")
        // "c" in train's "abc" and nothing in test's "ab": one <unk>
        XCTAssertTrue(d.notes.contains("1 token of \(dir)/train.txt and \(dir)/test.txt is not in the vocabulary and read as <unk>"), "\(d.notes)")
    }

    /// A quoted CSV field may hold line breaks (RFC 4180, as Python's csv.writer writes them): one
    /// item, at the line where its record starts (it was split into two items at the break).
    func testSequenceCSVFieldWithLineBreaks() throws {
        let text = "id,text\n1,\"line one\nline two, \"\"quoted\"\"\"\n2,plain\r\n3,\"a\r\nb\"\n"
        let items = try Dataset.parseItems(Array(text.utf8), source: "t.csv", textColumn: "text")
        XCTAssertEqual(items.map { String($0.text) }, ["line one\nline two, \"quoted\"", "plain", "a\r\nb"])
        XCTAssertEqual(items.map(\.line), [2, 4, 5])
        XCTAssertThrowsError(try Dataset.parseItems(Array("id,text\n1,\"never closed\n2,x\n".utf8), source: "t.csv", textColumn: "text")) { e in
            XCTAssertTrue("\(e)".contains("t.csv line 2, column 2: a quoted field opened here is never closed"), "\(e)")   // the table reader's words
        }
    }
}
