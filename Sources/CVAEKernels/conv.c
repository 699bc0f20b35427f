// Convolution helpers: im2col / col2im in the "channels × (batch · positions)" layout, and the
// layout changes between NCHW and channel-major [C, N·P] fused with bias, ReLU, its derivative
// and the bias gradient. Plain C written so that the inner loops are branch-free ranges (the
// compiler vectorises them); work is split over images (each image written by one task) or
// over channels (each channel's sum in one fixed order), never depending on the thread count.
#include "vk_internal.h"
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

// Valid grid columns [gx0, gx1) for kernel column j: 0 <= gx*s - p + j < W.
static inline void gx_range(const geo_job *g, int j, int *gx0, int *gx1) {
    int a = ceil_div_pos(g->pad - j, g->stride);
    int b = ceil_div_pos(g->W + g->pad - j, g->stride);
    if (b > g->gw) b = g->gw;
    if (a > b) a = b;
    *gx0 = a;
    *gx1 = b;
}

__attribute__((always_inline)) static inline void im2col_task_body(void *ctx, int img) {
    const geo_job *g = (const geo_job *)ctx;
    const long P = (long)g->gh * g->gw, ld = (long)g->n * P;
    const float *src = g->src + (long)img * g->channels * g->H * g->W;
    for (int c = 0; c < g->channels; c++) {
        const float *plane = src + (long)c * g->H * g->W;
        for (int i = 0; i < g->kh; i++) {
            for (int j = 0; j < g->kw; j++) {
                long row = ((long)c * g->kh + i) * g->kw + j;
                float *dst = g->dst + row * ld + (long)img * P;
                int gx0, gx1;
                gx_range(g, j, &gx0, &gx1);
                for (int gy = 0; gy < g->gh; gy++) {
                    int y = gy * g->stride - g->pad + i;
                    float *out = dst + (long)gy * g->gw;
                    if (y < 0 || y >= g->H) { memset(out, 0, sizeof(float) * g->gw); continue; }
                    const float *line = plane + (long)y * g->W - g->pad + j;
                    for (int gx = 0; gx < gx0; gx++) out[gx] = 0.0f;
                    if (g->stride == 1) {
                        memcpy(out + gx0, line + gx0, sizeof(float) * (gx1 - gx0));
                    } else if (g->stride == 2) {
                        for (int gx = gx0; gx < gx1; gx++) out[gx] = line[2 * gx];
                    } else {
                        for (int gx = gx0; gx < gx1; gx++) out[gx] = line[(long)gx * g->stride];
                    }
                    for (int gx = gx1; gx < g->gw; gx++) out[gx] = 0.0f;
                }
            }
        }
    }
}

VK_LEVELS(im2col_task)

void vk_im2col(const float *images, int n, int channels, int H, int W, int gh, int gw, int kh, int kw,
               int stride, int pad, float *cols) {
    geo_job g = { images, cols, n, channels, H, W, gh, gw, kh, kw, stride, pad, NULL, 0 };
    vk_parallel(n, VK_PICK(im2col_task), &g);
}

__attribute__((always_inline)) static inline void col2im_task_body(void *ctx, int img) {
    const geo_job *g = (const geo_job *)ctx;
    const long P = (long)g->gh * g->gw, ld = (long)g->n * P, plane_size = (long)g->H * g->W;
    float *dst = g->dst + (long)img * g->channels * plane_size;
    memset(dst, 0, sizeof(float) * g->channels * plane_size);
    for (int c = 0; c < g->channels; c++) {
        float *plane = dst + (long)c * plane_size;
        for (int i = 0; i < g->kh; i++) {
            for (int j = 0; j < g->kw; j++) {
                long row = ((long)c * g->kh + i) * g->kw + j;
                const float *src = g->src + row * ld + (long)img * P;
                int gx0, gx1;
                gx_range(g, j, &gx0, &gx1);
                for (int gy = 0; gy < g->gh; gy++) {
                    int y = gy * g->stride - g->pad + i;
                    if (y < 0 || y >= g->H) continue;
                    float *line = plane + (long)y * g->W - g->pad + j;
                    const float *in = src + (long)gy * g->gw;
                    if (g->stride == 1) {
                        for (int gx = gx0; gx < gx1; gx++) line[gx] = line[gx] + in[gx];
                    } else if (g->stride == 2) {
                        for (int gx = gx0; gx < gx1; gx++) line[2 * gx] = line[2 * gx] + in[gx];
                    } else {
                        for (int gx = gx0; gx < gx1; gx++) line[(long)gx * g->stride] = line[(long)gx * g->stride] + in[gx];
                    }
                }
            }
        }
        if (g->bias || g->relu) {   // epilogue while the plane is in cache
            float b = g->bias ? g->bias[c] : 0.0f;
            if (g->relu) {
                for (long t = 0; t < plane_size; t++) { float v = plane[t] + b; plane[t] = v > 0.0f ? v : 0.0f; }
            } else {
                for (long t = 0; t < plane_size; t++) plane[t] = plane[t] + b;
            }
        }
    }
}

VK_LEVELS(col2im_task)

void vk_col2im(const float *cols, int n, int channels, int H, int W, int gh, int gw, int kh, int kw,
               int stride, int pad, float *images, const float *bias, int relu) {
    geo_job g = { cols, images, n, channels, H, W, gh, gw, kh, kw, stride, pad, bias, relu };
    vk_parallel(n, VK_PICK(col2im_task), &g);
}

// ---------------------------------------------------------------- layouts
typedef struct {
    const float *src, *relu_out, *bias;
    float *dst, *bias_grad;
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

// dst[ch, img*P + i] = src[img, ch, i] (masked by relu_out > 0); bias_grad[ch] += Σ (per image
// in order). One task per channel.
__attribute__((always_inline)) static inline void to_cm_task_body(void *ctx, int ch) {
    const layout_job *j = (const layout_job *)ctx;
    const long p = j->p;
    float s = 0.0f;
    for (int img = 0; img < j->n; img++) {
        const float *src = j->src + ((long)img * j->c + ch) * p;
        float *d = j->dst + (long)ch * j->n * p + (long)img * p;
        if (j->relu_out) {
            const float *r = j->relu_out + ((long)img * j->c + ch) * p;
            for (long i = 0; i < p; i++) d[i] = r[i] > 0.0f ? src[i] : 0.0f;
        } else {
            memcpy(d, src, sizeof(float) * p);
        }
        if (j->bias_grad) s = s + sum8(d, (int)p);
    }
    if (j->bias_grad) j->bias_grad[ch] = j->bias_grad[ch] + s;
}

VK_LEVELS(to_cm_task)

void vk_to_channel_major(const float *src, int n, int c, int p, const float *relu_out, float *dst, float *bias_grad) {
    layout_job j = { src, relu_out, NULL, dst, bias_grad, n, c, p, 0 };
    vk_parallel(c, VK_PICK(to_cm_task), &j);
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
    layout_job j = { src, NULL, bias, dst, NULL, n, c, p, relu };
    vk_parallel(n, VK_PICK(to_bm_task), &j);
}

// NCHW in place of layout: dx[img, ch, i] = (y > 0 ? dy : 0) (y may be NULL: dx = dy, or no
// write when dx == dy) and bias_grad[ch] += Σ over images in order. One task per channel.
__attribute__((always_inline)) static inline void chansum_task_body(void *ctx, int ch) {
    const layout_job *j = (const layout_job *)ctx;
    const long p = j->p;
    float s = 0.0f;
    for (int img = 0; img < j->n; img++) {
        long off = ((long)img * j->c + ch) * p;
        const float *src = j->src + off;
        float *d = j->dst + off;
        if (j->relu_out) {
            const float *r = j->relu_out + off;
            for (long i = 0; i < p; i++) d[i] = r[i] > 0.0f ? src[i] : 0.0f;
        } else if (d != src) {
            memcpy(d, src, sizeof(float) * p);
        }
        s = s + sum8(d, (int)p);
    }
    j->bias_grad[ch] = j->bias_grad[ch] + s;
}

VK_LEVELS(chansum_task)

void vk_relu_backward_chansum(const float *dy, const float *y, float *dx, int n, int c, int p, float *bias_grad) {
    layout_job j = { dy, y, NULL, dx, bias_grad, n, c, p, 0 };
    vk_parallel(c, VK_PICK(chansum_task), &j);
}
