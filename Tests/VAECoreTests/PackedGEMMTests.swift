import XCTest
@testable import VAECore

/// `GEMM.PackedB`: B packed once and reused gives the very bits of `sgemm` with B — for every
/// kernel level, form, thread count and shape (edge tiles, several K blocks, the shared-A and
/// shared-B modes and the 2-D split), and falls back to the plain product when the packing no
/// longer fits (another kernel level, blocking overridden, another backend).
final class PackedGEMMTests: XCTestCase {
    override func tearDown() {
        GEMM.forceKernelLevel(3)
        GEMM.setBlocking(kc: 0, mc: 0, nc: 0)
        GEMM.selectBackend(.builtIn)
        ThreadPool.threadCount = ProcessInfo.processInfo.activeProcessorCount
        super.tearDown()
    }

    var packedLast = false

    func values(_ n: Int, seed: UInt64) -> [Float] {
        var r = RNG(seed: seed)
        return (0..<n).map { _ in r.uniform(-1, 1) }
    }

    /// C from `sgemm` and from the packed product, for one shape (m rows of A, op(B) k × n).
    func both(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, beta: Float, bias: Bool, packedFor level: Int? = nil) -> ([Float], [Float]) {
        let lda = transA ? m : k, ldb = transB ? k : n
        let a = values(m * k, seed: 1), b = values(k * n, seed: 2), c0 = values(m * n, seed: 3), bb = values(n, seed: 4)
        var plain = c0, packed = c0
        b.withUnsafeBufferPointer { pb in
            let top = GEMM.kernelLevel
            if let level { GEMM.forceKernelLevel(level) }
            let p = GEMM.PackedB(transB: transB, n: n, k: k, b: pb.baseAddress!, ldb: ldb)
            packedLast = p.isPacked
            if level != nil { GEMM.forceKernelLevel(top) }
            a.withUnsafeBufferPointer { pa in
                bb.withUnsafeBufferPointer { pbias in
                    plain.withUnsafeMutableBufferPointer { pc in
                        GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                   beta: beta, c: pc.baseAddress!, ldc: n, bias: bias ? pbias.baseAddress : nil)
                    }
                    packed.withUnsafeMutableBufferPointer { pc in
                        GEMM.sgemm(transA: transA, m: m, a: pa.baseAddress!, lda: lda, packed: p, beta: beta, c: pc.baseAddress!, ldc: n,
                                   bias: bias ? pbias.baseAddress : nil)
                    }
                }
            }
        }
        return (plain, packed)
    }

    func testSameBitsAsThePlainProduct() {
        // a recurrent step (m = batch, B = W_hh as 3H × H read transposed, or H × 3H not), small and
        // over the shared-operand limits, with edge tiles and several K blocks
        let shapes: [(Bool, Bool, Int, Int, Int)] = [(false, true, 128, 1536, 512), (false, false, 128, 512, 1536), (false, true, 7, 45, 19),
                                                     (false, false, 33, 70, 300), (true, true, 50, 100, 600), (false, true, 1, 96, 40)]
        for level in stride(from: GEMM.forceKernelLevel(3), through: 1, by: -1) {
            GEMM.forceKernelLevel(level)
            for threads in [1, 2, 3] {
                ThreadPool.threadCount = threads
                for (ta, tb, m, n, k) in shapes {
                    let (p, q) = both(transA: ta, transB: tb, m: m, n: n, k: k, beta: m % 2 == 0 ? 0 : 0.5, bias: n % 3 == 0)
                    XCTAssertEqual(p.map(\.bitPattern), q.map(\.bitPattern), "level \(level), \(threads) threads, \(m)×\(n)×\(k) \(ta) \(tb)")
                    XCTAssertTrue(packedLast, "the built-in kernels packed nothing")
                }
            }
        }
    }

    func testFallsBackWhenThePackingNoLongerFits() throws {
        let best = GEMM.forceKernelLevel(3)
        // blocking overridden (tests, tuning): packing is refused, the plain product runs
        GEMM.setBlocking(kc: 7, mc: 1, nc: 1)
        let (r, s) = both(transA: false, transB: false, m: 29, n: 75, k: 50, beta: 0.5, bias: false)
        XCTAssertEqual(r.map(\.bitPattern), s.map(\.bitPattern))
        XCTAssertFalse(packedLast)
        GEMM.setBlocking(kc: 0, mc: 0, nc: 0)
        if GEMM.selectBackend(.openBLAS) {
            let (u, v) = both(transA: false, transB: true, m: 40, n: 64, k: 100, beta: 0, bias: true)
            XCTAssertEqual(u.map(\.bitPattern), v.map(\.bitPattern))
            XCTAssertFalse(packedLast)
        }
        guard best > 1 else { throw XCTSkip("only the portable kernels here: no other level to have packed for") }
        // packed for the portable kernel, used under the best one: the plain product
        let (p, q) = both(transA: false, transB: true, m: 40, n: 64, k: 100, beta: 0, bias: true, packedFor: 1)
        XCTAssertEqual(p.map(\.bitPattern), q.map(\.bitPattern))
    }
}
