// Temporary files of atomic writes (`.NAME.tmp-PID-RANDOM`), removed when a signal ends the
// process: Ctrl-C during `vae decompress` left a partial hidden file beside the output that
// nothing removed. The registry is a fixed table of path buffers, so that the signal handler
// reads no memory that may be freed under it and calls only unlink (async-signal-safe).
#include "vaekernels.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#define VK_TEMP_SLOTS 64
#define VK_TEMP_PATH 4096

static char vk_temp_path[VK_TEMP_SLOTS][VK_TEMP_PATH];
static volatile int vk_temp_state[VK_TEMP_SLOTS];   // 0 free, 1 being written, 2 registered
static volatile int vk_temp_folder[VK_TEMP_SLOTS];  // 1: a folder (its files, then itself)

static int vk_temp_register_kind(const char *path, int folder) {
    size_t n = strlen(path);
    if (n >= VK_TEMP_PATH) return -1;
    for (int i = 0; i < VK_TEMP_SLOTS; i++) {
        if (__sync_bool_compare_and_swap(&vk_temp_state[i], 0, 1)) {
            memcpy(vk_temp_path[i], path, n + 1);
            vk_temp_folder[i] = folder;
            __sync_synchronize();
            vk_temp_state[i] = 2;
            return i;
        }
    }
    return -1;   // more writes at once than slots: that one is left to the next sweep
}

int vk_temp_register(const char *path) { return vk_temp_register_kind(path, 0); }
int vk_temp_register_folder(const char *path) { return vk_temp_register_kind(path, 1); }

void vk_temp_unregister(int slot) {
    if (slot < 0 || slot >= VK_TEMP_SLOTS) return;
    vk_temp_state[slot] = 1;
    __sync_synchronize();
    vk_temp_state[slot] = 0;
}

// A folder's files (one level: what `vae export` writes), then the folder. Only system calls
// (open, getdents64, unlinkat, close, rmdir) and a buffer on the stack (two threads may take a
// signal at once): async-signal-safe. Elsewhere than Linux only an empty folder is removed.
static void vk_temp_remove_folder(const char *path) {
#ifdef __linux__
    char vk_temp_dirents[8192] __attribute__((aligned(8)));
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        for (int rounds = 0; rounds < 64; rounds++) {
            long n = syscall(SYS_getdents64, fd, vk_temp_dirents, sizeof vk_temp_dirents);
            if (n <= 0) break;
            for (long off = 0; off < n;) {
                // struct linux_dirent64: inode (8), offset (8), record length (2), type (1), name
                const char *rec = vk_temp_dirents + off;
                unsigned short len;
                memcpy(&len, rec + 16, sizeof len);
                const char *name = rec + 19;
                if (!(name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))) unlinkat(fd, name, 0);
                if (len == 0) break;
                off += len;
            }
        }
        close(fd);
    }
#endif
    rmdir(path);
}

void vk_temp_remove_all(void) {
    // files first: a temporary file inside a registered folder is gone before the folder is emptied
    for (int i = 0; i < VK_TEMP_SLOTS; i++) {
        if (vk_temp_state[i] == 2 && !vk_temp_folder[i]) unlink(vk_temp_path[i]);
    }
    for (int i = 0; i < VK_TEMP_SLOTS; i++) {
        if (vk_temp_state[i] == 2 && vk_temp_folder[i]) vk_temp_remove_folder(vk_temp_path[i]);
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
