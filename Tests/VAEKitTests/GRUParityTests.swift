import XCTest
@testable import VAEKit
import VAECore

/// The GRU layer against PyTorch's float64 numbers (`gru_vae_step.json`, case `gru_layer`): a
/// 2-layer `nn.GRU` (input 4, hidden 6, batch 3, 5 steps, batch-first) with an initial state —
/// outputs, final states and every gradient, under PyTorch's parameter names.
final class GRUParityTests: XCTestCase {
    func testTwoLayerGRUMatchesPyTorch() throws {
        let c = try XCTUnwrap(try Fixture.load("gru_vae_step")["gru_layer"] as? [String: Any])
        let params = c["params"] as! [String: Any], grads = c["grads"] as! [String: Any]
        let gru = GRU(inputSize: 4, hiddenSize: 6, layers: 2)
        gru.nameParameters(prefix: "gru")
        for p in gru.parameters {
            let key = String(p.name.dropFirst(4))
            let t = Fixture.tensor(params[key])
            XCTAssertEqual(t.shape, p.shape, key)
            for i in 0..<p.count { p.value[i] = Float(t.data[i]) }
            p.grad.zero()
        }
        // batch-first [B, T, F] → packed time-major (all 5 steps long): row t·B + b
        let B = 3, T = 5
        func packed(_ any: Any?, width: Int) -> Tensor {
            let t = Fixture.tensor(any)
            let out = Tensor(shape: [T * B, width])
            for b in 0..<B { for s in 0..<T { for f in 0..<width { out[(s * B + b) * width + f] = Float(t.data[(b * T + s) * width + f]) } } }
            return out
        }
        func unpacked(_ x: Tensor, width: Int) -> [Float] {
            var out = [Float](repeating: 0, count: B * T * width)
            for b in 0..<B { for s in 0..<T { for f in 0..<width { out[(b * T + s) * width + f] = x[(s * B + b) * width + f] } } }
            return out
        }
        let layout = PackedLayout(lengths: [T, T, T])
        let x = packed(c["x"], width: 4)
        let h0 = Tensor(shape: [2, B, 6], data: Fixture.tensor(c["h0"]).data.map(Float.init))
        let (out, hN) = gru.forward(x, layout: layout, h0: h0)
        assertClose(unpacked(out, width: 6), Fixture.tensor(c["output"]).data, "output")
        assertClose(hN.array, Fixture.tensor(c["h_n"]).data, "h_n")
        let dOut = packed(c["grad_output"], width: 6)
        let dhN = Tensor(shape: [2, B, 6], data: Fixture.tensor(c["grad_h_n"]).data.map(Float.init))
        let (dx, dh0) = gru.backward(dOutput: dOut, dhN: dhN)
        assertClose(unpacked(dx, width: 4), Fixture.tensor(c["grad_x"]).data, "grad_x")
        assertClose(dh0.array, Fixture.tensor(c["grad_h0"]).data, "grad_h0")
        for p in gru.parameters {
            let key = String(p.name.dropFirst(4))
            assertClose(p.grad.array, Fixture.tensor(grads[key]).data, "grad of \(key)")
        }
    }
}
