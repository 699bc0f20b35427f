// The lists of the sparse product (vk_sparse_tn_fn) for one K block, shared by the AVX2 and AVX-512
// levels. Requires VK_TARGET. Rows [u0, u0 + U) of C: each row's non-zeros in A's rows
// [pc, pc + kc) counted, the rows ordered by count, most first (a ReLU layer's units differ widely:
// some on for most images, many for few), into `perm` (groups × 8, −1 past U); then every 8 rows of
// that order form a group whose lists go in step — step s of group g (steps + g·kcb + s) holds the
// s-th non-zero of each of its rows (A's value, and `nr`·p, the offset of B's row p in a packed
// panel), the shorter lists padded with zeros at offset 0 (0·b adds nothing); lens[g] is the
// longest list. A's rows are read once, front to back, for the lists; a NaN counts as a non-zero,
// as the dense product would carry it. The order of the rows changes no element's sum.
#include <immintrin.h>

VK_TARGET
static void sparse_lists(const float *A, long lda, int pc, int kc, int kcb, int u0, int U, int nr,
                         int *cnt, int *grp, int *perm, int *lens, int *bucket, vk_sparse_step *steps) {
    int groups = (U + 7) / 8;
    for (int u = 0; u < U; u++) cnt[u] = 0;
    const float *a = A + (long)pc * lda + u0;
    for (int p = 0; p < kc; p++, a += lda)
        for (int u = 0; u < U; u++) cnt[u] += a[u] != 0.0f;
    for (int q = 0; q <= kc + 1; q++) bucket[q] = 0;
    for (int u = 0; u < U; u++) bucket[kc - cnt[u] + 1]++;
    for (int q = 1; q <= kc + 1; q++) bucket[q] += bucket[q - 1];
    for (int u = 0; u < U; u++) perm[bucket[kc - cnt[u]]++] = u0 + u;
    for (int q = U; q < groups * 8; q++) perm[q] = -1;
    for (int q = 0; q < U; q++) { grp[perm[q] - u0] = q; cnt[perm[q] - u0] = 0; }
    a = A + (long)pc * lda + u0;
    const __m256 zero = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++, a += lda) {
        int32_t off = p * nr;
        int u8 = 0;
        for (; u8 < U; u8 += 8) {
            unsigned m;
            if (u8 + 8 <= U) m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(a + u8), zero, _CMP_NEQ_UQ));
            else {
                m = 0;
                for (int u = u8; u < U; u++) m |= (unsigned)(a[u] != 0.0f) << (u - u8);
            }
            while (m) {
                int u = u8 + __builtin_ctz(m);
                m &= m - 1;
                int q = grp[u];
                vk_sparse_step *e = steps + (long)(q >> 3) * kcb + cnt[u]++;
                e->off[q & 7] = off;
                e->val[q & 7] = a[u];
            }
        }
    }
    for (int g = 0; g < groups; g++) {
        vk_sparse_step *S = steps + (long)g * kcb;
        int L = 0, n[8];
        for (int r = 0; r < 8; r++) {
            int u = perm[8 * g + r];
            n[r] = u >= 0 ? cnt[u - u0] : 0;
            L = n[r] > L ? n[r] : L;
        }
        for (int r = 0; r < 8; r++)
            for (int q = n[r]; q < L; q++) { S[q].off[r] = 0; S[q].val[r] = 0.0f; }
        lens[g] = L;
    }
}

// All columns of C for one K block: the level's register blocks over the group's steps.
typedef void (*sparse_columns_fn)(int N, int groups, const int *lens, const int *perm,
                                  const vk_sparse_step *steps, int kcb, int kc, const float *Bk,
                                  float *C, long ldc, float alpha, float bt);

// The body of a level's vk_sparse_tn_fn: per K block, the lists, then `columns`; `nr` is the
// level's packed panel width (B's row p at + nr·p in its panel).
VK_TARGET
static void sparse_tn_run(int N, int K, int kcb, float alpha, const float *A, long lda,
                          const float *B, long ldb, float beta, float *C, long ldc,
                          int u0, int u1, vk_sparse_step *steps, int nr, sparse_columns_fn columns) {
    int U = u1 - u0, groups = (U + 7) / 8;
    int cnt[U], grp[U], perm[groups * 8], lens[groups], bucket[kcb + 2];
    for (int pc = 0; pc < K; pc += kcb) {
        int kc = K - pc < kcb ? K - pc : kcb;
        sparse_lists(A, lda, pc, kc, kcb, u0, U, nr, cnt, grp, perm, lens, bucket, steps);
        columns(N, groups, lens, perm, steps, kcb, kc, B + ldb * pc, C, ldc, alpha, pc == 0 ? beta : 1.0f);
    }
}
