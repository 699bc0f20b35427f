import XCTest
@testable import VAEKit
import VAECore

/// encode, decode, decodeSample and reconstruct run a large call in passes of `VAE.passRows`
/// rows (bounded memory): every row as it is when decoded alone, the draws in row order.
final class PassTests: XCTestCase {
    func testPassesGiveEveryRowAsAlone() throws {
        let n = VAE.passRows + 77
        for config in [VAEConfig(inputShape: [1, 8, 8], latent: 3, hidden: [16]),
                       VAEConfig(architecture: .conv, inputShape: [1, 8, 8], latent: 3, hidden: [8]),
                       VAEConfig(inputShape: [1, 8, 8], latent: 3, hidden: [16], conditionSize: 2)] {
            let model = try VAE(config: config, seed: 2)
            var rng = RNG(seed: 9)
            let z = Tensor(shape: [n, 3]), x = Tensor(shape: [n, 64])
            rng.fillNormal(z.pointer, count: z.count)
            for i in 0..<x.count { x[i] = rng.uniform() }
            let c: Tensor? = config.conditionSize > 0 ? Tensor(shape: [n, 2], data: (0..<n).flatMap { $0 % 3 == 0 ? [1, 0] : [0, 1] as [Float] }) : nil
            func cond(_ rows: Range<Int>) -> Tensor? { c?.rows(rows).copy() }

            let whole = model.decode(z, condition: c)
            let (mu, lv) = model.encode(x, condition: c)
            var r1 = RNG(seed: 4), r2 = RNG(seed: 4)
            let drawn = model.decodeSample(z, condition: c, rng: &r1)
            // the same rows one or a few at a time: small calls run in one pass
            for rows in [0..<1, 200..<203, (VAE.passRows - 1)..<(VAE.passRows + 2), (n - 1)..<n] {
                let part = model.decode(z.rows(rows).copy(), condition: cond(rows))
                XCTAssertEqual(part.array, whole.rows(rows).array, "\(config.architecture) decode \(rows)")
                let (m, l) = model.encode(x.rows(rows).copy(), condition: cond(rows))
                XCTAssertEqual(m.array, mu.rows(rows).array, "\(config.architecture) μ \(rows)")
                XCTAssertEqual(l.array, lv.rows(rows).array, "\(config.architecture) log σ² \(rows)")
            }
            // draws in row order: two calls over the halves take the one call's draws
            let a = model.decodeSample(z.rows(0..<300).copy(), condition: cond(0..<300), rng: &r2)
            let b = model.decodeSample(z.rows(300..<n).copy(), condition: cond(300..<n), rng: &r2)
            XCTAssertEqual(a.array + b.array, drawn.array, "\(config.architecture) decodeSample")
            XCTAssertEqual(model.reconstruct(x, condition: c).array, model.decode(mu, condition: c).array)
            XCTAssertEqual(whole.shape, [n, 64])
            let raw = model.encodeRawInPasses(x, condition: c), logits = model.decodeLogitsInPasses(z, condition: c)
            for rows in [0..<2, (VAE.passRows - 1)..<(VAE.passRows + 1), (n - 2)..<n] {
                XCTAssertEqual(raw.rows(rows).array, model.encodeRaw(x.rows(rows).copy(), condition: cond(rows)).array)
                XCTAssertEqual(logits.rows(rows).array, model.decodeLogits(z.rows(rows).copy(), condition: cond(rows)).array)
            }
        }
    }
}
