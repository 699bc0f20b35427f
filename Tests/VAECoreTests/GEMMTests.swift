import XCTest
@testable import VAECore

/// Checks the GEMM kernels against a naive Double reference, on odd shapes, strides,
/// transposes, every kernel level the machine has, thread counts and the OpenBLAS backend.
final class GEMMTests: XCTestCase {
    struct LCG {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
    }

    struct Case {
        var transA = false, transB = false
        var m: Int, n: Int, k: Int
        var alpha: Float = 1, beta: Float = 0
        var padA = 0, padB = 0, padC = 0
        var bias = false, relu = false
    }

    /// Runs one product with the current backend/level/threads and returns the C buffer and the
    /// maximum error against the reference (scaled by sqrt(k)).
    @discardableResult
    func run(_ t: Case, seed: UInt64 = 1, check: Bool = true, file: StaticString = #filePath, line: UInt = #line) -> [Float] {
        var rng = LCG(state: seed)
        let lda = max(1, t.transA ? t.m : t.k) + t.padA, rowsA = t.transA ? t.k : t.m
        let ldb = max(1, t.transB ? t.k : t.n) + t.padB, rowsB = t.transB ? t.n : t.k
        let ldc = t.n + t.padC
        let a = (0..<max(1, rowsA * lda)).map { _ in rng.next() }
        let b = (0..<max(1, rowsB * ldb)).map { _ in rng.next() }
        let c0: [Float] = (0..<max(1, t.m * ldc)).map { _ in t.beta == 0 ? Float.nan : rng.next() }
        let bias = (0..<max(1, t.n)).map { _ in rng.next() }
        var c = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                bias.withUnsafeBufferPointer { pbias in
                    c.withUnsafeMutableBufferPointer { pc in
                        GEMM.sgemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k,
                                   alpha: t.alpha, a: pa.baseAddress!, lda: lda,
                                   b: pb.baseAddress!, ldb: ldb, beta: t.beta,
                                   c: pc.baseAddress!, ldc: ldc,
                                   bias: t.bias ? pbias.baseAddress! : nil, relu: t.relu)
                    }
                }
            }
        }
        if !check { return c }
        var maxErr = 0.0
        let tol = 2e-6 * (1 + Double(t.k).squareRoot())
        // Big products: check a strided sample of rows and columns (keeps debug tests fast).
        let big = t.m * t.n * t.k > 2_000_000
        for i in stride(from: 0, to: t.m, by: big ? 7 : 1) {
            for j in stride(from: 0, to: t.n, by: big ? 5 : 1) {
                var s = 0.0
                for p in 0..<t.k {
                    let av = t.transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = t.transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                var r = Double(t.alpha) * s
                if t.beta != 0 { r += Double(t.beta) * Double(c0[i * ldc + j]) }
                if t.bias { r += Double(bias[j]) }
                if t.relu { r = max(r, 0) }
                let got = Double(c[i * ldc + j])
                let err = abs(got - r) / (1 + abs(r))
                if !(err <= maxErr) { maxErr = err }
            }
            // Padding columns of C must be untouched.
            for j in t.n..<ldc where !(c[i * ldc + j].bitPattern == c0[i * ldc + j].bitPattern) {
                XCTFail("column \(j) of the padding of C was written", file: file, line: line)
                return c
            }
        }
        XCTAssert(maxErr <= tol, "\(t): max error \(maxErr) > \(tol) [\(GEMM.description)]",
                  file: file, line: line)
        return c
    }

    // (24, 96, 10): whole panels only at every tile (8x32, 6x16), no partial edge after them
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (7, 13, 5), (1, 37, 19), (23, 1, 11), (1, 1, 300), (6, 16, 4),
        (8, 32, 9), (9, 33, 17), (17, 50, 3), (65, 70, 260), (24, 96, 10),
    ]

    func checkAllShapesAndForms() {
        for (m, n, k) in Self.shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    run(Case(transA: ta, transB: tb, m: m, n: n, k: k))
                    run(Case(transA: ta, transB: tb, m: m, n: n, k: k, alpha: -0.75, beta: 0.5,
                             padA: 3, padB: 1, padC: 2))
                    run(Case(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2, beta: 1,
                             padC: 1, bias: true, relu: true))
                }
            }
        }
    }

    override func tearDown() {
        GEMM.forceKernelLevel(3)
        GEMM.setBlocking(kc: 0, mc: 0, nc: 0)
        GEMM.selectBackend(.builtIn)
        ThreadPool.threadCount = ProcessInfo.processInfo.activeProcessorCount
        super.tearDown()
    }

    func testOddShapesEveryForm() {
        checkAllShapesAndForms()
    }

    func testEveryKernelLevel() {
        // The best level is covered by testOddShapesEveryForm; here every lower one.
        let best = GEMM.forceKernelLevel(3)
        XCTAssertEqual(GEMM.kernelLevel, best)
        for level in stride(from: best - 1, through: 1, by: -1) {
            XCTAssertEqual(GEMM.forceKernelLevel(level), level)
            XCTAssertEqual(GEMM.kernelLevel, level)
            checkAllShapesAndForms()
            run(Case(transA: true, transB: true, m: 40, n: 70, k: 600, alpha: 1, beta: 0.25,
                     bias: true, relu: true))
        }
    }

    func testLargerThanCacheBlocks() {
        // Strided packing of both operands over several K and M blocks (the NN form with
        // several blocks of every kind is in testSmallCacheBlocks).
        run(Case(transA: true, transB: true, m: 300, n: 520, k: 700, alpha: 1, beta: 0.5, padA: 1, padC: 3,
                 bias: true, relu: true))
    }

    func testSmallCacheBlocks() {
        // Tiny KC/MC/NC so that every blocking loop runs several times on small shapes.
        GEMM.setBlocking(kc: 7, mc: 1, nc: 1)
        defer { GEMM.setBlocking(kc: 0, mc: 0, nc: 0) }
        for level in stride(from: GEMM.forceKernelLevel(3), through: 1, by: -1) {
            GEMM.forceKernelLevel(level)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                run(Case(transA: ta, transB: tb, m: 29, n: 75, k: 50, alpha: 0.5, beta: 0.5,
                         padB: 2, bias: true, relu: true))
                run(Case(transA: ta, transB: tb, m: 29, n: 75, k: 50, beta: 0))
            }
        }
    }

    func testEpilogueBiasRelu() {
        run(Case(m: 50, n: 45, k: 30, bias: true))
        run(Case(m: 50, n: 45, k: 30, relu: true))
        run(Case(m: 50, n: 45, k: 30, beta: 1, bias: true, relu: true))
        // k == 0 and alpha == 0: C = beta*C + bias, relu.
        run(Case(m: 5, n: 7, k: 0, beta: 0.5, bias: true, relu: true))
        run(Case(m: 5, n: 7, k: 3, alpha: 0, beta: 0, bias: true))
    }

    func testBitIdenticalAcrossThreadCounts() {
        // Over 5 MFLOP each (the threshold for going parallel), with edge tiles in M and N.
        let t = Case(transA: false, transB: true, m: 61, n: 150, k: 300, alpha: 0.5, beta: 0.25,
                     bias: true, relu: true)
        let t2 = Case(transA: true, transB: false, m: 200, n: 70, k: 190)
        // Shared operands over 64 Ki floats are packed by all threads, panel ranges of every K block:
        // B shared (320 × 600, three K blocks, a 12-wide edge panel), then A shared (104 × 700).
        let t3 = Case(transA: false, transB: true, m: 100, n: 300, k: 600, beta: 0.5, bias: true)
        let t4 = Case(transA: true, transB: false, m: 100, n: 1200, k: 700)
        // Default blocks (shared-operand mode when parallel), then small blocks (static 2-D
        // split of C, several cache blocks per thread).
        for (level, blocks) in stride(from: GEMM.forceKernelLevel(3), through: 1, by: -1).flatMap({ [($0, 0), ($0, 1)] }) {
            GEMM.forceKernelLevel(level)
            GEMM.setBlocking(kc: blocks * 64, mc: blocks * 24, nc: blocks * 64)
            defer { GEMM.setBlocking(kc: 0, mc: 0, nc: 0) }
            var ref: [[Float]] = []
            for threads in [1, 2, 3, 4] {
                ThreadPool.threadCount = threads
                XCTAssertEqual(ThreadPool.threadCount, threads)
                let c = [run(t, seed: 7, check: threads == 1), run(t2, seed: 9, check: threads == 1),
                         run(t3, seed: 11, check: threads == 1), run(t4, seed: 13, check: threads == 1)]
                if ref.isEmpty { ref = c; continue }
                for (x, y) in zip(ref, c) {
                    XCTAssert(x.map(\.bitPattern) == y.map(\.bitPattern),
                              "level \(level): \(threads) threads differ from 1 thread")
                }
            }
        }
    }

    /// A shared B between 1.5 and 4 MB, taken only when the 2-thread split would pack 1.5 MB or more
    /// on both threads (here all of A): the same bits as one thread's blocked product.
    func testLargeSharedBSameBitsAsOneThread() {
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        let t = Case(transA: false, transB: true, m: 976, n: 1000, k: 420, bias: true)
        ThreadPool.threadCount = 1
        let one = run(t, seed: 5, check: false)
        ThreadPool.threadCount = 2
        let two = run(t, seed: 5, check: false)
        XCTAssert(one.map(\.bitPattern) == two.map(\.bitPattern), "2 threads differ from 1 thread")
        XCTAssert(one.contains { $0 != 0 })
    }

    /// The pool's counters: a job split over 2 threads counts once (nested calls run inline and do
    /// not count), and its slow tasks are shared with the worker; with 1 thread nothing is split.
    func testThreadPoolJobCounts() {
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        ThreadPool.threadCount = 1
        var before = ThreadPool.jobCounts
        ThreadPool.parallel(tasks: 8) { _ in }
        XCTAssertEqual(ThreadPool.jobCounts.split, before.split)
        ThreadPool.threadCount = 2
        before = ThreadPool.jobCounts
        ThreadPool.parallel(tasks: 20) { _ in
            ThreadPool.parallel(tasks: 4) { _ in }
            usleep(5000)
        }
        let after = ThreadPool.jobCounts
        XCTAssertEqual(after.split - before.split, 1)
        XCTAssertEqual(after.ranOnSeveralThreads - before.ranOnSeveralThreads, 1, "100 ms of tasks all ran on the caller")
    }

    func testThreadPoolParallel() {
        for threads in [1, 2, 3] {
            ThreadPool.threadCount = threads
            let n = 1000
            var out = [Int](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                ThreadPool.parallel(tasks: n) { i in base[i] = i * i }
            }
            XCTAssertEqual(out, (0..<n).map { $0 * $0 })
            // Nested use runs inline.
            var sums = [Int](repeating: 0, count: 4)
            sums.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                ThreadPool.parallel(tasks: 4) { i in
                    var local = [Int](repeating: 0, count: 10)
                    local.withUnsafeMutableBufferPointer { q in
                        let qb = q.baseAddress!
                        ThreadPool.parallel(tasks: 10) { j in qb[j] = j + i }
                    }
                    base[i] = local.reduce(0, +)
                }
            }
            XCTAssertEqual(sums, (0..<4).map { 45 + 10 * $0 })
        }
    }

    func testThreadPoolEveryTaskOnce() {
        // Back-to-back jobs with changing task counts, while another thread resizes the pool:
        // each task must run exactly once.
        ThreadPool.threadCount = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let slots = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        defer { slots.deallocate() }
        let resizer = Thread {
            for r in 0..<40 {
                ThreadPool.threadCount = 1 + r % 4
                Thread.sleep(forTimeInterval: 0.001)
            }
        }
        resizer.start()
        defer { while !resizer.isFinished { Thread.sleep(forTimeInterval: 0.001) } }
        for it in 0..<40_000 {
            let n = 1 + (it * 7) % 40
            slots.initialize(repeating: 0, count: 64)
            ThreadPool.parallel(tasks: n) { t in slots[t] += 1 }
            for t in 0..<64 where slots[t] != (t < n ? 1 : 0) {
                XCTFail("iteration \(it): task \(t) of \(n) ran \(slots[t]) times")
                return
            }
        }
    }

    func testIdleWorkersSleep() {
        // After a job, workers spin briefly and then sleep on the condition variable: an idle
        // process burns no CPU. The mechanism is checked, not the CPU time (bench/ measures that):
        // every worker is found asleep, and a new job wakes them and runs on several threads.
        ThreadPool.threadCount = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let workers = ThreadPool.threadCount - 1
        for round in 0..<2 {
            let before = ThreadPool.jobCounts.split
            ThreadPool.parallel(tasks: 64) { _ in usleep(200) }
            XCTAssertEqual(ThreadPool.jobCounts.split, before + 1, "round \(round): the job was not handed to the workers")
            // They spin for 0.25 ms by default; a loaded machine may delay them, so wait (up to 60 s).
            let deadline = Date().addingTimeInterval(60)
            while ThreadPool.sleepingWorkers < workers && Date() < deadline { usleep(1000) }
            XCTAssertEqual(ThreadPool.sleepingWorkers, workers, "round \(round): idle workers still spinning")
        }
    }

    func testDescriptions() {
        XCTAssertFalse(GEMM.cpuFeatures.isEmpty)
        XCTAssert(GEMM.description.hasPrefix("built-in"), GEMM.description)
        XCTAssert([1, 2, 3].contains(GEMM.kernelLevel))
    }

    func testOpenBLASBackendCrossCheck() throws {
        guard GEMM.selectBackend(.openBLAS) else {
            throw XCTSkip("libopenblas.so.0 / libopenblas.so not found: OpenBLAS backend not tested")
        }
        XCTAssertEqual(GEMM.backend, .openBLAS)
        XCTAssert(GEMM.description.contains("OpenBLAS"), GEMM.description)
        XCTAssert(GEMM.description.contains("OPENBLAS_CORETYPE"), GEMM.description)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            run(Case(transA: ta, transB: tb, m: 33, n: 47, k: 65, alpha: 1.5, beta: 0))
            run(Case(transA: ta, transB: tb, m: 33, n: 47, k: 65, alpha: 1, beta: 0.5, padA: 2,
                     padB: 3, padC: 1, bias: true, relu: true))
        }
        XCTAssert(GEMM.selectBackend(.builtIn))
    }
}
