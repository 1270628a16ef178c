#ifndef ASCENT_PARALLEL_H
#define ASCENT_PARALLEL_H

/* Ascent's loops on the OpenMP runtime (libgomp) that Debian's libdnnl runs on, so that one
   pool of threads can serve both. */

/* Called once per chunk; `ctx` is the pointer given to ascent_parallel_for. */
typedef void (*ascent_chunk_body)(void *ctx, int chunk);

/* Calls body(ctx, c) for every c in 0..<n_chunks on a team of up to `threads` OpenMP threads,
   the calling thread included; chunk c runs on thread c % team size (a static schedule).
   Returns when every chunk is done. Runs the chunks in order on the calling thread when
   `threads` or `n_chunks` is at most 1, or when called from inside an active OpenMP
   parallel region (no nested teams). */
void ascent_parallel_for(int n_chunks, int threads, ascent_chunk_body body, void *ctx);

/* Whether the calling thread is inside an active OpenMP parallel region (for tests). */
int ascent_in_parallel(void);

/* The calling thread's number in its OpenMP team (0 outside a region; for tests). */
int ascent_thread_number(void);

#endif
