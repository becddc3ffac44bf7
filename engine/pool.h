/* pool.h: a small pool of worker threads for the host backends' parallel kernels (the Q8_0
 * product's output rows). One job at a time: pool_run calls fn(arg, i, n) for i = 0..n-1, one call
 * per thread, the caller's thread doing i = 0, and returns when every call has returned. Workers
 * spin briefly after a job (decoding runs one product after another, a few microseconds apart)
 * and then sleep, so an idle pool costs no CPU. Results never depend on the thread count: callers
 * split work so that each output is computed by one thread in the normative order. */
#ifndef OPML_POOL_H
#define OPML_POOL_H

typedef void (*pool_fn)(void *arg, int i, int n);

typedef struct opml_pool opml_pool;

/* A pool of `threads` threads in all (the caller's included; 0: one per online CPU). NULL when
 * out of memory; a pool whose threads could not all start works with fewer. */
opml_pool *pool_new(int threads);
void pool_free(opml_pool *p);
/* Threads a job may use (>= 1). */
int pool_threads(const opml_pool *p);
/* Run fn on min(n, pool_threads) threads: fn(arg, i, used) for i < used. Not reentrant. */
void pool_run(opml_pool *p, int n, pool_fn fn, void *arg);

#endif
