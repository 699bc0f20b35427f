// Optional OpenBLAS backend, loaded at run time with dlopen so that the package builds and runs
// where OpenBLAS is not installed.
#include "vk_internal.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*cblas_sgemm_fn)(int order, int transA, int transB, int M, int N, int K,
                               float alpha, const float *A, int lda, const float *B, int ldb,
                               float beta, float *C, int ldc);
typedef void (*set_threads_fn)(int);
typedef char *(*get_str_fn)(void);

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_state = 0;               // 0 untried, 1 loaded, -1 unavailable
static cblas_sgemm_fn g_sgemm;
static set_threads_fn g_set_threads;
static get_str_fn g_corename, g_config;
static const char *g_libname = "";
static int g_threads_set = 0;
static char g_desc[384];

int vk_blas_load(void) {
    pthread_mutex_lock(&g_lock);
    if (g_state == 0) {
        static const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"};
        void *h = NULL;
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++) {
            h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
            if (h) g_libname = names[i];
        }
        if (h) g_sgemm = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
        if (h && g_sgemm) {
            g_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
            g_corename = (get_str_fn)dlsym(h, "openblas_get_corename");
            g_config = (get_str_fn)dlsym(h, "openblas_get_config");
            g_state = 1;
        } else {
            if (h) dlclose(h);
            g_state = -1;
        }
    }
    int ok = g_state == 1 ? 0 : -1;
    pthread_mutex_unlock(&g_lock);
    return ok;
}

int vk_blas_sgemm(int transA, int transB, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc) {
    if (vk_blas_load() != 0) return -1;
    // OpenBLAS uses its own threads: keep its count equal to ours.
    int n = vk_get_num_threads();
    if (g_set_threads && n != g_threads_set) {
        g_set_threads(n);
        g_threads_set = n;
    }
    // CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112
    g_sgemm(101, transA ? 112 : 111, transB ? 112 : 111, M, N, K, alpha, A, lda, B, ldb, beta,
            C, ldc);
    return 0;
}

const char *vk_blas_description(void) {
    if (vk_blas_load() != 0) return "OpenBLAS (not available)";
    const char *core = getenv("OPENBLAS_CORETYPE");
    snprintf(g_desc, sizeof g_desc, "OpenBLAS via %s, core %s, OPENBLAS_CORETYPE=%s%s%s",
             g_libname, g_corename ? g_corename() : "?", core && *core ? core : "(unset)",
             g_config ? ", " : "", g_config ? g_config() : "");
    return g_desc;
}
