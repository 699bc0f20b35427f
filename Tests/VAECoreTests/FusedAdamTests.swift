import XCTest
import CVAEKernels
@testable import VAECore

/// Adam fused into the gradient GEMM (`vk_sgemm_adam`) and into the layers' backward pass
/// (`FusedAdamStep`): bit-identical to the plain product followed by `vk_adam_update`, at every
/// kernel level, thread count and cache blocking.
final class FusedAdamTests: XCTestCase {
    struct Shape { var transA: Bool, transB: Bool, m: Int, n: Int, k: Int }

    /// (p, m, v, C) after a product with Adam: fused, or the product then the Adam pass.
    func run(_ s: Shape, fused: Bool, beta: Float, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        let rowsA = s.transA ? s.k : s.m, colsA = s.transA ? s.m : s.k
        let rowsB = s.transB ? s.n : s.k, colsB = s.transB ? s.k : s.n
        let a = (0..<(rowsA * colsA)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(rowsB * colsB)).map { _ in rng.uniform(-1, 1) }
        let count = s.m * s.n
        return adamProduct(count: count, a: a, b: b, rng: &rng) { pa, pb, pc, args in
            let (ta, tb): (Int32, Int32) = (s.transA ? 1 : 0, s.transB ? 1 : 0)
            if fused {
                vk_sgemm_adam(ta, tb, Int32(s.m), Int32(s.n), Int32(s.k), 0.5, pa, Int32(colsA), pb, Int32(colsB),
                              beta, pc, Int32(s.n), args)
            } else {
                vk_sgemm(ta, tb, Int32(s.m), Int32(s.n), Int32(s.k), 0.5, pa, Int32(colsA), pb, Int32(colsB), beta, pc, Int32(s.n))
                let t = args.pointee
                vk_adam_update(count, t.p, pc, t.m, t.v, t.step_size, t.bc2_sqrt, t.beta1, t.beta2, t.eps, t.weight_decay)
            }
        }
    }

    func testFusedGEMMAdamIsBitIdentical() {
        let shapes = [
            Shape(transA: true, transB: false, m: 120, n: 200, k: 128),   // Dense dW = gᵀ x
            Shape(transA: true, transB: false, m: 40, n: 400, k: 32),
            Shape(transA: true, transB: false, m: 37, n: 53, k: 300),     // two K blocks
            Shape(transA: false, transB: true, m: 13, n: 70, k: 9),
            Shape(transA: false, transB: false, m: 3, n: 5, k: 0),        // no product: Adam on beta·C
        ]
        let top = GEMM.kernelLevel, threads = ThreadPool.threadCount
        defer { GEMM.forceKernelLevel(top); ThreadPool.threadCount = threads; GEMM.setBlocking(kc: 0, mc: 0, nc: 0) }
        for (i, s) in shapes.enumerated() {
            for beta: Float in [0, 1] {
                var reference: [Float]?
                for level in 1...top {
                    GEMM.forceKernelLevel(level)
                    for t in [1, 2, 3] {
                        ThreadPool.threadCount = t
                        let plain = run(s, fused: false, beta: beta, seed: UInt64(i + 1))
                        let fused = run(s, fused: true, beta: beta, seed: UInt64(i + 1))
                        XCTAssertEqual(fused, plain, "shape \(i) beta \(beta) level \(level) threads \(t)")
                        if level == top {
                            if let r = reference { XCTAssertEqual(fused, r, "shape \(i): differs with \(t) threads") }
                            reference = fused
                        }
                    }
                    // Small cache blocks: many K, M and N blocks, the gemm_block path.
                    GEMM.setBlocking(kc: 16, mc: 16, nc: 64)
                    XCTAssertEqual(run(s, fused: true, beta: beta, seed: UInt64(i + 1)),
                                   run(s, fused: false, beta: beta, seed: UInt64(i + 1)), "shape \(i) small blocks level \(level)")
                    GEMM.setBlocking(kc: 0, mc: 0, nc: 0)
                }
            }
        }
    }

    /// A small MLP and a conv stack trained a few steps both ways end with the same bits.
    func testFusedStepMatchesZeroBackwardUpdate() {
        func network(_ conv: Bool) -> Sequential {
            if conv {
                return Sequential(name: "net", input: [1, 8, 8], [
                    Conv2D(1, 4, kernelSize: 3, stride: 2, padding: 1, activation: .relu),
                    ConvTranspose2D(4, 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, activation: .relu),
                    Flatten(), Dense(128, 10),
                ])
            }
            return Sequential(name: "net", input: [30], [Dense(30, 40, activation: .relu), Dense(40, 40, activation: .relu), Dense(40, 7)])
        }
        for conv in [false, true] {
            var results: [[Float]] = []
            for fused in [false, true] {
                let net = network(conv)
                let store = ParameterStore(net.parameters)
                var rng = RNG(seed: 5)
                net.initialize(using: &rng)
                let adam = Adam(store, learningRate: 1e-2, weightDecay: 0.001)
                let inputCount = conv ? 64 : 30, outCount = conv ? 10 : 7, batch = 9
                for _ in 0..<4 {
                    let x = Tensor(shape: conv ? [batch, 1, 8, 8] : [batch, 30])
                    rng.fillUniform(x.pointer, count: batch * inputCount, -1, 1)
                    let y = net.forward(x)
                    let dy = Tensor(shape: [batch, outCount])
                    for i in 0..<dy.count { dy[i] = y[i] - 0.5 }
                    backwardAndUpdate(net, store, adam, dy, fused: fused)
                }
                XCTAssertEqual(adam.step, 4)
                results.append(adamState(store, adam))
            }
            XCTAssertEqual(results[0], results[1], conv ? "conv" : "mlp")
        }
    }
}
