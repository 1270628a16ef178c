#ifndef ASCENT_PARALLEL_H
#define ASCENT_PARALLEL_H

/* The OpenMP runtime (libgomp) that Debian's libdnnl runs its convolutions and sgemm on, and the
   processor budget of the process. */

/* How many processors this process may use: the CPUs in its affinity mask (sched_getaffinity),
   lowered to the cgroup CPU quota (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us,
   rounded up) when there is one. At least 1. */
int ascent_available_cpus(void);

/* The spin count libgomp was started with when Ascent chose it (its workers spin this many
   iterations after a parallel region, then sleep in the kernel), or -1 when the environment
   already set GOMP_SPINCOUNT or OMP_WAIT_POLICY (the user's choice is kept) or when this process
   did not start with Ascent's hook (a shared library; see parallel.c). */
long long ascent_openmp_spin_count(void);

/* Called once per chunk; `ctx` is the pointer given to ascent_parallel_for. */
typedef void (*ascent_chunk_body)(void *ctx, int chunk);

/* Calls body(ctx, c) for every c in 0..<n_chunks on a team of up to `threads` OpenMP threads,
   the calling thread included; chunk c runs on thread c % team size (a static schedule).
   Returns when every chunk is done. Runs the chunks in order on the calling thread when
   `threads` or `n_chunks` is at most 1, or when called from inside an active OpenMP
   parallel region (no nested teams). */
void ascent_parallel_for(int n_chunks, int threads, ascent_chunk_body body, void *ctx);

/* Runnable tasks on the whole machine other than the calling thread (the running count of
   /proc/loadavg less one), read at most every 10 ms; -1 when unknown. */
int ascent_runnable_elsewhere(void);

/* Whether the calling thread is inside an active OpenMP parallel region (for tests). */
int ascent_in_parallel(void);

/* The calling thread's number in its OpenMP team (0 outside a region; for tests). */
int ascent_thread_number(void);

#endif
