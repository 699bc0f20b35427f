import CVAEKernels

/// Single-precision matrix multiply over the C kernels in `CVAEKernels`.
///
/// Row-major: `C[m, n] = act(alpha * op(A)[m, k] * op(B)[k, n] + beta * C + bias[col])`.
/// With `transA`, `a` holds a k × m matrix (row stride `lda`) and op(A) is its transpose;
/// likewise `transB`. `beta == 0` never reads C. Results are bit-identical for any thread count.
public enum GEMM {
    /// The backends that `selectBackend` accepts.
    public enum Backend: Int32, Sendable {
        case builtIn = 0
        case openBLAS = 1
    }

    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        bias: UnsafePointer<Float>? = nil, relu: Bool = false
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM: negative dimension")
        precondition(lda >= max(1, transA ? m : k), "GEMM: lda too small")
        precondition(ldb >= max(1, transB ? k : n), "GEMM: ldb too small")
        precondition(ldc >= max(1, n), "GEMM: ldc too small")
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max)
                     && lda <= Int(Int32.max) && ldb <= Int(Int32.max) && ldc <= Int(Int32.max),
                     "GEMM: dimension too large")
        vk_sgemm_ex(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc), bias,
                    relu ? 1 : 0)  // VK_ACT_RELU : VK_ACT_NONE
    }

    /// op(B) packed once for many products with the same B — a recurrent weight read at every
    /// step — so that those products skip packing it. Valid while `b` holds the same values
    /// and stays where it is; the products give the bits of `sgemm` with `b` (and fall back to
    /// it when the packing no longer fits the kernel level or blocking in force).
    public final class PackedB {
        let handle: OpaquePointer?
        public let transB: Bool
        public let n: Int, k: Int
        let b: UnsafePointer<Float>
        let ldb: Int

        public init(transB: Bool, n: Int, k: Int, b: UnsafePointer<Float>, ldb: Int) {
            precondition(n >= 0 && k >= 0 && n <= Int(Int32.max) && k <= Int(Int32.max) && ldb <= Int(Int32.max), "GEMM.PackedB: bad size")
            precondition(ldb >= max(1, transB ? k : n), "GEMM.PackedB: ldb too small")
            self.transB = transB
            self.n = n
            self.k = k
            self.b = b
            self.ldb = ldb
            handle = vk_packed_b_create(transB ? 1 : 0, Int32(n), Int32(k), b, Int32(ldb))
        }

        /// Whether B was packed (false: the products run as plain `sgemm`, e.g. under OpenBLAS).
        public var isPacked: Bool { handle != nil }

        deinit { vk_packed_b_free(handle) }
    }

    /// `sgemm` with B packed already: C[m, n] = act(alpha · op(A) · op(B) + beta · C + bias).
    public static func sgemm(
        transA: Bool, m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, packed p: PackedB,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false
    ) {
        precondition(m >= 0 && m <= Int(Int32.max), "GEMM: bad m")
        precondition(lda >= max(1, transA ? m : p.k), "GEMM: lda too small")
        precondition(ldc >= max(1, p.n) && ldc <= Int(Int32.max) && lda <= Int(Int32.max), "GEMM: ldc too small")
        vk_sgemm_packed_b(transA ? 1 : 0, p.transB ? 1 : 0, Int32(m), Int32(p.n), Int32(p.k), alpha, a, Int32(lda),
                          p.handle, p.b, Int32(p.ldb), beta, c, Int32(ldc), bias, relu ? 1 : 0)
    }

    /// Human-readable description of what runs, e.g. "built-in avx2+fma 6x16 tile ...".
    public static var description: String { String(cString: vk_gemm_description()) }

    /// CPU features seen at run time, e.g. "avx512f avx2 fma".
    public static var cpuFeatures: String { String(cString: vk_cpu_features()) }

    /// The backend in use.
    public static var backend: Backend { Backend(rawValue: vk_gemm_backend()) ?? .builtIn }

    /// Selects a backend; returns false (and keeps the current one) if it is not available.
    @discardableResult
    public static func selectBackend(_ backend: Backend) -> Bool {
        vk_gemm_select_backend(backend.rawValue) == 0
    }

    /// Whether OpenBLAS can be loaded on this machine (does not change the backend).
    public static var isOpenBLASAvailable: Bool {
        let current = vk_gemm_backend()
        let ok = vk_gemm_select_backend(1) == 0
        _ = vk_gemm_select_backend(current)
        return ok
    }

    /// Level of the built-in kernel: 3 = AVX-512, 2 = AVX2+FMA, 1 = portable C.
    public static var kernelLevel: Int { Int(vk_kernel_level()) }

    /// The built-in kernel's level in words: "AVX-512", "AVX2+FMA" or "portable C".
    public static var kernelLevelName: String { ["", "portable C", "AVX2+FMA", "AVX-512"][min(3, max(0, kernelLevel))] }

    /// Forces a kernel level no higher than the CPU supports (for tests); returns the level set.
    @discardableResult
    public static func forceKernelLevel(_ level: Int) -> Int {
        Int(vk_force_kernel_level(Int32(clamping: level)))
    }

    /// Overrides the cache blocks of the built-in kernel (for tests of the blocking code on
    /// small shapes); `setBlocking(kc: 0, mc: 0, nc: 0)` restores the defaults.
    public static func setBlocking(kc: Int, mc: Int, nc: Int) {
        vk_gemm_set_blocking(Int32(clamping: kc), Int32(clamping: mc), Int32(clamping: nc))
    }

    /// The share of zeros (percent) in a ReLU layer's gradient from which its weight gradient
    /// skips them (VAE_SPARSE_MIN_ZEROS, default 60; 0 always where the kernel level can, 101
    /// never). The same bits either way. Returns the previous value.
    @discardableResult
    public static func setSparseMinZeros(_ percent: Int) -> Int {
        Int(vk_gemm_set_sparse_min_zeros(Int32(clamping: percent)))
    }

    /// Products so far that skipped A's zeros (`vk_sgemm_adam_sparse_a`).
    public static var sparseProducts: Int { Int(vk_gemm_sparse_products()) }
}

/// The persistent worker pool of `CVAEKernels` (the calling thread takes part).
public enum ThreadPool {
    /// Number of threads used by GEMM and `parallel` (1 ... 64). Defaults to the number of
    /// online CPUs, or the environment variable VAE_THREADS.
    public static var threadCount: Int {
        get { Int(vk_get_num_threads()) }
        set { vk_set_num_threads(Int32(clamping: newValue)) }
    }

    /// Jobs since start that were split into several tasks and handed to the workers, and of
    /// those, the jobs in which a worker ran at least one task (so more than one thread ran it).
    /// Single-threaded work (one thread, small sizes, nested calls) adds to neither.
    public static var jobCounts: (split: Int, ranOnSeveralThreads: Int) {
        var split: Int64 = 0, shared: Int64 = 0
        vk_pool_counters(&split, &shared)
        return (Int(split), Int(shared))
    }

    /// Workers asleep right now (an idle pool's workers spin for VAE_SPIN_US, then sleep on a
    /// condition variable and use no CPU until the next job wakes them).
    public static var sleepingWorkers: Int { Int(vk_pool_sleeping_workers()) }

    /// The length of each range when 0..<count is cut into one contiguous range per thread
    /// (a multiple of `align`, the last range shorter), or nil when the work (`work` elements)
    /// is below `minWork` or there is one thread: then the caller's thread does it all.
    public static func rangeLength(_ count: Int, work: Int, minWork: Int, align: Int = 1) -> Int? {
        let threads = threadCount
        guard threads > 1, count > 1, work >= minWork else { return nil }
        let per = ((count + threads - 1) / threads + align - 1) / align * align
        return per < count ? per : nil
    }

    /// Runs `body` over contiguous ranges covering 0..<count, one per thread when `rangeLength`
    /// splits, else once over all of it. For loops whose every element's operations, in their
    /// order, do not depend on the split: the same bits for any thread count.
    public static func forEachRange(_ count: Int, work: Int, minWork: Int, align: Int = 1, _ body: (Range<Int>) -> Void) {
        guard let per = rangeLength(count, work: work, minWork: minWork, align: align) else {
            if count > 0 { body(0..<count) }
            return
        }
        parallel(tasks: (count + per - 1) / per) { t in body(t * per ..< min(count, (t + 1) * per)) }
    }

    /// Runs `body(t)` for t in 0..<tasks across the pool and returns when all have finished.
    /// Calls made from inside a task (or while another thread uses the pool) run inline.
    public static func parallel(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 0 { return }
        if tasks == 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            var closure = escapable
            withUnsafeMutablePointer(to: &closure) { ptr in
                vk_parallel(Int32(clamping: tasks), { ctx, task in
                    let fn = ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee
                    fn(Int(task))
                }, UnsafeMutableRawPointer(ptr))
            }
        }
    }
}
