// Packing routines, instantiated in each kernel file with its own tile size and target
// attributes (so the copy loops are vectorised for that instruction set).
// Requires: VK_MR, VK_NR, VK_PACK_A_NAME, VK_PACK_B_NAME, VK_TARGET (attribute or empty).

VK_TARGET
static void VK_PACK_A_NAME(int trans, const float *A, long lda, int m, int k, float *dst) {
    for (int i0 = 0; i0 < m; i0 += VK_MR) {
        int mr = m - i0 < VK_MR ? m - i0 : VK_MR;
        if (!trans) {
            // op(A)(i, p) = A[i * lda + p]: gather MR rows, 8 columns at a time.
            const float *rows[VK_MR];
            for (int r = 0; r < VK_MR; r++) rows[r] = A + (long)(i0 + (r < mr ? r : 0)) * lda;
            int p = 0;
            for (; p + 8 <= k; p += 8) {
                float *d = dst + (long)p * VK_MR;
                for (int r = 0; r < VK_MR; r++) {
                    const float *s = rows[r] + p;
                    if (r < mr) {
                        for (int q = 0; q < 8; q++) d[q * VK_MR + r] = s[q];
                    } else {
                        for (int q = 0; q < 8; q++) d[q * VK_MR + r] = 0.0f;
                    }
                }
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
                    for (int r = 0; r < VK_MR; r++) d[r] = sp[r];
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
    for (int j0 = 0; j0 < n; j0 += VK_NR) {
        int nr = n - j0 < VK_NR ? n - j0 : VK_NR;
        if (!trans) {
            // op(B)(p, j) = B[p * ldb + j]: NR contiguous values per p.
            const float *s = B + j0;
            if (nr == VK_NR) {
                for (int p = 0; p < k; p++) {
                    const float *sp = s + (long)p * ldb;
                    float *d = dst + (long)p * VK_NR;
                    for (int c = 0; c < VK_NR; c++) d[c] = sp[c];
                }
            } else {
                for (int p = 0; p < k; p++) {
                    const float *sp = s + (long)p * ldb;
                    float *d = dst + (long)p * VK_NR;
                    for (int c = 0; c < VK_NR; c++) d[c] = c < nr ? sp[c] : 0.0f;
                }
            }
        } else {
            // op(B)(p, j) = B[j * ldb + p]: gather NR rows of B, 8 values of p at a time.
            const float *cols[VK_NR];
            for (int c = 0; c < VK_NR; c++) cols[c] = B + (long)(j0 + (c < nr ? c : 0)) * ldb;
            int p = 0;
            for (; p + 8 <= k; p += 8) {
                float *d = dst + (long)p * VK_NR;
                for (int c = 0; c < VK_NR; c++) {
                    const float *s = cols[c] + p;
                    if (c < nr) {
                        for (int q = 0; q < 8; q++) d[q * VK_NR + c] = s[q];
                    } else {
                        for (int q = 0; q < 8; q++) d[q * VK_NR + c] = 0.0f;
                    }
                }
            }
            for (; p < k; p++) {
                float *d = dst + (long)p * VK_NR;
                for (int c = 0; c < VK_NR; c++) d[c] = c < nr ? cols[c][p] : 0.0f;
            }
        }
        dst += (long)VK_NR * k;
    }
}
