// Checked parsing of the environment switches (README, "Tuning"): a decimal integer in
// [lo, hi], else a one-line warning on stderr naming the variable and the range, and the default.
#include "vk_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

long vk_parse_env_long(const char *name, const char *text, long lo, long hi, long fallback,
                       char *warning, size_t warning_capacity) {
    if (warning && warning_capacity) warning[0] = 0;
    if (!text || !*text) return fallback;
    errno = 0;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (errno == 0 && end != text && *end == 0 && v >= lo && v <= hi) return v;
    if (warning && warning_capacity)
        snprintf(warning, warning_capacity, "warning: %s=%.40s ignored: expected an integer from %ld to %ld; using %ld",
                 name, text, lo, hi, fallback);
    return fallback;
}

long vk_env_long(const char *name, long lo, long hi, long fallback) {
    char warning[256];
    long v = vk_parse_env_long(name, getenv(name), lo, hi, fallback, warning, sizeof warning);
    if (warning[0]) fprintf(stderr, "%s\n", warning);
    return v;
}
