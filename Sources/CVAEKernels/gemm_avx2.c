// AVX2 + FMA micro-kernel: 6 x 16 register tile (12 ymm accumulators), its edge variants
// (fewer rows, 8-wide, masked columns) and packing routines compiled for AVX2. Chosen at run
// time (see gemm.c); needs no compiler flags. Every variant performs, for each element of C,
// exactly the same operations in the same order as the full tile (bit-identical results).
#include "vk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define VK_AVX2_TARGET __attribute__((target("avx2,fma")))
#define MR 6
#define NR 16

// R rows (1..6) x W vectors (1 or 2) of 8 floats; `cols` valid columns (W*8-7 .. W*8): the
// last vector is masked when cols < W*8. R, W constant at every call site, so the loops
// unroll and the accumulators stay in registers.
VK_AVX2_TARGET __attribute__((always_inline))
static inline void kern(long kc, const float *A, const float *B, float *C, long ldc,
                        float alpha, float beta, const float *bias, int relu,
                        const int R, const int W, int cols) {
    __m256 acc[MR][2];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < W; w++) acc[r][w] = _mm256_setzero_ps();
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(B + NR * 8), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + NR * 10), _MM_HINT_T0);
        for (int u = 0; u < 4; u++) {
            __m256 b0 = _mm256_load_ps(B + NR * u);
            __m256 b1 = W > 1 ? _mm256_load_ps(B + NR * u + 8) : b0;
            for (int r = 0; r < R; r++) {
                __m256 a = _mm256_broadcast_ss(A + MR * u + r);
                acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
                if (W > 1) acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
            }
        }
        A += 4 * MR;
        B += 4 * NR;
    }
    for (; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(B);
        __m256 b1 = W > 1 ? _mm256_load_ps(B + 8) : b0;
        for (int r = 0; r < R; r++) {
            __m256 a = _mm256_broadcast_ss(A + r);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            if (W > 1) acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
        A += MR;
        B += NR;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta), z = _mm256_setzero_ps();
    const int ub = beta != 0.0f;
    int last = cols - (W - 1) * 8;   // valid lanes of the last vector (1..8)
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    int full = last == 8;
    __m256 bv[2];
    if (bias) {
        for (int w = 0; w < W; w++)
            bv[w] = (w < W - 1 || full) ? _mm256_loadu_ps(bias + 8 * w) : _mm256_maskload_ps(bias + 8 * w, mask);
    }
    for (int r = 0; r < R; r++) {
        float *c = C + r * ldc;
        for (int w = 0; w < W; w++) {
            int whole = w < W - 1 || full;
            __m256 t = _mm256_mul_ps(va, acc[r][w]);
            if (ub) {
                __m256 old = whole ? _mm256_loadu_ps(c + 8 * w) : _mm256_maskload_ps(c + 8 * w, mask);
                t = _mm256_fmadd_ps(vb, old, t);
            }
            if (bias) t = _mm256_add_ps(t, bv[w]);
            if (relu) t = _mm256_max_ps(t, z);
            if (whole) _mm256_storeu_ps(c + 8 * w, t);
            else _mm256_maskstore_ps(c + 8 * w, mask, t);
        }
    }
}

VK_AVX2_TARGET
static void ukr_avx2_6x16(long kc, const float *A, const float *B, float *C, long ldc,
                          float alpha, float beta, const float *bias, int relu) {
    kern(kc, A, B, C, ldc, alpha, beta, bias, relu, 6, 2, 16);
}

#define VK_EDGE_CASE(R)                                                                  \
    case R:                                                                              \
        if (nr > 8) kern(kc, A, B, C, ldc, alpha, beta, bias, relu, R, 2, nr);           \
        else kern(kc, A, B, C, ldc, alpha, beta, bias, relu, R, 1, nr);                  \
        break;

VK_AVX2_TARGET
static void ukr_avx2_edge(long kc, const float *A, const float *B, float *C, long ldc,
                          float alpha, float beta, const float *bias, int relu, int mr, int nr) {
    switch (mr) {
        VK_EDGE_CASE(1) VK_EDGE_CASE(2) VK_EDGE_CASE(3) VK_EDGE_CASE(4) VK_EDGE_CASE(5)
        default: VK_EDGE_CASE(6)
    }
}
#undef VK_EDGE_CASE
#undef MR
#undef NR

// ---- sparse A (vk_sparse_tn_fn), as at the AVX-512 level (gemm_avx512.c): B packed by
// pack_b_avx2 (panels of 16 columns, row p at + 16p), the lists from sparse_x86.h, then 4 rows ×
// 24 columns at a time (12 ymm accumulators of the 16 registers; per list entry its offset, its
// value broadcast and three vectors of B feed three multiply–adds).
#define VK_TARGET VK_AVX2_TARGET
#include "sparse_x86.h"
#undef VK_TARGET

VK_AVX2_TARGET __attribute__((always_inline))
static inline void sparse_block_avx2(const int V, int groups, const int *lens, const int *perm,
                                     const vk_sparse_step *steps, int kcb, int kc, const float *Bk,
                                     float *C, long ldc, int jp, int cols, float alpha, float bt) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(bt);
    const float *bq[3];
    for (int q = 0; q < V; q++) { int c = jp + 8 * q; bq[q] = Bk + (long)(c / 16 * 16) * kc + c % 16; }
    int last = cols - (V - 1) * 8;   // valid lanes of the last vector (1..8)
    __m256i lm = _mm256_cmpgt_epi32(_mm256_set1_epi32(last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int g = 0; g < groups; g++) {
        const vk_sparse_step *S = steps + (long)g * kcb;
        int L = lens[g];
        for (int h = 0; h < 8; h += 4) {
            __m256 acc[4][3];
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < V; q++) acc[r][q] = _mm256_setzero_ps();
            for (int s = 0; s < L; s++)
                for (int r = 0; r < 4; r++) {
                    __m256 v = _mm256_broadcast_ss(&S[s].val[h + r]);
                    int32_t off = S[s].off[h + r];
                    for (int q = 0; q < V; q++)
                        acc[r][q] = _mm256_fmadd_ps(v, _mm256_load_ps(bq[q] + off), acc[r][q]);
                }
            for (int r = 0; r < 4; r++) {
                int row = perm[8 * g + h + r];
                if (row < 0) continue;
                float *c = C + (long)row * ldc + jp;
                for (int q = 0; q < V; q++) {
                    __m256 t = _mm256_mul_ps(va, acc[r][q]);
                    if (q < V - 1 || last == 8) {
                        if (bt != 0.0f) t = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8 * q), t);
                        _mm256_storeu_ps(c + 8 * q, t);
                    } else {
                        if (bt != 0.0f) t = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c + 8 * q, lm), t);
                        _mm256_maskstore_ps(c + 8 * q, lm, t);
                    }
                }
            }
        }
    }
}

VK_AVX2_TARGET
static void sparse_columns_avx2(int N, int groups, const int *lens, const int *perm,
                                const vk_sparse_step *steps, int kcb, int kc, const float *Bk,
                                float *C, long ldc, float alpha, float bt) {
    int jp = 0;
    for (; jp + 24 <= N; jp += 24)
        sparse_block_avx2(3, groups, lens, perm, steps, kcb, kc, Bk, C, ldc, jp, 24, alpha, bt);
    int w = N - jp;
    if (w > 16) sparse_block_avx2(3, groups, lens, perm, steps, kcb, kc, Bk, C, ldc, jp, w, alpha, bt);
    else if (w > 8) sparse_block_avx2(2, groups, lens, perm, steps, kcb, kc, Bk, C, ldc, jp, w, alpha, bt);
    else if (w > 0) sparse_block_avx2(1, groups, lens, perm, steps, kcb, kc, Bk, C, ldc, jp, w, alpha, bt);
}

VK_AVX2_TARGET
static void sparse_tn_avx2(int N, int K, int kcb, float alpha, const float *A, long lda,
                           const float *B, long ldb, float beta, float *C, long ldc,
                           int u0, int u1, vk_sparse_step *steps) {
    sparse_tn_run(N, K, kcb, alpha, A, lda, B, ldb, beta, C, ldc, u0, u1, steps, 16, sparse_columns_avx2);
}

#define VK_MR 6
#define VK_NR 16
#define VK_PACK_A_NAME pack_a_avx2
#define VK_PACK_B_NAME pack_b_avx2
#define VK_TARGET VK_AVX2_TARGET
#include "pack_x86.h"

static const vk_kernel k_avx2 = {
    2, 6, 16, 400, 144, 4096, ukr_avx2_6x16, ukr_avx2_edge, pack_a_avx2, pack_b_avx2,
    "avx2+fma 6x16 tile", sparse_tn_avx2,
};

const vk_kernel *vk_kernel_avx2(void) { return &k_avx2; }
#endif
