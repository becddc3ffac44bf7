/* pool.c: the worker threads of pool.h. A job is published by bumping `gen`; each worker runs
 * its share and increments `done`; the caller does share 0 and waits for done == used - 1. */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 64
#define POOL_SPIN_NS 200000 /* how long an idle worker polls for the next job before sleeping */

typedef struct worker {
    opml_pool *p;
    int index;
    pthread_t thread;
} worker;

struct opml_pool {
    int threads, started;
    worker w[POOL_MAX];
    pool_fn fn;
    void *arg;
    int used;
    _Atomic unsigned gen;
    _Atomic int done, sleeping, quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    opml_pool *p = w->p;
    unsigned seen = 0;
    for (;;) {
        long long until = now_ns() + POOL_SPIN_NS;
        while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit) && now_ns() < until) __builtin_ia32_pause();
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->quit)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleeping, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit)) pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleeping, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = atomic_load(&p->gen);
        if (w->index < p->used) {
            p->fn(p->arg, w->index, p->used);
            atomic_fetch_add(&p->done, 1);
        }
    }
}

opml_pool *pool_new(int threads) {
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > POOL_MAX) threads = POOL_MAX;
    opml_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = 1;
    if (pthread_mutex_init(&p->mu, NULL)) {
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->cv, NULL)) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    for (int i = 1; i < threads; i++) {
        p->w[i].p = p, p->w[i].index = i;
        if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i])) break;
        p->threads = p->started = i + 1;
    }
    return p;
}

void pool_free(opml_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->started; i++) pthread_join(p->w[i].thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int pool_threads(const opml_pool *p) { return p ? p->threads : 1; }

void pool_run(opml_pool *p, int n, pool_fn fn, void *arg) {
    int used = !p || n < 1 ? 1 : n < p->threads ? n : p->threads;
    if (used == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn, p->arg = arg, p->used = used;
    atomic_store(&p->done, 0);
    atomic_fetch_add(&p->gen, 1); /* publishes fn, arg, used (sequentially consistent) */
    if (atomic_load(&p->sleeping)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, used);
    for (unsigned spins = 0; atomic_load(&p->done) < used - 1; spins++) {
        if (spins < 100000) __builtin_ia32_pause();
        else sched_yield(); /* a worker descheduled on a busy machine */
    }
}
