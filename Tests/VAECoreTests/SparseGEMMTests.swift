import XCTest
import CVAEKernels
@testable import VAECore

/// The weight gradient of a ReLU layer skips its gradient's zeros (`vk_sgemm_adam_sparse_a`):
/// the same bits as the dense product (and the dense product with Adam), for every shape, tail,
/// K-block count, thread count and kernel level, and a network trained either way ends the same.
final class SparseGEMMTests: XCTestCase {
    struct Shape { var m: Int, n: Int, k: Int }

    /// A (K × M) with rows of C active at very different rates, as a ReLU layer's units are:
    /// never, rarely, often, always; −0 counts as a zero.
    func sparseA(_ s: Shape, rng: inout RNG) -> [Float] {
        let rates: [Float] = [0, 0.02, 0.1, 0.2, 0.5, 0.9, 1]
        let rate = (0..<s.m).map { _ in rates[Int(rng.uniform(0, Float(rates.count) - 0.001))] }
        var a = [Float](repeating: 0, count: s.k * s.m)
        for p in 0..<s.k {
            for i in 0..<s.m {
                let on = rng.uniform(0, 1) < rate[i]
                a[p * s.m + i] = on ? rng.uniform(-1, 1) : (rng.uniform(0, 1) < 0.1 ? -0.0 : 0)
            }
        }
        return a
    }

    /// (p, m, v, C) after C = 0.5·AᵀB + beta·C, with Adam when `adam`; sparse or dense.
    func run(_ s: Shape, sparse: Bool, adam: Bool, beta: Float, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        let a = sparseA(s, rng: &rng)
        let b = (0..<(s.k * s.n)).map { _ in rng.uniform(-1, 1) }
        let (mm, nn, kk) = (Int32(s.m), Int32(s.n), Int32(s.k))
        return adamProduct(count: s.m * s.n, a: a, b: b, rng: &rng) { A, B, C, args in
            switch (sparse, adam) {
            case (true, true): vk_sgemm_adam_sparse_a(mm, nn, kk, 0.5, A, mm, B, nn, beta, C, nn, args)
            case (true, false): vk_sgemm_adam_sparse_a(mm, nn, kk, 0.5, A, mm, B, nn, beta, C, nn, nil)
            case (false, true): vk_sgemm_adam(1, 0, mm, nn, kk, 0.5, A, mm, B, nn, beta, C, nn, args)
            case (false, false): vk_sgemm(1, 0, mm, nn, kk, 0.5, A, mm, B, nn, beta, C, nn)
            }
        }
    }

    func testSparseProductHasTheDenseBits() {
        let shapes = [
            Shape(m: 400, n: 784, k: 300),   // an mlp's first layer, two K blocks
            Shape(m: 37, n: 53, k: 300),     // M not a multiple of 8, a 53-column tail
            Shape(m: 64, n: 64, k: 16),
            Shape(m: 13, n: 1, k: 40),
            Shape(m: 9, n: 17, k: 600),      // three K blocks
            Shape(m: 24, n: 100, k: 257),
            Shape(m: 130, n: 49, k: 64),
            Shape(m: 8, n: 33, k: 31),
            Shape(m: 4200, n: 3, k: 20),     // chunks capped at 1,024 rows
            Shape(m: 5, n: 70, k: 3),        // a tiny batch
        ]
        let top = GEMM.kernelLevel, threads = ThreadPool.threadCount
        let old = GEMM.setSparseMinZeros(0)
        defer { GEMM.forceKernelLevel(top); ThreadPool.threadCount = threads; GEMM.setSparseMinZeros(old) }
        var sparseRuns = [Int: Int]()   // kernel level → products that took the sparse path
        for (i, s) in shapes.enumerated() {
            let large = s.m * s.n * s.k > 10_000_000   // the first layer's shape: the top level, 1 and 2 threads
            for level in (large ? top : 1)...top {
                GEMM.forceKernelLevel(level)
                let before = GEMM.sparseProducts
                defer { sparseRuns[level, default: 0] += GEMM.sparseProducts - before }
                for t in large ? [1, 2] : [1, 2, 3] {
                    ThreadPool.threadCount = t
                    for adam in [false, true] {
                        for beta: Float in [0, 1] {
                            let seed = UInt64(10 * i + 1)
                            XCTAssertEqual(run(s, sparse: true, adam: adam, beta: beta, seed: seed),
                                           run(s, sparse: false, adam: adam, beta: beta, seed: seed),
                                           "shape \(i) level \(level) threads \(t) adam \(adam) beta \(beta)")
                        }
                    }
                }
            }
        }
        // The AVX2 and AVX-512 levels have a sparse product (the portable level runs the dense one).
        for level in 2...max(2, top) where level <= top {
            XCTAssertGreaterThan(sparseRuns[level, default: 0], 0, "level \(level): the sparse path never ran")
        }
        XCTAssertEqual(sparseRuns[1, default: 0], 0)
    }

    func testThresholdDecides() {
        let top = GEMM.kernelLevel
        let old = GEMM.setSparseMinZeros(101)
        defer { GEMM.setSparseMinZeros(old) }
        let s = Shape(m: 64, n: 40, k: 64)
        var before = GEMM.sparseProducts
        _ = run(s, sparse: true, adam: false, beta: 0, seed: 3)
        XCTAssertEqual(GEMM.sparseProducts, before, "101 turns the sparse product off")
        GEMM.setSparseMinZeros(100)   // the rows' zeros are ~60%, not all: dense
        before = GEMM.sparseProducts
        _ = run(s, sparse: true, adam: false, beta: 0, seed: 3)
        XCTAssertEqual(GEMM.sparseProducts, before, "fewer zeros than the threshold: dense")
        GEMM.setSparseMinZeros(10)
        before = GEMM.sparseProducts
        _ = run(s, sparse: true, adam: false, beta: 0, seed: 3)
        XCTAssertEqual(GEMM.sparseProducts, before + (top >= 2 ? 1 : 0))
    }

    /// An mlp with ReLU layers trained a few fused-Adam steps with the sparse weight gradients
    /// and without: the same parameters, bit for bit.
    func testNetworkTrainsToTheSameBits() {
        let old = GEMM.setSparseMinZeros(0)
        defer { GEMM.setSparseMinZeros(old) }
        let before = GEMM.sparseProducts
        for fused in [true, false] {
            var results: [[Float]] = []
            for minZeros in [0, 101] {
                GEMM.setSparseMinZeros(minZeros)
                let net = Sequential(name: "net", input: [60], [Dense(60, 72, activation: .relu),
                                                               Dense(72, 40, activation: .relu), Dense(40, 7)])
                let store = ParameterStore(net.parameters)
                var rng = RNG(seed: 11)
                net.initialize(using: &rng)
                let adam = Adam(store, learningRate: 1e-2)
                let batch = 33
                for _ in 0..<5 {
                    let x = Tensor(shape: [batch, 60])
                    rng.fillUniform(x.pointer, count: batch * 60, -1, 1)
                    for j in 0..<x.count where j % 3 != 0 { x[j] = 0 }   // image-like zeros
                    let y = net.forward(x)
                    let dy = Tensor(shape: [batch, 7])
                    for j in 0..<dy.count { dy[j] = y[j] - 0.5 }
                    backwardAndUpdate(net, store, adam, dy, fused: fused)
                }
                results.append(adamState(store, adam))
            }
            XCTAssertEqual(results[0], results[1], fused ? "fused Adam" : "backward, then Adam")
        }
        if GEMM.kernelLevel >= 2 { XCTAssertGreaterThan(GEMM.sparseProducts, before, "the sparse path never ran") }
    }
}
