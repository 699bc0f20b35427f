// Persistent thread pool: workers spin briefly on a job generation counter, then sleep on a
// condition variable. The calling thread takes part in every job. Tasks are claimed with a
// compare-and-swap on a 64-bit word (generation << 32 | next task); the caller closes the word
// (next = 0xffffffff) when a job ends, before it writes the next job's descriptor, so a late
// worker can never claim a task with a mix of two jobs' function, context and task count.
#include "vk_internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>

#define VK_MAX_THREADS 64

typedef struct {
    pthread_t tid;
    int index;              // 1 ... nthreads-1 (0 is the caller)
    unsigned start_gen;     // the generation when it was created: it runs every later job
    atomic_int stop;
} vk_worker;

static pthread_mutex_t g_config_lock = PTHREAD_MUTEX_INITIALIZER; // thread count changes
static pthread_mutex_t g_dispatch_lock = PTHREAD_MUTEX_INITIALIZER; // one job at a time
static pthread_mutex_t g_sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_sleep_cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t g_done_lock = PTHREAD_MUTEX_INITIALIZER;  // caller waiting for the end
static pthread_cond_t g_done_cond = PTHREAD_COND_INITIALIZER;

static atomic_int g_nthreads = 0;           // 0 = not initialised yet
static vk_worker *g_workers[VK_MAX_THREADS];
static int g_nworkers = 0;

static atomic_uint g_gen = 0;               // job generation (wraps)
static atomic_ullong g_claim = 0;           // (gen << 32) | next task
static _Atomic(vk_task_fn) g_fn = NULL;
static _Atomic(void *) g_ctx = NULL;
static atomic_int g_ntasks = 0;
static atomic_int g_done = 0;
static atomic_int g_sleepers = 0;
static atomic_int g_caller_waiting = 0;     // the caller sleeps on g_done_cond
static int g_spin_chunk = 64;               // pauses between clock/yield checks
// Tuning knobs (README, "Tuning"), read once at first use with checked parsing.
static long g_yield_after_ns = 50000;       // spin this long before yielding (VAE_YIELD_AFTER_US)
static long g_wait_spin_ns = 100000;        // caller spins 0.1 ms for the last tasks, then sleeps (VAE_WAIT_SPIN_US)
static long g_spin_ns = 250000;             // 0.25 ms of spinning before sleeping (VAE_SPIN_US)
static atomic_llong g_jobs_split = 0;       // jobs handed to the workers (more than one task)
static atomic_llong g_jobs_shared = 0;      // of those, jobs where a worker ran at least one task
static int g_ncpu = 1;                      // online CPUs: yield while spinning when oversubscribed

static _Thread_local int t_in_pool = 0;     // set inside tasks: nested vk_parallel runs inline

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

// Claim and run tasks of generation `gen` until none is left. Returns the number run.
static int run_tasks(unsigned gen, vk_task_fn fn, void *ctx, int ntasks) {
    int count = 0;
    for (;;) {
        unsigned long long cur = atomic_load(&g_claim);
        if ((unsigned)(cur >> 32) != gen) break;
        unsigned next = (unsigned)(cur & 0xffffffffu);
        if (next >= (unsigned)ntasks) break;   // done, or closed (0xffffffff)
        if (!atomic_compare_exchange_weak(&g_claim, &cur, cur + 1)) continue;
        fn(ctx, (int)next);
        count++;
    }
    return count;
}

static void *worker_main(void *arg) {
    vk_worker *w = (vk_worker *)arg;
    t_in_pool = 1;
    // Not the generation at thread start: a job published between pthread_create and now
    // would be missed.
    unsigned seen = w->start_gen;
    for (;;) {
        // Spin, then sleep, until a new generation appears or we are told to stop.
        long start = 0;
        int spins = 0;
        while (atomic_load_explicit(&g_gen, memory_order_acquire) == seen && !atomic_load(&w->stop)) {
            cpu_relax();
            if (++spins == g_spin_chunk) {
                spins = 0;
                long t = now_ns();
                if (start == 0) start = t;
                // After a while without work, let other runnable threads (e.g. our own caller
                // on a busy machine) go first.
                if (t - start > g_yield_after_ns || atomic_load(&g_nthreads) > g_ncpu)
                    sched_yield();
                if (t - start > g_spin_ns) {
                    pthread_mutex_lock(&g_sleep_lock);
                    atomic_fetch_add(&g_sleepers, 1);
                    while (atomic_load(&g_gen) == seen && !atomic_load(&w->stop))
                        pthread_cond_wait(&g_sleep_cond, &g_sleep_lock);
                    atomic_fetch_sub(&g_sleepers, 1);
                    pthread_mutex_unlock(&g_sleep_lock);
                    start = 0;
                }
            }
        }
        if (atomic_load(&w->stop)) break;
        unsigned gen = atomic_load(&g_gen);
        seen = gen;
        vk_task_fn fn = atomic_load(&g_fn);
        void *ctx = atomic_load(&g_ctx);
        int ntasks = atomic_load(&g_ntasks);
        int n = run_tasks(gen, fn, ctx, ntasks);
        if (n && atomic_fetch_add(&g_done, n) + n >= ntasks && atomic_load(&g_caller_waiting)) {
            pthread_mutex_lock(&g_done_lock);
            pthread_cond_broadcast(&g_done_cond);
            pthread_mutex_unlock(&g_done_lock);
        }
    }
    return NULL;
}

static void wake_all(void) {
    if (atomic_load(&g_sleepers) > 0) {
        pthread_mutex_lock(&g_sleep_lock);
        pthread_cond_broadcast(&g_sleep_cond);
        pthread_mutex_unlock(&g_sleep_lock);
    }
}

// Must hold g_config_lock and g_dispatch_lock.
static void resize_pool(int n) {
    while (g_nworkers < n - 1) {
        vk_worker *w = (vk_worker *)calloc(1, sizeof(vk_worker));
        if (!w) break;
        w->index = g_nworkers + 1;
        w->start_gen = atomic_load(&g_gen);   // no job runs now (we hold g_dispatch_lock)
        atomic_store(&w->stop, 0);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        if (pthread_create(&w->tid, &attr, worker_main, w) != 0) {
            pthread_attr_destroy(&attr);
            free(w);
            break;
        }
        pthread_attr_destroy(&attr);
        g_workers[g_nworkers++] = w;
    }
    while (g_nworkers > n - 1) {
        vk_worker *w = g_workers[--g_nworkers];
        atomic_store(&w->stop, 1);
        pthread_mutex_lock(&g_sleep_lock);
        pthread_cond_broadcast(&g_sleep_cond);
        pthread_mutex_unlock(&g_sleep_lock);
        pthread_join(w->tid, NULL);
        free(w);
    }
    atomic_store(&g_nthreads, g_nworkers + 1);
}

// VAE_THREADS if set (1 ... 64), else the online CPUs (at most 64).
static int default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    g_ncpu = (int)n;
    if (n > VK_MAX_THREADS) n = VK_MAX_THREADS;
    return (int)vk_env_long("VAE_THREADS", 1, VK_MAX_THREADS, n);
}

// In a forked child only the forking thread exists: forget the workers (their memory is
// leaked) and start a fresh pool on first use.
static void child_after_fork(void) {
    pthread_mutex_init(&g_config_lock, NULL);
    pthread_mutex_init(&g_dispatch_lock, NULL);
    pthread_mutex_init(&g_sleep_lock, NULL);
    pthread_cond_init(&g_sleep_cond, NULL);
    pthread_mutex_init(&g_done_lock, NULL);
    pthread_cond_init(&g_done_cond, NULL);
    atomic_store(&g_caller_waiting, 0);
    g_nworkers = 0;
    atomic_store(&g_sleepers, 0);
    atomic_store(&g_nthreads, 0);
    t_in_pool = 0;
}

static void ensure_init(void) {
    if (atomic_load(&g_nthreads) != 0) return;
    pthread_mutex_lock(&g_config_lock);
    static int atfork_done = 0;
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, child_after_fork);
        atfork_done = 1;
    }
    if (atomic_load(&g_nthreads) == 0) {
        // Microseconds, 0 ... 1 s.
        g_spin_ns = vk_env_long("VAE_SPIN_US", 0, 1000000, g_spin_ns / 1000) * 1000L;
        g_yield_after_ns = vk_env_long("VAE_YIELD_AFTER_US", 0, 1000000, g_yield_after_ns / 1000) * 1000L;
        g_wait_spin_ns = vk_env_long("VAE_WAIT_SPIN_US", 0, 1000000, g_wait_spin_ns / 1000) * 1000L;
        pthread_mutex_lock(&g_dispatch_lock);
        resize_pool(default_threads());
        pthread_mutex_unlock(&g_dispatch_lock);
    }
    pthread_mutex_unlock(&g_config_lock);
}

void vk_set_num_threads(int n) {
    if (t_in_pool) return;   // called from inside a task: the pool is busy (would deadlock)
    if (n < 1) n = 1;
    if (n > VK_MAX_THREADS) n = VK_MAX_THREADS;
    ensure_init();
    pthread_mutex_lock(&g_config_lock);
    pthread_mutex_lock(&g_dispatch_lock);
    resize_pool(n);
    pthread_mutex_unlock(&g_dispatch_lock);
    pthread_mutex_unlock(&g_config_lock);
}

int vk_get_num_threads(void) {
    ensure_init();
    return atomic_load(&g_nthreads);
}

int vk_in_pool_task(void) { return t_in_pool; }

void vk_parallel(int ntasks, vk_task_fn fn, void *ctx) {
    if (ntasks <= 0) return;
    ensure_init();
    // Inline when there is nothing to share, when nested inside a task, or when another
    // thread is using the pool right now.
    if (ntasks == 1 || t_in_pool || atomic_load(&g_nthreads) <= 1 ||
        pthread_mutex_trylock(&g_dispatch_lock) != 0) {
        for (int t = 0; t < ntasks; t++) fn(ctx, t);
        return;
    }
    if (g_nworkers == 0) {
        pthread_mutex_unlock(&g_dispatch_lock);
        for (int t = 0; t < ntasks; t++) fn(ctx, t);
        return;
    }
    unsigned gen = atomic_load(&g_gen) + 1u;
    atomic_store(&g_fn, fn);
    atomic_store(&g_ctx, ctx);
    atomic_store(&g_ntasks, ntasks);
    atomic_store(&g_done, 0);
    atomic_store(&g_claim, (unsigned long long)gen << 32);
    atomic_store(&g_gen, gen);     // publish (seq_cst)
    atomic_fetch_add_explicit(&g_jobs_split, 1, memory_order_relaxed);
    wake_all();
    t_in_pool = 1;
    int mine = run_tasks(gen, fn, ctx, ntasks);
    t_in_pool = 0;
    if (mine) atomic_fetch_add(&g_done, mine);
    if (mine < ntasks) atomic_fetch_add_explicit(&g_jobs_shared, 1, memory_order_relaxed);
    // Wait for tasks still running on workers: spin briefly, then sleep (on a busy machine a
    // spinning caller would take CPU time from the very worker it waits for).
    int spins = 0;
    long start = 0;
    while (atomic_load_explicit(&g_done, memory_order_acquire) < ntasks) {
        cpu_relax();
        if (++spins < 64) continue;
        spins = 0;
        long t = now_ns();
        if (start == 0) start = t;
        if (t - start > g_yield_after_ns) sched_yield();
        if (t - start < g_wait_spin_ns) continue;
        atomic_store(&g_caller_waiting, 1);
        pthread_mutex_lock(&g_done_lock);
        while (atomic_load(&g_done) < ntasks) pthread_cond_wait(&g_done_cond, &g_done_lock);
        pthread_mutex_unlock(&g_done_lock);
        atomic_store(&g_caller_waiting, 0);
    }
    // Close the job before the next one rewrites fn/ctx/ntasks: a late worker that read this
    // generation but the next job's descriptor can then never claim a task.
    atomic_store(&g_claim, ((unsigned long long)gen << 32) | 0xffffffffull);
    pthread_mutex_unlock(&g_dispatch_lock);
}

int vk_pool_sleeping_workers(void) {
    return atomic_load(&g_sleepers);
}

void vk_pool_counters(long long *split, long long *shared) {
    if (split) *split = atomic_load(&g_jobs_split);
    if (shared) *shared = atomic_load(&g_jobs_shared);
}
