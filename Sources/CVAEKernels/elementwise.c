// Fused element-wise kernels (Adam, Bernoulli / Gaussian NLL from logits with gradient, ReLU
// backward + bias column sums, byte → [0, 1] scaling) with a run-time choice between AVX2 and
// portable C, like the GEMM kernels.
//
// Both variants perform exactly the same IEEE operations in the same order (no FMA
// contraction, 8 "lanes" emulated by the portable code), so their results are bit-identical.
// Reductions never depend on the thread count: rows are split across threads, and each
// row's sum runs in one fixed order; column sums run over rows in order.
#include "vk_internal.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define VK_AVX2_TARGET __attribute__((target("avx2,fma")))

static inline int use_avx512(void) {
#if defined(__x86_64__)
    return vk_kernel_level() >= 3;
#else
    return 0;
#endif
}

static inline int use_avx2(void) {
#if defined(__x86_64__)
    return vk_kernel_level() >= 2;
#else
    return 0;
#endif
}

// Work below this many elements runs on the calling thread alone.
#define VK_EW_PARALLEL_MIN 65536
// The same for work with an exp, a log and a division per element (the likelihoods from logits),
// ten times dearer per element than a copy or an add: a batch of 32 images of 784 pixels splits.
#define VK_EW_PARALLEL_MIN_TRANSCENDENTAL 8192

static inline int ew_tasks_from(long n, long per_task_min, long parallel_min) {
    int nt = vk_get_num_threads();
    if (nt <= 1 || n < parallel_min) return 1;
    long t = n / per_task_min;
    if (t < 1) t = 1;
    if (t > nt) t = nt;
    return (int)t;
}
static inline int ew_tasks(long n, long per_task_min) { return ew_tasks_from(n, per_task_min, VK_EW_PARALLEL_MIN); }

// ================================================================ scalar math (portable)
// exp and log after Cephes' expf / logf, written with the same operations as the AVX2 code.
#define EXP_HI 88.3762626647949f
#define EXP_LO -87.3365447504f
#define LOG2EF 1.44269504088896341f
#define C1 0.693359375f
#define C2 -2.12194440e-4f
#define SQRTHF 0.707106781186547524f

static inline float bits_f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t f_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float s_exp(float x) {
    x = x > EXP_HI ? EXP_HI : x;
    x = x < EXP_LO ? EXP_LO : x;
    float fx = floorf(x * LOG2EF + 0.5f);
    x = x - fx * C1;
    x = x - fx * C2;
    float z = x * x;
    float y = 1.9875691500E-4f;
    y = y * x + 1.3981999507E-3f;
    y = y * x + 8.3334519073E-3f;
    y = y * x + 4.1665795894E-2f;
    y = y * x + 1.6666665459E-1f;
    y = y * x + 5.0000001201E-1f;
    y = y * z + x;
    y = y + 1.0f;
    float pw = bits_f((uint32_t)((int)fx + 127) << 23);
    return y * pw;
}

// log of a positive normal float.
static inline float s_log(float x) {
    uint32_t u = f_bits(x);
    float e = (float)((int)(u >> 23) - 126);
    float m = bits_f((u & 0x007fffffu) | 0x3f000000u);   // [0.5, 1)
    float t;
    if (m < SQRTHF) { e = e - 1.0f; t = m + m; } else { t = m; }
    x = t - 1.0f;
    float z = x * x;
    float y = 7.0376836292E-2f;
    y = y * x + -1.1514610310E-1f;
    y = y * x + 1.1676998740E-1f;
    y = y * x + -1.2420140846E-1f;
    y = y * x + 1.4249322787E-1f;
    y = y * x + -1.6668057665E-1f;
    y = y * x + 2.0000714765E-1f;
    y = y * x + -2.4999993993E-1f;
    y = y * x + 3.3333331174E-1f;
    y = y * x;
    y = y * z;
    y = y + e * C2;
    y = y + -0.5f * z;
    x = x + y;
    x = x + e * C1;
    return x;
}

// Bernoulli terms of one element: loss = max(l,0) − l·t + log1p(e), e = exp(−|l|);
// σ(l) = 1/(1+e) for l ≥ 0, e/(1+e) below.  log1p(e) = log(u) + (e − (u−1))/u with u = 1+e.
static inline void s_bce(float l, float t, float *loss, float *sig) {
    float a = fabsf(l);
    float e = s_exp(-a);
    float u = 1.0f + e;
    float r = 1.0f / u;
    float lp = s_log(u) + (e - (u - 1.0f)) * r;
    float mx = l > 0.0f ? l : 0.0f;
    *loss = (mx - l * t) + lp;
    *sig = l >= 0.0f ? r : e * r;
}

// ================================================================ AVX2 math
#if defined(__x86_64__)
VK_AVX2_TARGET __attribute__((always_inline))
static inline __m256 v_exp(__m256 x) {
    x = _mm256_min_ps(x, _mm256_set1_ps(EXP_HI));
    x = _mm256_max_ps(x, _mm256_set1_ps(EXP_LO));
    __m256 fx = _mm256_floor_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2EF)), _mm256_set1_ps(0.5f)));
    x = _mm256_sub_ps(x, _mm256_mul_ps(fx, _mm256_set1_ps(C1)));
    x = _mm256_sub_ps(x, _mm256_mul_ps(fx, _mm256_set1_ps(C2)));
    __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, z), x);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
    __m256i n = _mm256_cvttps_epi32(fx);   // fx is integral: exact
    __m256 pw = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(y, pw);
}

VK_AVX2_TARGET __attribute__((always_inline))
static inline __m256 v_log(__m256 x) {
    __m256i u = _mm256_castps_si256(x);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(126)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));
    __m256 lt = _mm256_cmp_ps(m, _mm256_set1_ps(SQRTHF), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(lt, _mm256_set1_ps(1.0f)));
    __m256 t = _mm256_blendv_ps(m, _mm256_add_ps(m, m), lt);
    x = _mm256_sub_ps(t, _mm256_set1_ps(1.0f));
    __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(7.0376836292E-2f);
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(-1.1514610310E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.1676998740E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(-1.2420140846E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.4249322787E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(-1.6668057665E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(2.0000714765E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(-2.4999993993E-1f));
    y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(3.3333331174E-1f));
    y = _mm256_mul_ps(y, x);
    y = _mm256_mul_ps(y, z);
    y = _mm256_add_ps(y, _mm256_mul_ps(e, _mm256_set1_ps(C2)));
    y = _mm256_add_ps(y, _mm256_mul_ps(_mm256_set1_ps(-0.5f), z));
    x = _mm256_add_ps(x, y);
    x = _mm256_add_ps(x, _mm256_mul_ps(e, _mm256_set1_ps(C1)));
    return x;
}

VK_AVX2_TARGET __attribute__((always_inline))
static inline void v_bce(__m256 l, __m256 t, __m256 *loss, __m256 *sig) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), l);
    __m256 e = v_exp(_mm256_sub_ps(zero, a));
    __m256 u = _mm256_add_ps(one, e);
    __m256 r = _mm256_div_ps(one, u);
    __m256 lp = _mm256_add_ps(v_log(u), _mm256_mul_ps(_mm256_sub_ps(e, _mm256_sub_ps(u, one)), r));
    __m256 mx = _mm256_and_ps(_mm256_cmp_ps(l, zero, _CMP_GT_OQ), l);
    *loss = _mm256_add_ps(_mm256_sub_ps(mx, _mm256_mul_ps(l, t)), lp);
    *sig = _mm256_blendv_ps(_mm256_mul_ps(e, r), r, _mm256_cmp_ps(l, zero, _CMP_GE_OQ));
}

VK_AVX2_TARGET __attribute__((always_inline))
static inline __m256i tail_mask(int n) {   // first n (0..8) lanes set
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// Sum of 8 lanes, in double, in lane order (the portable code does the same).
VK_AVX2_TARGET __attribute__((always_inline))
static inline double v_lanesum(__m256 acc) {
    float l[8];
    _mm256_storeu_ps(l, acc);
    double s = 0;
    for (int i = 0; i < 8; i++) s += (double)l[i];
    return s;
}
#endif

// ================================================================ Adam
typedef struct {
    float *p; const float *g; float *m; float *v;
    long n, chunk;
    float step_size, bc2_sqrt, b1, b2, eps, wd;
} adam_job;

// PyTorch's step p -= lr/bc1 · m / (√v/√bc2 + ε) with both sides multiplied by √bc2:
// p -= (lr/bc1·√bc2) · m / (√v + ε·√bc2) — one division per parameter instead of two (beside the
// square root, on Intel's divider the cost of the update). The two scalars are rounded once per
// call, the same at every level and for any split.
static inline float adam_scaled_step(const adam_job *j) { return j->step_size * j->bc2_sqrt; }
static inline float adam_scaled_eps(const adam_job *j) { return j->eps * j->bc2_sqrt; }

static void adam_range_portable(const adam_job *j, long lo, long hi) {
    const float b1 = j->b1, b2 = j->b2, c1 = 1.0f - j->b1, c2 = 1.0f - j->b2;
    const float ss = adam_scaled_step(j), eps = adam_scaled_eps(j);
    for (long i = lo; i < hi; i++) {
        float gi = j->g[i];
        if (j->wd != 0.0f) gi = gi + j->wd * j->p[i];
        float mi = b1 * j->m[i] + c1 * gi;
        float vi = b2 * j->v[i] + c2 * gi * gi;
        j->m[i] = mi;
        j->v[i] = vi;
        j->p[i] = j->p[i] - ss * mi / (sqrtf(vi) + eps);
    }
}

#if defined(__x86_64__)
VK_AVX2_TARGET
static void adam_range_avx2(const adam_job *j, long lo, long hi) {
    const __m256 b1 = _mm256_set1_ps(j->b1), b2 = _mm256_set1_ps(j->b2);
    const __m256 c1 = _mm256_set1_ps(1.0f - j->b1), c2 = _mm256_set1_ps(1.0f - j->b2);
    const __m256 ss = _mm256_set1_ps(adam_scaled_step(j)), eps = _mm256_set1_ps(adam_scaled_eps(j));
    const __m256 wd = _mm256_set1_ps(j->wd);
    const int has_wd = j->wd != 0.0f;
    float *p = j->p, *m = j->m, *v = j->v;
    const float *g = j->g;
    long i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 pi = _mm256_loadu_ps(p + i);
        __m256 gi = _mm256_loadu_ps(g + i);
        if (has_wd) gi = _mm256_add_ps(gi, _mm256_mul_ps(wd, pi));
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(c1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 den = _mm256_add_ps(_mm256_sqrt_ps(vi), eps);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_div_ps(_mm256_mul_ps(ss, mi), den)));
    }
    if (i < hi) adam_range_portable(j, i, hi);
}
#endif

// ================================================================ AVX-512 variants
// The same IEEE operations in the same order as the AVX2 and portable code, 16 lanes wide
// (bit-identical results; reductions keep the 8-lane order of the other variants).
#if defined(__x86_64__)
#define VK_AVX512_TARGET __attribute__((target("avx512f,avx2,fma")))

VK_AVX512_TARGET __attribute__((always_inline))
static inline __m512 z_exp(__m512 x) {
    x = _mm512_min_ps(x, _mm512_set1_ps(EXP_HI));
    x = _mm512_max_ps(x, _mm512_set1_ps(EXP_LO));
    __m512 fx = _mm512_roundscale_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(LOG2EF)), _mm512_set1_ps(0.5f)),
                                     _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_sub_ps(x, _mm512_mul_ps(fx, _mm512_set1_ps(C1)));
    x = _mm512_sub_ps(x, _mm512_mul_ps(fx, _mm512_set1_ps(C2)));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 y = _mm512_set1_ps(1.9875691500E-4f);
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(1.3981999507E-3f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(8.3334519073E-3f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(4.1665795894E-2f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(1.6666665459E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(5.0000001201E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, z), x);
    y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
    __m512i n = _mm512_cvttps_epi32(fx);
    __m512 pw = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(y, pw);
}

VK_AVX512_TARGET __attribute__((always_inline))
static inline __m512 z_log(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512 e = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(u, 23), _mm512_set1_epi32(126)));
    __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(u, _mm512_set1_epi32(0x007fffff)),
                                                   _mm512_set1_epi32(0x3f000000)));
    __mmask16 lt = _mm512_cmp_ps_mask(m, _mm512_set1_ps(SQRTHF), _CMP_LT_OQ);
    e = _mm512_sub_ps(e, _mm512_maskz_mov_ps(lt, _mm512_set1_ps(1.0f)));
    __m512 t = _mm512_mask_blend_ps(lt, m, _mm512_add_ps(m, m));
    x = _mm512_sub_ps(t, _mm512_set1_ps(1.0f));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 y = _mm512_set1_ps(7.0376836292E-2f);
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(-1.1514610310E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(1.1676998740E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(-1.2420140846E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(1.4249322787E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(-1.6668057665E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(2.0000714765E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(-2.4999993993E-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(3.3333331174E-1f));
    y = _mm512_mul_ps(y, x);
    y = _mm512_mul_ps(y, z);
    y = _mm512_add_ps(y, _mm512_mul_ps(e, _mm512_set1_ps(C2)));
    y = _mm512_add_ps(y, _mm512_mul_ps(_mm512_set1_ps(-0.5f), z));
    x = _mm512_add_ps(x, y);
    x = _mm512_add_ps(x, _mm512_mul_ps(e, _mm512_set1_ps(C1)));
    return x;
}

VK_AVX512_TARGET __attribute__((always_inline))
static inline void z_bce(__m512 l, __m512 t, __m512 *loss, __m512 *sig) {
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    __m512 a = _mm512_abs_ps(l);
    __m512 e = z_exp(_mm512_sub_ps(zero, a));
    __m512 u = _mm512_add_ps(one, e);
    __m512 r = _mm512_div_ps(one, u);
    __m512 lp = _mm512_add_ps(z_log(u), _mm512_mul_ps(_mm512_sub_ps(e, _mm512_sub_ps(u, one)), r));
    __m512 mx = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(l, zero, _CMP_GT_OQ), l);
    *loss = _mm512_add_ps(_mm512_sub_ps(mx, _mm512_mul_ps(l, t)), lp);
    *sig = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(l, zero, _CMP_GE_OQ), _mm512_mul_ps(e, r), r);
}

VK_AVX512_TARGET
static void adam_range_avx512(const adam_job *j, long lo, long hi) {
    const __m512 b1 = _mm512_set1_ps(j->b1), b2 = _mm512_set1_ps(j->b2);
    const __m512 c1 = _mm512_set1_ps(1.0f - j->b1), c2 = _mm512_set1_ps(1.0f - j->b2);
    const __m512 ss = _mm512_set1_ps(adam_scaled_step(j)), eps = _mm512_set1_ps(adam_scaled_eps(j));
    const __m512 wd = _mm512_set1_ps(j->wd);
    const int has_wd = j->wd != 0.0f;
    float *p = j->p, *m = j->m, *v = j->v;
    const float *g = j->g;
    long i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512 pi = _mm512_loadu_ps(p + i);
        __m512 gi = _mm512_loadu_ps(g + i);
        if (has_wd) gi = _mm512_add_ps(gi, _mm512_mul_ps(wd, pi));
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(c1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)), _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        __m512 den = _mm512_add_ps(_mm512_sqrt_ps(vi), eps);
        _mm512_storeu_ps(p + i, _mm512_sub_ps(pi, _mm512_div_ps(_mm512_mul_ps(ss, mi), den)));
    }
    if (i < hi) adam_range_portable(j, i, hi);
}
#endif

static void adam_task(void *ctx, int t) {
    const adam_job *j = (const adam_job *)ctx;
    long lo = (long)t * j->chunk, hi = lo + j->chunk;
    if (hi > j->n) hi = j->n;
    if (lo >= hi) return;
    unsigned fp = vk_flush_subnormals_begin();
#if defined(__x86_64__)
    if (use_avx512()) adam_range_avx512(j, lo, hi);
    else if (use_avx2()) adam_range_avx2(j, lo, hi);
    else
#endif
    adam_range_portable(j, lo, hi);
    vk_flush_subnormals_end(fp);
}

void vk_adam_update(long n, float *p, const float *g, float *m, float *v,
                    float step_size, float bc2_sqrt, float beta1, float beta2, float eps, float weight_decay) {
    if (n <= 0) return;
    adam_job j = { p, g, m, v, n, 0, step_size, bc2_sqrt, beta1, beta2, eps, weight_decay };
    int nt = ew_tasks(n, 32768);
    // Equal chunks (multiples of 16 floats), one per thread: element-wise, so any split gives
    // the same result.
    long chunk = (n + nt - 1) / nt;
    chunk = (chunk + 15) / 16 * 16;
    j.chunk = chunk;
    int tasks = (int)((n + chunk - 1) / chunk);
    if (tasks <= 1) adam_task(&j, 0);
    else vk_parallel(tasks, adam_task, &j);
}

void vk_adam_rows_at_level(int level, const vk_adam_args *a, const float *g, int rows, int cols, long ld) {
    unsigned fp = vk_flush_subnormals_begin();
    for (int r = 0; r < rows; r++) {
        long o = (long)r * ld;
        adam_job j = { a->p + o, g + o, a->m + o, a->v + o, cols, cols, a->step_size, a->bc2_sqrt,
                       a->beta1, a->beta2, a->eps, a->weight_decay };
#if defined(__x86_64__)
        if (level >= 3) { adam_range_avx512(&j, 0, cols); continue; }
        if (level == 2) { adam_range_avx2(&j, 0, cols); continue; }
#endif
        (void)level;
        adam_range_portable(&j, 0, cols);
    }
    vk_flush_subnormals_end(fp);
}

void vk_adam_rows(const vk_adam_args *a, const float *g, int rows, int cols, long ld) {
    vk_adam_rows_at_level(vk_kernel_level(), a, g, rows, cols, ld);
}

// ================================================================ NLL from logits
typedef struct {
    int kind;                    // 0 Bernoulli, 1 Gaussian
    const float *logits, *x;
    long x_stride;
    int rows, cols, rows_per_task;
    float grad_scale, inv2s2, invs2;
    float *grad;                 // may be NULL
    double *out;
} nll_job;

static void nll_row_portable(const nll_job *j, int r) {
    const float *l = j->logits + (long)r * j->cols;
    const float *t = j->x + (long)r * j->x_stride;
    float *g = j->grad ? j->grad + (long)r * j->cols : NULL;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const float gs = j->grad_scale;
    for (int c = 0; c < j->cols; c++) {
        float loss, gv;
        if (j->kind == 0) {
            float sig;
            s_bce(l[c], t[c], &loss, &sig);
            gv = gs * (sig - t[c]);
        } else {
            float a = fabsf(l[c]);
            float e = s_exp(-a);
            float rr = 1.0f / (1.0f + e);
            float p = l[c] >= 0.0f ? rr : e * rr;
            float d = p - t[c];
            loss = d * d * j->inv2s2;
            gv = gs * d * j->invs2 * p * (1.0f - p);
        }
        acc[c & 7] = acc[c & 7] + loss;
        if (g) g[c] = gv;
    }
    double s = 0;
    for (int i = 0; i < 8; i++) s += (double)acc[i];
    j->out[r] = s;
}

#if defined(__x86_64__)
// Columns [c, n) of one row, 8 at a time, added to the 8-lane accumulator `acc` (lane = column
// mod 8, as the portable code).
VK_AVX2_TARGET __attribute__((always_inline))
static inline __m256 nll_span_avx2(const nll_job *j, const float *l, const float *t, float *g, int c, int n, __m256 acc) {
    const __m256 gs = _mm256_set1_ps(j->grad_scale);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const __m256 i2 = _mm256_set1_ps(j->inv2s2), is2 = _mm256_set1_ps(j->invs2);
    for (; c < n; c += 8) {
        int left = n - c;
        __m256i mask = tail_mask(left < 8 ? left : 8);
        __m256 lv, tv;
        if (left >= 8) { lv = _mm256_loadu_ps(l + c); tv = _mm256_loadu_ps(t + c); }
        else { lv = _mm256_maskload_ps(l + c, mask); tv = _mm256_maskload_ps(t + c, mask); }
        __m256 loss, gv;
        if (j->kind == 0) {
            __m256 sig;
            v_bce(lv, tv, &loss, &sig);
            gv = _mm256_mul_ps(gs, _mm256_sub_ps(sig, tv));
        } else {
            __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), lv);
            __m256 e = v_exp(_mm256_sub_ps(zero, a));
            __m256 rr = _mm256_div_ps(one, _mm256_add_ps(one, e));
            __m256 p = _mm256_blendv_ps(_mm256_mul_ps(e, rr), rr, _mm256_cmp_ps(lv, zero, _CMP_GE_OQ));
            __m256 d = _mm256_sub_ps(p, tv);
            loss = _mm256_mul_ps(_mm256_mul_ps(d, d), i2);
            gv = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(gs, d), is2), p), _mm256_sub_ps(one, p));
        }
        if (left >= 8) {
            acc = _mm256_add_ps(acc, loss);
            if (g) _mm256_storeu_ps(g + c, gv);
        } else {
            acc = _mm256_blendv_ps(acc, _mm256_add_ps(acc, loss), _mm256_castsi256_ps(mask));
            if (g) _mm256_maskstore_ps(g + c, mask, gv);
        }
    }
    return acc;
}

VK_AVX2_TARGET
static void nll_row_avx2(const nll_job *j, int r) {
    const float *l = j->logits + (long)r * j->cols;
    const float *t = j->x + (long)r * j->x_stride;
    float *g = j->grad ? j->grad + (long)r * j->cols : NULL;
    j->out[r] = v_lanesum(nll_span_avx2(j, l, t, g, 0, j->cols, _mm256_setzero_ps()));
}
#endif


#if defined(__x86_64__)
// 16 columns at a time; the loss vector's two halves go into the 8-lane accumulator one after
// the other (columns c..c+7, then c+8..c+15: the portable order). The last n mod 16 columns
// take the AVX2 path.
VK_AVX512_TARGET
static void nll_row_avx512(const nll_job *j, int r) {
    const float *l = j->logits + (long)r * j->cols;
    const float *t = j->x + (long)r * j->x_stride;
    float *g = j->grad ? j->grad + (long)r * j->cols : NULL;
    const __m512 gs = _mm512_set1_ps(j->grad_scale);
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512 i2 = _mm512_set1_ps(j->inv2s2), is2 = _mm512_set1_ps(j->invs2);
    __m256 acc = _mm256_setzero_ps();
    const int n = j->cols;
    int c = 0;
    for (; c + 16 <= n; c += 16) {
        __m512 lv = _mm512_loadu_ps(l + c), tv = _mm512_loadu_ps(t + c);
        __m512 loss, gv;
        if (j->kind == 0) {
            __m512 sig;
            z_bce(lv, tv, &loss, &sig);
            gv = _mm512_mul_ps(gs, _mm512_sub_ps(sig, tv));
        } else {
            __m512 a = _mm512_abs_ps(lv);
            __m512 e = z_exp(_mm512_sub_ps(zero, a));
            __m512 rr = _mm512_div_ps(one, _mm512_add_ps(one, e));
            __m512 p = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(lv, zero, _CMP_GE_OQ), _mm512_mul_ps(e, rr), rr);
            __m512 d = _mm512_sub_ps(p, tv);
            loss = _mm512_mul_ps(_mm512_mul_ps(d, d), i2);
            gv = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(gs, d), is2), p), _mm512_sub_ps(one, p));
        }
        acc = _mm256_add_ps(acc, _mm512_castps512_ps256(loss));
        acc = _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(loss), 1)));
        if (g) _mm512_storeu_ps(g + c, gv);
    }
    j->out[r] = v_lanesum(nll_span_avx2(j, l, t, g, c, n, acc));
}
#endif

static void nll_task(void *ctx, int t) {
    const nll_job *j = (const nll_job *)ctx;
    int r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
#if defined(__x86_64__)
    if (use_avx512()) { for (int r = r0; r < r1; r++) nll_row_avx512(j, r); return; }
    if (use_avx2()) { for (int r = r0; r < r1; r++) nll_row_avx2(j, r); return; }
#endif
    for (int r = r0; r < r1; r++) nll_row_portable(j, r);
}

void vk_nll_logits(int kind, const float *logits, const float *x, long x_row_stride, int rows, int cols,
                   double sigma, float grad_scale, float *grad, double *out_row) {
    if (rows <= 0) return;
    nll_job j;
    j.kind = kind;
    j.logits = logits; j.x = x; j.x_stride = x_row_stride;
    j.rows = rows; j.cols = cols;
    j.grad_scale = grad_scale;
    double s = sigma;
    j.inv2s2 = (float)(1.0 / (2.0 * s * s));
    j.invs2 = (float)(1.0 / (s * s));
    j.grad = grad;
    j.out = out_row;
    int nt = ew_tasks_from((long)rows * cols, 8192, VK_EW_PARALLEL_MIN_TRANSCENDENTAL);
    if (nt > rows) nt = rows;
    j.rows_per_task = (rows + nt - 1) / nt;
    int tasks = (rows + j.rows_per_task - 1) / j.rows_per_task;
    if (tasks <= 1) nll_task(&j, 0);
    else vk_parallel(tasks, nll_task, &j);
    if (kind == 1) {
        double constant = (double)cols * 0.5 * log(2.0 * M_PI * s * s);
        for (int r = 0; r < rows; r++) out_row[r] += constant;
    }
}

// ================================================================ softmax cross-entropy
// One categorical per row of logits [rows, cols]: out[r] = max + log Σ_c exp(l_c − max) − l[target]
// (the sum in 8 float lanes, lane = column mod 8, added in double), and with `grad`
// grad[r, c] = scale·softmax(l)_c − scale·[c = target]. Each row alone: any thread split gives
// the same bits, and every level the same operations (z_exp and v_exp are s_exp's).
typedef struct {
    const float *logits;
    const int32_t *targets;
    float *grad;                 // may be NULL
    double *out;
    int rows, cols, rows_per_task;
    float scale;
} xent_job;

#if defined(__x86_64__)
static void xent_scale_avx2(float *g, int n, float f);
#endif

// The row's last step: its loss, and its exps (in g) turned into the gradient.
static void xent_finish(const xent_job *j, int r, const float *l, float mx, double s, float *g) {
    int t = j->targets[r];
    j->out[r] = (double)mx + log(s) - (double)l[t];
    if (!g) return;
    float f = (float)((double)j->scale / s);
    int c = 0;
#if defined(__x86_64__)
    if (use_avx2()) { xent_scale_avx2(g, j->cols, f); c = j->cols; }
#endif
    for (; c < j->cols; c++) g[c] = g[c] * f;
    g[t] = g[t] - j->scale;
}

static void xent_row_portable(const xent_job *j, int r) {
    const int n = j->cols;
    const float *l = j->logits + (long)r * n;
    float *g = j->grad ? j->grad + (long)r * n : NULL;
    float mx = l[0];
    for (int c = 1; c < n; c++) mx = l[c] > mx ? l[c] : mx;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int c = 0; c < n; c++) {
        float e = s_exp(l[c] - mx);
        acc[c & 7] = acc[c & 7] + e;
        if (g) g[c] = e;
    }
    double s = 0;
    for (int i = 0; i < 8; i++) s += (double)acc[i];
    xent_finish(j, r, l, mx, s, g);
}

#if defined(__x86_64__)
// Columns [c, n): their exps added to the 8-lane accumulator (lane = column mod 8) and kept in g.
VK_AVX2_TARGET __attribute__((always_inline))
static inline __m256 xent_span_avx2(const float *l, float *g, int c, int n, __m256 vmx, __m256 acc) {
    for (; c < n; c += 8) {
        int left = n - c;
        __m256 e;
        if (left >= 8) {
            e = v_exp(_mm256_sub_ps(_mm256_loadu_ps(l + c), vmx));
            if (g) _mm256_storeu_ps(g + c, e);
        } else {
            __m256i mask = tail_mask(left);
            e = v_exp(_mm256_sub_ps(_mm256_maskload_ps(l + c, mask), vmx));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));   // the lanes past the row add 0
            if (g) _mm256_maskstore_ps(g + c, mask, e);
        }
        acc = _mm256_add_ps(acc, e);
    }
    return acc;
}

VK_AVX2_TARGET
static float xent_max_avx2(const float *l, int n) {
    float mx = l[0];
    int c = 0;
    if (n >= 8) {
        __m256 m = _mm256_loadu_ps(l);
        for (c = 8; c + 8 <= n; c += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(l + c));
        float v[8];
        _mm256_storeu_ps(v, m);
        for (int i = 0; i < 8; i++) mx = v[i] > mx ? v[i] : mx;
    }
    for (; c < n; c++) mx = l[c] > mx ? l[c] : mx;
    return mx;
}

VK_AVX2_TARGET
static void xent_scale_avx2(float *g, int n, float f) {
    const __m256 vf = _mm256_set1_ps(f);
    int c = 0;
    for (; c + 8 <= n; c += 8) _mm256_storeu_ps(g + c, _mm256_mul_ps(_mm256_loadu_ps(g + c), vf));
    for (; c < n; c++) g[c] = g[c] * f;
}

VK_AVX2_TARGET
static void xent_row_avx2(const xent_job *j, int r) {
    const int n = j->cols;
    const float *l = j->logits + (long)r * n;
    float *g = j->grad ? j->grad + (long)r * n : NULL;
    float mx = xent_max_avx2(l, n);
    double s = v_lanesum(xent_span_avx2(l, g, 0, n, _mm256_set1_ps(mx), _mm256_setzero_ps()));
    xent_finish(j, r, l, mx, s, g);
}

__attribute__((target("avx512f,avx2,fma")))
static void xent_row_avx512(const xent_job *j, int r) {
    const int n = j->cols;
    const float *l = j->logits + (long)r * n;
    float *g = j->grad ? j->grad + (long)r * n : NULL;
    float mx = xent_max_avx2(l, n);
    const __m512 vmx = _mm512_set1_ps(mx);
    __m256 acc = _mm256_setzero_ps();
    int c = 0;
    for (; c + 16 <= n; c += 16) {
        __m512 e = z_exp(_mm512_sub_ps(_mm512_loadu_ps(l + c), vmx));
        if (g) _mm512_storeu_ps(g + c, e);
        // columns c … c+7, then c+8 … c+15, into the lanes: the AVX2 code's order
        acc = _mm256_add_ps(acc, _mm512_castps512_ps256(e));
        acc = _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
    double s = v_lanesum(xent_span_avx2(l, g, c, n, _mm256_set1_ps(mx), acc));
    xent_finish(j, r, l, mx, s, g);
}
#endif

static void xent_task(void *ctx, int t) {
    const xent_job *j = (const xent_job *)ctx;
    int r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
#if defined(__x86_64__)
    if (use_avx512()) { for (int r = r0; r < r1; r++) xent_row_avx512(j, r); return; }
    if (use_avx2()) { for (int r = r0; r < r1; r++) xent_row_avx2(j, r); return; }
#endif
    for (int r = r0; r < r1; r++) xent_row_portable(j, r);
}

void vk_softmax_xent(const float *logits, const int32_t *targets, int rows, int cols, float scale, float *grad, double *out_row) {
    if (rows <= 0 || cols <= 0) return;
    xent_job j;
    j.logits = logits; j.targets = targets; j.grad = grad; j.out = out_row;
    j.rows = rows; j.cols = cols; j.scale = scale;
    int nt = ew_tasks_from((long)rows * cols, 8192, VK_EW_PARALLEL_MIN_TRANSCENDENTAL);
    if (nt > rows) nt = rows;
    // more tasks than threads (claimed as they finish): rows of a sequence batch are many and short
    int tasks = nt > 1 ? nt * 4 : 1;
    if (tasks > rows) tasks = rows;
    j.rows_per_task = (rows + tasks - 1) / tasks;
    tasks = (rows + j.rows_per_task - 1) / j.rows_per_task;
    if (tasks <= 1) xent_task(&j, 0);
    else vk_parallel(tasks, xent_task, &j);
}

// ================================================================ ReLU backward + column sums
typedef struct {
    const float *dy, *y;         // y == NULL: no ReLU (dx unused, sums of dy)
    float *dx, *acc;
    int rows, cols, cols_per_task;
} colsum_job;

static void colsum_range_portable(const colsum_job *j, int c0, int c1) {
    for (int i = 0; i < j->rows; i++) {
        const float *d = j->dy + (long)i * j->cols;
        if (j->y) {
            const float *y = j->y + (long)i * j->cols;
            float *o = j->dx + (long)i * j->cols;
            for (int c = c0; c < c1; c++) {
                float v = y[c] > 0.0f ? d[c] : 0.0f;
                o[c] = v;
                j->acc[c] = j->acc[c] + v;
            }
        } else {
            for (int c = c0; c < c1; c++) j->acc[c] = j->acc[c] + d[c];
        }
    }
}

#if defined(__x86_64__)
// Columns in blocks of 32 (4 vectors held in registers over all rows).
VK_AVX2_TARGET
static void colsum_range_avx2(const colsum_job *j, int c0, int c1) {
    const __m256 zero = _mm256_setzero_ps();
    int c = c0;
    for (; c + 32 <= c1; c += 32) {
        __m256 a0 = _mm256_loadu_ps(j->acc + c), a1 = _mm256_loadu_ps(j->acc + c + 8);
        __m256 a2 = _mm256_loadu_ps(j->acc + c + 16), a3 = _mm256_loadu_ps(j->acc + c + 24);
        for (int i = 0; i < j->rows; i++) {
            const float *d = j->dy + (long)i * j->cols + c;
            __m256 d0 = _mm256_loadu_ps(d), d1 = _mm256_loadu_ps(d + 8);
            __m256 d2 = _mm256_loadu_ps(d + 16), d3 = _mm256_loadu_ps(d + 24);
            if (j->y) {
                const float *y = j->y + (long)i * j->cols + c;
                float *o = j->dx + (long)i * j->cols + c;
                d0 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y), zero, _CMP_GT_OQ), d0);
                d1 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + 8), zero, _CMP_GT_OQ), d1);
                d2 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + 16), zero, _CMP_GT_OQ), d2);
                d3 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + 24), zero, _CMP_GT_OQ), d3);
                _mm256_storeu_ps(o, d0); _mm256_storeu_ps(o + 8, d1);
                _mm256_storeu_ps(o + 16, d2); _mm256_storeu_ps(o + 24, d3);
            }
            a0 = _mm256_add_ps(a0, d0); a1 = _mm256_add_ps(a1, d1);
            a2 = _mm256_add_ps(a2, d2); a3 = _mm256_add_ps(a3, d3);
        }
        _mm256_storeu_ps(j->acc + c, a0); _mm256_storeu_ps(j->acc + c + 8, a1);
        _mm256_storeu_ps(j->acc + c + 16, a2); _mm256_storeu_ps(j->acc + c + 24, a3);
    }
    for (; c + 8 <= c1; c += 8) {
        __m256 a0 = _mm256_loadu_ps(j->acc + c);
        for (int i = 0; i < j->rows; i++) {
            __m256 d0 = _mm256_loadu_ps(j->dy + (long)i * j->cols + c);
            if (j->y) {
                d0 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(j->y + (long)i * j->cols + c), zero, _CMP_GT_OQ), d0);
                _mm256_storeu_ps(j->dx + (long)i * j->cols + c, d0);
            }
            a0 = _mm256_add_ps(a0, d0);
        }
        _mm256_storeu_ps(j->acc + c, a0);
    }
    if (c < c1) colsum_range_portable(j, c, c1);
}
#endif

#if defined(__x86_64__)
// Columns in blocks of 64 (4 zmm held over all rows), then 16; per column the same sum of
// rows in order as the other variants.
VK_AVX512_TARGET
static void colsum_range_avx512(const colsum_job *j, int c0, int c1) {
    const __m512 zero = _mm512_setzero_ps();
    int c = c0;
    for (; c + 64 <= c1; c += 64) {
        __m512 a[4];
        for (int q = 0; q < 4; q++) a[q] = _mm512_loadu_ps(j->acc + c + 16 * q);
        for (int i = 0; i < j->rows; i++) {
            const float *d = j->dy + (long)i * j->cols + c;
            __m512 dv[4];
            for (int q = 0; q < 4; q++) dv[q] = _mm512_loadu_ps(d + 16 * q);
            if (j->y) {
                const float *y = j->y + (long)i * j->cols + c;
                float *o = j->dx + (long)i * j->cols + c;
                for (int q = 0; q < 4; q++) {
                    dv[q] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(y + 16 * q), zero, _CMP_GT_OQ), dv[q]);
                    _mm512_storeu_ps(o + 16 * q, dv[q]);
                }
            }
            for (int q = 0; q < 4; q++) a[q] = _mm512_add_ps(a[q], dv[q]);
        }
        for (int q = 0; q < 4; q++) _mm512_storeu_ps(j->acc + c + 16 * q, a[q]);
    }
    for (; c + 16 <= c1; c += 16) {
        __m512 a0 = _mm512_loadu_ps(j->acc + c);
        for (int i = 0; i < j->rows; i++) {
            __m512 d0 = _mm512_loadu_ps(j->dy + (long)i * j->cols + c);
            if (j->y) {
                d0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(j->y + (long)i * j->cols + c), zero, _CMP_GT_OQ), d0);
                _mm512_storeu_ps(j->dx + (long)i * j->cols + c, d0);
            }
            a0 = _mm512_add_ps(a0, d0);
        }
        _mm512_storeu_ps(j->acc + c, a0);
    }
    if (c < c1) colsum_range_portable(j, c, c1);
}
#endif

static void colsum_task(void *ctx, int t) {
    const colsum_job *j = (const colsum_job *)ctx;
    int c0 = t * j->cols_per_task, c1 = c0 + j->cols_per_task;
    if (c1 > j->cols) c1 = j->cols;
    if (c0 >= c1) return;
#if defined(__x86_64__)
    if (use_avx512()) { colsum_range_avx512(j, c0, c1); return; }
    if (use_avx2()) { colsum_range_avx2(j, c0, c1); return; }
#endif
    colsum_range_portable(j, c0, c1);
}

void vk_relu_backward_colsum(const float *dy, const float *y, float *dx, int rows, int cols, float *col_acc) {
    if (rows <= 0 || cols <= 0) return;
    colsum_job j = { dy, y, dx, col_acc, rows, cols, cols };
    // split from 8,192 values (128 × 400 at batch 128 was 0.8% of the step on one thread while
    // the other waited); by whole 32-column blocks, each column summed over the rows in order
    int nt = ew_tasks_from((long)rows * cols, 8192, 8192);
    if (nt > 1) {
        int per = (cols + nt - 1) / nt;
        per = (per + 31) / 32 * 32;
        j.cols_per_task = per;
    }
    int tasks = (cols + j.cols_per_task - 1) / j.cols_per_task;
    if (tasks <= 1) colsum_task(&j, 0);
    else vk_parallel(tasks, colsum_task, &j);
}

// ================================================================ bytes → [0, 1]
// dst[r, :] = src[idx[r], :] / 255, the correctly rounded quotient (as PyTorch's x / 255.0 in float32).
// The vector code divides without a division: q = b·(1/255), then one Newton correction with the exact
// remainder, q + fma(−q, 255, b)·(1/255), which equals b / 255 for every byte b (all 256 checked by the
// tests at every kernel level); a division was 1.5% of an mlp step at batch 512.
typedef struct {
    const uint8_t *src;
    const int32_t *idx;
    float *dst;
    int rows, d, rows_per_task;
} scale_job;

static void scale_rows_portable(const scale_job *j, int r0, int r1) {
    for (int r = r0; r < r1; r++) {
        const uint8_t *s = j->src + (long)j->idx[r] * j->d;
        float *o = j->dst + (long)r * j->d;
        for (int c = 0; c < j->d; c++) o[c] = (float)s[c] / 255.0f;
    }
}

#if defined(__x86_64__)
VK_AVX2_TARGET
static void scale_rows_avx2(const scale_job *j, int r0, int r1) {
    const __m256 k = _mm256_set1_ps(255.0f), inv = _mm256_set1_ps(1.0f / 255.0f);
    for (int r = r0; r < r1; r++) {
        const uint8_t *s = j->src + (long)j->idx[r] * j->d;
        float *o = j->dst + (long)r * j->d;
        int c = 0;
        for (; c + 8 <= j->d; c += 8) {
            __m128i b = _mm_loadl_epi64((const __m128i *)(s + c));
            __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
            __m256 q = _mm256_mul_ps(f, inv);
            __m256 e = _mm256_fnmadd_ps(q, k, f);  // f − q·255, exact
            _mm256_storeu_ps(o + c, _mm256_fmadd_ps(e, inv, q));
        }
        for (; c < j->d; c++) o[c] = (float)s[c] / 255.0f;
    }
}

VK_AVX512_TARGET
static void scale_rows_avx512(const scale_job *j, int r0, int r1) {
    const __m512 k = _mm512_set1_ps(255.0f), inv = _mm512_set1_ps(1.0f / 255.0f);
    for (int r = r0; r < r1; r++) {
        const uint8_t *s = j->src + (long)j->idx[r] * j->d;
        float *o = j->dst + (long)r * j->d;
        int c = 0;
        for (; c + 16 <= j->d; c += 16) {
            __m128i b = _mm_loadu_si128((const __m128i *)(s + c));
            __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
            __m512 q = _mm512_mul_ps(f, inv);
            __m512 e = _mm512_fnmadd_ps(q, k, f);
            _mm512_storeu_ps(o + c, _mm512_fmadd_ps(e, inv, q));
        }
        for (; c < j->d; c++) o[c] = (float)s[c] / 255.0f;
    }
}
#endif

static void scale_task(void *ctx, int t) {
    const scale_job *j = (const scale_job *)ctx;
    int r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
#if defined(__x86_64__)
    if (use_avx512()) { scale_rows_avx512(j, r0, r1); return; }
    if (use_avx2()) { scale_rows_avx2(j, r0, r1); return; }
#endif
    scale_rows_portable(j, r0, r1);
}

void vk_gather_scale_u8(const uint8_t *src, const int32_t *idx, int rows, int d, float *dst) {
    if (rows <= 0) return;
    scale_job j = { src, idx, dst, rows, d, rows };
    // split from 8,192 values: a batch of 32 images was 1.8% of the step on one thread
    int nt = ew_tasks_from((long)rows * d, 8192, 8192);
    if (nt > 1) j.rows_per_task = (rows + nt - 1) / nt;
    int tasks = (rows + j.rows_per_task - 1) / j.rows_per_task;
    if (tasks <= 1) scale_task(&j, 0);
    else vk_parallel(tasks, scale_task, &j);
}

// ================================================================ Box–Muller
// RNG's transform of 64-bit uniforms into normals (RNG.normal and RNG.fillNormal both call it),
// in double with the C library's log, sin and cos: pair k of raw words gives out[2k]
// = r·cos(a) and out[2k+1] = r·sin(a), rounded to float. Pairs are independent, so any split over
// threads gives the same bits as the one-at-a-time loop (the draws were 2% of an h400 batch-512
// step, on the calling thread alone).
typedef struct { const uint64_t *raw; float *out; long n; long per; float spare; } bm_job;

static void bm_range(bm_job *j, long k0, long k1) {
    for (long k = k0; k < k1; k++) {
        double u1 = ((double)(j->raw[2 * k] >> 11) + 1.0) * (1.0 / 9007199254740992.0);
        double u2 = (double)(j->raw[2 * k + 1] >> 11) * (1.0 / 9007199254740992.0);
        double r = sqrt(-2.0 * log(u1));
        double a = 2.0 * 3.141592653589793 * u2;
        j->out[2 * k] = (float)(r * cos(a));
        float s = (float)(r * sin(a));
        if (2 * k + 1 < j->n) j->out[2 * k + 1] = s;
        else j->spare = s;   // odd n: only the task with the last pair writes it
    }
}

static void bm_task(void *ctx, int t) {
    bm_job *j = (bm_job *)ctx;
    long pairs = (j->n + 1) / 2, k0 = (long)t * j->per, k1 = k0 + j->per;
    if (k1 > pairs) k1 = pairs;
    if (k0 < k1) bm_range(j, k0, k1);
}

float vk_box_muller(const uint64_t *raw, float *out, long n) {
    if (n <= 0) return 0.0f;
    long pairs = (n + 1) / 2;
    bm_job j = { raw, out, n, pairs, 0.0f };
    // a log, a sine and a cosine per pair (~50 ns): split from 1,024 pairs (a batch of 128 with 16
    // latents); a batch of 32 measured slower split
    int nt = ew_tasks_from(pairs, 512, 1024);
    if (nt > 1) j.per = (pairs + nt - 1) / nt;
    int tasks = (int)((pairs + j.per - 1) / j.per);
    if (tasks <= 1) bm_range(&j, 0, pairs);
    else vk_parallel(tasks, bm_task, &j);
    return j.spare;
}

// ================================================================ tanh
// Cephes' tanhf: |x| < 0.625: x + x·z·P(z), z = x²; |x| ≥ 9: ±1 (within 0.52 ulp of tanh there);
// otherwise 1 − 2/(exp(2|x|) + 1) with the sign of x. Within 1.25 ulp of the exact value (measured on
// 3.6 million floats in [−10, 10] with every exponent, in the tests); NaN stays NaN. The AVX2 code (used at
// the AVX-512 level too) performs the same operations: the same bits as the portable code.
#define TANH_SMALL 0.625f
#define TANH_ONE 9.0f
static inline float s_tanh(float x) {
    float a = fabsf(x);
    float z = x * x;
    float p = -5.70498872745E-3f;
    p = p * z + 2.06390887954E-2f;
    p = p * z + -5.37397155531E-2f;
    p = p * z + 1.33314422036E-1f;
    p = p * z + -3.33332819422E-1f;
    float small = (p * z) * x + x;
    float e = s_exp(a + a);
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    float one = x < 0.0f ? -1.0f : 1.0f;
    return a < TANH_SMALL ? small : (a >= TANH_ONE ? one : big);
}

#if defined(__x86_64__)
VK_AVX2_TARGET __attribute__((always_inline))
static inline __m256 v_tanh(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f), onev = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    __m256 a = _mm256_andnot_ps(sign, v);
    __m256 z = _mm256_mul_ps(v, v);
    __m256 p = _mm256_set1_ps(-5.70498872745E-3f);
    p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(2.06390887954E-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(-5.37397155531E-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(1.33314422036E-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(-3.33332819422E-1f));
    __m256 small = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, z), v), v);
    __m256 e = v_exp(_mm256_add_ps(a, a));
    __m256 big = _mm256_sub_ps(onev, _mm256_div_ps(two, _mm256_add_ps(e, onev)));
    __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
    big = _mm256_blendv_ps(big, _mm256_sub_ps(_mm256_setzero_ps(), big), neg);
    __m256 one = _mm256_blendv_ps(onev, _mm256_set1_ps(-1.0f), neg);
    __m256 r = _mm256_blendv_ps(big, one, _mm256_cmp_ps(a, _mm256_set1_ps(TANH_ONE), _CMP_GE_OQ));
    return _mm256_blendv_ps(r, small, _mm256_cmp_ps(a, _mm256_set1_ps(TANH_SMALL), _CMP_LT_OQ));
}

VK_AVX2_TARGET
static void tanh_range_avx2(const float *x, float *y, long lo, long hi) {
    long i = lo;
    for (; i + 8 <= hi; i += 8) _mm256_storeu_ps(y + i, v_tanh(_mm256_loadu_ps(x + i)));
    for (; i < hi; i++) y[i] = s_tanh(x[i]);
}
#endif

typedef struct {
    const float *x;
    float *y;
    long n, per;
} tanh_job;

static void tanh_task(void *ctx, int t) {
    const tanh_job *j = (const tanh_job *)ctx;
    long lo = (long)t * j->per, hi = lo + j->per < j->n ? lo + j->per : j->n;
#if defined(__x86_64__)
    if (use_avx2()) { tanh_range_avx2(j->x, j->y, lo, hi); return; }
#endif
    for (long i = lo; i < hi; i++) j->y[i] = s_tanh(j->x[i]);
}

void vk_tanh(const float *x, float *y, long n) {
    if (n <= 0) return;
    tanh_job j = { x, y, n, n };
    int nt = ew_tasks(n, 32768);
    if (nt > 1) j.per = (n + nt - 1) / nt;
    int tasks = (int)((n + j.per - 1) / j.per);
    if (tasks <= 1) tanh_task(&j, 0);
    else vk_parallel(tasks, tanh_task, &j);
}


// ================================================================ GRU gates (VAECore/Layers/GRU.swift)
// Forward, per element j of a row (gi holds x W_ihᵀ + b_ih and becomes r, z, n; gh = h W_hhᵀ + b_hh):
//   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n), hn = gh_n, h ← (1 − z)·n + z·h
// Backward, from dh = dL/dh' (h the state the step started from), in place:
//   da_n = dh(1 − z)(1 − n²), da_r = da_n·hn·r(1 − r), da_z = dh(h − n)·z(1 − z)
//   gates ← dGh = (da_r, da_z, da_n·r), hn ← da_n, dh ← dh·z
// (dGi, the input side's gradient, is (da_r, da_z, da_n): its first two thirds are dGh's.)
// Rows are split across threads; every element is computed alone, so the bits never depend on
// the thread count, and the AVX-512, AVX2 and portable code perform the same operations.
static inline float s_sigmoid(float x) { return 1.0f / (1.0f + s_exp(-x)); }

static void gru_fwd_scalar(float *gi, const float *gh, float *h, float *hn, long H, long j0) {
    for (long j = j0; j < H; j++) {
        float r = s_sigmoid(gi[j] + gh[j]);
        float z = s_sigmoid(gi[H + j] + gh[H + j]);
        float n = s_tanh(gi[2 * H + j] + r * gh[2 * H + j]);
        hn[j] = gh[2 * H + j];
        gi[j] = r;
        gi[H + j] = z;
        gi[2 * H + j] = n;
        h[j] = (1.0f - z) * n + z * h[j];
    }
}

static void gru_bwd_scalar(float *dh, float *g, float *hn, const float *hp, long H, long j0) {
    for (long j = j0; j < H; j++) {
        float r = g[j], z = g[H + j], n = g[2 * H + j], d = dh[j];
        float dan = (d * (1.0f - z)) * (1.0f - n * n);
        float dar = ((dan * hn[j]) * r) * (1.0f - r);
        float daz = ((d * (hp[j] - n)) * z) * (1.0f - z);
        g[j] = dar; g[H + j] = daz; g[2 * H + j] = dan * r;
        hn[j] = dan;
        dh[j] = d * z;
    }
}

#if defined(__x86_64__)
VK_AVX2_TARGET __attribute__((always_inline))
static inline __m256 v_sigmoid(__m256 x) {
    const __m256 onev = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(onev, _mm256_add_ps(onev, v_exp(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)))));
}

VK_AVX2_TARGET
static void gru_fwd_avx2(float *gi, const float *gh, float *h, float *hn, long H) {
    const __m256 onev = _mm256_set1_ps(1.0f);
    long j = 0;
    for (; j + 8 <= H; j += 8) {
        __m256 r = v_sigmoid(_mm256_add_ps(_mm256_loadu_ps(gi + j), _mm256_loadu_ps(gh + j)));
        __m256 z = v_sigmoid(_mm256_add_ps(_mm256_loadu_ps(gi + H + j), _mm256_loadu_ps(gh + H + j)));
        __m256 q = _mm256_loadu_ps(gh + 2 * H + j);
        __m256 n = v_tanh(_mm256_add_ps(_mm256_loadu_ps(gi + 2 * H + j), _mm256_mul_ps(r, q)));
        _mm256_storeu_ps(hn + j, q);
        _mm256_storeu_ps(gi + j, r);
        _mm256_storeu_ps(gi + H + j, z);
        _mm256_storeu_ps(gi + 2 * H + j, n);
        __m256 hv = _mm256_loadu_ps(h + j);
        _mm256_storeu_ps(h + j, _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(onev, z), n), _mm256_mul_ps(z, hv)));
    }
    gru_fwd_scalar(gi, gh, h, hn, H, j);
}

VK_AVX2_TARGET
static void gru_bwd_avx2(float *dh, float *g, float *hn, const float *hp, long H) {
    const __m256 onev = _mm256_set1_ps(1.0f);
    long j = 0;
    for (; j + 8 <= H; j += 8) {
        __m256 r = _mm256_loadu_ps(g + j), z = _mm256_loadu_ps(g + H + j), n = _mm256_loadu_ps(g + 2 * H + j);
        __m256 d = _mm256_loadu_ps(dh + j);
        __m256 dan = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_sub_ps(onev, z)), _mm256_sub_ps(onev, _mm256_mul_ps(n, n)));
        __m256 dar = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dan, _mm256_loadu_ps(hn + j)), r), _mm256_sub_ps(onev, r));
        __m256 daz = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, _mm256_sub_ps(_mm256_loadu_ps(hp + j), n)), z), _mm256_sub_ps(onev, z));
        _mm256_storeu_ps(g + j, dar); _mm256_storeu_ps(g + H + j, daz); _mm256_storeu_ps(g + 2 * H + j, _mm256_mul_ps(dan, r));
        _mm256_storeu_ps(hn + j, dan);
        _mm256_storeu_ps(dh + j, _mm256_mul_ps(d, z));
    }
    gru_bwd_scalar(dh, g, hn, hp, H, j);
}
#endif

#if defined(__x86_64__)
// The AVX-512 gates: the AVX2 code's operations, 16 lanes wide (z_exp is v_exp's; the sign flips
// and masks are the same bit operations), so every level gives the same bits.
VK_AVX512_TARGET __attribute__((always_inline))
static inline __m512 z_neg(__m512 x) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}

VK_AVX512_TARGET __attribute__((always_inline))
static inline __m512 z_sigmoid(__m512 x) {
    const __m512 onev = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(onev, _mm512_add_ps(onev, z_exp(z_neg(x))));
}

VK_AVX512_TARGET __attribute__((always_inline))
static inline __m512 z_tanh(__m512 v) {
    const __m512 onev = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f), zero = _mm512_setzero_ps();
    __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
    __m512 z = _mm512_mul_ps(v, v);
    __m512 p = _mm512_set1_ps(-5.70498872745E-3f);
    p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(2.06390887954E-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(-5.37397155531E-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(1.33314422036E-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(-3.33332819422E-1f));
    __m512 small = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, z), v), v);
    __m512 e = z_exp(_mm512_add_ps(a, a));
    __m512 big = _mm512_sub_ps(onev, _mm512_div_ps(two, _mm512_add_ps(e, onev)));
    __mmask16 neg = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
    big = _mm512_mask_blend_ps(neg, big, _mm512_sub_ps(zero, big));
    __m512 one = _mm512_mask_blend_ps(neg, onev, _mm512_set1_ps(-1.0f));
    __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(TANH_ONE), _CMP_GE_OQ), big, one);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(TANH_SMALL), _CMP_LT_OQ), r, small);
}

VK_AVX512_TARGET
static void gru_fwd_avx512(float *gi, const float *gh, float *h, float *hn, long H) {
    const __m512 onev = _mm512_set1_ps(1.0f);
    long j = 0;
    for (; j + 16 <= H; j += 16) {
        __m512 r = z_sigmoid(_mm512_add_ps(_mm512_loadu_ps(gi + j), _mm512_loadu_ps(gh + j)));
        __m512 z = z_sigmoid(_mm512_add_ps(_mm512_loadu_ps(gi + H + j), _mm512_loadu_ps(gh + H + j)));
        __m512 q = _mm512_loadu_ps(gh + 2 * H + j);
        __m512 n = z_tanh(_mm512_add_ps(_mm512_loadu_ps(gi + 2 * H + j), _mm512_mul_ps(r, q)));
        _mm512_storeu_ps(hn + j, q);
        _mm512_storeu_ps(gi + j, r);
        _mm512_storeu_ps(gi + H + j, z);
        _mm512_storeu_ps(gi + 2 * H + j, n);
        __m512 hv = _mm512_loadu_ps(h + j);
        _mm512_storeu_ps(h + j, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(onev, z), n), _mm512_mul_ps(z, hv)));
    }
    gru_fwd_scalar(gi, gh, h, hn, H, j);
}

VK_AVX512_TARGET
static void gru_bwd_avx512(float *dh, float *g, float *hn, const float *hp, long H) {
    const __m512 onev = _mm512_set1_ps(1.0f);
    long j = 0;
    for (; j + 16 <= H; j += 16) {
        __m512 r = _mm512_loadu_ps(g + j), z = _mm512_loadu_ps(g + H + j), n = _mm512_loadu_ps(g + 2 * H + j);
        __m512 d = _mm512_loadu_ps(dh + j);
        __m512 dan = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(onev, z)), _mm512_sub_ps(onev, _mm512_mul_ps(n, n)));
        __m512 dar = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dan, _mm512_loadu_ps(hn + j)), r), _mm512_sub_ps(onev, r));
        __m512 daz = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(_mm512_loadu_ps(hp + j), n)), z), _mm512_sub_ps(onev, z));
        _mm512_storeu_ps(g + j, dar); _mm512_storeu_ps(g + H + j, daz); _mm512_storeu_ps(g + 2 * H + j, _mm512_mul_ps(dan, r));
        _mm512_storeu_ps(hn + j, dan);
        _mm512_storeu_ps(dh + j, _mm512_mul_ps(d, z));
    }
    gru_bwd_scalar(dh, g, hn, hp, H, j);
}
#endif

typedef struct {
    float *gi, *h, *hn;
    const float *gh, *hp;
    long rows, H, per;
    int backward;
} gru_job;

static void gru_task(void *ctx, int t) {
    const gru_job *j = (const gru_job *)ctx;
    long lo = (long)t * j->per, hi = lo + j->per < j->rows ? lo + j->per : j->rows;
    long H = j->H, H3 = 3 * H;
    for (long i = lo; i < hi; i++) {
        if (j->backward) {
#if defined(__x86_64__)
            if (use_avx512()) { gru_bwd_avx512(j->h + i * H, j->gi + i * H3, j->hn + i * H, j->hp + i * H, H); continue; }
            if (use_avx2()) { gru_bwd_avx2(j->h + i * H, j->gi + i * H3, j->hn + i * H, j->hp + i * H, H); continue; }
#endif
            gru_bwd_scalar(j->h + i * H, j->gi + i * H3, j->hn + i * H, j->hp + i * H, H, 0);
        } else {
#if defined(__x86_64__)
            if (use_avx512()) { gru_fwd_avx512(j->gi + i * H3, j->gh + i * H3, j->h + i * H, j->hn + i * H, H); continue; }
            if (use_avx2()) { gru_fwd_avx2(j->gi + i * H3, j->gh + i * H3, j->h + i * H, j->hn + i * H, H); continue; }
#endif
            gru_fwd_scalar(j->gi + i * H3, j->gh + i * H3, j->h + i * H, j->hn + i * H, H, 0);
        }
    }
}

static void gru_run(gru_job *j) {
    if (j->rows <= 0) return;
    int nt = ew_tasks(j->rows * j->H * 3, 16384);
    j->per = nt > 1 ? (j->rows + nt - 1) / nt : j->rows;
    int tasks = (int)((j->rows + j->per - 1) / j->per);
    if (tasks <= 1) gru_task(j, 0);
    else vk_parallel(tasks, gru_task, j);
}

void vk_gru_gates_forward(float *gi, const float *gh, float *h, float *hn, long rows, long hidden) {
    gru_job j = { .gi = gi, .gh = gh, .h = h, .hn = hn, .rows = rows, .H = hidden, .backward = 0 };
    gru_run(&j);
}

void vk_gru_gates_backward(float *dh, float *gates, float *hn, const float *hprev, long rows, long hidden) {
    gru_job j = { .h = dh, .gi = gates, .hn = hn, .hp = hprev, .rows = rows, .H = hidden, .backward = 1 };
    gru_run(&j);
}

// ================================================================ GRU token rows (one-hot inputs)
// The contiguous row operations of GRU.swift's token inputs, on the columns [c0, c1) of 3H-wide
// rows; the caller splits the columns over the threads. Element-wise adds, each element's in row
// order: the same bits at every kernel level and thread count as the scalar loops they replace.

// d[j] = a[j] + b[j] (b == NULL: d[j] += a[j]) for j < n.
#if defined(__x86_64__)
VK_AVX512_TARGET
static void rows_add_avx512(float *d, const float *a, const float *b, long n) {
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 s = _mm512_add_ps(b ? _mm512_loadu_ps(b + j) : _mm512_loadu_ps(d + j), _mm512_loadu_ps(a + j));
        _mm512_storeu_ps(d + j, s);
    }
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1u);
        __m512 s = _mm512_add_ps(b ? _mm512_maskz_loadu_ps(m, b + j) : _mm512_maskz_loadu_ps(m, d + j), _mm512_maskz_loadu_ps(m, a + j));
        _mm512_mask_storeu_ps(d + j, m, s);
    }
}
VK_AVX2_TARGET
static void rows_add_avx2(float *d, const float *a, const float *b, long n) {
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 s = _mm256_add_ps(b ? _mm256_loadu_ps(b + j) : _mm256_loadu_ps(d + j), _mm256_loadu_ps(a + j));
        _mm256_storeu_ps(d + j, s);
    }
    for (; j < n; j++) d[j] = (b ? b[j] : d[j]) + a[j];
}
#endif
static void rows_add(float *d, const float *a, const float *b, long n) {
    if (n <= 0) return;
#if defined(__x86_64__)
    if (use_avx512()) { rows_add_avx512(d, a, b, n); return; }
    if (use_avx2()) { rows_add_avx2(d, a, b, n); return; }
#endif
    for (long j = 0; j < n; j++) d[j] = (b ? b[j] : d[j]) + a[j];
}

void vk_gru_token_rows_forward(float *gi, const float *base, const float *wT, long width,
                               const int32_t *tokens, const long *offsets, const long *batch_sizes, long steps,
                               long c0, long c1) {
    for (long t = 0; t < steps; t++) {
        long off = offsets[t];
        for (long i = 0; i < batch_sizes[t]; i++) {
            long r = off + i;
            // row = its sequence's part + its token's row of W_ih (the scalar loop's one add)
            rows_add(gi + r * width + c0, wT + (long)tokens[r] * width + c0, base + i * width + c0, c1 - c0);
        }
    }
}

void vk_gru_token_rows_backward(const float *gh, const float *an, long hidden,
                                const int32_t *tokens, const long *offsets, const long *batch_sizes, long steps,
                                long c0, long c1, float *dT, float *S) {
    const long H = hidden, H3 = 3 * hidden;
    long g1 = c1 < 2 * H ? c1 : 2 * H;  if (g1 < c0) g1 = c0;   // [c0, g1) in gh
    long n0 = c0 > 2 * H ? c0 : 2 * H;  if (n0 > c1) n0 = c1;   // [n0, c1) in an, at column − 2H
    for (long t = 0; t < steps; t++) {
        long off = offsets[t];
        for (long i = 0; i < batch_sizes[t]; i++) {
            long r = off + i;
            const float *g = gh + r * H3, *a = an + r * H - 2 * H;
            if (dT) {
                float *col = dT + (long)tokens[r] * H3;
                rows_add(col + c0, g + c0, NULL, g1 - c0);
                rows_add(col + n0, a + n0, NULL, c1 - n0);
            }
            if (S) {
                float *srow = S + i * H3;
                rows_add(srow + c0, g + c0, NULL, g1 - c0);
                rows_add(srow + n0, a + n0, NULL, c1 - n0);
            }
        }
    }
}
