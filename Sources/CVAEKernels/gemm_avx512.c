// AVX-512F micro-kernel: 8 x 32 register tile (16 zmm accumulators), and packing routines
// compiled for AVX-512. Chosen at run time (see gemm.c); needs no compiler flags.
#include "vk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define VK_AVX512_TARGET __attribute__((target("avx512f,fma")))

VK_AVX512_TARGET
static inline void store_row(float *c, __m512 x0, __m512 x1, __m512 va, __m512 vb, int use_beta,
                             const float *bias, int relu) {
    __m512 t0 = _mm512_mul_ps(va, x0);
    __m512 t1 = _mm512_mul_ps(va, x1);
    if (use_beta) {
        t0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c), t0);
        t1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16), t1);
    }
    if (bias) {
        t0 = _mm512_add_ps(t0, _mm512_loadu_ps(bias));
        t1 = _mm512_add_ps(t1, _mm512_loadu_ps(bias + 16));
    }
    if (relu) {
        __m512 z = _mm512_setzero_ps();
        t0 = _mm512_max_ps(t0, z);
        t1 = _mm512_max_ps(t1, z);
    }
    _mm512_storeu_ps(c, t0);
    _mm512_storeu_ps(c + 16, t1);
}

VK_AVX512_TARGET
static void ukr_avx512_8x32(long kc, const float *A, const float *B, float *C, long ldc,
                            float alpha, float beta, const float *bias, int relu) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
#define VK_STEP(o)                                                              \
    {                                                                           \
        __m512 b0 = _mm512_load_ps(B + 32 * (o));                               \
        __m512 b1 = _mm512_load_ps(B + 32 * (o) + 16);                          \
        __m512 a;                                                               \
        a = _mm512_set1_ps(A[8 * (o) + 0]);                                     \
        c00 = _mm512_fmadd_ps(a, b0, c00); c01 = _mm512_fmadd_ps(a, b1, c01);  \
        a = _mm512_set1_ps(A[8 * (o) + 1]);                                     \
        c10 = _mm512_fmadd_ps(a, b0, c10); c11 = _mm512_fmadd_ps(a, b1, c11);  \
        a = _mm512_set1_ps(A[8 * (o) + 2]);                                     \
        c20 = _mm512_fmadd_ps(a, b0, c20); c21 = _mm512_fmadd_ps(a, b1, c21);  \
        a = _mm512_set1_ps(A[8 * (o) + 3]);                                     \
        c30 = _mm512_fmadd_ps(a, b0, c30); c31 = _mm512_fmadd_ps(a, b1, c31);  \
        a = _mm512_set1_ps(A[8 * (o) + 4]);                                     \
        c40 = _mm512_fmadd_ps(a, b0, c40); c41 = _mm512_fmadd_ps(a, b1, c41);  \
        a = _mm512_set1_ps(A[8 * (o) + 5]);                                     \
        c50 = _mm512_fmadd_ps(a, b0, c50); c51 = _mm512_fmadd_ps(a, b1, c51);  \
        a = _mm512_set1_ps(A[8 * (o) + 6]);                                     \
        c60 = _mm512_fmadd_ps(a, b0, c60); c61 = _mm512_fmadd_ps(a, b1, c61);  \
        a = _mm512_set1_ps(A[8 * (o) + 7]);                                     \
        c70 = _mm512_fmadd_ps(a, b0, c70); c71 = _mm512_fmadd_ps(a, b1, c71);  \
    }
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(B + 32 * 8), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + 32 * 8 + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + 32 * 9), _MM_HINT_T0);
        _mm_prefetch((const char *)(B + 32 * 9 + 16), _MM_HINT_T0);
        VK_STEP(0) VK_STEP(1) VK_STEP(2) VK_STEP(3)
        A += 32;
        B += 128;
    }
    for (; p < kc; p++) {
        VK_STEP(0)
        A += 8;
        B += 32;
    }
#undef VK_STEP
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    int ub = beta != 0.0f;
    store_row(C + 0 * ldc, c00, c01, va, vb, ub, bias, relu);
    store_row(C + 1 * ldc, c10, c11, va, vb, ub, bias, relu);
    store_row(C + 2 * ldc, c20, c21, va, vb, ub, bias, relu);
    store_row(C + 3 * ldc, c30, c31, va, vb, ub, bias, relu);
    store_row(C + 4 * ldc, c40, c41, va, vb, ub, bias, relu);
    store_row(C + 5 * ldc, c50, c51, va, vb, ub, bias, relu);
    store_row(C + 6 * ldc, c60, c61, va, vb, ub, bias, relu);
    store_row(C + 7 * ldc, c70, c71, va, vb, ub, bias, relu);
}

#define VK_MR 8
#define VK_NR 32
#define VK_PACK_A_NAME pack_a_avx512
#define VK_PACK_B_NAME pack_b_avx512
#define VK_TARGET VK_AVX512_TARGET
#include "pack_x86.h"

static const vk_kernel k_avx512 = {
    3, 8, 32, 256, 192, 4096, ukr_avx512_8x32, pack_a_avx512, pack_b_avx512,
    "avx512f+fma 8x32 tile",
};

const vk_kernel *vk_kernel_avx512(void) { return &k_avx512; }
#endif
