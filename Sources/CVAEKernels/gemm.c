// GEMM driver: run-time kernel selection, cache blocking, packing buffers, thread split,
// backend selection (built-in / OpenBLAS) and the descriptive strings.
#include "vk_internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---------------------------------------------------------------- kernel selection
static int g_max_level = 0;          // best level the CPU supports
static _Atomic int g_level = 0;      // level in use
static pthread_once_t g_detect_once = PTHREAD_ONCE_INIT;
static char g_features[128];

static void detect(void) {
    int level = 1;
    g_features[0] = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f");
    int avx2 = __builtin_cpu_supports("avx2");
    int fma = __builtin_cpu_supports("fma");
    snprintf(g_features, sizeof g_features, "%s%s%s", avx512 ? "avx512f " : "",
             avx2 ? "avx2 " : "", fma ? "fma" : "");
    if (avx2 && fma) level = 2;
    if (avx512 && fma) level = 3;
#elif defined(__aarch64__)
    snprintf(g_features, sizeof g_features, "neon");
#endif
    size_t n = strlen(g_features);
    while (n > 0 && g_features[n - 1] == ' ') g_features[--n] = 0;
    if (n == 0) snprintf(g_features, sizeof g_features, "baseline");
    // VAE_CPU=avx2|portable (README, "Environment"): use at most that instruction set, e.g. to
    // measure the AVX2 kernels on an AVX-512 machine. Anything else: one warning line, ignored.
    const char *cap = getenv("VAE_CPU");
    if (cap && *cap) {
        int want = strcmp(cap, "avx512") == 0 ? 3 : strcmp(cap, "avx2") == 0 ? 2 : strcmp(cap, "portable") == 0 ? 1 : 0;
        if (want == 0) fprintf(stderr, "warning: VAE_CPU=%.40s ignored: expected avx512, avx2 or portable\n", cap);
        else if (want < level) level = want;
    }
    g_max_level = level;
    atomic_store(&g_level, level);
}

static const vk_kernel *kernel_for(int level) {
#if defined(__x86_64__)
    if (level >= 3) return vk_kernel_avx512();
    if (level == 2) return vk_kernel_avx2();
#endif
    (void)level;
    return vk_kernel_portable();
}

// Start-up self-check: before a SIMD kernel is first used, it computes a few small products
// with odd shapes, every transpose form and β ≠ 0, against a plain double-precision loop. A
// kernel that disagrees (a miscompiled or untested code path on some CPU) is never used: the
// next lower level is taken and vk_gemm_description() says so.
static pthread_once_t g_check_once = PTHREAD_ONCE_INIT;
static _Atomic int g_checking = 0;
static char g_check_note[96];
static void self_check(void);

static const vk_kernel *current_kernel(void) {
    pthread_once(&g_detect_once, detect);
    if (!atomic_load(&g_checking)) pthread_once(&g_check_once, self_check);
    return kernel_for(atomic_load(&g_level));
}

int vk_kernel_level(void) {
    (void)current_kernel();
    return atomic_load(&g_level);
}

int vk_force_kernel_level(int level) {
    (void)current_kernel();
    if (level < 1) level = 1;
    if (level > g_max_level) level = g_max_level;
    atomic_store(&g_level, level);
    return level;
}

const char *vk_cpu_features(void) {
    pthread_once(&g_detect_once, detect);
    return g_features;
}

// ---------------------------------------------------------------- per-thread buffers
#define VK_SCRATCH_SLOTS 2
typedef struct {
    float *a, *b, *s;           // A block, B block, shared operand (caller only)
    size_t acap, bcap, scap;    // in floats
    float *scratch[VK_SCRATCH_SLOTS];   // vk_thread_scratch
    size_t scratch_cap[VK_SCRATCH_SLOTS];
} vk_buffers;

static pthread_key_t g_buf_key;
static pthread_once_t g_buf_once = PTHREAD_ONCE_INIT;

static void free_buffers(void *p) {
    vk_buffers *b = (vk_buffers *)p;
    if (!b) return;
    free(b->a);
    free(b->b);
    free(b->s);
    for (int i = 0; i < VK_SCRATCH_SLOTS; i++) free(b->scratch[i]);
    free(b);
}
static void make_key(void) { pthread_key_create(&g_buf_key, free_buffers); }

static float *grow(float *old, size_t *cap, size_t need) {
    if (need <= *cap && old) return old;
    free(old);
    size_t n = need + 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) { *cap = 0; return NULL; }
    *cap = n;
    return (float *)p;
}

static vk_buffers *thread_buffers(size_t na, size_t nb) {
    pthread_once(&g_buf_once, make_key);
    vk_buffers *b = (vk_buffers *)pthread_getspecific(g_buf_key);
    if (!b) {
        b = (vk_buffers *)calloc(1, sizeof(vk_buffers));
        if (!b) return NULL;
        pthread_setspecific(g_buf_key, b);
    }
    b->a = grow(b->a, &b->acap, na);
    b->b = grow(b->b, &b->bcap, nb);
    if (!b->a || !b->b) return NULL;
    return b;
}

float *vk_thread_scratch(int slot, long floats) {
    if (slot < 0 || slot >= VK_SCRATCH_SLOTS || floats < 0) abort();
    vk_buffers *b = thread_buffers(0, 0);
    if (!b) abort();
    b->scratch[slot] = grow(b->scratch[slot], &b->scratch_cap[slot], (size_t)floats);
    if (!b->scratch[slot]) abort();
    return b->scratch[slot];
}

// ---------------------------------------------------------------- blocked product
static int g_block_kc = 0, g_block_mc = 0, g_block_nc = 0, g_block_override = 0;

void vk_gemm_set_blocking(int kc, int mc, int nc) {
    g_block_kc = kc > 0 ? kc : 0;
    g_block_mc = mc > 0 ? mc : 0;
    g_block_nc = nc > 0 ? nc : 0;
    g_block_override = g_block_kc || g_block_mc || g_block_nc;
}
typedef struct {
    const vk_kernel *kern;
    int transA, transB, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    long lda, ldb, ldc;
    const float *bias;
    int relu;
    const vk_adam_args *adam; // non-NULL: Adam on each final tile (vk_sgemm_adam)
    int kcb;                 // K block (depends on K and kernel only)
    int mc, nc;              // M and N cache blocks (multiples of mr, nr)
    int pm, pn;              // thread grid
    int mtiles, ntiles;
    const float *packedB;    // non-NULL: op(B) packed already (vk_packed_b), all K blocks
    long pnround;            // its N rounded up to the tile (K block at packedB + pnround * pc)
} gemm_job;

static inline int imin(int a, int b) { return a < b ? a : b; }

static void edge_tile(const gemm_job *j, long kc, const float *Ap, const float *Bp, float *C,
                      int mr, int nr, float beta, const float *bias, int relu) {
    const vk_kernel *k = j->kern;
    float tmp[VK_MR_MAX * VK_NR_MAX] __attribute__((aligned(64)));
    float tb[VK_NR_MAX] __attribute__((aligned(64)));
    int MR = k->mr, NR = k->nr;
    if (beta != 0.0f) {
        for (int i = 0; i < mr; i++)
            for (int c = 0; c < nr; c++) tmp[i * NR + c] = C[(long)i * j->ldc + c];
        for (int i = 0; i < MR; i++)
            for (int c = (i < mr ? nr : 0); c < NR; c++) tmp[i * NR + c] = 0.0f;
    }
    if (bias) {
        for (int c = 0; c < NR; c++) tb[c] = c < nr ? bias[c] : 0.0f;
    }
    k->ukr(kc, Ap, Bp, tmp, NR, j->alpha, beta, bias ? tb : NULL, relu);
    for (int i = 0; i < mr; i++)
        for (int c = 0; c < nr; c++) C[(long)i * j->ldc + c] = tmp[i * NR + c];
}

// Adam on the final block of C at Cij (rows x cols, just computed by this thread and still in
// its L2): p, m, v at the same offset from their base as Cij from C.
static void adam_block(const gemm_job *j, const float *Cij, int rows, int cols) {
    if (!j->adam || rows <= 0 || cols <= 0) return;
    long off = Cij - j->C;
    vk_adam_args t = *j->adam;
    t.p += off; t.m += off; t.v += off;
    vk_adam_rows_at_level(j->kern->level, &t, Cij, rows, cols, j->ldc);
}

// Runs the register tiles of one (mc x nc) block for one K block: Ap holds ceil(mc/MR)
// packed A panels, Bp ceil(nc/NR) packed B panels (both of depth kc); C at the block origin.
static void macro_kernel(const gemm_job *j, int kc, const float *Ap, int mc, const float *Bp,
                         int nc, float *C, float beta, const float *bias, int relu) {
    const vk_kernel *k = j->kern;
    const int MR = k->mr, NR = k->nr;
    for (int jr = 0; jr < nc; jr += NR) {
        int nr = imin(NR, nc - jr);
        const float *bp = Bp + (long)jr * kc;
        const float *bb = bias ? bias + jr : NULL;
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = imin(MR, mc - ir);
            float *Cij = C + (long)ir * j->ldc + jr;
            const float *ap = Ap + (long)ir * kc;
            if (mr == MR && nr == NR) k->ukr(kc, ap, bp, Cij, j->ldc, j->alpha, beta, bb, relu);
            else if (k->ukr_edge) k->ukr_edge(kc, ap, bp, Cij, j->ldc, j->alpha, beta, bb, relu, mr, nr);
            else edge_tile(j, kc, ap, bp, Cij, mr, nr, beta, bb, relu);
        }
    }
}

static inline const float *a_at(const gemm_job *j, int i, int p) {
    return j->transA ? j->A + (long)p * j->lda + i : j->A + (long)i * j->lda + p;
}
static inline const float *b_at(const gemm_job *j, int p, int c) {
    return j->transB ? j->B + (long)c * j->ldb + p : j->B + (long)p * j->ldb + c;
}

// Whether an A block of all `mround` rows (one K block deep) may replace the MC block: up to
// 1.5 x MC rows, or 320 KB (half of a typical L2).
static inline int mround_fits_l2(const gemm_job *j, int mround) {
    return mround <= j->mc + j->mc / 2 || (long)mround * j->kcb <= 80 * 1024;
}

// Computes rows [m0, m1) x cols [n0, n1) of C, all of K, packing both operands itself.
// Every element goes through the same K blocks and the same kernel whatever the split.
static void gemm_block(const gemm_job *j, int m0, int m1, int n0, int n1) {
    const vk_kernel *k = j->kern;
    const int MR = k->mr, NR = k->nr;
    int mlen = m1 - m0, nlen = n1 - n0;
    if (mlen <= 0 || nlen <= 0) return;
    // Small M: one A block covers all rows (packed once per K block).
    int MC = j->mc;
    int mround = (mlen + MR - 1) / MR * MR;
    if (mround_fits_l2(j, mround) && !g_block_override) MC = mround;
    int NC = j->nc;
    int kcb = j->kcb;
    size_t na = (size_t)MC * kcb;
    size_t nb = (size_t)(imin(NC, (nlen + NR - 1) / NR * NR)) * kcb;
    vk_buffers *buf = thread_buffers(na, nb);
    if (!buf) abort();
    float *Ap = buf->a, *Bp = buf->b;
    for (int jc = n0; jc < n1; jc += NC) {
        int nc = imin(NC, n1 - jc);
        for (int pc = 0; pc < j->K; pc += kcb) {
            int kc = imin(kcb, j->K - pc);
            // a pre-packed B holds these panels already, where packing would put them
            const float *Bpk = Bp;
            if (j->packedB) Bpk = j->packedB + j->pnround * pc + (long)jc * kc;
            else k->pack_b(j->transB, b_at(j, pc, jc), j->ldb, kc, nc, Bp);
            float beta = pc == 0 ? j->beta : 1.0f;
            int last = pc + kc >= j->K;
            const float *bias = last && j->bias ? j->bias + jc : NULL;
            int relu = last ? j->relu : 0;
            for (int ic = m0; ic < m1; ic += MC) {
                int mc = imin(MC, m1 - ic);
                k->pack_a(j->transA, a_at(j, ic, pc), j->lda, mc, kc, Ap);
                macro_kernel(j, kc, Ap, mc, Bpk, nc, j->C + (long)ic * j->ldc + jc, beta, bias, relu);
            }
        }
    }
    adam_block(j, j->C + (long)m0 * j->ldc + n0, mlen, nlen);
}

static void gemm_task(void *ctx, int t) {
    const gemm_job *j = (const gemm_job *)ctx;
    int im = t / j->pn, in = t % j->pn;
    const int MR = j->kern->mr, NR = j->kern->nr;
    int mt0 = (int)((long)j->mtiles * im / j->pm), mt1 = (int)((long)j->mtiles * (im + 1) / j->pm);
    int nt0 = (int)((long)j->ntiles * in / j->pn), nt1 = (int)((long)j->ntiles * (in + 1) / j->pn);
    gemm_block(j, mt0 * MR, imin(mt1 * MR, j->M), nt0 * NR, imin(nt1 * NR, j->N));
}

// ---- shared-operand mode: one operand (all of K) is packed once into `shared` by the
// caller, then the other dimension is cut into chunks that threads claim dynamically (good
// balance on a busy machine, no duplicated packing). Layout of shared A: K block b (starting
// at pc) at shared + mround * pc, its panel of rows [i, i+MR) at + i * kc. Same for B.
typedef struct {
    const gemm_job *j;
    float *shared;
    int share_a;        // 1: A shared, chunks over N; 0: B shared, chunks over M
    int round;          // M (or N) rounded up to the tile
    int nkb;            // number of K blocks
    int chunk;          // longest chunk (multiple of the tile) in the other dimension
    int nchunks;
    int pack_parts;     // the shared operand is packed in nkb × pack_parts tasks
} shared_job;

// Packs K block b of the shared operand (all of its rows, or columns).
static void shared_pack_block(const shared_job *s, int b) {
    const gemm_job *j = s->j;
    int pc = b * j->kcb, kc = imin(j->kcb, j->K - pc);
    int len = (s->share_a ? j->M : j->N);
    float *dst = s->shared + (long)s->round * pc;
    if (s->share_a) j->kern->pack_a(j->transA, a_at(j, 0, pc), j->lda, len, kc, dst);
    else j->kern->pack_b(j->transB, b_at(j, pc, 0), j->ldb, kc, len, dst);
}

// Task t packs part (t mod pack_parts) of K block (t / pack_parts) of the shared operand: a range
// of whole panels, written where the serial packing puts them (panel at column/row i: + i * kc).
static void shared_pack_task(void *ctx, int t) {
    const shared_job *s = (const shared_job *)ctx;
    const gemm_job *j = s->j;
    int parts = s->pack_parts, b = t / parts, p = t % parts;
    int T = s->share_a ? j->kern->mr : j->kern->nr;
    int tiles = s->share_a ? j->mtiles : j->ntiles, len = s->share_a ? j->M : j->N;
    int c0 = (int)((long)tiles * p / parts) * T, c1 = imin((int)((long)tiles * (p + 1) / parts) * T, len);
    if (c0 >= c1) return;
    int pc = b * j->kcb, kc = imin(j->kcb, j->K - pc);
    float *dst = s->shared + (long)s->round * pc + (long)c0 * kc;
    if (s->share_a) j->kern->pack_a(j->transA, a_at(j, c0, pc), j->lda, c1 - c0, kc, dst);
    else j->kern->pack_b(j->transB, b_at(j, pc, c0), j->ldb, kc, c1 - c0, dst);
}

static void shared_compute_task(void *ctx, int t) {
    const shared_job *s = (const shared_job *)ctx;
    const gemm_job *j = s->j;
    int len = s->share_a ? j->N : j->M;
    int T = s->share_a ? j->kern->nr : j->kern->mr;
    int tiles = s->share_a ? j->ntiles : j->mtiles;
    int c0 = (int)((long)tiles * t / s->nchunks) * T;
    int c1 = imin((int)((long)tiles * (t + 1) / s->nchunks) * T, len);
    if (c0 >= c1) return;
    int kcb = j->kcb;
    vk_buffers *buf = thread_buffers((size_t)s->chunk * kcb, (size_t)s->chunk * kcb);
    if (!buf) abort();
    for (int pc = 0; pc < j->K; pc += kcb) {
        int kc = imin(kcb, j->K - pc);
        float beta = pc == 0 ? j->beta : 1.0f;
        int last = pc + kc >= j->K;
        int relu = last ? j->relu : 0;
        const float *sh = s->shared + (long)s->round * pc;
        if (s->share_a) {
            const float *bp = buf->b;
            if (j->packedB) bp = j->packedB + j->pnround * pc + (long)c0 * kc;
            else j->kern->pack_b(j->transB, b_at(j, pc, c0), j->ldb, kc, c1 - c0, buf->b);
            const float *bias = last && j->bias ? j->bias + c0 : NULL;
            macro_kernel(j, kc, sh, j->M, bp, c1 - c0, j->C + c0, beta, bias, relu);
        } else {
            j->kern->pack_a(j->transA, a_at(j, c0, pc), j->lda, c1 - c0, kc, buf->a);
            const float *bias = last && j->bias ? j->bias : NULL;
            macro_kernel(j, kc, buf->a, c1 - c0, sh, j->N, j->C + (long)c0 * j->ldc, beta, bias, relu);
        }
    }
    if (s->share_a) adam_block(j, j->C + c0, j->M, c1 - c0);
    else adam_block(j, j->C + (long)c0 * j->ldc, c1 - c0, j->N);
}

#define VK_SHARED_MAX (384 * 1024)   // floats (1.5 MB): the shared operand stays in L2/L3
// A shared B up to 4 MB when the split would otherwise pack 1.5 MB or more on every thread and
// each chunk has 64 rows or more to compute per pass over B (streamed from L3): the h1024 batch-512
// products (B of 1.6–3.2 MB, 64–128 rows per chunk) packed once, that mlp +1.7% on Zen 4; with 50
// rows per chunk (h400 batch 512, dW = gᵀx, B = x of 1.6 MB) the streaming cost more: 1.5% slower.
#define VK_SHARED_MAX_B (1024 * 1024)
// ... but only on cores whose L2 is under 2 MB (Zen 3's 512 KB, Zen 4's and Zen 5's 1 MB): with
// Intel's 2 MB a thread's half of such a B stays in its own L2 across every row block, and the
// split that packs it per thread was faster — h1024 batch 512 on the Intel Xeon (Emerald Rapids),
// the two ways alternating ABBA: +0.3 to +4.0% in 8 of 8 groups (two builds, then one binary with
// VAE_L2_KB; docs/benchmarks.md). Where B is packed changes no sum: the same bits either way.
// VAE_L2_KB overrides the size read.
#define VK_LARGE_SHARED_B_L2_BELOW (2048L * 1024)
static long g_l2_bytes = -1;
static pthread_once_t g_l2_once = PTHREAD_ONCE_INIT;
static void read_l2(void) {
    long kb = vk_env_long("VAE_L2_KB", 0, 1L << 20, 0);
    if (kb > 0) { g_l2_bytes = kb * 1024; return; }
    long b = 0;
#ifdef _SC_LEVEL2_CACHE_SIZE
    b = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    g_l2_bytes = b > 0 ? b : 0;   // unknown: as a small L2 (the large shared B, as before)
}
long vk_l2_cache_bytes(void) {
    pthread_once(&g_l2_once, read_l2);
    return g_l2_bytes;
}
#define VK_SHARED_PARALLEL_PACK (8 * 1024)   // floats: shared operands this large are packed in parallel
#define VK_CHUNKS_PER_THREAD 4   // shared-operand mode: chunks of the other dimension per thread

// Returns 1 if the product was done in shared-operand mode.
static int try_shared(const gemm_job *j, int nthreads) {
    if (g_block_override) return 0;
    const int MR = j->kern->mr, NR = j->kern->nr;
    long mround = (long)j->mtiles * MR, nround = (long)j->ntiles * NR;
    int a_fits = mround * j->K <= VK_SHARED_MAX && mround_fits_l2(j, (int)mround);
    // the operand that the pm x pn split would pack on every thread (all of A when it splits N)
    long duplicated = j->pn > 1 ? mround * j->K : j->pm > 1 ? nround * j->K : 0;
    // a large shared B is streamed from L3 once per chunk of rows
    int rows_per_chunk = j->M / (VK_CHUNKS_PER_THREAD * nthreads);
    int b_fits = nround * j->K <= VK_SHARED_MAX
              || (nround * j->K <= VK_SHARED_MAX_B && duplicated >= VK_SHARED_MAX && rows_per_chunk >= 64
                  && vk_l2_cache_bytes() < VK_LARGE_SHARED_B_L2_BELOW);
    shared_job s;
    // With Adam fused, chunks of whole rows of C (B shared) give it contiguous p, m, v.
    if (j->adam && b_fits) s.share_a = 0;
    else if (a_fits && (j->N >= j->M || !b_fits)) s.share_a = 1;
    else if (b_fits) s.share_a = 0;
    else return 0;
    s.j = j;
    s.round = (int)(s.share_a ? mround : nround);
    s.nkb = (j->K + j->kcb - 1) / j->kcb;
    int T = s.share_a ? NR : MR;
    int tiles = s.share_a ? j->ntiles : j->mtiles;
    // VK_CHUNKS_PER_THREAD chunks per thread (even tile counts per chunk), each at least 2 tiles.
    int nch = VK_CHUNKS_PER_THREAD * nthreads;
    if (nch > tiles / 2) nch = tiles / 2;
    if (nch < nthreads) nch = imin(nthreads, tiles);
    // Bound the chunk: A chunks to one MC block (stays in L2), B chunks to 1024 columns.
    int maxper = s.share_a ? 1024 / NR : j->mc / MR;
    if (maxper < 1) maxper = 1;
    if ((tiles + nch - 1) / nch > maxper) nch = (tiles + maxper - 1) / maxper;
    s.nchunks = nch;
    s.chunk = (tiles + nch - 1) / nch * T;   // largest chunk, for the buffer size
    vk_buffers *own = thread_buffers(0, 0);   // caller's buffers
    if (!own) abort();
    own->s = grow(own->s, &own->scap, (size_t)s.round * j->K);
    if (!own->s) return 0;
    s.shared = own->s;
    if (!s.share_a && j->packedB) {   // B shared and packed already: its layout is this one
        s.shared = (float *)j->packedB;
        vk_parallel(s.nchunks, shared_compute_task, &s);
        return 1;
    }
    // A large shared operand (a layer's weights in the forward product) is packed by all threads
    // (tasks claimed dynamically: a descheduled worker costs nothing), a small one by the caller
    // alone, saving a synchronisation. Packing moves data only: the same bits either way.
    if ((long)s.round * j->K >= VK_SHARED_PARALLEL_PACK) {
        int tiles_own = s.share_a ? j->mtiles : j->ntiles;
        s.pack_parts = imin(2 * nthreads, tiles_own);
        vk_parallel(s.nkb * s.pack_parts, shared_pack_task, &s);
    } else {
        for (int b = 0; b < s.nkb; b++) shared_pack_block(&s, b);
    }
    vk_parallel(s.nchunks, shared_compute_task, &s);
    return 1;
}

// Products below this many FLOPs run on the calling thread alone (VAE_GEMM_SPLIT_KFLOP, in
// thousands; README, "Tuning"). 0.5 MFLOP: at h400 batch 128 the latent layers' products (2–4
// MFLOP) ran on one thread while the other waited, 12% of the step, and at batch 32 (0.5–1
// MFLOP) 4% (docs/benchmarks.md).
static double g_split_min_flops = 0.5e6;
static pthread_once_t g_split_once = PTHREAD_ONCE_INIT;
static void read_split_env(void) {
    g_split_min_flops = 1000.0 * (double)vk_env_long("VAE_GEMM_SPLIT_KFLOP", 0, 1000000000L, 500);
}

// Choose the thread grid pm x pn minimising a simple cost: per-thread tile work plus packing.
static void choose_split(gemm_job *j, int nthreads) {
    j->pm = 1;
    j->pn = 1;
    double flops = 2.0 * j->M * j->N * (double)j->K;
    pthread_once(&g_split_once, read_split_env);
    if (nthreads <= 1 || flops < g_split_min_flops) return;
    const int MR = j->kern->mr, NR = j->kern->nr;
    double best = -1;
    for (int pm = 1; pm <= nthreads; pm++) {
        if (nthreads % pm) continue;
        int pn = nthreads / pm;
        if (pm > j->mtiles || pn > j->ntiles) continue;
        double mp = (double)((j->mtiles + pm - 1) / pm) * MR;
        double np = (double)((j->ntiles + pn - 1) / pn) * NR;
        double cost = mp * np + 6.0 * (mp + np);
        if (best < 0 || cost < best) { best = cost; j->pm = pm; j->pn = pn; }
    }
    if (best < 0) {  // too few tiles for a full grid: split the longer tile dimension
        if (j->ntiles >= j->mtiles) j->pn = imin(nthreads, j->ntiles);
        else j->pm = imin(nthreads, j->mtiles);
    }
}

void vk_epilogue_pass(int M, int N, float *C, int ldc, const float *bias, int act) {
    if (!bias && act != VK_ACT_RELU) return;
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * ldc;
        for (int jn = 0; jn < N; jn++) {
            float t = c[jn];
            if (bias) t = t + bias[jn];
            if (act == VK_ACT_RELU && !(t > 0.0f)) t = 0.0f;
            c[jn] = t;
        }
    }
}

// C = beta*C (+bias, act), used when K == 0 or alpha == 0.
static void scale_only(int M, int N, float beta, float *C, int ldc, const float *bias, int act) {
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * ldc;
        for (int jn = 0; jn < N; jn++) c[jn] = beta == 0.0f ? 0.0f : beta * c[jn];
    }
    vk_epilogue_pass(M, N, C, ldc, bias, act);
}

static int k_block(const vk_kernel *k, int K) {
    int KC = g_block_kc ? g_block_kc : k->kc;
    int nkb = (K + KC - 1) / KC;
    return (K + nkb - 1) / nkb;
}

static void builtin_sgemm_packed(int transA, int transB, int M, int N, int K, float alpha,
                                 const float *A, int lda, const float *B, int ldb, float beta,
                                 float *C, int ldc, const float *bias, int act, const vk_adam_args *adam,
                                 const float *packedB);

static void builtin_sgemm(int transA, int transB, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb, float beta,
                          float *C, int ldc, const float *bias, int act, const vk_adam_args *adam) {
    builtin_sgemm_packed(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, adam, NULL);
}

static void builtin_sgemm_packed(int transA, int transB, int M, int N, int K, float alpha,
                                 const float *A, int lda, const float *B, int ldb, float beta,
                                 float *C, int ldc, const float *bias, int act, const vk_adam_args *adam,
                                 const float *packedB) {
    gemm_job j;
    j.adam = adam;
    j.packedB = packedB;
    j.kern = current_kernel();
    j.transA = transA; j.transB = transB;
    j.M = M; j.N = N; j.K = K;
    j.alpha = alpha; j.beta = beta;
    j.A = A; j.B = B; j.C = C;
    j.lda = lda; j.ldb = ldb; j.ldc = ldc;
    j.bias = bias;
    j.relu = act == VK_ACT_RELU;
    j.kcb = k_block(j.kern, K);
    int MR = j.kern->mr, NR = j.kern->nr;
    j.mc = g_block_mc ? (g_block_mc + MR - 1) / MR * MR : j.kern->mc;
    j.nc = g_block_nc ? (g_block_nc + NR - 1) / NR * NR : j.kern->nc;
    j.mtiles = (M + j.kern->mr - 1) / j.kern->mr;
    j.ntiles = (N + j.kern->nr - 1) / j.kern->nr;
    j.pnround = (long)j.ntiles * NR;
    // Inside a pool task (a layer that runs its groups in parallel) the product is this
    // thread's alone: no split to run inline, no duplicated packing. Same bits either way.
    int nthreads = vk_in_pool_task() ? 1 : vk_get_num_threads();
    choose_split(&j, nthreads);
    int ntasks = j.pm * j.pn;
    if (ntasks > 1 && try_shared(&j, nthreads)) return;
    if (ntasks == 1) gemm_task(&j, 0);
    else vk_parallel(ntasks, gemm_task, &j);
}

static void self_check(void) {
    atomic_store(&g_checking, 1);
    g_check_note[0] = 0;
    enum { M = 13, N = 37, K = 19 };
    float A[M * K], B[K * N], C[M * N], C0[M * N], bias[N];
    unsigned x = 12345u;
    for (int i = 0; i < M * K; i++) { x = x * 1664525u + 1013904223u; A[i] = (float)((x >> 9) % 2001) / 1000.0f - 1.0f; }
    for (int i = 0; i < K * N; i++) { x = x * 1664525u + 1013904223u; B[i] = (float)((x >> 9) % 2001) / 1000.0f - 1.0f; }
    for (int i = 0; i < M * N; i++) { x = x * 1664525u + 1013904223u; C0[i] = (float)((x >> 9) % 2001) / 1000.0f - 1.0f; }
    for (int i = 0; i < N; i++) bias[i] = 0.01f * (float)i - 0.1f;
    int level = g_max_level;
    while (level >= 2) {
        atomic_store(&g_level, level);
        int ok = 1;
        for (int form = 0; form < 4 && ok; form++) {
            int ta = form & 1, tb = form >> 1;
            // The same values read through the transposed layouts: A as K×M, B as N×K.
            float At[M * K], Bt[K * N];
            for (int i = 0; i < M; i++) for (int p = 0; p < K; p++) At[p * M + i] = A[i * K + p];
            for (int p = 0; p < K; p++) for (int c = 0; c < N; c++) Bt[c * K + p] = B[p * N + c];
            memcpy(C, C0, sizeof C);
            builtin_sgemm(ta, tb, M, N, K, 0.75f, ta ? At : A, ta ? M : K, tb ? Bt : B, tb ? K : N,
                          0.5f, C, N, form == 3 ? bias : NULL, form == 3 ? VK_ACT_RELU : VK_ACT_NONE, NULL);
            for (int i = 0; i < M && ok; i++) {
                for (int c = 0; c < N; c++) {
                    double ref = 0;
                    for (int p = 0; p < K; p++) ref += (double)A[i * K + p] * (double)B[p * N + c];
                    ref = 0.75 * ref + 0.5 * (double)C0[i * N + c];
                    if (form == 3) { ref += bias[c]; if (ref < 0) ref = 0; }
                    double err = (double)C[i * N + c] - ref;
                    if (err < 0) err = -err;
                    if (!(err <= 1e-4 * (1.0 + (ref < 0 ? -ref : ref)))) { ok = 0; break; }
                }
            }
        }
        if (ok) break;
        snprintf(g_check_note, sizeof g_check_note, "; the level-%d kernel failed its self-check and is not used", level);
        level--;
    }
    if (level < 1) level = 1;
    g_max_level = level;
    atomic_store(&g_level, level);
    atomic_store(&g_checking, 0);
}

// ---------------------------------------------------------------- backend + public API
static _Atomic int g_backend = -1;   // -1: not chosen yet
static char g_desc[512];
static pthread_mutex_t g_desc_lock = PTHREAD_MUTEX_INITIALIZER;

static int backend(void) {
    int b = atomic_load(&g_backend);
    if (b >= 0) return b;
    const char *env = getenv("VAE_GEMM");
    int want = (env && (strcmp(env, "blas") == 0 || strcmp(env, "openblas") == 0)) ? 1 : 0;
    // one warning line for a value that is neither (it was ignored in silence), as the other switches
    if (env && env[0] && !want && strcmp(env, "builtin") != 0)
        fprintf(stderr, "warning: VAE_GEMM=%s is not blas or builtin; using the built-in kernels\n", env);
    int missing = want == 1 && vk_blas_load() != 0;
    if (missing) want = 0;
    int expected = -1;
    // (the one thread that decides says it: a cross-check that compared the built-in kernels
    // with themselves ran without a word)
    if (atomic_compare_exchange_strong(&g_backend, &expected, want) && missing)
        fprintf(stderr, "warning: VAE_GEMM=%s: libopenblas.so.0 could not be loaded; using the built-in kernels (apt-get install libopenblas0-pthread)\n", env);
    return atomic_load(&g_backend);
}

int vk_gemm_select_backend(int b) {
    if (b == 0) { atomic_store(&g_backend, 0); return 0; }
    if (b == 1) {
        if (vk_blas_load() != 0) return -1;
        atomic_store(&g_backend, 1);
        return 0;
    }
    return -1;
}

int vk_gemm_backend(void) { return backend(); }

const char *vk_gemm_description(void) {
    pthread_mutex_lock(&g_desc_lock);
    if (backend() == 1) {
        snprintf(g_desc, sizeof g_desc, "%s", vk_blas_description());
    } else {
        const vk_kernel *k = current_kernel();
        long l2 = vk_l2_cache_bytes();
        char l2text[48] = "";
        if (l2 > 0) snprintf(l2text, sizeof l2text, ", L2 %ld KB", l2 / 1024);
        snprintf(g_desc, sizeof g_desc, "built-in %s (level %d, KC=%d MC=%d NC=%d%s), %d thread%s%s",
                 k->name, k->level, k->kc, k->mc, k->nc, l2text, vk_get_num_threads(),
                 vk_get_num_threads() == 1 ? "" : "s", g_check_note);
    }
    pthread_mutex_unlock(&g_desc_lock);
    return g_desc;
}

void vk_sgemm_ex(int transA, int transB, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc, const float *bias, int act) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_only(M, N, beta, C, ldc, bias, act);
        return;
    }
    if (backend() == 1 &&
        vk_blas_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0) {
        vk_epilogue_pass(M, N, C, ldc, bias, act);
        return;
    }
    builtin_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, NULL);
}

void vk_sgemm_adam(int transA, int transB, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc, const vk_adam_args *adam) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f || backend() == 1) {
        vk_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        vk_adam_rows(adam, C, M, N, ldc);
        return;
    }
    builtin_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, VK_ACT_NONE, adam);
}

void vk_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc) {
    vk_sgemm_ex(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, VK_ACT_NONE);
}

// ---------------------------------------------------------------- sparse A
// dW = gᵀ·x of a ReLU layer: g is zero wherever the unit was off (73–81% of an mlp's first hidden
// layer on Fashion-MNIST). Where the level has a sparse product and A is mostly zeros: B packed
// once as the dense product's shared B (by all threads), then rows of C in chunks over the
// threads, each chunk with its lists and then its Adam. Otherwise the dense product. Same bits.
typedef struct {
    const vk_kernel *k;
    int M, N, K, kcb, chunk;   // chunk: rows of C per task (a multiple of 8)
    float alpha, beta;
    const float *A, *B;
    float *C;
    long lda, ldb, ldc;
    const vk_adam_args *adam;
    float *packed;   // op(B) packed: K block at + nround·pc, panel at column c at + c·kc
    long nround;     // N rounded up to the tile
    int parts;       // B is packed in nkb × parts tasks
} sparse_job;

static void sparse_pack_task(void *ctx, int t) {
    const sparse_job *s = (const sparse_job *)ctx;
    int b = t / s->parts, q = t % s->parts, NR = s->k->nr;
    int tiles = (int)(s->nround / NR);
    int c0 = (int)((long)tiles * q / s->parts) * NR, c1 = imin((int)((long)tiles * (q + 1) / s->parts) * NR, s->N);
    if (c0 >= c1) return;
    int pc = b * s->kcb, kc = imin(s->kcb, s->K - pc);
    s->k->pack_b(0, s->B + (long)pc * s->ldb + c0, s->ldb, kc, c1 - c0, s->packed + s->nround * pc + (long)c0 * kc);
}

static void sparse_task(void *ctx, int t) {
    const sparse_job *s = (const sparse_job *)ctx;
    int u0 = t * s->chunk, u1 = imin(s->M, u0 + s->chunk);
    if (u0 >= u1) return;
    long floats = (long)((u1 - u0 + 7) / 8) * s->kcb * (long)(sizeof(vk_sparse_step) / sizeof(float));
    vk_sparse_step *steps = (vk_sparse_step *)vk_thread_scratch(1, floats);
    s->k->sparse_tn(s->N, s->K, s->kcb, s->alpha, s->A, s->lda, s->packed, s->nround, s->beta, s->C, s->ldc,
                    u0, u1, steps);
    if (s->adam) {
        vk_adam_args a = *s->adam;
        long off = (long)u0 * s->ldc;
        a.p += off; a.m += off; a.v += off;
        vk_adam_rows_at_level(s->k->level, &a, s->C + off, u1 - u0, s->N, s->ldc);
    }
}

// VAE_SPARSE_MIN_ZEROS (percent, README "Tuning"): the share of zeros in A's first rows from which
// the sparse product is used; 101 never. 60: the decoder's hidden layer (48% zeros) stays dense.
static _Atomic long g_sparse_min_zeros = 60;
static pthread_once_t g_sparse_once = PTHREAD_ONCE_INIT;
static void read_sparse_env(void) { g_sparse_min_zeros = vk_env_long("VAE_SPARSE_MIN_ZEROS", 0, 101, 60); }
static _Atomic long g_sparse_products = 0;

int vk_gemm_set_sparse_min_zeros(int percent) {
    pthread_once(&g_sparse_once, read_sparse_env);
    return (int)atomic_exchange(&g_sparse_min_zeros, percent < 0 ? 0 : percent > 101 ? 101 : percent);
}
long vk_gemm_sparse_products(void) { return atomic_load(&g_sparse_products); }

void vk_sgemm_adam_sparse_a(int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc,
                            const vk_adam_args *adam) {
    if (M <= 0 || N <= 0) return;
    const vk_kernel *k = backend() == 0 && K > 0 && alpha != 0.0f && !g_block_override ? current_kernel() : NULL;
    pthread_once(&g_sparse_once, read_sparse_env);
    long min_zeros = atomic_load(&g_sparse_min_zeros);
    int sparse = k && k->sparse_tn && min_zeros <= 100;
    if (sparse) {   // A's zeros, counted on its first rows
        int rows = imin(K, 64);
        long zeros = 0;
        for (int p = 0; p < rows; p++) {
            const float *a = A + (long)p * lda;
            for (int i = 0; i < M; i++) zeros += a[i] == 0.0f;
        }
        sparse = zeros * 100 >= min_zeros * (long)rows * M;
    }
    // op(B) is packed into the caller's shared-operand buffer (as the dense product's shared B)
    long nround = sparse ? (long)(N + k->nr - 1) / k->nr * k->nr : 0;
    vk_buffers *own = sparse ? thread_buffers(0, 0) : NULL;
    if (own) own->s = grow(own->s, &own->scap, (size_t)nround * K);
    if (!own || !own->s) {
        if (adam) vk_sgemm_adam(1, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, adam);
        else vk_sgemm(1, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    atomic_fetch_add(&g_sparse_products, 1);
    sparse_job s = { k, M, N, K, k_block(k, K), 8, alpha, beta, A, B, C, lda, ldb, ldc, adam, own->s, nround, 1 };
    int nthreads = vk_in_pool_task() ? 1 : vk_get_num_threads();
    int nkb = (K + s.kcb - 1) / s.kcb;
    s.parts = imin(2 * nthreads, (int)(s.nround / k->nr));
    // VK_CHUNKS_PER_THREAD chunks per thread, each at most 1,024 rows (its counts and order on
    // the stack, its lists — 16 KB per 8 rows at kcb = 256 — in the thread's scratch)
    int groups = (M + 7) / 8;
    int tasks = imin(groups, nthreads * VK_CHUNKS_PER_THREAD);
    s.chunk = imin((groups + tasks - 1) / tasks, 128) * 8;
    tasks = (M + s.chunk - 1) / s.chunk;
    if (nthreads > 1) {
        vk_parallel(nkb * s.parts, sparse_pack_task, &s);
        vk_parallel(tasks, sparse_task, &s);
    } else {
        for (int t = 0; t < nkb * s.parts; t++) sparse_pack_task(&s, t);
        for (int t = 0; t < tasks; t++) sparse_task(&s, t);
    }
}

// ---------------------------------------------------------------- pre-packed B
// op(B) packed once for the built-in kernel in use, in the layout of a shared B operand (K block
// at pc: + nround * pc; its panel of columns [c, c + NR): + c * kc), so that products with the
// same B (a recurrent weight, step after step) skip packing it. Packing moves data only: every
// product gives the bits of vk_sgemm_ex.
struct vk_packed_b {
    int level, kcb, N, K, transB;
    float *data;
};

vk_packed_b *vk_packed_b_create(int transB, int N, int K, const float *B, int ldb) {
    if (N <= 0 || K <= 0 || backend() == 1 || g_block_override) return NULL;
    const vk_kernel *k = current_kernel();
    int kcb = k_block(k, K);
    long nround = (long)(N + k->nr - 1) / k->nr * k->nr;
    vk_packed_b *p = (vk_packed_b *)calloc(1, sizeof *p);
    void *mem = NULL;
    if (!p || posix_memalign(&mem, 64, (size_t)(nround * K + 64) * sizeof(float)) != 0) { free(p); return NULL; }
    p->level = k->level; p->kcb = kcb; p->N = N; p->K = K; p->transB = transB;
    p->data = (float *)mem;
    for (int pc = 0; pc < K; pc += kcb) {
        int kc = imin(kcb, K - pc);
        const float *src = transB ? B + pc : B + (long)pc * ldb;
        k->pack_b(transB, src, ldb, kc, N, p->data + nround * pc);
    }
    return p;
}

void vk_packed_b_free(vk_packed_b *p) {
    if (!p) return;
    free(p->data);
    free(p);
}

void vk_sgemm_packed_b(int transA, int transB, int M, int N, int K, float alpha,
                       const float *A, int lda, const vk_packed_b *P, const float *B, int ldb,
                       float beta, float *C, int ldc, const float *bias, int act) {
    // packed for another kernel, blocking or shape (or no packing at all): the plain product
    if (!P || M <= 0 || K <= 0 || alpha == 0.0f || backend() == 1 || g_block_override ||
        P->level != current_kernel()->level || P->kcb != k_block(current_kernel(), K) ||
        P->N != N || P->K != K || P->transB != transB) {
        vk_sgemm_ex(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act);
        return;
    }
    builtin_sgemm_packed(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, NULL, P->data);
}
