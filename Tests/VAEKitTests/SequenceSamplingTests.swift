import XCTest
@testable import VAEKit
import VAECore

/// Sampling a sequence model: each item's tokens come from its own stream, and items are decoded a
/// chunk at a time — so `vae sample --count 5` begins with `--count 3`'s items, and a million
/// items take one chunk's memory.
final class SequenceSamplingTests: XCTestCase {
    func model() throws -> SequenceVAE {
        let seq = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + ["a", "b", "c", "d", "e"], maxLength: 12,
                                 encoderHidden: 6, encoderLayers: 1, decoderHidden: 8, decoderLayers: 2)
        return try SequenceVAE(config: VAEConfig(sequence: seq, latent: 3), seed: 1)
    }

    func testTheFirstItemsAreTheSameForAnyCountAndChunk() throws {
        let m = try model()
        var reported: [Int] = []
        let all = m.sample(count: 7, temperature: 1.5, seed: 5)
        let chunked = m.sample(count: 7, temperature: 1.5, seed: 5, chunk: 2, progress: { reported.append($0) })
        XCTAssertEqual(chunked, all)
        XCTAssertEqual(reported, [2, 4, 6, 7])
        XCTAssertEqual(m.sample(count: 3, temperature: 1.5, seed: 5), Array(all.prefix(3)))
        XCTAssertEqual(m.sample(count: 1, temperature: 1.5, seed: 5, chunk: 1), [all[0]])
        // the draws are real: items differ from each other, and another seed gives other items
        XCTAssertGreaterThan(Set(all).count, 3, "\(all)")
        XCTAssertNotEqual(m.sample(count: 7, temperature: 1.5, seed: 6), all)
        XCTAssertEqual(m.sample(count: 7, greedy: true, seed: 5, chunk: 3), m.sample(count: 7, greedy: true, seed: 5))
    }

    func testDecodeInChunksIsOneGenerate() throws {
        let m = try model()
        var rng = RNG(seed: 3)
        let z = Tensor(shape: [5, 3])
        rng.fillNormal(z.pointer, count: z.count)
        for greedy in [true, false] {
            let whole = m.generate(z, temperature: 2, greedy: greedy, seed: 4)
            XCTAssertEqual(m.decode(z, temperature: 2, greedy: greedy, seed: 4, chunk: 2), whole)
            // row i's draws are stream i's: decoding rows 3... alone, as items 3..., gives the same
            let tail = Tensor(shape: [2, 3], data: Array(UnsafeBufferPointer(start: z.pointer + 9, count: 6)))
            XCTAssertEqual(m.generate(tail, temperature: 2, greedy: greedy, seed: 4, firstItem: 3), Array(whole[3...]))
            // rows that ended are dropped from the batch as it goes: each item as it decodes alone
            for i in 0..<5 {
                let one = Tensor(shape: [1, 3], data: Array(UnsafeBufferPointer(start: z.pointer + 3 * i, count: 3)))
                XCTAssertEqual(m.generate(one, temperature: 2, greedy: greedy, seed: 4, firstItem: i), [whole[i]], "item \(i)")
            }
            XCTAssertGreaterThan(Set(whole.map(\.count)).count, 1, "the items end at different steps: \(whole)")
        }
    }

    /// A word model's rows draw their tokens on all the threads (each row from its own stream):
    /// the same tokens for 1, 2 and 3 threads, and each item as it decodes alone (one row: one thread).
    func testRowsDrawnOverTheThreadsGiveTheSameTokens() throws {
        let words = (0..<3000).map { "w\($0)" }
        let seq = SequenceConfig(tokenizer: .words, vocabulary: Vocabulary.specials + words, maxLength: 6,
                                 encoderHidden: 4, encoderLayers: 1, decoderHidden: 8, decoderLayers: 1)
        let m = try SequenceVAE(config: VAEConfig(sequence: seq, latent: 2), seed: 2)
        var rng = RNG(seed: 7)
        let z = Tensor(shape: [40, 2])
        rng.fillNormal(z.pointer, count: z.count)
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        for greedy in [false, true] {
            ThreadPool.threadCount = 1
            let one = m.generate(z, temperature: 1, greedy: greedy, seed: 3)
            for t in [2, 3] {
                ThreadPool.threadCount = t
                XCTAssertEqual(m.generate(z, temperature: 1, greedy: greedy, seed: 3), one, "\(t) threads, greedy \(greedy)")
            }
            for i in [0, 17, 39] {
                let alone = Tensor(shape: [1, 2], data: [z.pointer[2 * i], z.pointer[2 * i + 1]])
                XCTAssertEqual(m.generate(alone, temperature: 1, greedy: greedy, seed: 3, firstItem: i), [one[i]], "item \(i)")
            }
            if !greedy { XCTAssertGreaterThan(Set(one).count, 30, "the draws differ from item to item") }
        }
    }

    /// Evaluation, IWAE and anomaly passes hold (items × (max length + 1) × (vocabulary + six rows
    /// per GRU layer)) floats: a word vocabulary or wide GRUs get fewer items per pass.
    func testPassesBoundTheLogitsAndStates() throws {
        let small = try model()   // 9 tokens, GRUs of 6 and 2×8: (12 + 1) × (9 + 6 · 22) floats an item
        XCTAssertEqual(small.itemsPerPass(1000), 1000)
        XCTAssertEqual(small.itemsPerPass(7), 7)
        let words = (0..<5000).map { "w\($0)" }
        let seq = SequenceConfig(tokenizer: .words, vocabulary: Vocabulary.specials + words, maxLength: 99,
                                 encoderHidden: 4, encoderLayers: 1, decoderHidden: 4, decoderLayers: 1)
        let big = try SequenceVAE(config: VAEConfig(sequence: seq, latent: 2), seed: 1)
        let n = big.itemsPerPass(1000)
        XCTAssertEqual(n, SequenceVAE.passFloats / (100 * (5004 + 6 * 8)))   // 132
        XCTAssertEqual(big.itemsPerPass(10), 10)
        XCTAssertEqual(big.itemsPerPass(1), 1)
        let wide = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + ["a"], maxLength: 99,
                                  encoderHidden: 256, encoderLayers: 1, decoderHidden: 512, decoderLayers: 3, bidirectional: true)
        let gru = try SequenceVAE(config: VAEConfig(sequence: wide, latent: 2), seed: 1)
        XCTAssertEqual(gru.itemsPerPass(1000), SequenceVAE.passFloats / (100 * (5 + 6 * (3 * 512 + 2 * 256))))   // 54
    }

    func testStreamsAreApart() {
        var firsts = Set<UInt64>()
        for s in 0..<1000 as Range<UInt64> {
            var r = RNG(seed: 7, stream: s)
            firsts.insert(r.next())
        }
        var plain = RNG(seed: 7)
        firsts.insert(plain.next())
        XCTAssertEqual(firsts.count, 1001)
        var a = RNG(seed: 7, stream: 3), b = RNG(seed: 7, stream: 3), c = RNG(seed: 8, stream: 3)
        XCTAssertEqual(a.next(), b.next())
        XCTAssertNotEqual(a.next(), c.next())
    }
}
