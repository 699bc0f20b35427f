import XCTest
@testable import VAECore
@testable import VAEKit

/// The IWAE training loss and every parameter gradient against an independent float64
/// computation (scripts/make_iwae_train_fixture.py, reverse-mode autodiff of the paper's formulas).
final class IWAEParityTests: XCTestCase {
    func testIWAELossAndGradientsMatchTheFixture() throws {
        let f = try Fixture.load("iwae_train")
        let k = (f["k"] as! NSNumber).intValue
        let hidden = (f["hidden"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let config = VAEConfig(architecture: .mlp, inputShape: [1, 2, 3], latent: (f["latent"] as! NSNumber).intValue,
                               hidden: hidden, activation: .tanh)
        let vae = try VAE(config: config, seed: 0)
        let params = f["params"] as! [String: Any]
        XCTAssertEqual(Set(params.keys), Set(vae.store.parameters.map(\.name)))
        for p in vae.store.parameters {
            let v = Fixture.tensor(params[p.name])
            XCTAssertEqual(v.shape, p.shape, p.name)
            for (i, x) in v.data.enumerated() { p.value[i] = Float(x) }
        }
        let e = Fixture.tensor(f["eps"])   // [B, K, latent]
        let b = e.shape[0]
        XCTAssertEqual(e.shape[1], k)
        let eps = Tensor(shape: [b, k * config.latent], data: e.data.map(Float.init))
        let objective = IWAEObjective(model: vae, samples: k)
        let cases = f["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 2)
        for c in cases {
            let name = c["name"] as! String
            let x = Tensor(shape: [b, 6], data: Fixture.tensor(c["x"]).data.map(Float.init))
            let m = Fixture.tensor(c["mask"]).data
            let mask = m.allSatisfy({ $0 == 1 }) ? nil : Tensor(shape: [b, 6], data: m.map(Float.init))
            let batch = Batch(x: x, mask: mask)
            vae.store.zeroGrad()
            let l = objective.trainStep(batch, eps: eps)
            let expected = c["loss"] as! Double
            XCTAssertEqual((l.recon + l.kl) / Double(b), expected, accuracy: 1e-5 * abs(expected), name)
            let perImage = objective.negativeBound(batch, eps: eps)
            assertClose(perImage.map(Float.init), Fixture.tensor(c["neg_bound_per_image"]).data, rel: 1e-5, abs: 1e-5, "\(name) per image")
            let grads = c["grads"] as! [String: Any]
            for p in vae.store.parameters {
                assertClose(p.grad.array, Fixture.tensor(grads[p.name]).data, rel: 1e-4, abs: 1e-6, "\(name) grad \(p.name)")
            }
        }
    }
}
