// Temporary files of atomic writes (`.NAME.tmp-PID-RANDOM`), removed when a signal ends the
// process: Ctrl-C during `vae decompress` left a partial hidden file beside the output that
// nothing removed. The registry is a fixed table of path buffers, so that the signal handler
// reads no memory that may be freed under it and calls only unlink (async-signal-safe).
#include "vaekernels.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define VK_TEMP_SLOTS 64
#define VK_TEMP_PATH 4096

static char vk_temp_path[VK_TEMP_SLOTS][VK_TEMP_PATH];
static volatile int vk_temp_state[VK_TEMP_SLOTS];   // 0 free, 1 being written, 2 registered

int vk_temp_register(const char *path) {
    size_t n = strlen(path);
    if (n >= VK_TEMP_PATH) return -1;
    for (int i = 0; i < VK_TEMP_SLOTS; i++) {
        if (__sync_bool_compare_and_swap(&vk_temp_state[i], 0, 1)) {
            memcpy(vk_temp_path[i], path, n + 1);
            __sync_synchronize();
            vk_temp_state[i] = 2;
            return i;
        }
    }
    return -1;   // more writes at once than slots: that one is left to the next sweep
}

void vk_temp_unregister(int slot) {
    if (slot < 0 || slot >= VK_TEMP_SLOTS) return;
    vk_temp_state[slot] = 1;
    __sync_synchronize();
    vk_temp_state[slot] = 0;
}

void vk_temp_remove_all(void) {
    for (int i = 0; i < VK_TEMP_SLOTS; i++) {
        if (vk_temp_state[i] == 2) unlink(vk_temp_path[i]);
    }
}

static volatile sig_atomic_t vk_line_open = 0;

void vk_temp_set_line_open(int open) { vk_line_open = open; }

static void vk_temp_on_signal(int sig) {
    vk_temp_remove_all();
    if (vk_line_open) { ssize_t r = write(2, "\n", 1); (void)r; }
    signal(sig, SIG_DFL);   // then the signal's own end (exit status 128 + sig for the shell)
    raise(sig);
}

void vk_temp_install_signal_cleanup(void) {
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction old;
        if (sigaction(sigs[k], NULL, &old) != 0) continue;
        if (old.sa_handler != SIG_DFL) continue;   // ignored (nohup) or handled: left so
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = vk_temp_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[k], &sa, NULL);
    }
}
