// Convolution helpers: im2col / col2im in the "channels × (batch · positions)" layout, and the
// layout changes between NCHW and channel-major [C, N·P] fused with bias, ReLU, its derivative
// and the bias gradient. Plain C written so that the inner loops are branch-free ranges (the
// compiler vectorises them); work is split over images (each image written by one task) or
// over channels (each channel's sum in one fixed order), never depending on the thread count.
#include "vk_internal.h"
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

static inline int ceil_div_pos(int a, int s) { return a <= 0 ? 0 : (a + s - 1) / s; }

// Each task body is compiled three times — portable, AVX2, AVX-512 — and the variant of the
// kernel level in use runs (vk_force_kernel_level reaches it, as for the GEMM). The bodies are
// copies, adds and fixed-order 8-lane sums with no contraction: every variant gives the same bits.
#if defined(__x86_64__)
#define VK_LEVELS(name)                                                                             \
    static void name##_portable(void *ctx, int t) { name##_body(ctx, t); }                         \
    __attribute__((target("avx2"))) static void name##_avx2(void *ctx, int t) { name##_body(ctx, t); } \
    __attribute__((target("avx512f,avx2"))) static void name##_avx512(void *ctx, int t) { name##_body(ctx, t); }
#define VK_PICK(name) pick_level(name##_portable, name##_avx2, name##_avx512)
static vk_task_fn pick_level(vk_task_fn portable, vk_task_fn avx2, vk_task_fn avx512) {
    int level = vk_kernel_level();
    return level >= 3 ? avx512 : level == 2 ? avx2 : portable;
}
#else
#define VK_LEVELS(name) static void name##_portable(void *ctx, int t) { name##_body(ctx, t); }
#define VK_PICK(name) name##_portable
#endif

typedef struct {
    const float *src;
    float *dst;
    int n, channels, H, W, gh, gw, kh, kw, stride, pad;
    const float *bias;
    int relu;
} geo_job;

// Both directions go through one channel of the image at a time, staged as "phase planes":
// the zero-padded plane (padded coordinates yp = y + pad, xp = x + pad, yp < Hp, xp < Wp, the
// extent that the windows reach) split into stride × stride planes by (yp mod s, xp mod s),
// each SH × SW. Window tap (i, j) at grid position (gy, gx) reads padded (gy·s + i, gx·s + j)
// = phase (i mod s, j mod s) at (gy + i/s, gx + j/s): for every tap, a grid row is a
// contiguous run of gw floats of one phase plane, copied (im2col) or added (col2im) with whole
// vectors, with no bounds tests. The padding and the stride are paid once per pixel, when the
// plane is split (im2col) or merged (col2im), instead of once per tap.
typedef struct {
    int Hp, Wp, SH, SW, s;
} phase_geo;

static inline phase_geo phase_geometry(const geo_job *g) {
    phase_geo q;
    q.s = g->stride;
    q.Hp = (g->gh - 1) * g->stride + g->kh;
    q.Wp = (g->gw - 1) * g->stride + g->kw;
    q.SH = (q.Hp + q.s - 1) / q.s;
    q.SW = (q.Wp + q.s - 1) / q.s;
    return q;
}

static inline long phase_floats(const geo_job *g) {
    phase_geo q = phase_geometry(g);
    return (long)q.s * q.s * q.SH * q.SW;
}

// im2col's short contiguous runs (gw floats, often 7, 14 or 28): whole vectors at the SIMD
// levels, a plain loop otherwise; copies: the same bits at every level. Masked stores are slow
// on AMD cores, so none is used: `room` floats may be written from d (the rest of the
// destination's block, whose later runs rewrite what a whole vector wrote past this run); the
// source may be read up to a whole vector past the run (the phase planes carry VK_PHASE_SLACK
// floats of slack).
#define VK_PHASE_SLACK 16
static inline __attribute__((always_inline)) void run_copy_portable(float *d, const float *s, int n, long room) {
    (void)room;
    for (int k = 0; k < n; k++) d[k] = s[k];
}
#if defined(__x86_64__)
#include <immintrin.h>
// The first n lanes of t stored at d (n < 8, or n < 16): a vector's halves and quarters, then
// single lanes. Written out because a scalar loop over a spilled vector becomes a call to
// memcpy per line (2.5% of the conv step on Zen 4, in col2im's merge).
__attribute__((target("avx2"), always_inline)) static inline void store_head_avx2(float *d, __m256 t, int n) {
    __m128 q = _mm256_castps256_ps128(t);
    if (n >= 4) { _mm_storeu_ps(d, q); q = _mm256_extractf128_ps(t, 1); d += 4; n -= 4; }
    if (n >= 2) { _mm_storel_pi((__m64 *)d, q); q = _mm_movehl_ps(q, q); d += 2; n -= 2; }
    if (n >= 1) _mm_store_ss(d, q);
}
__attribute__((target("avx512f,avx2"), always_inline)) static inline void store_head_avx512(float *d, __m512 t, int n) {
    __m256 h = _mm512_castps512_ps256(t);
    if (n >= 8) {
        _mm256_storeu_ps(d, h);
        h = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1));
        d += 8;
        n -= 8;
    }
    store_head_avx2(d, h, n);
}
__attribute__((target("avx2"), always_inline)) static inline void run_copy_avx2(float *d, const float *s, int n, long room) {
    int k = 0;
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(d + k, _mm256_loadu_ps(s + k));
    if (k < n && k + 8 <= room) _mm256_storeu_ps(d + k, _mm256_loadu_ps(s + k));
    else if (k < n) store_head_avx2(d + k, _mm256_loadu_ps(s + k), n - k);
}
__attribute__((target("avx512f,avx2"), always_inline)) static inline void run_copy_avx512(float *d, const float *s, int n, long room) {
    int k = 0;
    for (; k + 16 <= n; k += 16) _mm512_storeu_ps(d + k, _mm512_loadu_ps(s + k));
    if (k < n && k + 16 <= room) _mm512_storeu_ps(d + k, _mm512_loadu_ps(s + k));
    else if (k < n) store_head_avx512(d + k, _mm512_loadu_ps(s + k), n - k);
}
#endif

// One row of a phase plane for col2im: d[v] (v < width) = Σ over the taps t, in order, of
// src[t][v − off[t]] where 0 ≤ v − off[t] < gw, starting from 0 (or from d[v] when `init`).
// The sum stays in registers: one store per vector instead of a read-modify-write per tap (whose
// loads, overlapping the previous row's stores, stall store forwarding). Lanes a tap does not
// reach are left as they are (masked add): the same bits as adding tap by tap. The SIMD levels
// write up to a whole vector past `width` (slack, or a later row's place).
static inline __attribute__((always_inline)) void run_accum_portable(float *d, const float *const *src, const int *off,
                                                                   int nt, int gw, int width, int init) {
    for (int v = 0; v < width; v++) {
        float acc = init ? d[v] : 0.0f;
        for (int t = 0; t < nt; t++) {
            int x = v - off[t];
            if (x >= 0 && x < gw) acc = acc + src[t][x];
        }
        d[v] = acc;
    }
}
#if defined(__x86_64__)
__attribute__((target("avx2"), always_inline)) static inline void run_accum_avx2(float *d, const float *const *src, const int *off,
                                                                              int nt, int gw, int width, int init) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int v0 = 0; v0 < width; v0 += 8) {
        __m256 acc = init ? _mm256_loadu_ps(d + v0) : _mm256_setzero_ps();
        for (int t = 0; t < nt; t++) {
            int lo = off[t] - v0, hi = lo + gw;
            if (lo < 0) lo = 0;
            if (hi > 8) hi = 8;
            if (lo >= hi) continue;
            __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(lo - 1)),
                                         _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane));
            __m256 x = _mm256_maskload_ps(src[t] + (v0 - off[t]), m);
            acc = _mm256_blendv_ps(acc, _mm256_add_ps(acc, x), _mm256_castsi256_ps(m));
        }
        _mm256_storeu_ps(d + v0, acc);
    }
}
__attribute__((target("avx512f,avx2"), always_inline)) static inline void run_accum_avx512(float *d, const float *const *src, const int *off,
                                                                                        int nt, int gw, int width, int init) {
    for (int v0 = 0; v0 < width; v0 += 16) {
        __m512 acc = init ? _mm512_loadu_ps(d + v0) : _mm512_setzero_ps();
        for (int t = 0; t < nt; t++) {
            int lo = off[t] - v0, hi = lo + gw;
            if (lo < 0) lo = 0;
            if (hi > 16) hi = 16;
            if (lo >= hi) continue;
            __mmask16 m = (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
            acc = _mm512_mask_add_ps(acc, m, acc, _mm512_maskz_loadu_ps(m, src[t] + (v0 - off[t])));
        }
        _mm512_storeu_ps(d + v0, acc);
    }
}
#endif

// A phase row of a stride-2 split: out[v] = line[2·v] for v < n. The SIMD levels read only
// line[0 .. 2·n − 2] (masked loads) and write whole vectors from out: up to a vector past n
// (the split's later writes or the phase planes' slack take it).
static inline __attribute__((always_inline)) void run_evens_portable(float *out, const float *line, int n) {
    for (int v = 0; v < n; v++) out[v] = line[2 * v];
}
#if defined(__x86_64__)
__attribute__((target("avx2"), always_inline)) static inline void run_evens_avx2(float *out, const float *line, int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int v = 0; v < n; v += 8) {
        int reach = 2 * (n - v) - 1;   // floats of line + 2v to read
        __m256 lo, hi;
        if (reach >= 16) {
            lo = _mm256_loadu_ps(line + 2 * v);
            hi = _mm256_loadu_ps(line + 2 * v + 8);
        } else {
            lo = _mm256_maskload_ps(line + 2 * v, _mm256_cmpgt_epi32(_mm256_set1_epi32(reach), lane));
            hi = _mm256_maskload_ps(line + 2 * v + 8, _mm256_cmpgt_epi32(_mm256_set1_epi32(reach - 8), lane));
        }
        // [lo0 lo2 hi0 hi2 lo4 lo6 hi4 hi6] → [lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6]
        __m256 e = _mm256_shuffle_ps(lo, hi, 0x88);
        _mm256_storeu_ps(out + v, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
    }
}
__attribute__((target("avx512f,avx2"), always_inline)) static inline void run_evens_avx512(float *out, const float *line, int n) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int v = 0; v < n; v += 16) {
        int reach = 2 * (n - v) - 1;
        __m512 lo, hi;
        if (reach >= 32) {
            lo = _mm512_loadu_ps(line + 2 * v);
            hi = _mm512_loadu_ps(line + 2 * v + 16);
        } else {
            __mmask16 mlo = reach >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << reach) - 1u);
            __mmask16 mhi = reach > 16 ? (__mmask16)((1u << (reach - 16)) - 1u) : (__mmask16)0;
            lo = _mm512_maskz_loadu_ps(mlo, line + 2 * v);
            hi = _mm512_maskz_loadu_ps(mhi, line + 2 * v + 16);
        }
        _mm512_storeu_ps(out + v, _mm512_permutex2var_ps(lo, even, hi));
    }
}
#endif

// The value act(t + b) that col2im stores (mode 2: ReLU after the bias; 1: the bias; 0: t).
static inline __attribute__((always_inline)) float col2im_out(float t, float b, int mode) {
    if (mode == 2) { float v = t + b; return v > 0.0f ? v : 0.0f; }
    return mode == 1 ? t + b : t;
}

// A line of a stride-2 col2im merge: line[x] = act(sub[(x + p) mod 2][(x + p) / 2] + b) for x < W,
// both phases' rows inside the padded plane. Each pixel is stored once; the value is the one
// col2im_out gives (ReLU as max(v, 0) with v first: NaN and −0 give +0, as `v > 0 ? v : 0`).
// The SIMD levels read up to a vector past either row (phase-plane slack) and store only [0, W).
static inline __attribute__((always_inline)) void run_merge2_portable(float *line, const float *sub0, const float *sub1,
                                                                    int W, int p, float b, int mode) {
    for (int x = 0; x < W; x++) {
        int xp = x + p;
        line[x] = col2im_out((xp & 1 ? sub1 : sub0)[xp >> 1], b, mode);
    }
}
#if defined(__x86_64__)
__attribute__((target("avx2"), always_inline)) static inline void run_merge2_avx2(float *line, const float *sub0, const float *sub1,
                                                                               int W, int p, float b, int mode) {
    const __m256 bv = _mm256_set1_ps(b), zero = _mm256_setzero_ps();
    for (int x0 = 0; x0 < W; x0 += 8) {
        int xp = x0 + p, v = xp >> 1;
        // lanes alternate phases, starting with phase xp mod 2
        __m128 e = _mm_loadu_ps((xp & 1 ? sub1 : sub0) + v);
        __m128 o = _mm_loadu_ps((xp & 1 ? sub0 + 1 : sub1) + v);
        __m256 t = _mm256_setr_m128(_mm_unpacklo_ps(e, o), _mm_unpackhi_ps(e, o));
        if (mode == 2) t = _mm256_max_ps(_mm256_add_ps(t, bv), zero);
        else if (mode == 1) t = _mm256_add_ps(t, bv);
        if (x0 + 8 <= W) _mm256_storeu_ps(line + x0, t);
        else store_head_avx2(line + x0, t, W - x0);
    }
}
__attribute__((target("avx512f,avx2"), always_inline)) static inline void run_merge2_avx512(float *line, const float *sub0, const float *sub1,
                                                                                         int W, int p, float b, int mode) {
    const __m512i mix = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512 bv = _mm512_set1_ps(b), zero = _mm512_setzero_ps();
    for (int x0 = 0; x0 < W; x0 += 16) {
        int xp = x0 + p, v = xp >> 1;
        __m512 e = _mm512_castps256_ps512(_mm256_loadu_ps((xp & 1 ? sub1 : sub0) + v));
        __m512 o = _mm512_castps256_ps512(_mm256_loadu_ps((xp & 1 ? sub0 + 1 : sub1) + v));
        __m512 t = _mm512_permutex2var_ps(e, mix, o);
        if (mode == 2) t = _mm512_max_ps(_mm512_add_ps(t, bv), zero);
        else if (mode == 1) t = _mm512_add_ps(t, bv);
        if (x0 + 16 <= W) _mm512_storeu_ps(line + x0, t);
        else store_head_avx512(line + x0, t, W - x0);
    }
}
#endif

typedef void (*vk_copy_fn)(float *, const float *, int, long);
typedef void (*vk_merge2_fn)(float *, const float *, const float *, int, int, float, int);
typedef void (*vk_accum_fn)(float *, const float *const *, const int *, int, int, int, int);
typedef void (*vk_evens_fn)(float *, const float *, int);

// Splits channel plane `plane` (H × W) into the phase planes at `ph` (zeros where the padded
// plane is outside the image).
static inline __attribute__((always_inline)) void phase_split(const geo_job *g, const phase_geo *q,
                                                              const float *plane, float *ph, vk_evens_fn evens) {
    const int s = q->s, p = g->pad;
    for (int a = 0; a < s; a++) {
        for (int b = 0; b < s; b++) {
            float *sub = ph + (long)(a * s + b) * q->SH * q->SW;
            // columns v of this phase that are inside the image: 0 <= v·s + b − p < W
            int v0 = ceil_div_pos(p - b, s), v1 = ceil_div_pos(g->W + p - b, s);
            int vmax = (q->Wp - b + s - 1) / s;   // columns with xp < Wp
            if (v1 > vmax) v1 = vmax;
            if (v0 > v1) v0 = v1;
            for (int u = 0; u < q->SH; u++) {
                int yp = u * s + a;
                float *out = sub + (long)u * q->SW;
                int y = yp - p;
                if (yp >= q->Hp || y < 0 || y >= g->H) {
                    for (int v = 0; v < vmax; v++) out[v] = 0.0f;
                    continue;
                }
                const float *line = plane + (long)y * g->W + b - p;
                for (int v = 0; v < v0; v++) out[v] = 0.0f;
                if (s == 1) {
                    for (int v = v0; v < v1; v++) out[v] = line[v];
                } else if (s == 2) {
                    if (v1 > v0) evens(out + v0, line + 2 * v0, v1 - v0);   // may write past v1: zeroed next
                } else {
                    for (int v = v0; v < v1; v++) out[v] = line[(long)v * s];
                }
                for (int v = v1; v < vmax; v++) out[v] = 0.0f;
            }
        }
    }
}

__attribute__((always_inline)) static inline void im2col_task_body(void *ctx, int img, float *ph, vk_copy_fn copy,
                                                                   vk_evens_fn evens) {
    const geo_job *g = (const geo_job *)ctx;
    const phase_geo q = phase_geometry(g);
    const long P = (long)g->gh * g->gw, ld = (long)g->n * P;
    const float *src = g->src + (long)img * g->channels * g->H * g->W;
    for (int c = 0; c < g->channels; c++) {
        phase_split(g, &q, src + (long)c * g->H * g->W, ph, evens);
        for (int i = 0; i < g->kh; i++) {
            for (int j = 0; j < g->kw; j++) {
                long row = ((long)c * g->kh + i) * g->kw + j;
                float *dst = g->dst + row * ld + (long)img * P;
                const float *sub = ph + (long)((i % q.s) * q.s + j % q.s) * q.SH * q.SW
                                 + (long)(i / q.s) * q.SW + j / q.s;
                for (int gy = 0; gy < g->gh; gy++)
                    copy(dst + (long)gy * g->gw, sub + (long)gy * q.SW, g->gw, P - (long)gy * g->gw);
            }
        }
    }
}

// Adds the taps of channel c into the phase planes, in tap order (i, j): each pixel's sum runs
// over its taps in that order, starting from 0. Which taps reach a row u of phase (a, b), and
// where their grid rows sit in the column matrix, depends on the geometry only: the lists are
// made once per image, then serve every channel (a channel adds its rows' offset).
#define VK_TAPS_MAX 64
#define VK_TAP_LIST_STACK 1024
typedef struct {
    long rel;   // (i·kw + j)·ld + gy·gw: the tap's grid row, from the image's first column of the channel's first row
    int off;    // j / s: the tap's column shift in the phase plane
} vk_tap;

// The merge's columns of phase b: x = v·s + b − p in [0, W) for v in [v0, v1), of which
// [v0, vc) lie in the padded plane (xp < Wp) and the rest are zero.
static inline void merge_columns(const geo_job *g, const phase_geo *q, int b, int *v0, int *v1, int *vc) {
    const int s = q->s, p = g->pad;
    *v0 = ceil_div_pos(p - b, s);
    *v1 = ceil_div_pos(g->W + p - b, s);
    int vmax = (q->Wp - b + s - 1) / s;
    *vc = *v1 < vmax ? *v1 : vmax;
    if (*v0 > *vc) *vc = *v0;
}

__attribute__((always_inline)) static inline void col2im_task_body(void *ctx, int img, float *ph, vk_accum_fn accum,
                                                                   vk_merge2_fn merge2) {
    const geo_job *g = (const geo_job *)ctx;
    const phase_geo q = phase_geometry(g);
    const int s = q.s, p = g->pad;
    const long P = (long)g->gh * g->gw, ld = (long)g->n * P, plane_size = (long)g->H * g->W;
    float *dst = g->dst + (long)img * g->channels * plane_size;
    // the tap lists of every (phase, row): start[r] .. start[r + 1] in taps, r = (a·s + b)·SH + u
    const int rows_all = s * s * q.SH;
    const long cap = (long)q.SH * g->kh * g->kw;   // each tap reaches each phase row at most once
    vk_tap tap_stack[VK_TAP_LIST_STACK];
    int start_stack[VK_TAP_LIST_STACK + 1];
    vk_tap *taps = cap <= VK_TAP_LIST_STACK ? tap_stack : (vk_tap *)malloc(sizeof(vk_tap) * (size_t)cap);
    int *start = rows_all < VK_TAP_LIST_STACK ? start_stack : (int *)malloc(sizeof(int) * (size_t)(rows_all + 1));
    if (!taps || !start) abort();
    int nt_all = 0;
    for (int a = 0; a < s; a++) {
        for (int bph = 0; bph < s; bph++) {
            for (int u = 0; u < q.SH; u++) {
                start[(a * s + bph) * q.SH + u] = nt_all;
                for (int i = a; i < g->kh; i += s) {
                    int gy = u - i / s;
                    if (gy < 0 || gy >= g->gh) continue;
                    for (int j = bph; j < g->kw; j += s) {
                        taps[nt_all].rel = ((long)i * g->kw + j) * ld + (long)gy * g->gw;
                        taps[nt_all].off = j / s;
                        nt_all++;
                    }
                }
            }
        }
    }
    start[rows_all] = nt_all;
    // stride 2 with both phases' columns all inside the padded plane: the merge interleaves them
    int merge_whole = s == 2;
    for (int bph = 0; bph < s && merge_whole; bph++) {
        int v0, v1, vc;
        merge_columns(g, &q, bph, &v0, &v1, &vc);
        if (vc != v1) merge_whole = 0;
    }
    const long chan_rows = (long)g->kh * g->kw * ld;
    const float *srcs[VK_TAPS_MAX];
    int offs[VK_TAPS_MAX];
    for (int c = 0; c < g->channels; c++) {
        const float *base = g->src + (long)c * chan_rows + (long)img * P;
        // phase planes in order (a row's vector may run into the next plane, written later)
        for (int r = 0; r < rows_all; r++) {
            float *row = ph + (long)r * q.SW;   // plane r / SH, its row r mod SH
            int t0 = start[r], t1 = start[r + 1], started = 0;
            // more than VK_TAPS_MAX taps (kernels above 8×8): in batches, continuing the sum
            do {
                int nt = t1 - t0 < VK_TAPS_MAX ? t1 - t0 : VK_TAPS_MAX;
                for (int t = 0; t < nt; t++) { srcs[t] = base + taps[t0 + t].rel; offs[t] = taps[t0 + t].off; }
                accum(row, srcs, offs, nt, g->gw, q.SW, started);
                started = 1;
                t0 += nt;
            } while (t0 < t1);
        }
        // merge the phases back into the plane with the bias and ReLU, each pixel stored once
        // (a separate pass over the line would read vectors that straddle the merge's scalar
        // stores, which the store buffer cannot forward)
        float *plane = dst + (long)c * plane_size;
        const float b = g->bias ? g->bias[c] : 0.0f;
        const int mode = g->relu ? 2 : g->bias ? 1 : 0;
        const float zero = col2im_out(0.0f, b, mode);
        for (int y = 0; y < g->H; y++) {
            float *line = plane + (long)y * g->W;
            int yp = y + p;
            if (yp >= q.Hp) {
                for (int x = 0; x < g->W; x++) line[x] = zero;
                continue;
            }
            const float *prow = ph + (long)(yp % s) * s * q.SH * q.SW + (long)(yp / s) * q.SW;
            if (merge_whole) {   // stride 2, every column inside the padded plane: one pass
                merge2(line, prow, prow + (long)q.SH * q.SW, g->W, p, b, mode);
                continue;
            }
            for (int bph = 0; bph < s; bph++) {
                const float *sub = prow + (long)bph * q.SH * q.SW;
                int v0, v1, vc;
                merge_columns(g, &q, bph, &v0, &v1, &vc);
                float *out = line + bph - p;
                for (int v = v0; v < vc; v++) out[(long)v * s] = col2im_out(sub[v], b, mode);
                for (int v = vc; v < v1; v++) out[(long)v * s] = zero;
            }
        }
    }
    if (taps != tap_stack) free(taps);
    if (start != start_stack) free(start);
}

// The phase planes of one channel live on the stack of the task (a few KB for the VAE's
// images), or on the heap for large images.
#define VK_PHASE_STACK 16384
#define VK_GEO_VARIANT(name, level, attr, ...)                                                     \
    attr static void name##_task_##level(void *ctx, int t) {                                       \
        long need = phase_floats((const geo_job *)ctx) + VK_PHASE_SLACK;                           \
        float stackbuf[VK_PHASE_STACK] __attribute__((aligned(64)));                               \
        float *ph = need <= VK_PHASE_STACK ? stackbuf : (float *)malloc(sizeof(float) * need);     \
        if (!ph) abort();                                                                          \
        name##_task_body(ctx, t, ph, __VA_ARGS__);                                                 \
        if (ph != stackbuf) free(ph);                                                              \
    }
VK_GEO_VARIANT(im2col, portable, , run_copy_portable, run_evens_portable)
VK_GEO_VARIANT(col2im, portable, , run_accum_portable, run_merge2_portable)
#if defined(__x86_64__)
VK_GEO_VARIANT(im2col, avx2, __attribute__((target("avx2"))), run_copy_avx2, run_evens_avx2)
VK_GEO_VARIANT(col2im, avx2, __attribute__((target("avx2"))), run_accum_avx2, run_merge2_avx2)
VK_GEO_VARIANT(im2col, avx512, __attribute__((target("avx512f,avx2"))), run_copy_avx512, run_evens_avx512)
VK_GEO_VARIANT(col2im, avx512, __attribute__((target("avx512f,avx2"))), run_accum_avx512, run_merge2_avx512)
#endif

void vk_im2col(const float *images, int n, int channels, int H, int W, int gh, int gw, int kh, int kw,
               int stride, int pad, float *cols) {
    geo_job g = { images, cols, n, channels, H, W, gh, gw, kh, kw, stride, pad, NULL, 0 };
    vk_parallel(n, VK_PICK(im2col_task), &g);
}

void vk_col2im(const float *cols, int n, int channels, int H, int W, int gh, int gw, int kh, int kw,
               int stride, int pad, float *images, const float *bias, int relu) {
    geo_job g = { cols, images, n, channels, H, W, gh, gw, kh, kw, stride, pad, bias, relu };
    vk_parallel(n, VK_PICK(col2im_task), &g);
}

// ---------------------------------------------------------------- layouts
typedef struct {
    const float *src, *bias;
    float *dst;
    int n, c, p, relu;
} layout_job;

// Sum of p floats in 8 lanes (fixed order), lanes added in order.
static inline float sum8(const float *d, int p) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= p; i += 8)
        for (int l = 0; l < 8; l++) acc[l] = acc[l] + d[i + l];
    for (int l = 0; i < p; i++, l++) acc[l] = acc[l] + d[i];
    float s = 0.0f;
    for (int l = 0; l < 8; l++) s = s + acc[l];
    return s;
}

// dst[img, ch, i] = act(src[ch, img*P + i] + bias[ch]). One task per image.
__attribute__((always_inline)) static inline void to_bm_task_body(void *ctx, int img) {
    const layout_job *j = (const layout_job *)ctx;
    const long p = j->p;
    for (int ch = 0; ch < j->c; ch++) {
        const float *s = j->src + (long)ch * j->n * p + (long)img * p;
        float *d = j->dst + ((long)img * j->c + ch) * p;
        float b = j->bias ? j->bias[ch] : 0.0f;
        if (j->relu) {
            for (long i = 0; i < p; i++) { float v = s[i] + b; d[i] = v > 0.0f ? v : 0.0f; }
        } else if (j->bias) {
            for (long i = 0; i < p; i++) d[i] = s[i] + b;
        } else {
            memcpy(d, s, sizeof(float) * p);
        }
    }
}

VK_LEVELS(to_bm_task)

void vk_to_batch_major(const float *src, int n, int c, int p, const float *bias, int relu, float *dst) {
    layout_job j = { src, bias, dst, n, c, p, relu };
    vk_parallel(n, VK_PICK(to_bm_task), &j);
}

// Images [img0, img1) of an NCHW batch on the calling thread (a conv layer's group): g = dy where
// y > 0 (y NULL: g = dy; dst == dy then writes nothing), stored channel-major (dst_ld > 0: at
// dst + ch·dst_ld + img·p) or NCHW (dst_ld == 0), and sums[img·c + ch] = sum8 of the image's
// channel; vk_add_image_sums adds those per channel in image order: the bias gradient in an order
// that does not depend on how the images are grouped or on the thread count.
__attribute__((always_inline)) static inline void relu_grad_images_body(const float *dy, const float *y, int img0, int img1,
                                                                        int c, int p, float *dst, long dst_ld, float *sums) {
    for (int img = img0; img < img1; img++) {
        for (int ch = 0; ch < c; ch++) {
            long off = ((long)img * c + ch) * p;
            const float *src = dy + off;
            float *d = dst_ld > 0 ? dst + (long)ch * dst_ld + (long)img * p : dst + off;
            if (y) {
                const float *r = y + off;
                for (long i = 0; i < p; i++) d[i] = r[i] > 0.0f ? src[i] : 0.0f;
            } else if (d != src) {
                memcpy(d, src, sizeof(float) * p);
            }
            sums[(long)img * c + ch] = sum8(d, p);
        }
    }
}
static void relu_grad_images_portable(const float *dy, const float *y, int img0, int img1, int c, int p, float *dst,
                                      long dst_ld, float *sums) {
    relu_grad_images_body(dy, y, img0, img1, c, p, dst, dst_ld, sums);
}
#if defined(__x86_64__)
__attribute__((target("avx2"))) static void relu_grad_images_avx2(const float *dy, const float *y, int img0, int img1, int c,
                                                                   int p, float *dst, long dst_ld, float *sums) {
    relu_grad_images_body(dy, y, img0, img1, c, p, dst, dst_ld, sums);
}
__attribute__((target("avx512f,avx2"))) static void relu_grad_images_avx512(const float *dy, const float *y, int img0, int img1,
                                                                             int c, int p, float *dst, long dst_ld, float *sums) {
    relu_grad_images_body(dy, y, img0, img1, c, p, dst, dst_ld, sums);
}
#endif

void vk_relu_grad_images(const float *dy, const float *y, int img0, int img1, int c, int p, float *dst, long dst_ld,
                         float *sums) {
#if defined(__x86_64__)
    int level = vk_kernel_level();
    if (level >= 3) { relu_grad_images_avx512(dy, y, img0, img1, c, p, dst, dst_ld, sums); return; }
    if (level == 2) { relu_grad_images_avx2(dy, y, img0, img1, c, p, dst, dst_ld, sums); return; }
#endif
    relu_grad_images_portable(dy, y, img0, img1, c, p, dst, dst_ld, sums);
}

void vk_add_image_sums(const float *sums, int n, int c, float *bias_grad) {
    for (int ch = 0; ch < c; ch++) {
        float s = 0.0f;
        for (int img = 0; img < n; img++) s = s + sums[(long)img * c + ch];
        bias_grad[ch] = bias_grad[ch] + s;
    }
}

// ---------------------------------------------------------------- partial sums
typedef struct {
    float *dst;
    const float *parts;
    int nparts;
    long len, chunk;
} parts_job;

__attribute__((always_inline)) static inline void sum_parts_task_body(void *ctx, int t) {
    const parts_job *j = (const parts_job *)ctx;
    long e0 = (long)t * j->chunk, e1 = e0 + j->chunk < j->len ? e0 + j->chunk : j->len;
    for (int q = 0; q < j->nparts; q++) {
        const float *src = j->parts + (long)q * j->len;
        for (long e = e0; e < e1; e++) j->dst[e] = j->dst[e] + src[e];
    }
}

VK_LEVELS(sum_parts_task)

void vk_sum_parts(float *dst, const float *parts, int nparts, long len) {
    if (nparts <= 0 || len <= 0) return;
    parts_job j = { dst, parts, nparts, len, 4096 };
    vk_parallel((int)((len + j.chunk - 1) / j.chunk), VK_PICK(sum_parts_task), &j);
}


// ---------------------------------------------------------------- direct stride-1 transposed convolution
// A stride-1 ConvTranspose2D with one output channel (a grayscale conv decoder's last layer: 32 →
// 1 channel, 3×3; the kernel itself takes any count) as a GEMM has operands 9 rows, 9 columns or
// 9 deep, which an 8×32 tile serves poorly, plus a column matrix written and read each way. Here each image is staged into
// zero-bordered planes (rows padded to whole 16-float chunks) and every sum runs over whole rows:
//   y[co, oy, ox]  = act(b[co] + Σ_ci Σ_t Σ_u W[ci, co, t, u] · xp[ci, oy + k−1−t, ox + k−1−u])
//   dx[ci, iy, ix] = Σ_co Σ_t Σ_u W[ci, co, t, u] · gp[co, iy + t, ix + u]
//   dW[ci, co, t, u] = Σ_img Σ_oy Σ_ox gp[co, oy + p, ox + p] · xp[ci, oy + k−1−t, ox + k−1−u]
// with xp[ci, r, c] = x[ci, r − q, c − q] (q = k − 1 − p) and gp[co, r, c] = G[co, r − p, c − p],
// zero outside. Each pixel's sum runs in the order written (ci, t, u or co, t, u), and dW's in
// 16 lanes (ox mod 16) summed in order at the end of each group of images: element-wise
// operations with no contraction, so every kernel level and thread count gives the same bits.
// Rows of output summed together (independent add chains; every pixel's order is unchanged).
#define CT1_ROWS 4

typedef struct {
    const float *x, *dy, *y, *w, *bias;
    float *out, *dx, *dw_parts, *sums;
    int n, cin, cout, H, W, k, pad, relu, group;
    int OH, OW, OW16, W16, XR, XS, GR, GS;
} convt1_job;

static void convt1_geometry(convt1_job *j) {
    j->OH = j->H + j->k - 1 - 2 * j->pad;
    j->OW = j->W + j->k - 1 - 2 * j->pad;
    j->OW16 = (j->OW + 15) & ~15;
    j->W16 = (j->W + 15) & ~15;
    j->XR = j->OH + j->k - 1 + CT1_ROWS - 1;
    j->XS = j->OW16 + j->k - 1;
    j->GR = j->H + j->k - 1 + CT1_ROWS - 1;
    j->GS = (j->W16 > j->OW16 ? j->W16 : j->OW16) + j->k - 1;
}

static inline long convt1_xp_floats(const convt1_job *j) { return (long)j->cin * j->XR * j->XS; }
static inline long convt1_gp_floats(const convt1_job *j) { return (long)j->cout * j->GR * j->GS; }

// Image img's x into xp's interior (the border stays as zeroed at the task's start).
static inline __attribute__((always_inline)) void convt1_stage_x(const convt1_job *j, int img, float *xp) {
    int q = j->k - 1 - j->pad;
    for (int ci = 0; ci < j->cin; ci++)
        for (int iy = 0; iy < j->H; iy++) {
            const float *s = j->x + (((long)img * j->cin + ci) * j->H + iy) * j->W;
            float *d = xp + ((long)ci * j->XR + iy + q) * j->XS + q;
            for (int ix = 0; ix < j->W; ix++) d[ix] = s[ix];
        }
}

__attribute__((always_inline)) static inline void convt1_forward_images(const convt1_job *j, int img0, int img1, const int k) {
    float *xp = vk_thread_scratch(0, convt1_xp_floats(j));
    memset(xp, 0, sizeof(float) * (size_t)convt1_xp_floats(j));
    for (int img = img0; img < img1; img++) {
        convt1_stage_x(j, img, xp);
        for (int co = 0; co < j->cout; co++) {
            float b = j->bias ? j->bias[co] : 0.0f;
            for (int oy = 0; oy < j->OH; oy += CT1_ROWS)
                for (int v0 = 0; v0 < j->OW16; v0 += 16) {
                    float a[CT1_ROWS][16];
                    for (int rr = 0; rr < CT1_ROWS; rr++)
                        for (int l = 0; l < 16; l++) a[rr][l] = 0.0f;
                    for (int ci = 0; ci < j->cin; ci++) {
                        const float *wt = j->w + ((long)ci * j->cout + co) * k * k;
                        const float *base = xp + ((long)ci * j->XR + oy + k - 1) * j->XS + k - 1 + v0;
                        for (int tt = 0; tt < k; tt++)
                            for (int u = 0; u < k; u++) {
                                float wv = wt[tt * k + u];
                                const float *r = base - (long)tt * j->XS - u;
                                for (int rr = 0; rr < CT1_ROWS; rr++)
                                    for (int l = 0; l < 16; l++) a[rr][l] = a[rr][l] + wv * r[(long)rr * j->XS + l];
                            }
                    }
                    for (int rr = 0; rr < CT1_ROWS && oy + rr < j->OH; rr++) {
                        float *d = j->out + (((long)img * j->cout + co) * j->OH + oy + rr) * j->OW + v0;
                        int n = j->OW - v0 < 16 ? j->OW - v0 : 16;
                        for (int l = 0; l < n; l++) {
                            float s = a[rr][l] + b;
                            d[l] = j->relu && !(s > 0.0f) ? 0.0f : s;
                        }
                    }
                }
        }
    }
}

__attribute__((always_inline)) static inline void convt1_forward_task_body(void *ctx, int t) {
    const convt1_job *j = (const convt1_job *)ctx;
    int img0 = t * j->group, img1 = img0 + j->group < j->n ? img0 + j->group : j->n;
    if (j->k == 3) convt1_forward_images(j, img0, img1, 3);
    else convt1_forward_images(j, img0, img1, j->k);
}

__attribute__((always_inline)) static inline void convt1_backward_images(const convt1_job *j, int t, int img0, int img1, const int k) {
    int p = j->pad;
    long kk = (long)k * k, nw = (long)j->cin * j->cout * kk;
    float *xp = vk_thread_scratch(0, convt1_xp_floats(j) + convt1_gp_floats(j) + nw * 16);
    float *gp = xp + convt1_xp_floats(j), *lanes = gp + convt1_gp_floats(j);
    memset(xp, 0, sizeof(float) * (size_t)(convt1_xp_floats(j) + convt1_gp_floats(j) + nw * 16));
    for (int img = img0; img < img1; img++) {
        // G = dy ⊙ [y > 0] into gp's interior, with each channel's sum (row by row, in order)
        for (int co = 0; co < j->cout; co++) {
            float s = 0.0f;
            for (int oy = 0; oy < j->OH; oy++) {
                long o = (((long)img * j->cout + co) * j->OH + oy) * j->OW;
                float *d = gp + ((long)co * j->GR + oy + p) * j->GS + p;
                for (int ox = 0; ox < j->OW; ox++) {
                    float g = j->dy[o + ox];
                    if (j->y && !(j->y[o + ox] > 0.0f)) g = 0.0f;
                    d[ox] = g;
                }
                for (int ox = 0; ox < j->OW; ox++) s = s + d[ox];
            }
            j->sums[(long)img * j->cout + co] = s;
        }
        convt1_stage_x(j, img, xp);
        // dW's lanes: lanes[e·16 + l] += Σ over the rows of gp · xp at columns ≡ l (mod 16), the
        // k·k taps of one (ci, co) together (independent add chains)
        for (int ci = 0; ci < j->cin; ci++)
            for (int co = 0; co < j->cout; co++) {
                float *L = lanes + (((long)ci * j->cout + co) * kk) * 16;
                float a[kk][16];
                for (long e = 0; e < kk; e++)
                    for (int l = 0; l < 16; l++) a[e][l] = L[e * 16 + l];
                for (int oy = 0; oy < j->OH; oy++)
                    for (int v0 = 0; v0 < j->OW16; v0 += 16) {
                        const float *g = gp + ((long)co * j->GR + oy + p) * j->GS + p + v0;
                        const float *xr = xp + ((long)ci * j->XR + oy + k - 1) * j->XS + k - 1 + v0;
                        for (int tt = 0; tt < k; tt++)
                            for (int u = 0; u < k; u++) {
                                const float *r = xr - (long)tt * j->XS - u;
                                for (int l = 0; l < 16; l++) a[tt * k + u][l] = a[tt * k + u][l] + g[l] * r[l];
                            }
                    }
                for (long e = 0; e < kk; e++)
                    for (int l = 0; l < 16; l++) L[e * 16 + l] = a[e][l];
            }
        if (!j->dx) continue;
        for (int ci = 0; ci < j->cin; ci++)
            for (int iy = 0; iy < j->H; iy += CT1_ROWS)
                for (int v0 = 0; v0 < j->W16; v0 += 16) {
                    float a[CT1_ROWS][16];
                    for (int rr = 0; rr < CT1_ROWS; rr++)
                        for (int l = 0; l < 16; l++) a[rr][l] = 0.0f;
                    for (int co = 0; co < j->cout; co++) {
                        const float *wt = j->w + ((long)ci * j->cout + co) * k * k;
                        const float *base = gp + ((long)co * j->GR + iy) * j->GS + v0;
                        for (int tt = 0; tt < k; tt++)
                            for (int u = 0; u < k; u++) {
                                float wv = wt[tt * k + u];
                                const float *r = base + (long)tt * j->GS + u;
                                for (int rr = 0; rr < CT1_ROWS; rr++)
                                    for (int l = 0; l < 16; l++) a[rr][l] = a[rr][l] + wv * r[(long)rr * j->GS + l];
                            }
                    }
                    for (int rr = 0; rr < CT1_ROWS && iy + rr < j->H; rr++) {
                        float *d = j->dx + (((long)img * j->cin + ci) * j->H + iy + rr) * j->W + v0;
                        int n = j->W - v0 < 16 ? j->W - v0 : 16;
                        for (int l = 0; l < n; l++) d[l] = a[rr][l];
                    }
                }
    }
    float *part = j->dw_parts + (long)t * nw;
    for (long e = 0; e < nw; e++) {
        const float *L = lanes + e * 16;
        float s = L[0];
        for (int l = 1; l < 16; l++) s = s + L[l];
        part[e] = s;
    }
}

__attribute__((always_inline)) static inline void convt1_backward_task_body(void *ctx, int t) {
    const convt1_job *j = (const convt1_job *)ctx;
    int img0 = t * j->group, img1 = img0 + j->group < j->n ? img0 + j->group : j->n;
    if (j->k == 3) convt1_backward_images(j, t, img0, img1, 3);
    else convt1_backward_images(j, t, img0, img1, j->k);
}

VK_LEVELS(convt1_forward_task)
VK_LEVELS(convt1_backward_task)

void vk_convt1_forward(const float *x, int n, int cin, int cout, int H, int W, int k, int pad, const float *w,
                       const float *bias, int relu, int group, float *y) {
    convt1_job j = { 0 };
    j.x = x; j.w = w; j.bias = bias; j.out = y;
    j.n = n; j.cin = cin; j.cout = cout; j.H = H; j.W = W; j.k = k; j.pad = pad; j.relu = relu; j.group = group;
    convt1_geometry(&j);
    vk_parallel((n + group - 1) / group, VK_PICK(convt1_forward_task), &j);
}

void vk_convt1_backward(const float *x, const float *dy, const float *y, int n, int cin, int cout, int H, int W, int k,
                        int pad, const float *w, int group, float *dx, float *dw_parts, float *sums) {
    convt1_job j = { 0 };
    j.x = x; j.dy = dy; j.y = y; j.w = w; j.dx = dx; j.dw_parts = dw_parts; j.sums = sums;
    j.n = n; j.cin = cin; j.cout = cout; j.H = H; j.W = W; j.k = k; j.pad = pad; j.group = group;
    convt1_geometry(&j);
    vk_parallel((n + group - 1) / group, VK_PICK(convt1_backward_task), &j);
}
