import XCTest
@testable import VAEKit
import VAECore

/// A whole sequence-VAE step against PyTorch's float64 numbers (`gru_vae_step.json`, case
/// `sequence_vae_step`): three sequences of different lengths, padding, μ, log σ², z, the logits
/// of every real position, the loss terms and every parameter's gradient.
final class SequenceVAEParityTests: XCTestCase {
    func model() throws -> (SequenceVAE, [String: Any]) {
        let c = try XCTUnwrap(try Fixture.load("gru_vae_step")["sequence_vae_step"] as? [String: Any])
        let seq = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + ["a", "b", "c"], maxLength: 5,
                                 encoderHidden: 5, encoderLayers: 1, decoderHidden: 4, decoderLayers: 1)
        let m = try SequenceVAE(config: VAEConfig(sequence: seq, latent: 3), seed: 1)
        try SequenceVAEParityTests.load(m, c)
        return (m, c)
    }

    /// The fixture's parameters into the model (PyTorch's names are ours; every one must be there).
    static func load(_ m: SequenceVAE, _ c: [String: Any]) throws {
        let params = c["params"] as! [String: Any]
        XCTAssertEqual(Set(params.keys), Set(m.store.parameters.map(\.name)))
        for p in m.store.parameters {
            let t = Fixture.tensor(params[p.name])
            XCTAssertEqual(t.shape, p.shape, p.name)
            for i in 0..<p.count { p.value[i] = Float(t.data[i]) }
        }
    }

    /// One training step on the fixture's three sequences and ε against PyTorch's numbers: the
    /// loss terms, μ and log σ² in batch order, every parameter's gradient. Returns x and ε.
    static func checkStep(_ m: SequenceVAE, _ c: [String: Any], file: StaticString = #filePath, line: UInt = #line) -> (x: Tensor, eps: Tensor) {
        let tokens = (c["tokens"] as! [[Any]]).map { $0.map { ($0 as! NSNumber).floatValue } }
        let x = Tensor(shape: [3, 7], data: tokens.flatMap { $0 })
        let eps = Tensor(shape: [3, 3], data: Fixture.tensor(c["eps"]).data.map(Float.init))
        m.store.zeroGrad()
        let loss = m.trainStep(Batch(x: x), eps: eps, klWeight: 1, gradScale: 1.0 / 3, update: nil)
        XCTAssertEqual(loss.recon / 3, c["recon"] as! Double, accuracy: 1e-5 * (c["recon"] as! Double), file: file, line: line)
        XCTAssertEqual(loss.kl / 3, c["kl"] as! Double, accuracy: 1e-5 * max(1, c["kl"] as! Double), file: file, line: line)
        let (mu, lv) = m.encode(Batch(x: x))
        assertClose(mu.array, Fixture.tensor(c["mu"]).data, "mu", file: file, line: line)
        assertClose(lv.array, Fixture.tensor(c["logvar"]).data, "logvar", file: file, line: line)
        for p in m.store.parameters {
            assertClose(p.grad.array, Fixture.tensor((c["grads"] as! [String: Any])[p.name]).data, rel: 1e-4, abs: 1e-6, "grad of \(p.name)",
                        file: file, line: line)
        }
        return (x, eps)
    }

    func testSequenceVAEStepMatchesPyTorch() throws {
        let (m, c) = try model()
        let (x, eps) = SequenceVAEParityTests.checkStep(m, c)
        // the same losses without gradients, per item, and by the protocol's loss
        let (r, k) = m.perExampleLoss(Batch(x: x), eps: eps)
        XCTAssertEqual(r.reduce(0, +) / 3, c["recon"] as! Double, accuracy: 1e-5 * (c["recon"] as! Double))
        XCTAssertEqual(k.reduce(0, +) / 3, c["kl"] as! Double, accuracy: 1e-5)
    }

    /// −log p(x | z) through `negLogLikelihood` (the IWAE path) equals the ELBO path's reconstruction
    /// at the same z, for every repeat.
    func testNegLogLikelihoodMatchesTheELBOPath() throws {
        let (m, c) = try model()
        let tokens = (c["tokens"] as! [[Any]]).map { $0.map { ($0 as! NSNumber).floatValue } }
        let x = Tensor(shape: [3, 7], data: tokens.flatMap { $0 })
        let (r, _) = m.perExampleLoss(Batch(x: x), eps: nil)   // z = μ
        let (mu, _) = m.encode(Batch(x: x))
        let z = Tensor(shape: [6, 3])
        for i in 0..<3 { for j in 0..<2 { for t in 0..<3 { z[(i * 2 + j) * 3 + t] = mu[i * 3 + t] } } }
        var nll = [Double](repeating: 0, count: 6)
        nll.withUnsafeMutableBufferPointer { m.negLogLikelihood(Batch(x: x), z: z, samples: 2, into: $0.baseAddress!) }
        for i in 0..<3 { for j in 0..<2 { XCTAssertEqual(nll[i * 2 + j], r[i], accuracy: 1e-4 * r[i]) } }
    }
}

/// A sequence VAE whose 2-layer GRUs read a learned token embedding, against PyTorch's float64
/// step (`gru_vae_embedding_step.json`, written by scripts/make_sequence_embedding_fixture.py):
/// μ, log σ², the loss terms and every gradient, the shared table's included.
final class SequenceVAEEmbeddingParityTests: XCTestCase {
    func testEmbeddingStepMatchesPyTorch() throws {
        let c = try XCTUnwrap(try Fixture.load("gru_vae_embedding_step")["sequence_vae_embedding_step"] as? [String: Any])
        let seq = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + ["a", "b", "c"], maxLength: 5,
                                 encoderHidden: 5, encoderLayers: 2, decoderHidden: 4, decoderLayers: 2, embedding: 4)
        let m = try SequenceVAE(config: VAEConfig(sequence: seq, latent: 3), seed: 1)
        try SequenceVAEParityTests.load(m, c)
        _ = SequenceVAEParityTests.checkStep(m, c)
    }
}

/// The whole sequence VAE with 2-layer GRUs (the PyTorch fixture has one layer): every parameter's
/// gradient of the negative ELBO (fixed ε) against central finite differences in Double sums.
final class SequenceVAEGradientTests: XCTestCase {
    func testTwoLayerGradientsAgainstFiniteDifferences() throws {
        for bidirectional in [false, true] { try check(bidirectional: bidirectional) }
    }

    /// With a token embedding both GRUs read (shared by encoder and decoder): every gradient,
    /// the table's included, one-way and bidirectional encoders.
    func testEmbeddingGradientsAgainstFiniteDifferences() throws {
        for bidirectional in [false, true] { try check(bidirectional: bidirectional, embedding: 3) }
    }

    /// The default embedding: none up to 1,000 tokens; above, 256 exactly when the model with it
    /// has fewer parameters than with one-hot tokens (vocabularies and GRU shapes around the edge).
    func testDefaultEmbeddingOnlyWhereTheModelGetsSmaller() throws {
        var chosen = 0, kept = 0
        for V in [999, 1000, 1001, 1300, 6432, 20_000] {
            for (he, hd, bi) in [(43, 43, false), (8, 8, false), (32, 48, true), (32, 48, false), (64, 96, false), (256, 512, false), (100, 120, false)] {
                let vocabulary = Vocabulary.specials + (0..<(V - 4)).map { "w\($0)" }
                let seq = SequenceConfig(tokenizer: .words, vocabulary: vocabulary, maxLength: 10, encoderHidden: he, encoderLayers: 1,
                                         decoderHidden: hd, decoderLayers: 1, bidirectional: bi)
                var embedded = seq
                embedded.embedding = 256
                let a = try XCTUnwrap(SequenceVAE.parameterCount(VAEConfig(sequence: seq, latent: 8)))
                let b = try XCTUnwrap(SequenceVAE.parameterCount(VAEConfig(sequence: embedded, latent: 8)))
                let want = V > 1000 && b < a ? 256 : 0
                XCTAssertEqual(seq.defaultEmbedding, want, "V \(V), encoder \(he)\(bi ? "×2" : ""), decoder \(hd): \(a) one-hot, \(b) embedded")
                if want > 0 { chosen += 1 } else if V > 1000 { kept += 1 }
            }
        }
        XCTAssertGreaterThan(chosen, 5)
        XCTAssertGreaterThan(kept, 3)   // large vocabularies with narrow GRUs stay one-hot
    }

    /// An embedded model's parameters: the table first (`embedding.weight` [V, D]), the GRUs D wide
    /// (the decoder's D + K), and as many as the count says.
    func testEmbeddingNamesAndCount() throws {
        for bidirectional in [false, true] {
            let seq = SequenceConfig(tokenizer: .words, vocabulary: Vocabulary.specials + ["a", "b", "c"], maxLength: 4,
                                     encoderHidden: 5, encoderLayers: 2, decoderHidden: 4, decoderLayers: 2, bidirectional: bidirectional,
                                     embedding: 6)
            let cfg = VAEConfig(sequence: seq, latent: 3)
            let m = try SequenceVAE(config: cfg, seed: 1)
            XCTAssertEqual(m.store.parameters.first?.name, "embedding.weight")
            let shapes = Dictionary(uniqueKeysWithValues: m.store.parameters.map { ($0.name, $0.shape) })
            XCTAssertEqual(shapes["embedding.weight"], [7, 6])
            XCTAssertEqual(shapes["encoder.gru.weight_ih_l0"], [15, 6])
            XCTAssertEqual(shapes["encoder.gru.weight_ih_l1"], [15, bidirectional ? 10 : 5])
            XCTAssertEqual(shapes["decoder.gru.weight_ih_l0"], [12, 9])
            XCTAssertEqual(SequenceVAE.parameterCount(cfg), m.store.count)
        }
        // the hand-written Codable keeps every field (the embedding's key is left out only at 0)
        var full = SequenceConfig(tokenizer: .smiles, vocabulary: Vocabulary.specials + ["C", "N"], maxLength: 7, encoderHidden: 3,
                                  encoderLayers: 2, decoderHidden: 5, decoderLayers: 3, wordDropout: 0.25, bidirectional: true, embedding: 9)
        full.molecules = true
        for c in [full, { var o = full; o.embedding = 0; return o }()] {
            let json = try JSONEncoder().encode(c)
            XCTAssertEqual(try JSONDecoder().decode(SequenceConfig.self, from: json), c)
            XCTAssertEqual(String(decoding: json, as: UTF8.self).contains("embedding"), c.embedding != 0)
        }
        var bad = SequenceConfig(tokenizer: .words, vocabulary: Vocabulary.specials + ["a"], maxLength: 4)
        bad.embedding = 8193
        XCTAssertThrowsError(try bad.validate())
    }

    /// A bidirectional encoder has PyTorch's names and shapes, and as many parameters as the count says.
    func testBidirectionalEncoderNames() throws {
        let seq = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + ["a", "b"], maxLength: 4,
                                 encoderHidden: 5, encoderLayers: 2, decoderHidden: 4, decoderLayers: 1, bidirectional: true)
        let cfg = VAEConfig(sequence: seq, latent: 3)
        let m = try SequenceVAE(config: cfg, seed: 1)
        let shapes = Dictionary(uniqueKeysWithValues: m.store.parameters.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["encoder.gru.weight_ih_l0_reverse"], [15, 6])
        XCTAssertEqual(shapes["encoder.gru.weight_ih_l1"], [15, 10])
        XCTAssertEqual(shapes["encoder.gru.bias_hh_l1_reverse"], [15])
        XCTAssertEqual(shapes["encoder.head.weight"], [6, 10])
        XCTAssertEqual(SequenceVAE.parameterCount(cfg), m.store.count)
    }

    func check(bidirectional: Bool, embedding: Int = 0) throws {
        let seq = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + ["a", "b", "c", "d"], maxLength: 6,
                                 encoderHidden: 5, encoderLayers: 2, decoderHidden: 4, decoderLayers: 2, bidirectional: bidirectional,
                                 embedding: embedding)
        let m = try SequenceVAE(config: VAEConfig(sequence: seq, latent: 3), seed: 3)
        // items of lengths 6, 2, 4 and 1 (tokens 4…7), padded
        let items: [[Float]] = [[4, 5, 6, 7, 4, 5], [7, 7], [5, 4, 6, 6], [6]]
        let x = Tensor(shape: [4, 8])
        for (r, it) in items.enumerated() {
            let row = [Float(Vocabulary.bos)] + it + [Float(Vocabulary.eos)]
            for c in 0..<8 { x[r * 8 + c] = c < row.count ? row[c] : Float(Vocabulary.pad) }
        }
        var rng = RNG(seed: 5)
        let eps = Tensor(shape: [4, 3])
        rng.fillNormal(eps.pointer, count: eps.count)
        let w = 0.7
        func loss() -> Double {
            let (r, k) = m.perExampleLoss(Batch(x: x), eps: eps)
            return zip(r, k).reduce(0) { $0 + $1.0 + w * $1.1 } / 4
        }
        m.store.zeroGrad()
        _ = m.trainStep(Batch(x: x), eps: eps, klWeight: w, gradScale: nil, update: nil)
        let h: Float = 1e-2
        var compared = 0
        for p in m.store.parameters {
            for i in Swift.stride(from: 0, to: p.count, by: max(1, p.count / 12)) {
                let old = p.value[i]
                p.value[i] = old + h; let lp = loss()
                p.value[i] = old - h; let lm = loss()
                p.value[i] = old
                let num = (lp - lm) / (2 * Double(h))
                XCTAssertEqual(Double(p.grad[i]), num, accuracy: 2e-3 + 1e-2 * abs(num), "bidirectional \(bidirectional), embedding \(embedding): \(p.name)[\(i)]")
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 100)
    }
}
