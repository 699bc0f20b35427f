import XCTest
@testable import VAECore
@testable import VAEKit

/// SwiftVAE against PyTorch's own numbers (float64) in Fixtures/.
final class PyTorchParityTests: XCTestCase {
    /// Maps the fixture's 12-6-3 VAE (separate μ and log σ² heads) onto SwiftVAE's layout
    /// (one head with 2K outputs: μ then log σ²).
    func loadMLP(_ params: [String: Any], into vae: VAE) {
        func t(_ n: String) -> [Double] { Fixture.tensor(params[n]).data }
        func set(_ name: String, _ values: [Double]) {
            let p = vae.store.parameter(named: name)!
            XCTAssertEqual(p.count, values.count, name)
            for (i, v) in values.enumerated() { p.value[i] = Float(v) }
        }
        set("encoder.1.weight", t("encoder.fc1.weight"))
        set("encoder.1.bias", t("encoder.fc1.bias"))
        set("encoder.3.weight", t("encoder.mu.weight") + t("encoder.logvar.weight"))
        set("encoder.3.bias", t("encoder.mu.bias") + t("encoder.logvar.bias"))
        set("decoder.0.weight", t("decoder.fc1.weight"))
        set("decoder.0.bias", t("decoder.fc1.bias"))
        set("decoder.2.weight", t("decoder.out.weight"))
        set("decoder.2.bias", t("decoder.out.bias"))
    }

    func checkMLP(_ params: [String: Any], _ vae: VAE, rel: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        func t(_ n: String) -> [Double] { Fixture.tensor(params[n]).data }
        func get(_ name: String) -> [Float] { vae.store.parameter(named: name)!.value.array }
        assertClose(get("encoder.1.weight"), t("encoder.fc1.weight"), rel: rel, abs: 1e-6, "\(what) encoder.fc1.weight", file: file, line: line)
        assertClose(get("encoder.1.bias"), t("encoder.fc1.bias"), rel: rel, abs: 1e-6, "\(what) encoder.fc1.bias", file: file, line: line)
        assertClose(get("encoder.3.weight"), t("encoder.mu.weight") + t("encoder.logvar.weight"), rel: rel, abs: 1e-6, "\(what) head weight", file: file, line: line)
        assertClose(get("encoder.3.bias"), t("encoder.mu.bias") + t("encoder.logvar.bias"), rel: rel, abs: 1e-6, "\(what) head bias", file: file, line: line)
        assertClose(get("decoder.0.weight"), t("decoder.fc1.weight"), rel: rel, abs: 1e-6, "\(what) decoder.fc1.weight", file: file, line: line)
        assertClose(get("decoder.2.weight"), t("decoder.out.weight"), rel: rel, abs: 1e-6, "\(what) decoder.out.weight", file: file, line: line)
        assertClose(get("decoder.2.bias"), t("decoder.out.bias"), rel: rel, abs: 1e-6, "\(what) decoder.out.bias", file: file, line: line)
    }

    func makeFixtureVAE() throws -> (VAE, [String: Any]) {
        let f = try Fixture.load("mlp_vae_step")
        let cfg = VAEConfig(architecture: .mlp, inputShape: [1, 3, 4], latent: 3, hidden: [6])
        let vae = try VAE(config: cfg, seed: 0)
        loadMLP(f["params"] as! [String: Any], into: vae)
        return (vae, f)
    }

    func testMLPStepLossGradientsAndAdam() throws {
        let (vae, f) = try makeFixtureVAE()
        let x = Tensor(shape: [4, 12], data: Fixture.tensor(f["x"]).data.map(Float.init))
        let eps = Tensor(shape: [4, 3], data: Fixture.tensor(f["eps"]).data.map(Float.init))

        // Intermediate values
        let (mu, lv) = vae.encode(x)
        assertClose(mu.array, Fixture.tensor(f["mu"]).data, "mu")
        assertClose(lv.array, Fixture.tensor(f["logvar"]).data, "logvar")
        let z = Tensor(shape: [4, 3])
        vae.encodeRaw(x).pointer.withMemoryRebound(to: Float.self, capacity: 24) { h in
            Posterior.sample(h: h, eps: eps.pointer, rows: 4, latent: 3, z: z.pointer, kl: nil)
        }
        assertClose(z.array, Fixture.tensor(f["z"]).data, "z")
        assertClose(vae.decodeLogits(z).array, Fixture.tensor(f["logits"]).data, "logits")

        // Loss and gradients
        vae.store.zeroGrad()
        let loss = vae.trainStep(x: x, eps: eps, klWeight: 1)
        XCTAssertEqual(loss.recon / 4, f["recon"] as! Double, accuracy: 1e-5 * 8.2)
        XCTAssertEqual(loss.kl / 4, f["kl"] as! Double, accuracy: 1e-5 * 1.4)
        XCTAssertEqual((loss.recon + loss.kl) / 4, f["loss"] as! Double, accuracy: 1e-4)
        let grads = f["grads"] as! [String: Any]
        func g(_ n: String) -> [Double] { Fixture.tensor(grads[n]).data }
        func mine(_ n: String) -> [Float] { vae.store.parameter(named: n)!.grad.array }
        assertClose(mine("encoder.1.weight"), g("encoder.fc1.weight"), rel: 1e-4, abs: 1e-6, "grad encoder.fc1.weight")
        assertClose(mine("encoder.1.bias"), g("encoder.fc1.bias"), rel: 1e-4, abs: 1e-6, "grad encoder.fc1.bias")
        assertClose(mine("encoder.3.weight"), g("encoder.mu.weight") + g("encoder.logvar.weight"), rel: 1e-4, abs: 1e-6, "grad head weight")
        assertClose(mine("encoder.3.bias"), g("encoder.mu.bias") + g("encoder.logvar.bias"), rel: 1e-4, abs: 1e-6, "grad head bias")
        assertClose(mine("decoder.0.weight"), g("decoder.fc1.weight"), rel: 1e-4, abs: 1e-6, "grad decoder.fc1.weight")
        assertClose(mine("decoder.0.bias"), g("decoder.fc1.bias"), rel: 1e-4, abs: 1e-6, "grad decoder.fc1.bias")
        assertClose(mine("decoder.2.weight"), g("decoder.out.weight"), rel: 1e-4, abs: 1e-6, "grad decoder.out.weight")
        assertClose(mine("decoder.2.bias"), g("decoder.out.bias"), rel: 1e-4, abs: 1e-6, "grad decoder.out.bias")

        // One Adam step, then two more on the same batch and noise
        let adam = Adam(vae.store, learningRate: 1e-3)
        adam.update()
        checkMLP(f["params_after_1_adam_step"] as! [String: Any], vae, rel: 1e-5, "after 1 step")
        let losses = (f["losses_steps_1_to_3"] as! [Any]).map { ($0 as! NSNumber).doubleValue }
        XCTAssertEqual((loss.recon + loss.kl) / 4, losses[0], accuracy: 1e-4)
        for s in 1..<3 {
            vae.store.zeroGrad()
            let l = vae.trainStep(x: x, eps: eps, klWeight: 1)
            XCTAssertEqual((l.recon + l.kl) / 4, losses[s], accuracy: 1e-4, "loss at step \(s + 1)")
            adam.update()
        }
        checkMLP(f["params_after_3_adam_steps"] as! [String: Any], vae, rel: 1e-4, "after 3 steps")
    }

    func testIWAEMatchesPyTorch() throws {
        let (vae, f) = try makeFixtureVAE()
        let w = try Fixture.load("iwae")
        let k = (w["k"] as! NSNumber).intValue
        let eps = Fixture.tensor(w["eps_k"]).data  // [k][b][j]
        let expected = Fixture.tensor(w["neg_log_px_per_example"]).data
        let x = Tensor(shape: [4, 12], data: Fixture.tensor(f["x"]).data.map(Float.init))
        var rng = RNG(seed: 0)
        let got = try Evaluator.iwae(vae, x: x, k: k, chunk: 10, rng: &rng) { image, j, e in
            for d in 0..<3 { e[d] = Float(eps[(j * 4 + image) * 3 + d]) }
        }
        for i in 0..<4 { XCTAssertEqual(got[i], expected[i], accuracy: 1e-5 * abs(expected[i]) + 1e-5, "image \(i)") }
    }

    func testConvolutionsMatchPyTorch() throws {
        let f = try Fixture.load("convolutions")
        let cases = f["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 4)
        for c in cases {
            let name = c["name"] as! String
            let transposed = c["transposed"] as! Bool
            let stride = (c["stride"] as! NSNumber).intValue, pad = (c["padding"] as! NSNumber).intValue
            let op = (c["output_padding"] as! NSNumber).intValue, k = (c["kernel"] as! NSNumber).intValue
            let x = Fixture.tensor(c["x"]), w = Fixture.tensor(c["weight"]), b = Fixture.tensor(c["bias"])
            let layer: Layer
            if transposed {
                layer = ConvTranspose2D(w.shape[0], w.shape[1], kernelSize: k, stride: stride, padding: pad, outputPadding: op)
            } else {
                layer = Conv2D(w.shape[1], w.shape[0], kernelSize: k, stride: stride, padding: pad)
            }
            let params = layer.parameters
            for (i, v) in w.data.enumerated() { params[0].value[i] = Float(v) }
            for (i, v) in b.data.enumerated() { params[1].value[i] = Float(v) }
            let xt = Tensor(shape: x.shape, data: x.data.map(Float.init))
            let y = layer.forward(xt)
            let ye = Fixture.tensor(c["y"])
            XCTAssertEqual(y.shape, ye.shape, name)
            assertClose(y.array, ye.data, rel: 1e-5, abs: 1e-5, "\(name) y")
            let dy = Fixture.tensor(c["dy"])
            let dx = layer.backward(Tensor(shape: dy.shape, data: dy.data.map(Float.init)))
            assertClose(dx.array, Fixture.tensor(c["dx"]).data, rel: 1e-5, abs: 1e-5, "\(name) dx")
            assertClose(params[0].grad.array, Fixture.tensor(c["dweight"]).data, rel: 1e-5, abs: 1e-5, "\(name) dweight")
            assertClose(params[1].grad.array, Fixture.tensor(c["dbias"]).data, rel: 1e-5, abs: 1e-5, "\(name) dbias")
        }
    }
}
