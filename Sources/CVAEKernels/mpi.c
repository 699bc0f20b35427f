// Optional Open MPI backend, loaded at run time with dlopen (as blas.c loads OpenBLAS): nothing
// in SwiftVAE links against MPI or needs its headers. Open MPI's predefined handles are global
// objects (MPI_COMM_WORLD is &ompi_mpi_comm_world, MPI_BYTE is &ompi_mpi_byte, ...), so dlsym
// finds them. Only bytes move through MPI: every sum is done by SwiftVAE in a fixed order.
#include "vk_internal.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *MPI_Comm;
typedef void *MPI_Datatype;
typedef void *MPI_Request;
typedef void *MPI_Errhandler;
enum { MPI_THREAD_FUNNELED_ = 1, MAX_STRING_ = 256, MAX_COMMS_ = 16 };

static int (*p_initialized)(int *);
static int (*p_finalized)(int *);
static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_finalize)(void);
static int (*p_abort)(MPI_Comm, int);
static int (*p_comm_rank)(MPI_Comm, int *);
static int (*p_comm_size)(MPI_Comm, int *);
static int (*p_comm_dup)(MPI_Comm, MPI_Comm *);
static int (*p_set_errhandler)(MPI_Comm, MPI_Errhandler);
static int (*p_ibcast)(void *, int, MPI_Datatype, int, MPI_Comm, MPI_Request *);
static int (*p_iallgather)(const void *, int, MPI_Datatype, void *, int, MPI_Datatype, MPI_Comm, MPI_Request *);
static int (*p_ialltoall)(const void *, int, MPI_Datatype, void *, int, MPI_Datatype, MPI_Comm, MPI_Request *);
static int (*p_ibarrier)(MPI_Comm, MPI_Request *);
static int (*p_test)(MPI_Request *, int *, void *);
static int (*p_error_string)(int, char *, int *);
static int (*p_library_version)(char *, int *);
static MPI_Comm g_world;
static MPI_Datatype g_byte;
static MPI_Errhandler g_errors_return;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_state = 0;  // 0 untried, 1 loaded, -1 unavailable
static char g_error[512];
static char g_version[MAX_STRING_ + 64];
static MPI_Comm g_comms[MAX_COMMS_];
static int g_ncomms = 0;

#define LOAD(var, name)                                                              \
    do {                                                                             \
        *(void **)(&var) = dlsym(h, name);                                           \
        if (!var) { snprintf(g_error, sizeof g_error, "%s has no symbol %s", lib, name); goto fail; } \
    } while (0)

int vk_mpi_load(const char *path) {
    pthread_mutex_lock(&g_lock);
    if (g_state == 0) {
        const char *env = getenv("VAE_MPI_LIB");
        const char *names[] = {path, env && *env ? env : NULL, "libmpi.so.40", "libmpi.so", "libmpi.dylib"};
        void *h = NULL;
        const char *lib = "";
        // Open MPI's plug-ins resolve symbols of libmpi itself: the library must be global.
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++) {
            if (!names[i]) continue;
            h = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
            if (h) lib = names[i];
            else if (i < 2) { snprintf(g_error, sizeof g_error, "%s", dlerror()); break; }  // an explicit path must load
        }
        if (!h) {
            if (!g_error[0]) snprintf(g_error, sizeof g_error, "libmpi.so.40 not found");
            g_state = -1;
        } else {
            LOAD(p_initialized, "MPI_Initialized");
            LOAD(p_finalized, "MPI_Finalized");
            LOAD(p_init_thread, "MPI_Init_thread");
            LOAD(p_finalize, "MPI_Finalize");
            LOAD(p_abort, "MPI_Abort");
            LOAD(p_comm_rank, "MPI_Comm_rank");
            LOAD(p_comm_size, "MPI_Comm_size");
            LOAD(p_comm_dup, "MPI_Comm_dup");
            LOAD(p_set_errhandler, "MPI_Comm_set_errhandler");
            LOAD(p_ibcast, "MPI_Ibcast");
            LOAD(p_iallgather, "MPI_Iallgather");
            LOAD(p_ialltoall, "MPI_Ialltoall");
            LOAD(p_ibarrier, "MPI_Ibarrier");
            LOAD(p_test, "MPI_Test");
            LOAD(p_error_string, "MPI_Error_string");
            LOAD(p_library_version, "MPI_Get_library_version");
            LOAD(g_world, "ompi_mpi_comm_world");
            LOAD(g_byte, "ompi_mpi_byte");
            LOAD(g_errors_return, "ompi_mpi_errors_return");
            char v[MAX_STRING_] = "";
            int len = 0;
            p_library_version(v, &len);
            char *nl = strchr(v, ',');  // "Open MPI v4.1.4, package: ..." -> first part
            if (nl) *nl = 0;
            snprintf(g_version, sizeof g_version, "%s via %s", v, lib);
            g_state = 1;
            goto done;
        fail:
            dlclose(h);
            g_state = -1;
        }
    }
done:;
    int ok = g_state == 1 ? 0 : -1;
    pthread_mutex_unlock(&g_lock);
    return ok;
}

const char *vk_mpi_load_error(void) { return g_error; }
const char *vk_mpi_library_version(void) { return g_state == 1 ? g_version : ""; }

int vk_mpi_init(int *rank, int *size) {
    if (vk_mpi_load(NULL) != 0) return -1;
    int inited = 0, provided = 0, rc;
    p_initialized(&inited);
    if (!inited && (rc = p_init_thread(NULL, NULL, MPI_THREAD_FUNNELED_, &provided)) != 0) return rc;
    // Errors come back as codes (and become a one-line error), instead of aborting the job.
    if ((rc = p_set_errhandler(g_world, g_errors_return)) != 0) return rc;
    g_comms[0] = g_world;
    if (g_ncomms == 0) g_ncomms = 1;
    if ((rc = p_comm_rank(g_world, rank)) != 0) return rc;
    return p_comm_size(g_world, size);
}

int vk_mpi_comm_dup(int *comm) {
    if (g_state != 1 || g_ncomms == 0 || g_ncomms >= MAX_COMMS_) return -1;
    int rc = p_comm_dup(g_world, &g_comms[g_ncomms]);
    if (rc == 0) *comm = g_ncomms++;
    return rc;
}

int vk_mpi_finalize(void) {
    if (g_state != 1) return -1;
    int fin = 0;
    p_finalized(&fin);
    return fin ? 0 : p_finalize();
}

void vk_mpi_abort(int code) {
    if (g_state == 1) p_abort(g_world, code);
    _Exit(code);
}

#define COMM(c) (((c) >= 0 && (c) < g_ncomms) ? g_comms[c] : NULL)

int vk_mpi_ibcast(void *buf, int bytes, int root, int comm, void **req) {
    if (g_state != 1 || !COMM(comm)) return -1;
    return p_ibcast(buf, bytes, g_byte, root, COMM(comm), (MPI_Request *)req);
}

int vk_mpi_iallgather(const void *send, int bytes, void *recv, int comm, void **req) {
    if (g_state != 1 || !COMM(comm)) return -1;
    return p_iallgather(send, bytes, g_byte, recv, bytes, g_byte, COMM(comm), (MPI_Request *)req);
}

int vk_mpi_ialltoall(const void *send, int bytes_per_rank, void *recv, int comm, void **req) {
    if (g_state != 1 || !COMM(comm)) return -1;
    return p_ialltoall(send, bytes_per_rank, g_byte, recv, bytes_per_rank, g_byte, COMM(comm), (MPI_Request *)req);
}

int vk_mpi_ibarrier(int comm, void **req) {
    if (g_state != 1 || !COMM(comm)) return -1;
    return p_ibarrier(COMM(comm), (MPI_Request *)req);
}

int vk_mpi_test(void **req, int *done) {
    if (g_state != 1) return -1;
    return p_test((MPI_Request *)req, done, NULL);  // NULL is MPI_STATUS_IGNORE
}

const char *vk_mpi_error_string(int code) {
    static char s[MAX_STRING_ + 32];
    int len = 0;
    if (g_state != 1 || code == -1) { snprintf(s, sizeof s, "MPI is not loaded"); return s; }
    if (p_error_string(code, s, &len) != 0) snprintf(s, sizeof s, "MPI error %d", code);
    return s;
}
