// POSIX (clock_gettime, getenv), not maths (maths comes from RealModule).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CVAEKernels

/// One measured product of `KernelBenchmark.run`.
public struct KernelBenchRow: Sendable {
    public var name: String
    public var m: Int
    public var n: Int
    public var k: Int
    public var transA: Bool
    public var transB: Bool
    public var backend: String
    public var threads: Int
    public var gflops: Double
    /// One product's median time, in seconds.
    public var seconds: Double { 2.0 * Double(m) * Double(n) * Double(k) / (gflops * 1e9) }

    public init(name: String, m: Int, n: Int, k: Int, transA: Bool, transB: Bool,
                backend: String, threads: Int, gflops: Double) {
        self.name = name; self.m = m; self.n = n; self.k = k
        self.transA = transA; self.transB = transB
        self.backend = backend; self.threads = threads; self.gflops = gflops
    }
}

/// GFLOP/s of GEMM products: by default a fixed table (products of a 784-400-20 MLP VAE's shapes
/// at batch 128, and 1024³); `mlpStepProducts` gives the products of one training step of an
/// mlp VAE of any shape.
public enum KernelBenchmark {
    public struct Product: Sendable {
        public var name: String
        public var transA: Bool, transB: Bool
        public var m: Int, n: Int, k: Int
    }

    /// The products one training step of an mlp VAE runs (the `Dense` layers' three products, as
    /// `Dense` calls them: y = x·Wᵀ, dW = dyᵀ·x, dx = dy·W with W [out, in]): the encoder
    /// input → hidden… → 2·latent (μ and log σ²), the decoder latent → …hidden → input; no input
    /// gradient for the encoder's first layer. Names: layer, product, shapes.
    public static func mlpStepProducts(input: Int, hidden: [Int], latent: Int, batch b: Int) -> [Product] {
        let encoder = [input] + hidden + [2 * latent]
        let decoder = [latent] + hidden.reversed() + [input]
        var forward: [Product] = [], backward: [[Product]] = []
        for (label, widths) in [("enc", encoder), ("dec", decoder)] {
            for l in 0..<(widths.count - 1) {
                let i = widths[l], o = widths[l + 1], layer = "\(label)\(l + 1)"
                forward.append(Product(name: "\(layer) y=x·Wᵀ (\(b)x\(i))·(\(o)x\(i))ᵀ", transA: false, transB: true, m: b, n: o, k: i))
                var grads = [Product(name: "\(layer) dW=dyᵀ·x (\(b)x\(o))ᵀ·(\(b)x\(i))", transA: true, transB: false, m: o, n: i, k: b)]
                if !(label == "enc" && l == 0) {
                    grads.append(Product(name: "\(layer) dx=dy·W (\(b)x\(o))·(\(o)x\(i))", transA: false, transB: false, m: b, n: i, k: o))
                }
                backward.append(grads)
            }
        }
        return forward + backward.reversed().flatMap { $0 }   // the backward pass from the last layer
    }

    static let products: [Product] = [
        Product(name: "(128x784)·(784x400)", transA: false, transB: false, m: 128, n: 400, k: 784),
        Product(name: "(128x400)·(400x784)", transA: false, transB: false, m: 128, n: 784, k: 400),
        Product(name: "(128x400)·(400x40)", transA: false, transB: false, m: 128, n: 40, k: 400),
        Product(name: "(128x784)ᵀ·(128x400)", transA: true, transB: false, m: 784, n: 400, k: 128),
        Product(name: "(128x400)ᵀ·(128x784)", transA: true, transB: false, m: 400, n: 784, k: 128),
        Product(name: "(128x400)·(784x400)ᵀ", transA: false, transB: true, m: 128, n: 784, k: 400),
        Product(name: "(128x784)·(400x784)ᵀ", transA: false, transB: true, m: 128, n: 400, k: 784),
        Product(name: "(1024x1024)·(1024x1024)", transA: false, transB: false, m: 1024, n: 1024, k: 1024),
    ]

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Uniform values in [−0.5, 0.5) from a seeded linear congruential generator: the operands
    /// of the benchmarks, the same on every run.
    static func uniforms(seed: UInt32) -> () -> Float {
        var state = seed
        return {
            state = state &* 1664525 &+ 1013904223
            return Float(state >> 8) / Float(1 << 24) - 0.5
        }
    }

    /// Median GFLOP/s of `reps` timed repetitions (each at least ~2 ms of work) after warm-up.
    static func measure(_ p: Product, reps: Int = 21) -> Double {
        let rowsA = p.transA ? p.k : p.m, colsA = p.transA ? p.m : p.k
        let rowsB = p.transB ? p.n : p.k, colsB = p.transB ? p.k : p.n
        let rnd = uniforms(seed: 12345)
        let a = (0..<(rowsA * colsA)).map { _ in rnd() }
        let b = (0..<(rowsB * colsB)).map { _ in rnd() }
        var c = [Float](repeating: 0, count: p.m * p.n)
        let flops = 2.0 * Double(p.m) * Double(p.n) * Double(p.k)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    func once() {
                        GEMM.sgemm(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k,
                                   a: pa.baseAddress!, lda: colsA, b: pb.baseAddress!, ldb: colsB,
                                   c: pc.baseAddress!, ldc: p.n)
                    }
                    // Warm-up, and calibrate the inner count so one repetition takes >= 2 ms.
                    let t0 = now()
                    var warm = 0
                    while warm < 3 || now() - t0 < 0.05 { once(); warm += 1 }
                    let per = (now() - t0) / Double(warm)
                    let inner = max(1, Int((0.002 / per).rounded(.up)))
                    var times: [Double] = []
                    times.reserveCapacity(reps)
                    for _ in 0..<reps {
                        let s = now()
                        for _ in 0..<inner { once() }
                        times.append((now() - s) / Double(inner))
                    }
                    times.sort()
                    return flops / times[times.count / 2] / 1e9
                }
            }
        }
    }

    /// Measures every product for each thread count, with the built-in backend and, if
    /// `includeBLAS` and it can be loaded, OpenBLAS. Restores the backend and thread count.
    public static func run(threads: [Int], includeBLAS: Bool, products: [Product]? = nil) -> [KernelBenchRow] {
        let products = products ?? KernelBenchmark.products
        let savedThreads = ThreadPool.threadCount
        let savedBackend = GEMM.backend
        defer {
            ThreadPool.threadCount = savedThreads
            GEMM.selectBackend(savedBackend)
        }
        var backends: [GEMM.Backend] = [.builtIn]
        if includeBLAS && GEMM.isOpenBLASAvailable { backends.append(.openBLAS) }
        var rows: [KernelBenchRow] = []
        for backend in backends {
            guard GEMM.selectBackend(backend) else { continue }
            for t in threads {
                ThreadPool.threadCount = t
                let desc = GEMM.description
                let name: String
                if backend == .openBLAS {
                    name = "OpenBLAS" + (getenv("OPENBLAS_CORETYPE").map { " (" + String(cString: $0) + ")" } ?? "")
                } else {
                    name = desc.split(separator: "(").first.map { String($0).trimmingCharacters() } ?? desc
                }
                for p in products {
                    rows.append(KernelBenchRow(name: p.name, m: p.m, n: p.n, k: p.k, transA: p.transA,
                                               transB: p.transB, backend: name,
                                               threads: ThreadPool.threadCount, gflops: measure(p)))
                }
            }
        }
        return rows
    }
}

extension KernelBenchmark {
    /// The fused Adam update's median time per parameter, in nanoseconds, over `count` parameters
    /// (651,264 by default: the h400 mlp VAE's weights) on `threads` threads: at batch 32 it is a
    /// fixed cost of every step beside products of a few hundred microseconds.
    public static func adamNanosecondsPerParameter(count: Int = 651_264, threads: Int, reps: Int = 21) -> Double {
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        ThreadPool.threadCount = threads
        let rnd = uniforms(seed: 777)
        var p = (0..<count).map { _ in rnd() }, m = (0..<count).map { _ in rnd() * 0.01 }
        var v = (0..<count).map { _ in abs(rnd()) * 1e-4 }
        let g = (0..<count).map { _ in rnd() * 0.1 }
        var times: [Double] = []
        p.withUnsafeMutableBufferPointer { pp in
            m.withUnsafeMutableBufferPointer { pm in
                v.withUnsafeMutableBufferPointer { pv in
                    g.withUnsafeBufferPointer { pg in
                        func once() {
                            vk_adam_update(count, pp.baseAddress!, pg.baseAddress!, pm.baseAddress!, pv.baseAddress!,
                                           1e-3, 0.5, 0.9, 0.999, 1e-8, 0)
                        }
                        for _ in 0..<5 { once() }
                        for _ in 0..<reps {
                            let s = now()
                            for _ in 0..<10 { once() }
                            times.append((now() - s) / 10)
                        }
                    }
                }
            }
        }
        times.sort()
        return times[times.count / 2] / Double(count) * 1e9
    }
}

extension KernelBenchmark {
    /// The first layer's weight gradient dW = gᵀx (units × inputs, K = batch) with g shaped as a
    /// ReLU layer's gradient in training: measured in an h1024 mlp at step 100 on Fashion-MNIST,
    /// 56% of the units were off for every image of the batch, ~10% on for nearly all and the rest
    /// in between (81% zeros in all). Here, per unit from a fixed generator: 55% off, 10% on for
    /// 95% of the images, 35% at a rate between 2% and 80%. Median microseconds of the dense
    /// product and of the sparse one (`vk_sgemm_adam_sparse_a`, the same bits), and g's zeros.
    public static func sparseFirstLayer(units: Int, inputs: Int, batch: Int, threads: Int,
                                        reps: Int = 21) -> (dense: Double, sparse: Double, zeros: Double) {
        let saved = ThreadPool.threadCount, savedMin = GEMM.setSparseMinZeros(0)
        defer { ThreadPool.threadCount = saved; GEMM.setSparseMinZeros(savedMin) }
        ThreadPool.threadCount = threads
        let rnd = uniforms(seed: 4242)
        let rates: [Float] = (0..<units).map { _ in
            let r = rnd() + 0.5
            return r < 0.55 ? 0 : r < 0.65 ? 0.95 : 0.02 + 0.78 * (rnd() + 0.5)
        }
        var g = [Float](repeating: 0, count: batch * units)
        for p in 0..<batch { for u in 0..<units where rnd() + 0.5 < rates[u] { g[p * units + u] = rnd() * 0.01 } }
        let x = (0..<(batch * inputs)).map { _ in rnd() + 0.5 }
        var c = [Float](repeating: 0, count: units * inputs)
        let zeros = Double(g.filter { $0 == 0 }.count) / Double(max(1, g.count))
        func median(_ body: () -> Void) -> Double {
            for _ in 0..<3 { body() }
            var times: [Double] = []
            for _ in 0..<reps { let s = now(); body(); times.append(now() - s) }
            times.sort()
            return times[times.count / 2] * 1e6
        }
        let (m, n, k) = (Int32(units), Int32(inputs), Int32(batch))
        return g.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                c.withUnsafeMutableBufferPointer { pc in
                    let dense = median { vk_sgemm(1, 0, m, n, k, 1, pg.baseAddress, m, px.baseAddress, n, 0, pc.baseAddress, n) }
                    let sparse = median {
                        vk_sgemm_adam_sparse_a(m, n, k, 1, pg.baseAddress, m, px.baseAddress, n, 0, pc.baseAddress, n, nil)
                    }
                    return (dense, sparse, zeros)
                }
            }
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
