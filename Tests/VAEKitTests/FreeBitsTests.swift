import XCTest
@testable import VAEKit
import VAECore

/// Free bits (`VAEConfig.freeBits` λ): the training gradient is that of
/// Σ recon + w·Σ max(KL_i, λ) per item — checked against central finite differences of that
/// objective, for the mlp VAE and the sequence VAE, with λ between the items' KLs (some items
/// pay their KL, some do not); λ above every KL gives the gradient of the reconstruction alone.
final class FreeBitsTests: XCTestCase {
    func models() throws -> [(String, VAEConfig, Batch)] {
        var rng = RNG(seed: 11)
        let b = 4
        let mlp = VAEConfig(architecture: .mlp, inputShape: [1, 1, 6], latent: 3, hidden: [5])
        let x = Tensor(shape: [b, 6])
        rng.fillUniform(x.pointer, count: x.count, 0, 1)
        let seq = SequenceConfig(tokenizer: .characters, vocabulary: Vocabulary.specials + ["a", "b", "c"], maxLength: 5,
                                 encoderHidden: 5, encoderLayers: 1, decoderHidden: 4, decoderLayers: 2)
        let rows: [[Float]] = [[0, 4, 5, 1, 2, 2, 2], [0, 6, 1, 2, 2, 2, 2], [0, 4, 4, 6, 5, 1, 2], [0, 5, 6, 4, 6, 4, 1]]
        return [("mlp", mlp, Batch(x: x)),
                ("gru", VAEConfig(sequence: seq, latent: 3), Batch(x: Tensor(shape: [b, 7], data: rows.flatMap { $0 })))]
    }

    func testGradientIsThatOfMaxKLLambda() throws {
        for (name, base, batch) in try models() {
            let b = batch.count, w = 0.8
            var eps = Tensor(shape: [b, 3])
            let none: Float? = nil, noUpdate: FusedAdamStep? = nil
            var rng = RNG(seed: 5)
            rng.fillNormal(eps.pointer, count: eps.count)
            // λ between the second and third smallest KL: two items pay, two do not
            let probe = try Models.make(base, seed: 3)
            for p in probe.store.parameters where p.name.contains("head") || p.name.contains("mu") { for i in 0..<p.count { p.value[i] *= 3 } }
            let kls = probe.perExampleLoss(batch, eps: eps).kl.sorted()
            XCTAssertLessThan(kls[1] + 1e-3, kls[2], "\(name): the items' KLs are too close to place λ between them: \(kls)")
            var cfg = base
            cfg.freeBits = (kls[1] + kls[2]) / 2
            let model = try Models.make(cfg, seed: 3)
            model.store.values.pointer.update(from: probe.store.values.pointer, count: model.store.count)
            model.store.zeroGrad()
            _ = model.trainStep(batch, eps: eps, klWeight: w, gradScale: none, update: noUpdate)
            let analytic = Array(UnsafeBufferPointer(start: model.store.grads.pointer, count: model.store.count))
            let lambda = cfg.freeBits!
            func objective() -> Double {
                let (r, k) = model.perExampleLoss(batch, eps: eps)
                var total = 0.0
                for i in 0..<b { total += r[i] + w * max(k[i], lambda) }
                return total / Double(b)
            }
            let values = model.store.values.pointer
            var checked = 0, kinkSkipped = 0
            for i in Swift.stride(from: 0, to: model.store.count, by: max(1, model.store.count / 80)) {
                let v = values[i], h: Float = 1e-2
                values[i] = v + h
                let up = objective(), kUp = model.perExampleLoss(batch, eps: eps).kl
                values[i] = v - h
                let down = objective(), kDown = model.perExampleLoss(batch, eps: eps).kl
                values[i] = v
                // a step that moves an item's KL across λ has no central difference to compare with
                if zip(kUp, kDown).contains(where: { ($0 - lambda) * ($1 - lambda) <= 0 }) { kinkSkipped += 1; continue }
                let fd = (up - down) / Double(2 * h)
                XCTAssertEqual(Double(analytic[i]), fd, accuracy: 5e-3 + 3e-2 * abs(fd), "\(name) parameter \(i)")
                checked += 1
            }
            XCTAssertGreaterThan(checked, 30, "\(name): \(kinkSkipped) skipped at the kink")
            eps = Tensor(shape: [b, 3], data: eps.array)

            // λ above every item's KL: the gradient of the reconstruction term alone (w = 0)
            cfg.freeBits = 1e6
            let free = try Models.make(cfg, seed: 3), plain = try Models.make(base, seed: 3)
            for m in [free, plain] { m.store.values.pointer.update(from: probe.store.values.pointer, count: m.store.count); m.store.zeroGrad() }
            _ = free.trainStep(batch, eps: eps, klWeight: w, gradScale: none, update: noUpdate)
            _ = plain.trainStep(batch, eps: eps, klWeight: 0, gradScale: none, update: noUpdate)
            func grads(_ m: any LatentVariableModel) -> [Float] { Array(UnsafeBufferPointer(start: m.store.grads.pointer, count: m.store.count)) }
            XCTAssertEqual(grads(free), grads(plain), "\(name): λ above every KL still moved the KL")
            // and without free bits the KL does pull (the check above can fail)
            plain.store.zeroGrad()
            _ = plain.trainStep(batch, eps: eps, klWeight: w, gradScale: none, update: noUpdate)
            XCTAssertNotEqual(grads(free), grads(plain))
        }
    }

    func testFreeBitsIsValidatedAndStored() throws {
        var cfg = VAEConfig(architecture: .mlp, inputShape: [1, 1, 6], latent: 3, hidden: [5])
        cfg.freeBits = -1
        XCTAssertThrowsError(try cfg.validate()) { XCTAssertTrue("\($0)".contains("free bits -1"), "\($0)") }
        cfg.freeBits = .nan
        XCTAssertThrowsError(try cfg.validate())
        cfg.freeBits = 2.5
        let json = try JSONEncoder().encode(cfg)
        XCTAssertEqual(try JSONDecoder().decode(VAEConfig.self, from: json).freeBits, 2.5)
        // a config written before free bits existed loads with none
        var old = try XCTUnwrap(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        old.removeValue(forKey: "freeBits")
        let decoded = try JSONDecoder().decode(VAEConfig.self, from: try JSONSerialization.data(withJSONObject: old))
        XCTAssertNil(decoded.freeBits)
        XCTAssertEqual(decoded.freeBitsValue, 0)
    }
}
