import XCTest
import VAEKit

/// The worked example of the design documents (../shared/GUIDE.md), through the library.
final class WorkedExampleTests: XCTestCase {
    func testWorkedExample() {
        let mu: [Float] = [0.5, -0.3], logvar: [Float] = [0.2, 0.4], eps: [Float] = [0.1, -0.2]
        let z = VAEMath.reparameterize(mu: mu, logvar: logvar, eps: eps)
        XCTAssertEqual(z[0], 0.6105, accuracy: 1e-4)   // 0.5 + 1.10517·0.1
        XCTAssertEqual(z[1], -0.5443, accuracy: 1e-4)  // −0.3 − 1.22140·0.2
        let mse = VAEMath.meanSquaredError([0.8, 0.2, 0.6, 0.4], [0.75, 0.25, 0.65, 0.35])
        XCTAssertEqual(mse, 0.0025, accuracy: 1e-7)
        let kl = VAEMath.klDivergence(mu: mu, logvar: logvar)
        XCTAssertEqual(kl, 0.2266, accuracy: 1e-4)
        // Summed, not averaged: a bug that divides by the latent size gives half of it.
        XCTAssertEqual(kl, 0.5 * ((0.25 + exp(0.2) - 0.2 - 1) + (0.09 + exp(0.4) - 0.4 - 1)), accuracy: 1e-6)
    }

    func testBernoulliFromLogitsIsStable() {
        // Huge logits must not give inf or NaN (log(0) is never taken)
        let nll = VAEMath.negLogLikelihood(.bernoulli, logits: [100, -100, 0], x: [1, 0, 0.5])
        XCTAssertEqual(nll, log(2), accuracy: 1e-6)
        let wrong = VAEMath.negLogLikelihood(.bernoulli, logits: [-100], x: [1])
        XCTAssertEqual(wrong, 100, accuracy: 1e-3)
    }

    func testGaussianLikelihoodIsATrueNLL() {
        // logit 0 → x̂ = 0.5; σ = 0.1: (0.1)²/(2·0.01) + ½ log(2π·0.01)
        let v = VAEMath.negLogLikelihood(.gaussian, logits: [0], x: [0.6], sigma: 0.1)
        XCTAssertEqual(v, 0.5 + 0.5 * log(2 * Double.pi * 0.01), accuracy: 1e-6)
    }
}
