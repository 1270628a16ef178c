#include "ascent_parallel.h"

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

int ascent_in_parallel(void) { return omp_in_parallel(); }

int ascent_thread_number(void) { return omp_get_thread_num(); }
