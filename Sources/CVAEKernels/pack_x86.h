// Packing routines with AVX intrinsics (8 x 8 transposes for the strided operands), included
// by gemm_avx2.c and gemm_avx512.c with their own tile size and target attribute.
// Requires: VK_MR (<= 8), VK_NR (multiple of 8), VK_PACK_A_NAME, VK_PACK_B_NAME, VK_TARGET.
// Only full 8-value strips are vectorised; edges (rows beyond m/n, k % 8) are scalar.
// VK_PACK_ROW_SWEEP (optional, a length): the contiguous forms of op(A) and op(B) up to that
// many rows (columns) wide are packed row by row of the source (see VK_PACK_B_NAME).

#ifndef VK_PACK_X86_HELPERS
#define VK_PACK_X86_HELPERS
// Transpose the 8 x 8 block src[r][p0 .. p0+8) and store row q (values of the 8 sources at
// p0+q) to dst + q * dstride, `width` floats of it (4 <= width <= 8, 6 or 8 here).
__attribute__((target("avx2,fma")))
static inline void vk_tr8x8(const float *const *src, long p0, float *dst, long dstride, int width) {
    __m256 r0 = _mm256_loadu_ps(src[0] + p0), r1 = _mm256_loadu_ps(src[1] + p0);
    __m256 r2 = _mm256_loadu_ps(src[2] + p0), r3 = _mm256_loadu_ps(src[3] + p0);
    __m256 r4 = _mm256_loadu_ps(src[4] + p0), r5 = _mm256_loadu_ps(src[5] + p0);
    __m256 r6 = _mm256_loadu_ps(src[6] + p0), r7 = _mm256_loadu_ps(src[7] + p0);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    __m256 o[8];
    o[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    o[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    o[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    o[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    o[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    o[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    o[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    o[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
    if (width == 8) {
        for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + q * dstride, o[q]);
    } else {
        for (int q = 0; q < 8; q++) {
            float *d = dst + q * dstride;
            _mm_storeu_ps(d, _mm256_castps256_ps128(o[q]));
            __m128 hi = _mm256_extractf128_ps(o[q], 1);
            if (width == 6) _mm_storel_pi((__m64 *)(d + 4), hi);
            else for (int c = 4; c < width; c++) d[c] = ((float *)&hi)[c - 4];
        }
    }
}

// The whole panels, `width` values wide (8, 16 or 32, or 6), of the first *len columns of the
// contiguous form, row by row of the source (row p gives every panel's row p; panel t at
// dst + t * width * k, the packed layout); then *src, *dst and *len are advanced past them.
// Returns 1 when nothing is left (no partial panel).
__attribute__((target("avx2,fma"), always_inline))
static inline int vk_pack_rows(const float **src, long ld, int k, int *len, const int width, float **dst) {
    int panels = *len / width;
    for (int p = 0; p < k; p++) {
        const float *s = *src + (long)p * ld;
        float *d = *dst + (long)p * width;
        for (int t = 0; t < panels; t++) {
            if (width % 8 == 0) {
                for (int c = 0; c < width; c += 8) _mm256_storeu_ps(d + c, _mm256_loadu_ps(s + c));
            } else {
                for (int c = 0; c < width; c++) d[c] = s[c];
            }
            s += width;
            d += (long)width * k;
        }
    }
    *src += panels * width;
    *dst += (long)panels * width * k;
    *len -= panels * width;
    return *len == 0;
}
#endif

VK_TARGET
static void VK_PACK_A_NAME(int trans, const float *A, long lda, int m, int k, float *dst) {
#ifdef VK_PACK_ROW_SWEEP
    // op(A)(i, p) = A[p * lda + i]: by rows of A, as pack B's contiguous form
    if (trans && m >= 2 * VK_MR && m <= VK_PACK_ROW_SWEEP && vk_pack_rows(&A, lda, k, &m, VK_MR, &dst)) return;
#endif
    for (int i0 = 0; i0 < m; i0 += VK_MR) {
        int mr = m - i0 < VK_MR ? m - i0 : VK_MR;
        if (!trans) {
            // op(A)(i, p) = A[i * lda + p]: transpose 8-row strips (extra rows repeat row 0
            // and are not stored, or are zero-filled below for short panels).
            const float *rows[8];
            for (int r = 0; r < 8; r++) rows[r] = A + (long)(i0 + (r < mr ? r : 0)) * lda;
            int p = 0;
            if (mr == VK_MR) {
                for (; p + 8 <= k; p += 8) vk_tr8x8(rows, p, dst + (long)p * VK_MR, VK_MR, VK_MR);
            }
            for (; p < k; p++) {
                float *d = dst + (long)p * VK_MR;
                for (int r = 0; r < VK_MR; r++) d[r] = r < mr ? rows[r][p] : 0.0f;
            }
        } else {
            // op(A)(i, p) = A[p * lda + i]: MR contiguous values per p.
            const float *s = A + i0;
            if (mr == VK_MR) {
                for (int p = 0; p < k; p++) {
                    const float *sp = s + (long)p * lda;
                    float *d = dst + (long)p * VK_MR;
#if VK_MR == 8
                    _mm256_storeu_ps(d, _mm256_loadu_ps(sp));
#else
                    for (int r = 0; r < VK_MR; r++) d[r] = sp[r];
#endif
                }
            } else {
                for (int p = 0; p < k; p++) {
                    const float *sp = s + (long)p * lda;
                    float *d = dst + (long)p * VK_MR;
                    for (int r = 0; r < VK_MR; r++) d[r] = r < mr ? sp[r] : 0.0f;
                }
            }
        }
        dst += (long)VK_MR * k;
    }
}

VK_TARGET
static void VK_PACK_B_NAME(int trans, const float *B, long ldb, int k, int n, float *dst) {
#ifdef VK_PACK_ROW_SWEEP
    // op(B)(p, j) = B[p * ldb + j]: row p of B read once, front to back (one read stream instead
    // of one per panel); a last partial panel below
    if (!trans && n >= 2 * VK_NR && n <= VK_PACK_ROW_SWEEP && vk_pack_rows(&B, ldb, k, &n, VK_NR, &dst)) return;
#endif
    for (int j0 = 0; j0 < n; j0 += VK_NR) {
        int nr = n - j0 < VK_NR ? n - j0 : VK_NR;
        if (!trans) {
            // op(B)(p, j) = B[p * ldb + j]: NR contiguous values per p.
            const float *s = B + j0;
            if (nr == VK_NR) {
                for (int p = 0; p < k; p++) {
                    const float *sp = s + (long)p * ldb;
                    float *d = dst + (long)p * VK_NR;
                    for (int c = 0; c < VK_NR; c += 8) _mm256_store_ps(d + c, _mm256_loadu_ps(sp + c));
                }
            } else {
                for (int p = 0; p < k; p++) {
                    const float *sp = s + (long)p * ldb;
                    float *d = dst + (long)p * VK_NR;
                    for (int c = 0; c < VK_NR; c++) d[c] = c < nr ? sp[c] : 0.0f;
                }
            }
        } else {
            // op(B)(p, j) = B[j * ldb + p]: 8 x 8 transposes of 8 rows of B at a time.
            const float *cols[VK_NR];
            for (int c = 0; c < VK_NR; c++) cols[c] = B + (long)(j0 + (c < nr ? c : 0)) * ldb;
            int p = 0;
            if (nr == VK_NR) {
                for (; p + 8 <= k; p += 8)
                    for (int c = 0; c < VK_NR; c += 8)
                        vk_tr8x8(cols + c, p, dst + (long)p * VK_NR + c, VK_NR, 8);
            }
            for (; p < k; p++) {
                float *d = dst + (long)p * VK_NR;
                for (int c = 0; c < VK_NR; c++) d[c] = c < nr ? cols[c][p] : 0.0f;
            }
        }
        dst += (long)VK_NR * k;
    }
}
