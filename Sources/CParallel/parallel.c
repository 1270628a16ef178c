#define _GNU_SOURCE
#include "ascent_parallel.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* libgomp's entry points, declared here so that no omp.h is needed. Clang's -fopenmp emits
   calls to the LLVM runtime (__kmpc_*), which libgomp does not provide, so the parallel region
   is opened through GOMP_parallel: what GCC compiles `#pragma omp parallel num_threads(n)` to. */
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_in_parallel(void);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);

struct job {
    int n_chunks;
    ascent_chunk_body body;
    void *ctx;
};

/* Runs on every thread of the team: a static schedule, chunk c on thread c % team size. */
static void run_team_share(void *data) {
    const struct job *job = data;
    int team = omp_get_num_threads();
    for (int c = omp_get_thread_num(); c < job->n_chunks; c += team) job->body(job->ctx, c);
}

void ascent_parallel_for(int n_chunks, int threads, ascent_chunk_body body, void *ctx) {
    if (n_chunks <= 0) return;
    if (threads > n_chunks) threads = n_chunks;
    if (threads <= 1 || omp_in_parallel()) {
        for (int c = 0; c < n_chunks; c++) body(ctx, c);
        return;
    }
    struct job job = { n_chunks, body, ctx };
    GOMP_parallel(run_team_share, &job, (unsigned)threads, 0);
}

int ascent_thread_number(void) { return omp_get_thread_num(); }

/* libgomp's idle workers spin-wait after each parallel region before they sleep: 300,000
   iterations by default. On a machine shared with other busy processes a spinning worker holds a
   core someone else needs, and the next region waits for whoever was descheduled (a 224² forward
   went from 3 ms to 130–250 ms, a 64² probe from 1.2 s to 50 s). Measured here (Tools/bench,
   BENCHMARKS.md "Under load"): any spin at all hurts once the cores are shared (1,000 iterations
   still made a 10-step probe 1.7× its one-thread time, 10,000 made it 7×), while workers that sleep
   at once cost a futex wake-up per region, which plans avoid for small operations by running them
   on one thread (see DNNL.swift). So Ascent starts libgomp passive: GOMP_SPINCOUNT=0.

   libgomp reads GOMP_SPINCOUNT once, in its own constructor, and has no call to change it later,
   so it is set in the executable's preinit array, which the dynamic loader runs before any shared
   library's initializer, and taken out of the environment again by a constructor (which runs
   after libgomp's) so that child processes see the user's environment. A user's GOMP_SPINCOUNT or
   OMP_WAIT_POLICY wins. (The preinit array exists only in executables; a shared-library build of
   this file keeps libgomp's default, and ascent_openmp_spin_count says so.) */
#define ASCENT_SPIN_COUNT "0"

static long long chosen_spin = -1;
static int restore_environment;

static void set_spin_count(int argc, char **argv, char **envp) {
    (void)argc; (void)argv; (void)envp;
    if (getenv("GOMP_SPINCOUNT") || getenv("OMP_WAIT_POLICY")) return;
    if (setenv("GOMP_SPINCOUNT", ASCENT_SPIN_COUNT, 1) != 0) return;
    chosen_spin = atoll(ASCENT_SPIN_COUNT);
    restore_environment = 1;
}

__attribute__((section(".preinit_array"), used))
static void (*const ascent_preinit)(int, char **, char **) = set_spin_count;

__attribute__((constructor))
static void restore_spin_count(void) {
    if (restore_environment) unsetenv("GOMP_SPINCOUNT");
}

long long ascent_openmp_spin_count(void) { return chosen_spin; }

int ascent_in_parallel(void) { return omp_in_parallel(); }


/* Reads the first line of `path` into `buf`; 0 on failure. */
static int read_line(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    return ok;
}

/* CPUs allowed by a quota of `quota` µs per `period` µs (rounded up), or 0 for no quota. */
static int quota_cpus(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return 0;
    long long n = (quota + period - 1) / period;
    return n < 1 ? 1 : (int)(n > 4096 ? 4096 : n);
}

/* The CPUs a cgroup v2 "cpu.max" file ("max 100000" or "QUOTA PERIOD") allows; -1 if unreadable. */
static int cpu_max(const char *path) {
    char value[128];
    if (!read_line(path, value, sizeof value)) return -1;
    long long quota = 0, period = 100000;
    if (strncmp(value, "max", 3) == 0 || sscanf(value, "%lld %lld", &quota, &period) < 1) return 0;
    return quota_cpus(quota, period);
}

/* The cgroup CPU quota in CPUs, or 0 when there is none or it cannot be read. */
static int cgroup_cpus(void) {
    char line[512], path[768];
    /* cgroup v2: the line "0::/path" of /proc/self/cgroup; the limit in /sys/fs/cgroup/path/cpu.max,
       or at the mount's root inside a container that mounts its own cgroup there. */
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        int found = -1;
        while (found < 0 && fgets(line, sizeof line, f)) {
            if (strncmp(line, "0::", 3) != 0) continue;
            line[strcspn(line, "\n")] = 0;
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", line + 3);
            found = cpu_max(path);
        }
        fclose(f);
        if (found < 0) found = cpu_max("/sys/fs/cgroup/cpu.max");
        if (found >= 0) return found;
    }
    /* cgroup v1: cpu.cfs_quota_us (-1 for none) over cpu.cfs_period_us. */
    const char *dirs[2] = { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct" };
    for (int i = 0; i < 2; i++) {
        char q[128], p[128];
        snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dirs[i]);
        if (!read_line(path, q, sizeof q)) continue;
        snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dirs[i]);
        if (!read_line(path, p, sizeof p)) continue;
        return quota_cpus(atoll(q), atoll(p));
    }
    return 0;
}

int ascent_available_cpus(void) {
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n < 1) n = 1;
    int quota = cgroup_cpus();
    if (quota > 0 && quota < n) n = quota;
    return n;
}

/* Runnable tasks system-wide other than the caller: the "R" of /proc/loadavg's "R/T" field, less
   the calling thread (which is running as it reads). Read at most every 10 ms; between reads the
   last value is returned. -1 when /proc/loadavg cannot be read. */
int ascent_runnable_elsewhere(void) {
    /* Shared by every calling thread: relaxed atomics (a slightly stale value is fine). */
    static long long last_ns = -1;
    static int last = -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    long long seen = __atomic_load_n(&last_ns, __ATOMIC_RELAXED);
    if (seen >= 0 && ns - seen < 10000000LL) return __atomic_load_n(&last, __ATOMIC_RELAXED);
    char line[128];
    int running = -1;
    if (read_line("/proc/loadavg", line, sizeof line)) {
        double a, b, c;
        int total;
        if (sscanf(line, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total) != 5) running = -1;
    }
    int value = running < 0 ? -1 : (running > 0 ? running - 1 : 0);
    __atomic_store_n(&last, value, __ATOMIC_RELAXED);
    __atomic_store_n(&last_ns, ns, __ATOMIC_RELAXED);
    return value;
}
