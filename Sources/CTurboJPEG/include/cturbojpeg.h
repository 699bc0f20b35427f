#ifndef CTURBOJPEG_H
#define CTURBOJPEG_H
// libjpeg-turbo's TurboJPEG API, loaded at run time (dlopen "libturbojpeg.so.0") so that the
// package builds and runs where it is not installed. Only what SwiftVAE uses is wrapped.

/// 1 when libturbojpeg could be loaded (tried once), 0 otherwise.
int vae_tj_available(void);
/// The library file that was loaded, or "" when none.
const char *vae_tj_library(void);

/// Reads a JPEG's header. Returns 0 and sets width, height, components (1 gray, 3 colour, 4 CMYK);
/// -1 when the library is missing; -2 on a bad header (message in err).
int vae_tj_header(const unsigned char *jpeg, unsigned long size, int *width, int *height,
                  int *components, char *err, int errlen);

/// Decodes into dst (width*height*channels bytes), channels 1 (gray) or 3 (RGB). Same returns.
int vae_tj_decode(const unsigned char *jpeg, unsigned long size, unsigned char *dst, int width,
                  int height, int channels, char *err, int errlen);

/// Encodes width*height*channels bytes (channels 1 or 3) at quality 1...100 (4:4:4 or gray).
/// On 0, *out (free with vae_tj_free) holds *outSize bytes. Same returns. For tests and tools.
int vae_tj_encode(const unsigned char *src, int width, int height, int channels, int quality,
                  unsigned char **out, unsigned long *outSize, char *err, int errlen);
void vae_tj_free(unsigned char *buffer);
#endif
