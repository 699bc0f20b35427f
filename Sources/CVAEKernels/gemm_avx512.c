// AVX-512F micro-kernel: 8 x 32 register tile (16 zmm accumulators), its edge variants
// (fewer rows, 16-wide, masked columns) and packing routines compiled for AVX-512. Chosen at
// run time (see gemm.c); needs no compiler flags. Every variant performs, for each element of
// C, exactly the same operations in the same order as the full tile (bit-identical results).
#include "vk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define VK_AVX512_TARGET __attribute__((target("avx512f,fma")))
#define MR 8
#define NR 32

// R rows (1..8) x W vectors (1 or 2) of 16 floats; `cols` valid columns: the last vector is
// masked when cols < W*16. R, W constant at every call site.
VK_AVX512_TARGET __attribute__((always_inline))
static inline void kern(long kc, const float *A, const float *B, float *C, long ldc,
                        float alpha, float beta, const float *bias, int relu,
                        const int R, const int W, int cols) {
    __m512 acc[MR][2];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < W; w++) acc[r][w] = _mm512_setzero_ps();
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(B + NR * 8), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + NR * 8 + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + NR * 9), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + NR * 9 + 16), _MM_HINT_T0);
        for (int u = 0; u < 4; u++) {
            __m512 b0 = _mm512_load_ps(B + NR * u);
            __m512 b1 = W > 1 ? _mm512_load_ps(B + NR * u + 16) : b0;
            for (int r = 0; r < R; r++) {
                __m512 a = _mm512_set1_ps(A[MR * u + r]);
                acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
                if (W > 1) acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
            }
        }
        A += 4 * MR;
        B += 4 * NR;
    }
    for (; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(B);
        __m512 b1 = W > 1 ? _mm512_load_ps(B + 16) : b0;
        for (int r = 0; r < R; r++) {
            __m512 a = _mm512_set1_ps(A[r]);
            acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
            if (W > 1) acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
        }
        A += MR;
        B += NR;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta), z = _mm512_setzero_ps();
    const int ub = beta != 0.0f;
    int last = cols - (W - 1) * 16;   // valid lanes of the last vector (1..16)
    __mmask16 mask = (__mmask16)((1u << last) - 1u);
    int full = last == 16;
    __m512 bv[2];
    if (bias) {
        for (int w = 0; w < W; w++)
            bv[w] = (w < W - 1 || full) ? _mm512_loadu_ps(bias + 16 * w) : _mm512_maskz_loadu_ps(mask, bias + 16 * w);
    }
    for (int r = 0; r < R; r++) {
        float *c = C + r * ldc;
        for (int w = 0; w < W; w++) {
            int whole = w < W - 1 || full;
            __m512 t = _mm512_mul_ps(va, acc[r][w]);
            if (ub) {
                __m512 old = whole ? _mm512_loadu_ps(c + 16 * w) : _mm512_maskz_loadu_ps(mask, c + 16 * w);
                t = _mm512_fmadd_ps(vb, old, t);
            }
            if (bias) t = _mm512_add_ps(t, bv[w]);
            if (relu) t = _mm512_max_ps(t, z);
            if (whole) _mm512_storeu_ps(c + 16 * w, t);
            else _mm512_mask_storeu_ps(c + 16 * w, mask, t);
        }
    }
}

VK_AVX512_TARGET
static void ukr_avx512_8x32(long kc, const float *A, const float *B, float *C, long ldc,
                            float alpha, float beta, const float *bias, int relu) {
    kern(kc, A, B, C, ldc, alpha, beta, bias, relu, 8, 2, 32);
}

#define VK_EDGE_CASE(R)                                                                  \
    case R:                                                                              \
        if (nr > 16) kern(kc, A, B, C, ldc, alpha, beta, bias, relu, R, 2, nr);          \
        else kern(kc, A, B, C, ldc, alpha, beta, bias, relu, R, 1, nr);                  \
        break;

VK_AVX512_TARGET
static void ukr_avx512_edge(long kc, const float *A, const float *B, float *C, long ldc,
                            float alpha, float beta, const float *bias, int relu, int mr, int nr) {
    switch (mr) {
        VK_EDGE_CASE(1) VK_EDGE_CASE(2) VK_EDGE_CASE(3) VK_EDGE_CASE(4) VK_EDGE_CASE(5)
        VK_EDGE_CASE(6) VK_EDGE_CASE(7)
        default: VK_EDGE_CASE(8)
    }
}
#undef VK_EDGE_CASE
#undef MR
#undef NR


// ---- sparse A (vk_sparse_tn_fn): C = alpha·Aᵀ·B + beta·C, rows [u0, u1), A mostly zeros, B
// packed by pack_b_avx512 (K block at B + ldb·pc, panel of 32 columns at + c·kc, row p at + 32p,
// zero-padded to whole panels); the lists of each K block from sparse_x86.h. Then 4 rows × 64
// columns at a time (16 accumulators; per list entry its offset, its value broadcast and four
// vectors of B feed four multiply–adds: 1.5 loads each) over each group's steps. Measured on
// Zen 4 (dW₁ of the mlp at batch 512, real ReLU gradients, 73–81% zeros, 2 threads): 1,024 × 784
// 3,930 → 1,660 µs, 400 × 784 1,520 → 920 µs; 8 rows × 32 columns (2 loads per FMA) 10% slower,
// 8 × 16 slower still, 2 × 128 no better.
#define VK_TARGET VK_AVX512_TARGET
#include "sparse_x86.h"
#undef VK_TARGET

VK_AVX512_TARGET __attribute__((always_inline))
static inline void sparse_block(const int V, int groups, const int *lens, const int *perm,
                                const vk_sparse_step *steps, int kcb, int kc, const float *bp,
                                float *C, long ldc, int jp, int cols, float alpha, float bt) {
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(bt);
    const long pan = 32L * kc;
    int last = cols - (V - 1) * 16;   // valid lanes of the last vector (1..16)
    __mmask16 lm = (__mmask16)((1u << last) - 1u);
    for (int g = 0; g < groups; g++) {
        const vk_sparse_step *S = steps + (long)g * kcb;
        int L = lens[g];
        for (int h = 0; h < 8; h += 4) {
            __m512 acc[4][4];
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < V; q++) acc[r][q] = _mm512_setzero_ps();
            for (int s = 0; s < L; s++)
                for (int r = 0; r < 4; r++) {
                    __m512 v = _mm512_set1_ps(S[s].val[h + r]);
                    const float *b = bp + S[s].off[h + r];
                    for (int q = 0; q < V; q++)
                        acc[r][q] = _mm512_fmadd_ps(v, _mm512_load_ps(b + (q >> 1) * pan + (q & 1) * 16), acc[r][q]);
                }
            for (int r = 0; r < 4; r++) {
                int row = perm[8 * g + h + r];
                if (row < 0) continue;
                float *c = C + (long)row * ldc + jp;
                for (int q = 0; q < V; q++) {
                    __mmask16 m = q < V - 1 ? (__mmask16)0xFFFF : lm;
                    __m512 t = _mm512_mul_ps(va, acc[r][q]);
                    if (bt != 0.0f) t = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c + 16 * q), t);
                    _mm512_mask_storeu_ps(c + 16 * q, m, t);
                }
            }
        }
    }
}

VK_AVX512_TARGET
static void sparse_columns_avx512(int N, int groups, const int *lens, const int *perm,
                                  const vk_sparse_step *steps, int kcb, int kc, const float *Bk,
                                  float *C, long ldc, float alpha, float bt) {
    int jp = 0;
    for (; jp + 64 <= N; jp += 64)
        sparse_block(4, groups, lens, perm, steps, kcb, kc, Bk + (long)jp * kc, C, ldc, jp, 64, alpha, bt);
    int w = N - jp;
    if (w > 48) sparse_block(4, groups, lens, perm, steps, kcb, kc, Bk + (long)jp * kc, C, ldc, jp, w, alpha, bt);
    else if (w > 32) sparse_block(3, groups, lens, perm, steps, kcb, kc, Bk + (long)jp * kc, C, ldc, jp, w, alpha, bt);
    else if (w > 16) sparse_block(2, groups, lens, perm, steps, kcb, kc, Bk + (long)jp * kc, C, ldc, jp, w, alpha, bt);
    else if (w > 0) sparse_block(1, groups, lens, perm, steps, kcb, kc, Bk + (long)jp * kc, C, ldc, jp, w, alpha, bt);
}

VK_AVX512_TARGET
static void sparse_tn_avx512(int N, int K, int kcb, float alpha, const float *A, long lda,
                             const float *B, long ldb, float beta, float *C, long ldc,
                             int u0, int u1, vk_sparse_step *steps) {
    sparse_tn_run(N, K, kcb, alpha, A, lda, B, ldb, beta, C, ldc, u0, u1, steps, 32, sparse_columns_avx512);
}

#define VK_MR 8
#define VK_NR 32
#define VK_PACK_A_NAME pack_a_avx512
#define VK_PACK_B_NAME pack_b_avx512
#define VK_TARGET VK_AVX512_TARGET
// Row-sweep packing of operands up to 1,024 wide: h400 batch 512 mlp +1–3% on Zen 4 (9 of 9
// alternating rounds); not at the AVX2 level (6x16 tile: 1–2% slower there) nor for the conv
// model's wider im2col operands (no gain). docs/benchmarks.md.
#define VK_PACK_ROW_SWEEP 1024
#include "pack_x86.h"

static const vk_kernel k_avx512 = {
    3, 8, 32, 256, 192, 4096, ukr_avx512_8x32, ukr_avx512_edge, pack_a_avx512, pack_b_avx512,
    "avx512f+fma 8x32 tile", sparse_tn_avx512,
};

const vk_kernel *vk_kernel_avx512(void) { return &k_avx512; }
#endif
