// AVX2 + FMA micro-kernel: 6 x 16 register tile (12 ymm accumulators), and packing routines
// compiled for AVX2. Chosen at run time (see gemm.c); needs no compiler flags.
#include "vk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define VK_AVX2_TARGET __attribute__((target("avx2,fma")))

VK_AVX2_TARGET
static inline void store_row(float *c, __m256 x0, __m256 x1, __m256 va, __m256 vb, int use_beta,
                             const float *bias, int relu) {
    __m256 t0 = _mm256_mul_ps(va, x0);
    __m256 t1 = _mm256_mul_ps(va, x1);
    if (use_beta) {
        t0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), t0);
        t1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), t1);
    }
    if (bias) {
        t0 = _mm256_add_ps(t0, _mm256_loadu_ps(bias));
        t1 = _mm256_add_ps(t1, _mm256_loadu_ps(bias + 8));
    }
    if (relu) {
        __m256 z = _mm256_setzero_ps();
        t0 = _mm256_max_ps(t0, z);
        t1 = _mm256_max_ps(t1, z);
    }
    _mm256_storeu_ps(c, t0);
    _mm256_storeu_ps(c + 8, t1);
}

VK_AVX2_TARGET
static void ukr_avx2_6x16(long kc, const float *A, const float *B, float *C, long ldc,
                          float alpha, float beta, const float *bias, int relu) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#define VK_STEP(o)                                                              \
    {                                                                           \
        __m256 b0 = _mm256_load_ps(B + 16 * (o));                               \
        __m256 b1 = _mm256_load_ps(B + 16 * (o) + 8);                           \
        __m256 a;                                                               \
        a = _mm256_broadcast_ss(A + 6 * (o) + 0);                               \
        c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);  \
        a = _mm256_broadcast_ss(A + 6 * (o) + 1);                               \
        c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);  \
        a = _mm256_broadcast_ss(A + 6 * (o) + 2);                               \
        c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);  \
        a = _mm256_broadcast_ss(A + 6 * (o) + 3);                               \
        c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);  \
        a = _mm256_broadcast_ss(A + 6 * (o) + 4);                               \
        c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);  \
        a = _mm256_broadcast_ss(A + 6 * (o) + 5);                               \
        c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);  \
    }
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(B + 16 * 8), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + 16 * 10), _MM_HINT_T0);
        VK_STEP(0) VK_STEP(1) VK_STEP(2) VK_STEP(3)
        A += 24;
        B += 64;
    }
    for (; p < kc; p++) {
        VK_STEP(0)
        A += 6;
        B += 16;
    }
#undef VK_STEP
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    int ub = beta != 0.0f;
    store_row(C + 0 * ldc, c00, c01, va, vb, ub, bias, relu);
    store_row(C + 1 * ldc, c10, c11, va, vb, ub, bias, relu);
    store_row(C + 2 * ldc, c20, c21, va, vb, ub, bias, relu);
    store_row(C + 3 * ldc, c30, c31, va, vb, ub, bias, relu);
    store_row(C + 4 * ldc, c40, c41, va, vb, ub, bias, relu);
    store_row(C + 5 * ldc, c50, c51, va, vb, ub, bias, relu);
}

#define VK_MR 6
#define VK_NR 16
#define VK_PACK_A_NAME pack_a_avx2
#define VK_PACK_B_NAME pack_b_avx2
#define VK_TARGET VK_AVX2_TARGET
#include "pack_x86.h"

static const vk_kernel k_avx2 = {
    2, 6, 16, 256, 144, 4096, ukr_avx2_6x16, pack_a_avx2, pack_b_avx2, "avx2+fma 6x16 tile",
};

const vk_kernel *vk_kernel_avx2(void) { return &k_avx2; }
#endif
