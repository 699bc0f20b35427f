// Portable C micro-kernel (4 x 16 tile), used where neither AVX-512 nor AVX2+FMA is available
// (and on non-x86 machines, where the compiler vectorises it for the baseline target).
#include "vk_internal.h"

#define P_MR 4
#define P_NR 16

static void ukr_portable_4x16(long kc, const float *A, const float *B, float *C, long ldc,
                              float alpha, float beta, const float *bias, int relu) {
    float acc[P_MR][P_NR];
    for (int i = 0; i < P_MR; i++)
        for (int j = 0; j < P_NR; j++) acc[i][j] = 0.0f;
    for (long p = 0; p < kc; p++) {
        const float *b = B + p * P_NR;
        for (int i = 0; i < P_MR; i++) {
            float a = A[p * P_MR + i];
            for (int j = 0; j < P_NR; j++) acc[i][j] += a * b[j];
        }
    }
    for (int i = 0; i < P_MR; i++) {
        float *c = C + (long)i * ldc;
        for (int j = 0; j < P_NR; j++) {
            float t = alpha * acc[i][j];
            if (beta != 0.0f) t = beta * c[j] + t;
            if (bias) t = t + bias[j];
            if (relu && !(t > 0.0f)) t = 0.0f;
            c[j] = t;
        }
    }
}

#define VK_MR P_MR
#define VK_NR P_NR
#define VK_PACK_A_NAME pack_a_portable
#define VK_PACK_B_NAME pack_b_portable
#define VK_TARGET
#include "pack_tmpl.h"

static const vk_kernel k_portable = {
    1, P_MR, P_NR, 256, 128, 4096, ukr_portable_4x16, NULL, pack_a_portable, pack_b_portable,
    "portable C 4x16 tile",
};

const vk_kernel *vk_kernel_portable(void) { return &k_portable; }
