// Internal declarations shared by the CVAEKernels C files (not part of the public header).
#ifndef VK_INTERNAL_H
#define VK_INTERNAL_H
#include "vaekernels.h"
#include <stdint.h>

// Micro-kernel: C[MR x NR] = act(alpha * Ap·Bp + beta * C + bias), over kc steps of packed
// panels (Ap: kc x MR, Bp: kc x NR, both contiguous). beta == 0: C is not read.
// bias == NULL: no bias (else NR values). relu != 0: max(x, 0).
typedef void (*vk_ukr_fn)(long kc, const float *Ap, const float *Bp, float *C, long ldc,
                          float alpha, float beta, const float *bias, int relu);
// Edge tile: only mr rows (<= MR) and nr columns (<= NR) of C are read/written; same
// per-element arithmetic as the full tile.
typedef void (*vk_ukr_edge_fn)(long kc, const float *Ap, const float *Bp, float *C, long ldc,
                               float alpha, float beta, const float *bias, int relu, int mr, int nr);
// Pack the m x k block of op(A) starting at A (already offset) into ceil(m/MR) panels of
// MR x k (zero-padded rows).
typedef void (*vk_pack_a_fn)(int trans, const float *A, long lda, int m, int k, float *dst);
// Pack the k x n block of op(B) starting at B into ceil(n/NR) panels of k x NR (zero-padded).
typedef void (*vk_pack_b_fn)(int trans, const float *B, long ldb, int k, int n, float *dst);

// Rows [u0, u1) of C = alpha·Aᵀ·B + beta·C where A (K x M, row stride lda) is mostly zeros (a
// ReLU layer's masked gradient) and B (K x N) is packed by the level's pack_b, K block at
// B + ldb·pc: the rows of C in groups of 8, one list per row of A's non-zeros in K order (in
// `steps`, kcb per group), every element summed over its list by FMA — the bits of the dense
// kernel (K blocks of kcb, each summed from zero in K order, then alpha·sum + beta·C; a skipped
// term is a zero, which changes no sum).
typedef struct { int32_t off[8]; float val[8]; } vk_sparse_step;
typedef void (*vk_sparse_tn_fn)(int N, int K, int kcb, float alpha, const float *A, long lda,
                                const float *B, long ldb, float beta, float *C, long ldc,
                                int u0, int u1, vk_sparse_step *steps);

typedef struct {
    int level;          // 3 avx512, 2 avx2, 1 portable
    int mr, nr;         // register tile
    int kc, mc, nc;     // cache blocks (mc multiple of mr, nc multiple of nr)
    vk_ukr_fn ukr;
    vk_ukr_edge_fn ukr_edge;    // NULL: edges go through a temporary full tile
    vk_pack_a_fn pack_a;
    vk_pack_b_fn pack_b;
    const char *name;
    vk_sparse_tn_fn sparse_tn;  // NULL: no sparse product at this level (vk_sgemm_adam_sparse_a runs the dense one)
} vk_kernel;

#define VK_MR_MAX 8
#define VK_NR_MAX 32

const vk_kernel *vk_kernel_portable(void);
#if defined(__x86_64__)
const vk_kernel *vk_kernel_avx2(void);
const vk_kernel *vk_kernel_avx512(void);
#endif

// 1 while the calling thread runs a pool task (nested vk_parallel calls run inline).
int vk_in_pool_task(void);

// OpenBLAS backend (blas.c)
int vk_blas_load(void);                 // 0 on success
int vk_blas_sgemm(int transA, int transB, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc);
const char *vk_blas_description(void);

// Adam's moments decay geometrically (m by β1 = 0.9 a step): the m of a rarely active input
// falls below FLT_MIN within a few hundred steps, and every operation on a subnormal costs
// Intel's cores a microcode assist (~100 cycles; AMD's cores none) — on an Intel Xeon, half of a
// batch-32 mlp step. Adam therefore computes with subnormals flushed to zero (MXCSR's FTZ and
// DAZ, as XLA's CPU threads do), on every kernel level: x86's scalar code obeys MXCSR too, so the
// portable, AVX2 and AVX-512 updates keep giving the same bits. The caller's mode is restored.
#if defined(__x86_64__)
#include <xmmintrin.h>
static inline unsigned vk_flush_subnormals_begin(void) {
    unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u);   // FTZ (bit 15) | DAZ (bit 6)
    return csr;
}
static inline void vk_flush_subnormals_end(unsigned csr) { _mm_setcsr(csr); }
#else
static inline unsigned vk_flush_subnormals_begin(void) { return 0; }
static inline void vk_flush_subnormals_end(unsigned csr) { (void)csr; }
#endif

// vk_adam_rows with the kernel level already known (the GEMM's, for its fused epilogue).
void vk_adam_rows_at_level(int level, const vk_adam_args *a, const float *g, int rows, int cols, long ld);

// Epilogue pass: C = act(C + bias) (used by the BLAS backend and degenerate shapes).
void vk_epilogue_pass(int M, int N, float *C, int ldc, const float *bias, int act);
#endif
