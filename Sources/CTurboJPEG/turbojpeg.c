// libjpeg-turbo's TurboJPEG API through dlopen/dlsym, like the optional OpenBLAS backend
// (CVAEKernels/blas.c). The constants are those of turbojpeg.h (stable since libjpeg-turbo 1.2).
#include "cturbojpeg.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *tjhandle;
enum { TJPF_RGB = 0, TJPF_GRAY = 6, TJPF_CMYK = 11, TJSAMP_444 = 0, TJSAMP_GRAY = 3, TJCS_GRAY = 2, TJCS_CMYK = 3,
       TJCS_YCCK = 4, TJFLAG_ACCURATEDCT = 4096, TJFLAG_STOPONWARNING = 8192, TJFLAG_LIMITSCANS = 32768 };

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_ok;
static const char *g_libname = "";
static tjhandle (*p_initDecompress)(void);
static tjhandle (*p_initCompress)(void);
static int (*p_header3)(tjhandle, const unsigned char *, unsigned long, int *, int *, int *, int *);
static int (*p_decompress2)(tjhandle, const unsigned char *, unsigned long, unsigned char *, int, int,
                            int, int, int);
static int (*p_compress2)(tjhandle, const unsigned char *, int, int, int, int, unsigned char **,
                          unsigned long *, int, int, int);
static char *(*p_errorStr2)(tjhandle);
static int (*p_destroy)(tjhandle);
static void (*p_free)(unsigned char *);

static void load(void) {
    static const char *names[] = {"libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.0.dylib",
                                  "libturbojpeg.dylib"};
    void *h = NULL;
    // VAE_TURBOJPEG=PATH loads that file instead (a path that does not exist: as if not installed).
    const char *forced = getenv("VAE_TURBOJPEG");
    if (forced && *forced) {
        h = dlopen(forced, RTLD_NOW | RTLD_LOCAL);
        if (h) g_libname = forced;
    } else {
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++) {
            h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
            if (h) g_libname = names[i];
        }
    }
    if (!h) return;
    p_initDecompress = (tjhandle (*)(void))dlsym(h, "tjInitDecompress");
    p_initCompress = (tjhandle (*)(void))dlsym(h, "tjInitCompress");
    p_header3 = dlsym(h, "tjDecompressHeader3");
    p_decompress2 = dlsym(h, "tjDecompress2");
    p_compress2 = dlsym(h, "tjCompress2");
    p_errorStr2 = dlsym(h, "tjGetErrorStr2");
    p_destroy = dlsym(h, "tjDestroy");
    p_free = dlsym(h, "tjFree");
    g_ok = p_initDecompress && p_header3 && p_decompress2 && p_errorStr2 && p_destroy;
    if (!g_ok) { dlclose(h); g_libname = ""; }
}

int vae_tj_available(void) {
    pthread_once(&g_once, load);
    return g_ok;
}

const char *vae_tj_library(void) { return vae_tj_available() ? g_libname : ""; }

static void message(tjhandle h, const char *fallback, char *err, int errlen) {
    const char *m = h ? p_errorStr2(h) : NULL;
    snprintf(err, (size_t)errlen, "%s", m && *m ? m : fallback);
}

int vae_tj_header(const unsigned char *jpeg, unsigned long size, int *width, int *height,
                  int *components, char *err, int errlen) {
    if (!vae_tj_available()) return -1;
    tjhandle h = p_initDecompress();
    if (!h) { snprintf(err, (size_t)errlen, "cannot create a TurboJPEG decompressor"); return -2; }
    int subsamp = 0, colorspace = 0;
    int rc = p_header3(h, jpeg, size, width, height, &subsamp, &colorspace);
    if (rc != 0) message(h, "bad JPEG header", err, errlen);
    p_destroy(h);
    if (rc != 0) return -2;
    *components = colorspace == TJCS_GRAY ? 1 : (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) ? 4 : 3;
    return 0;
}

int vae_tj_decode(const unsigned char *jpeg, unsigned long size, unsigned char *dst, int width,
                  int height, int channels, char *err, int errlen) {
    if (!vae_tj_available()) return -1;
    tjhandle h = p_initDecompress();
    if (!h) { snprintf(err, (size_t)errlen, "cannot create a TurboJPEG decompressor"); return -2; }
    // LIMITSCANS: a progressive JPEG with more than 500 scans (a CPU bomb) is an error.
    // STOPONWARNING: a truncated or corrupt stream stops at once instead of being decoded to the
    // end as gray (a tiny file declaring a huge image then costs no decoding time).
    const int flags = TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS | TJFLAG_STOPONWARNING;
    int w = 0, hh = 0, subsamp = 0, colorspace = 0;
    int rc = p_header3(h, jpeg, size, &w, &hh, &subsamp, &colorspace);
    if (rc == 0 && (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)) {
        // TurboJPEG converts CMYK to nothing else: decode to CMYK and convert here, as Pillow and
        // libvips do without a colour profile. Adobe's files (an APP14 "Adobe" marker) store the
        // inks inverted (0 = full ink): R = C·K/255; others R = (255 − C)(255 − K)/255.
        unsigned char *cmyk = malloc((size_t)width * (size_t)height * 4);
        if (!cmyk) { p_destroy(h); snprintf(err, (size_t)errlen, "out of memory"); return -2; }
        rc = p_decompress2(h, jpeg, size, cmyk, width, 0, height, TJPF_CMYK, flags);
        if (rc == 0) {
            int adobe = 0;
            for (unsigned long i = 2; i + 9 < size && !adobe; i++)
                if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xEE && memcmp(jpeg + i + 4, "Adobe", 5) == 0) adobe = 1;
            for (long p = 0; p < (long)width * height; p++) {
                int c[3], k = cmyk[4 * p + 3];
                for (int j = 0; j < 3; j++) {
                    int v = cmyk[4 * p + j];
                    c[j] = adobe ? (v * k + 127) / 255 : ((255 - v) * (255 - k) + 127) / 255;
                }
                if (channels == 1) dst[p] = (unsigned char)((299 * c[0] + 587 * c[1] + 114 * c[2] + 500) / 1000);
                else for (int j = 0; j < 3; j++) dst[3 * p + j] = (unsigned char)c[j];
            }
        }
        free(cmyk);
    } else if (rc == 0) {
        rc = p_decompress2(h, jpeg, size, dst, width, 0, height, channels == 1 ? TJPF_GRAY : TJPF_RGB, flags);
    }
    // Warnings (a truncated or corrupt stream that libjpeg patches over) count as errors too.
    if (rc != 0) message(h, "corrupt JPEG data", err, errlen);
    p_destroy(h);
    return rc == 0 ? 0 : -2;
}

int vae_tj_encode(const unsigned char *src, int width, int height, int channels, int quality,
                  unsigned char **out, unsigned long *outSize, char *err, int errlen) {
    if (!vae_tj_available()) return -1;
    if (!p_initCompress || !p_compress2 || !p_free) { snprintf(err, (size_t)errlen, "no tjCompress2"); return -2; }
    tjhandle h = p_initCompress();
    if (!h) { snprintf(err, (size_t)errlen, "cannot create a TurboJPEG compressor"); return -2; }
    *out = NULL;
    *outSize = 0;
    int rc = p_compress2(h, src, width, 0, height, channels == 1 ? TJPF_GRAY : TJPF_RGB, out, outSize,
                         channels == 1 ? TJSAMP_GRAY : TJSAMP_444, quality, TJFLAG_ACCURATEDCT);
    if (rc != 0) message(h, "cannot encode JPEG", err, errlen);
    p_destroy(h);
    return rc == 0 ? 0 : -2;
}

void vae_tj_free(unsigned char *buffer) {
    if (buffer && vae_tj_available() && p_free) p_free(buffer);
}
