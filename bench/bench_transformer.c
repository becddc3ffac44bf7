/* bench_transformer.c: one decoding step (one token) through LLaMA-7B-sized transformer blocks
 * (hidden 4096, 32 heads of 128, MLP 11008, int8 weights: 202 MB per block) built in memory with
 * seeded random weights (engine/tests/llama_graph.c), on the ref and blas backends, with and
 * without commitments. Prints tokens per second of the step, the weight bandwidth it implies and
 * that bandwidth as a fraction of this machine's memcpy bandwidth, measured in the same run.
 * usage: bench_transformer [--layers N] [--reps N] [--pos P] [--backend ref|blas]
 * (--layers 32 --backend ref is a whole LLaMA-7B-sized stack: 6.5 GB of int8 weights; blas keeps
 * a float copy of the weights, four times that.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "llama_graph.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* memcpy of a 512 MiB buffer (far beyond the caches): bytes copied per second, best of reps. */
static double copy_bandwidth(int reps) {
    size_t n = (size_t)512 << 20;
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) return 0;
    memset(a, 1, n), memset(b, 2, n);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now();
        memcpy(b, a, n);
        t = now() - t;
        if (t < best) best = t;
        a[r] = b[n - 1 - r]; /* keep the copies observable */
    }
    free(a), free(b);
    return (double)n / best;
}

int main(int argc, char **argv) {
    int layers = 1, reps = 5, pos = 255;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--layers")) layers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--pos")) pos = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--backend")) only = argv[i + 1];
    }
    if (layers < 1 || reps < 1 || reps > 100 || pos < 0 || pos > 510) {
        fprintf(stderr, "usage: bench_transformer [--layers N>=1] [--reps 1..100] [--pos 0..510] [--backend ref|blas]\n");
        return 2;
    }
    llama_cfg c = {.vocab = 256, .dim = 4096, .heads = 32, .kv_heads = 32, .head_dim = 128, .ffn = 11008,
                   .layers = (uint32_t)layers, .max_seq = 512, .tokens = 1, .with_head = 0, .seed = 1};
    char err[256];
    llama_graph g;
    double t0 = now();
    if (llama_build(&c, &g, err, sizeof err)) {
        fprintf(stderr, "bench_transformer: %s\n", err);
        return 1;
    }
    double wbytes = (double)llama_block_weight_bytes(&c) * layers;
    printf("model: %d block(s) of hidden %u, %u heads x %u, MLP %u; %.1f MB int8 weights, %u nodes; built and "
           "committed in %.1f s\n", layers, c.dim, c.heads, c.head_dim, c.ffn, wbytes / 1e6, g.m.n, now() - t0);
    double hashed = 0, caches = 0; /* bytes a committed step hashes: every value's tensor root */
    for (uint32_t v = 0; v < g.m.nin + g.m.n; v++) {
        double b = (double)kd_nbytes(&g.m.values[v]);
        hashed += b;
        if (v >= 2 && v < g.m.nin) caches += 2 * b; /* a cache input and its KVAppend output */
    }
    printf("commitments: %.1f MB of values hashed per step, %.1f MB of them the key/value caches (%u positions)\n",
           hashed / 1e6, caches / 1e6, c.max_seq);
    double copy = copy_bandwidth(5);
    printf("memcpy: %.2f GB/s copied (%.2f GB/s of read + write traffic)\n", copy / 1e9, 2 * copy / 1e9);

    /* inputs: one token at position pos, caches with pos random rows */
    size_t cb = (size_t)kd_nbytes(&g.m.inputs[2]);
    const void **in = calloc(g.m.nin, sizeof *in);
    size_t *len = calloc(g.m.nin, sizeof *len);
    float *cache = malloc(cb);
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < cb / 4; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        cache[i] = i < (size_t)pos * c.kv_heads * c.head_dim ? (float)((int)(s % 2001) - 1000) / 1000.0f : 0.0f;
    }
    int32_t id = 42, p = pos;
    in[0] = &id, len[0] = 4, in[1] = &p, len[1] = 4;
    for (uint32_t i = 2; i < g.m.nin; i++) in[i] = cache, len[i] = cb;

    const char *backends[2] = {"ref", "blas"};
    uint8_t state[2][32];
    int ran[2] = {0, 0};
    for (int bi = 0; bi < 2; bi++) {
        if (only && strcmp(only, backends[bi])) continue;
        ran[bi] = 1;
        opml_backend *b = opml_backend_new(backends[bi]);
        opml_run r;
        if (!b || opml_run_init(&r, &g.m, b, err, sizeof err)) {
            fprintf(stderr, "bench_transformer: %s: %s\n", backends[bi], b ? err : "no backend");
            return 1;
        }
        for (int commit = 0; commit < 2; commit++) {
            double *t = calloc((size_t)reps, sizeof *t);
            if (opml_run_exec(&r, in, len, commit, err, sizeof err)) { /* warm-up (blas: weights widened) */
                fprintf(stderr, "bench_transformer: %s\n", err);
                return 1;
            }
            for (int k = 0; k < reps; k++) {
                double a = now();
                opml_run_exec(&r, in, len, commit, err, sizeof err);
                t[k] = now() - a;
            }
            qsort(t, (size_t)reps, sizeof *t, cmp);
            double med = t[reps / 2], bw = wbytes / med;
            printf("%-4s %-18s %7.2f tokens/s (%.1f ms/step, median of %d): %.2f GB/s of int8 weights = %.0f%% of "
                   "memcpy's read+write traffic\n",
                   backends[bi], commit ? "with commitments" : "no commitments", 1.0 / med, med * 1e3, reps, bw / 1e9,
                   100.0 * bw / (2 * copy));
            free(t);
        }
        memcpy(state[bi], r.states[g.m.n], 32);
        opml_run_free(&r);
        opml_backend_free(b);
    }
    int same = !ran[0] || !ran[1] || !memcmp(state[0], state[1], 32);
    if (ran[0] && ran[1]) printf("State_n ref == blas: %s\n", same ? "yes" : "NO");
    free(in), free(len), free(cache);
    llama_free(&g);
    return same ? 0 : 1;
}
