#ifndef VAEKERNELS_H
#define VAEKERNELS_H
// SwiftVAE's own numeric kernels, in C so that the SIMD code is chosen at run time
// (AVX-512 / AVX2+FMA / portable) with no compiler flags.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- thread pool
// A persistent pool of worker threads (spin-then-sleep). The calling thread takes part.
// vk_parallel runs fn(ctx, t) for t in [0, ntasks) and returns when all have finished.
void vk_set_num_threads(int n);          // 1 ... 64; creates/destroys workers as needed
int  vk_get_num_threads(void);
typedef void (*vk_task_fn)(void *ctx, int task);
void vk_parallel(int ntasks, vk_task_fn fn, void *ctx);
// Jobs since start: handed to the workers (split into several tasks), and of those, jobs
// where a worker ran at least one task (so the job really ran on more than one thread).
void vk_pool_counters(long long *split, long long *shared);
// Workers asleep on the pool's condition variable now (after spinning idle for VAE_SPIN_US).
int  vk_pool_sleeping_workers(void);

// The level-2 cache per core in bytes (sysconf; VAE_L2_KB overrides; 0 if unknown): the GEMM's
// choice of where a large B operand is packed depends on it (never the bits).
long vk_l2_cache_bytes(void);

// ---------------------------------------------------------------- environment (env.c)
// The integer in `text` if it is a decimal in [lo, hi]; else `fallback`, and (when text is
// set) a one-line warning naming `name` and the range in `warning` (else warning is "").
long vk_parse_env_long(const char *name, const char *text, long lo, long hi, long fallback,
                       char *warning, size_t warning_capacity);
// vk_parse_env_long on getenv(name), printing the warning (if any) on stderr.
long vk_env_long(const char *name, long lo, long hi, long fallback);

// ---------------------------------------------------------------- GEMM
// Row-major.  C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
//   op(A) = A  (A is M x K, row stride lda)   if transA == 0
//         = Aᵀ (A is K x M, row stride lda)   if transA != 0
//   op(B) likewise with B (K x N or N x K, row stride ldb).
// beta == 0 means C is overwritten (never read, so NaNs in C do not propagate).
// Work is split across threads over M and N only, never over K: every element of C is
// summed in the same order whatever the thread count (bit-identical results).
void vk_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);

// Same, with a fused epilogue applied after the full product:
//   C = act(alpha*op(A)op(B) + beta*C + bias[col])   bias may be NULL; act: 0 none, 1 relu
enum { VK_ACT_NONE = 0, VK_ACT_RELU = 1 };
void vk_sgemm_ex(int transA, int transB, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc, const float *bias, int act);

// Adam fused into a gradient product (the gradient's last pass): after C = alpha·op(A)op(B) +
// beta·C is final, Adam (as vk_adam_update) updates p, m, v — matrices shaped like C with the
// same row stride ldc — from C, tile by tile while the tile is in cache. Element-wise: the
// result is bit-identical to vk_sgemm then vk_adam_update over the same elements.
typedef struct {
    float *p, *m, *v;
    float step_size, bc2_sqrt, beta1, beta2, eps, weight_decay;
} vk_adam_args;
void vk_sgemm_adam(int transA, int transB, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc, const vk_adam_args *adam);
// vk_sgemm_adam(1, 0, …) (adam may be NULL: vk_sgemm(1, 0, …)) for an A that may be mostly
// zeros (a ReLU layer's gradient in dW = gᵀx): where the kernel level has a sparse product and at
// least VAE_SPARSE_MIN_ZEROS percent (60) of A's first rows are zeros, the zeros are skipped. The
// same bits either way.
void vk_sgemm_adam_sparse_a(int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc,
                            const vk_adam_args *adam);
// The threshold in percent (0: always where the level can, 101: never); returns the previous one.
int vk_gemm_set_sparse_min_zeros(int percent);
// How many products so far took the sparse path (for tests).
long vk_gemm_sparse_products(void);
// Adam over rows x cols elements (row stride ld) of g / adam's matrices (same layout).
void vk_adam_rows(const vk_adam_args *adam, const float *g, int rows, int cols, long ld);

// op(B) (K x N) packed once for many products with the same B (a recurrent weight): NULL when
// the built-in kernels are not in use. vk_sgemm_packed_b gives the bits of vk_sgemm_ex (B and
// ldb are used instead when the packing does not fit the kernel, blocking or shape in force).
typedef struct vk_packed_b vk_packed_b;
vk_packed_b *vk_packed_b_create(int transB, int N, int K, const float *B, int ldb);
void vk_packed_b_free(vk_packed_b *p);
void vk_sgemm_packed_b(int transA, int transB, int M, int N, int K, float alpha,
                       const float *A, int lda, const vk_packed_b *packed, const float *B, int ldb,
                       float beta, float *C, int ldc, const float *bias, int act);

// Backend selection: 0 = built-in (default), 1 = OpenBLAS via dlopen("libopenblas.so.0").
// vk_gemm_select_backend returns 0 on success, -1 if the backend is not available.
// The environment variable VAE_GEMM=blas selects OpenBLAS at first use.
int  vk_gemm_select_backend(int backend);
int  vk_gemm_backend(void);
// Human-readable description of the active kernel, e.g. "built-in avx512f+fma 8x32 tile".
const char *vk_gemm_description(void);
// CPU features as a string, e.g. "avx512f fma avx2".
const char *vk_cpu_features(void);
// Level of the built-in kernel in use: 3 = avx512, 2 = avx2+fma, 1 = portable C.
int  vk_kernel_level(void);
// Force a lower level (for tests of every code path); returns the level actually set.
int  vk_force_kernel_level(int level);
// Override the cache blocks (KC, MC, NC) of the built-in kernel, for tests of the blocking
// code on small shapes (rounded up to multiples of the tile); 0, 0, 0 restores the defaults.
void vk_gemm_set_blocking(int kc, int mc, int nc);

// ---------------------------------------------------------------- element-wise (elementwise.c)
// Fused passes with the same run-time choice (AVX2+FMA / portable) as the GEMM kernels; both
// variants give bit-identical results, and no result depends on the thread count.

// Adam (PyTorch's formula) over n contiguous parameters, one pass:
//   g' = g + wd*p;  m = b1*m + (1-b1)*g';  v = b2*v + (1-b2)*g'*g'
//   p = p - step_size*m / (sqrt(v)/bc2_sqrt + eps)
void vk_adam_update(long n, float *p, const float *g, float *m, float *v,
                    float step_size, float bc2_sqrt, float beta1, float beta2, float eps, float weight_decay);

// −log p(x|z) per row from decoder logits [rows, cols]; row r of x at x + r*x_row_stride
// (stride 0 broadcasts one image). kind 0: Bernoulli (Σ softplus(l) − x·l, gradient σ(l) − x);
// kind 1: Gaussian with fixed sigma on σ(l) (adds cols·½·log(2πσ²)). grad (may be NULL)
// receives grad_scale·∂/∂l. out_row[r] = the row's sum (float lanes, summed in double).
enum { VK_NLL_BERNOULLI = 0, VK_NLL_GAUSSIAN = 1 };
void vk_nll_logits(int kind, const float *logits, const float *x, long x_row_stride, int rows, int cols,
                   double sigma, float grad_scale, float *grad, double *out_row);

// Softmax cross-entropy per row of logits [rows, cols] with targets[r] in 0..<cols:
// out_row[r] = −log softmax(l)[target] (the exps summed in float lanes, then in double); grad (may
// be NULL) receives scale·(softmax(l) − one-hot(target)). The same bits for any thread count and
// at every kernel level.
void vk_softmax_xent(const float *logits, const int32_t *targets, int rows, int cols, float scale, float *grad, double *out_row);

// dx = (y > 0 ? dy : 0) and col_acc[c] += Σ_rows dx[r, c] (rows in order). y == NULL: no ReLU,
// col_acc[c] += Σ_rows dy[r, c] and dx is not written.
void vk_relu_backward_colsum(const float *dy, const float *y, float *dx, int rows, int cols, float *col_acc);

// y[i] = tanh(x[i]) (Cephes tanhf, within 1.25 ulp; the same bits at every kernel level).
void vk_tanh(const float *x, float *y, long n);
// GRU gates of `rows` rows of width H (see GRU.swift): forward turns gi (x W_ihᵀ + b_ih) into
// (r, z, n), keeps W_hn h + b_hn in hn and updates h; backward, in place, turns the gates into the
// hidden side's pre-activation gradients dGh = (da_r, da_z, da_n·r), hn into da_n and dh into dh·z.
// The same bits at every kernel level and thread count.
void vk_gru_gates_forward(float *gi, const float *gh, float *h, float *hn, long rows, long hidden);
void vk_gru_gates_backward(float *dh, float *gates, float *hn, const float *hprev, long rows, long hidden);
// The token-input rows of a GRU layer (PackedLayout: `steps` steps, step t at packed row
// offsets[t], batch_sizes[t] rows), on the columns [c0, c1) of `width`-wide rows. Forward:
// gi[r] = base[i] + wT[tokens[r]] (row r = offsets[t] + i). Backward (width 3H, dGi's columns
// [0, 2H) in gh's rows, [2H, 3H) in an's H-wide rows): dT[tokens[r]] += dGi[r] (dT != NULL) and
// S[i] += dGi[r] (S != NULL), rows in order. Element-wise: the same bits at every level.
void vk_gru_token_rows_forward(float *gi, const float *base, const float *wT, long width,
                               const int32_t *tokens, const long *offsets, const long *batch_sizes, long steps,
                               long c0, long c1);
void vk_gru_token_rows_backward(const float *gh, const float *an, long hidden,
                                const int32_t *tokens, const long *offsets, const long *batch_sizes, long steps,
                                long c0, long c1, float *dT, float *S);

// dst[r, :] = src[idx[r]*d ...] / 255 in float, for r < rows.
void vk_gather_scale_u8(const uint8_t *src, const int32_t *idx, int rows, int d, float *dst);
// Box–Muller (RNG.normal and RNG.fillNormal): n normals from the 64-bit words raw[0 ..< 2·ceil(n/2)] (pair k:
// out[2k] = r·cos a, out[2k+1] = r·sin a, r = √(−2 log u1), a = 2π u2); for odd n returns the
// unused sine of the last pair (the RNG's spare), else 0. Threads split pairs: the same bits.
float vk_box_muller(const uint64_t *raw, float *out, long n);

// ---------------------------------------------------------------- convolution helpers (conv.c)
// This thread's scratch buffer number `slot` (0 or 1), at least `floats` long (64-byte aligned,
// contents unspecified, valid until this thread asks for the same slot again).
float *vk_thread_scratch(int slot, long floats);
// dst[e] = (…((dst[e] + parts[0·len + e]) + parts[1·len + e]) …) + parts[(nparts−1)·len + e]:
// per-group partial sums added in group order, whatever the thread count.
void vk_sum_parts(float *dst, const float *parts, int nparts, long len);
// cols [C*kh*kw, n*gh*gw]: cols[(c*kh + i)*kw + j, img*P + gy*gw + gx] = image[img, c, gy*s-p+i, gx*s-p+j]
void vk_im2col(const float *images, int n, int channels, int H, int W, int gh, int gw, int kh, int kw,
               int stride, int pad, float *cols);
// images = Σ of the cols entries im2col would read from there (overwritten), then
// act(images + bias[c]) if bias != NULL or relu != 0.
void vk_col2im(const float *cols, int n, int channels, int H, int W, int gh, int gw, int kh, int kw,
               int stride, int pad, float *images, const float *bias, int relu);
// dst[img, c, i] = act(src[c, img*p + i] + bias[c]) (bias may be NULL).
void vk_to_batch_major(const float *src, int n, int c, int p, const float *bias, int relu, float *dst);
// A conv layer's G = dy ⊙ [y > 0] for one group of images, on the calling thread: images
// [img0, img1) of the NCHW dy (masked by y > 0 when y is given, else copied; dst == dy with no y
// writes nothing) into dst — channel-major at dst + c·dst_ld + img·p when dst_ld > 0, else NCHW —
// and each image's channel sums (8 lanes in a fixed order) into sums[img·c + ch].
// vk_add_image_sums(sums, n, c, bias_grad) then adds bias_grad[ch] += Σ over images in order: the
// bias gradient, the same bits however the images were grouped over the threads.
void vk_relu_grad_images(const float *dy, const float *y, int img0, int img1, int c, int p, float *dst, long dst_ld,
                         float *sums);
void vk_add_image_sums(const float *sums, int n, int c, float *bias_grad);
// A stride-1 transposed convolution computed directly, without a column matrix (ConvTranspose2D
// uses it for one output channel; any count works): x [n, cin, H, W], w [cin, cout, k, k], y [n, cout, OH, OW], OH = H + k − 1 − 2·pad
// (pad ≤ k − 1); images in tasks of `group` (fixed by the caller, never by the thread count).
// y = act(convT(x) + bias) (bias may be NULL; relu: max(·, 0)).
void vk_convt1_forward(const float *x, int n, int cin, int cout, int H, int W, int k, int pad, const float *w,
                       const float *bias, int relu, int group, float *y);
// Its backward: G = dy (⊙ [y > 0] when y != NULL); dx = the input gradient (skipped when NULL);
// dw_parts[g·cin·cout·k·k + e] = group g's weight gradient (add them in group order with
// vk_sum_parts); sums[img·cout + co] = Σ G of each image and channel (vk_add_image_sums).
void vk_convt1_backward(const float *x, const float *dy, const float *y, int n, int cin, int cout, int H, int W, int k,
                        int pad, const float *w, int group, float *dx, float *dw_parts, float *sums);

// ---------------------------------------------------------------- Open MPI (mpi.c)
// libmpi.so.40 loaded at run time with dlopen (nothing links against MPI). vk_mpi_load tries
// path (may be NULL), then $VAE_MPI_LIB, then libmpi.so.40; 0 on success, -1 (see
// vk_mpi_load_error) if not found. The other calls return 0 or an MPI error code (-1: not
// loaded). Communicators are small integers: 0 is MPI_COMM_WORLD, vk_mpi_comm_dup makes more
// (collectives in flight on different communicators may complete in any order). Only bytes
// move: the all-to-all sends bytes_per_rank to every rank; requests are completed by polling
// vk_mpi_test (which drives progress). MPI is called from one thread only (FUNNELED).
int  vk_mpi_load(const char *path);
const char *vk_mpi_load_error(void);
const char *vk_mpi_library_version(void);   // "Open MPI v4.1.4 via libmpi.so.40"
int  vk_mpi_init(int *rank, int *size);     // errors are returned, not fatal
int  vk_mpi_comm_dup(int *comm);
int  vk_mpi_finalize(void);
void vk_mpi_abort(int code);                // ends every rank of the job; does not return
int  vk_mpi_ibcast(void *buf, int bytes, int root, int comm, void **req);
int  vk_mpi_iallgather(const void *send, int bytes, void *recv, int comm, void **req);
int  vk_mpi_ialltoall(const void *send, int bytes_per_rank, void *recv, int comm, void **req);
int  vk_mpi_ibarrier(int comm, void **req);
int  vk_mpi_test(void **req, int *done);
const char *vk_mpi_error_string(int code);

// Temporary files of atomic writes, removed if a signal (SIGINT, SIGTERM, SIGHUP) ends the
// process: register returns a slot (-1: none free, the file is then left to the next sweep);
// install sets the handler for the signals whose action is still the default.
int  vk_temp_register(const char *path);
int  vk_temp_register_folder(const char *path);   // a hidden folder being filled: its files, then it
void vk_temp_unregister(int slot);
void vk_temp_remove_all(void);              // async-signal-safe
void vk_temp_install_signal_cleanup(void);
void vk_temp_set_line_open(int open);       // a progress line is open: the handler ends it

#ifdef __cplusplus
}
#endif
#endif
