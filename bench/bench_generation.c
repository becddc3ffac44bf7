/* bench_generation.c: what issue 14's tasks cost beyond plain inference (docs/generation.md,
 * "Figures"), on converted model files, best of --reps rounds each, the measurements of a round
 * interleaved; every figure as wall time and as process CPU time (the machine may be shared: CPU
 * time is what the work itself took, all threads together).
 *
 * A LLaMA step graph (`opml convert` of a GGUF file):
 *   - happy path: the whole generation a submitter runs to submit (opml_llama_generate: the step
 *     graph with its Sample node, greedy, nothing committed) against plain decoding (the prompt
 *     as one batch, then one step per token, each the argmax of the returned logits, as
 *     `opml generate` does);
 *   - G_t for every t (what each party computes when a game opens): the replay of the ids, then
 *     the hashing alone (opml_llama_gen_states over a session holding them: the caches'
 *     incremental roots, row by row);
 *   - a disputed step's full commitments (opml_llama_commit_step at t = P + M/2: every value's
 *     root and State_0 .. State_n) against the plain decoding of the same step (opml_llama_step),
 *     the session holding x_0 .. x_{t-1} in both.
 *   With --step-only the generation is not run (the ids past the prompt are made up): G_t and the
 *   step only, for a large file.
 * A classifier (any other model file): one input per run, as a task carries it; the submitter's
 * happy path (opml_run_exec without commitments, what ExecutorInfer runs: the call plain inference
 * makes, so the overhead printed is what the measurement sees of none) and, for comparison, the
 * run with every commitment that the happy path computed before issue 14 and a game's opening
 * computes now.
 * Prints one JSON line per model. Usage: bench_generation [--threads N] [--reps R] [--prompt P]
 *        [--gen N] [--backend ref|blas] [--step-only] MODEL.opml... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"

typedef struct clk {
    double wall, cpu;
} clk;

static clk now(void) {
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    return (clk){(double)w.tv_sec + (double)w.tv_nsec * 1e-9, (double)c.tv_sec + (double)c.tv_nsec * 1e-9};
}

/* best[i] = the least of best[i] (0: none yet) and end - start */
static void keep_best(clk *best, clk start, clk end) {
    clk d = {end.wall - start.wall, end.cpu - start.cpu};
    if (best->wall == 0 || d.wall < best->wall) best->wall = d.wall;
    if (best->cpu == 0 || d.cpu < best->cpu) best->cpu = d.cpu;
}

static double over(double a, double base) { return a / base - 1; }

typedef struct opts {
    int threads, reps, prompt, gen, step_only;
    const char *backend;
} opts;

/* ---- LLaMA step graphs ---- */

typedef struct gen_figures {
    clk plain, happy, replay, hash, step, commit;
} gen_figures;

static int argmax(const float *x, uint32_t n) {
    uint32_t b = 0;
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int)b;
}

/* Plain decoding, then the submitter's generation of q: ids[P ..] get its tokens, *count P + M. */
static int happy_round(opml_llama_session *s, const opml_llama_request *q, int32_t *ids, uint32_t *count,
                       float *logits, uint32_t vocab, gen_figures *f, char *err, size_t errlen) {
    uint32_t P = q->prompt_len, N = q->max_new, M;
    clk t0 = now();
    int rc = opml_llama_step(s, q->prompt, P, 0, 0, logits, err, errlen);
    for (uint32_t g = 0; g + 1 < N && rc == 0; g++) {
        int32_t tok = argmax(logits, vocab);
        rc = opml_llama_step(s, &tok, 1, P + g, 0, logits, err, errlen);
    }
    clk t1 = now();
    if (rc || opml_llama_generate(s, q, ids + P, &M, NULL, NULL, err, errlen)) return -1;
    keep_best(&f->plain, t0, t1), keep_best(&f->happy, t1, now());
    *count = P + M;
    return 0;
}

/* G_t of ids[0 .. count) from empty caches (the replay, then the hashing alone), then step
 * t = P + (count - P) / 2 plain and committed. */
static int dispute_round(opml_llama_session *s, const int32_t *ids, uint32_t count, uint32_t P,
                         const opml_gen_sampler *sp, float *logits, gen_figures *f, char *err, size_t errlen) {
    uint8_t(*st)[32] = malloc((size_t)count * 32);
    if (!st) return -1;
    opml_llama_session_truncate(s, 0);
    clk t0 = now();
    int rc = opml_llama_replay(s, ids, count - 1, err, errlen);
    clk t1 = now();
    rc = rc || opml_llama_gen_states(s, ids, count, st, NULL, NULL, err, errlen); /* the ids held: hashing only */
    clk t2 = now();
    free(st);
    if (rc) return -1;
    keep_best(&f->replay, t0, t1), keep_best(&f->hash, t1, t2);
    uint32_t t = P + (count - P) / 2;
    const opml_run *r;
    if (opml_llama_replay(s, ids, t, err, errlen)) return -1;
    clk t3 = now();
    if (opml_llama_step(s, ids + t, 1, t, 0, logits, err, errlen)) return -1;
    clk t4 = now();
    if (opml_llama_replay(s, ids, t, err, errlen)) return -1; /* forgets row t only */
    clk t5 = now();
    if (opml_llama_commit_step(s, ids, t, P, sp, &r, err, errlen)) return -1;
    keep_best(&f->step, t3, t4), keep_best(&f->commit, t5, now());
    return 0;
}

static int bench_llama(opml_llama *m, const char *path, const opts *o) {
    char err[512];
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    uint32_t P = (uint32_t)o->prompt, N = (uint32_t)o->gen, count = P + N;
    opml_llama_session *s;
    if (P + N > hp->ctx) {
        fprintf(stderr, "bench_generation: %s: the prompt and the new tokens need more than %u positions\n", path, hp->ctx);
        return -1;
    }
    if (opml_llama_session_new(m, 0, o->backend, o->threads, &s, err, sizeof err)) {
        fprintf(stderr, "bench_generation: %s: %s\n", path, err);
        return -1;
    }
    int32_t *ids = malloc((size_t)count * sizeof *ids);
    float *logits = malloc((size_t)hp->vocab * sizeof *logits);
    if (!ids || !logits) abort();
    for (uint32_t i = 0; i < count; i++) ids[i] = 3 + (int32_t)((i * 37) % (hp->vocab - 3));
    opml_llama_request q = {ids, P, N, OPML_GEN_NO_STOP, {0, 0, 0, 0}};
    gen_figures f;
    memset(&f, 0, sizeof f);
    int rc = 0;
    for (int r = 0; r < o->reps && rc == 0; r++) {
        if (!o->step_only) rc = happy_round(s, &q, ids, &count, logits, hp->vocab, &f, err, sizeof err);
        if (rc == 0) rc = dispute_round(s, ids, count, P, &q.sampler, logits, &f, err, sizeof err);
    }
    if (rc) {
        fprintf(stderr, "bench_generation: %s: %s\n", path, err);
    } else {
        double rows_mb = (double)(count - 1) * 2 * hp->layers * (double)llama_cache_row_bytes(hp) / 1e6;
        printf("{\"model\":\"%s\",\"kind\":\"generation\",\"layers\":%u,\"dim\":%u,\"vocab\":%u,\"ctx\":%u,"
               "\"threads\":%d,\"backend\":\"%s\",\"prompt\":%u,\"new\":%u,\"reps\":%d,",
               path, hp->layers, hp->dim, hp->vocab, hp->ctx, o->threads, o->backend, P, count - P, o->reps);
        if (!o->step_only)
            printf("\"plain_s\":%.4f,\"happy_s\":%.4f,\"happy_overhead\":%.4f,\"plain_cpu_s\":%.4f,\"happy_cpu_s\":%.4f,"
                   "\"happy_overhead_cpu\":%.4f,", f.plain.wall, f.happy.wall, over(f.happy.wall, f.plain.wall),
                   f.plain.cpu, f.happy.cpu, over(f.happy.cpu, f.plain.cpu));
        printf("\"replay_s\":%.4f,\"states_hash_s\":%.5f,\"states_overhead\":%.4f,\"states_rows_mb\":%.3f,"
               "\"step_s\":%.5f,\"commit_step_s\":%.5f,\"commit_overhead\":%.4f,"
               "\"step_cpu_s\":%.5f,\"commit_step_cpu_s\":%.5f,\"commit_overhead_cpu\":%.4f}\n",
               f.replay.wall, f.hash.wall, f.hash.wall / f.replay.wall, rows_mb, f.step.wall, f.commit.wall,
               over(f.commit.wall, f.step.wall), f.step.cpu, f.commit.cpu, over(f.commit.cpu, f.step.cpu));
    }
    free(ids), free(logits);
    opml_llama_session_free(s);
    return rc;
}

/* ---- classifiers ---- */

/* One input of m's shape, made up: small ids (1 to 50: tokens of a text classifier, never its
 * padding 0) for an integer input, values in [0, 1) else. */
static void *make_input(const opml_model *m, size_t *len) {
    const kd_tensor *t = &m->inputs[0];
    *len = (size_t)kd_nbytes(t);
    uint8_t *p = malloc(*len ? *len : 1);
    if (!p) abort();
    unsigned es = kd_elsize(t->dtype);
    for (size_t i = 0; es && i < *len / es; i++) {
        int64_t id = 1 + (int64_t)(i * 7 % 50);
        int32_t id32 = (int32_t)id;
        float v = (float)(i * 37 % 256) / 255.0f;
        const void *src = t->dtype == KD_I64 ? (const void *)&id : t->dtype == KD_I32 ? (const void *)&id32 : &v;
        memcpy(p + es * i, src, es);
    }
    return p;
}

/* k runs of r on in, with commitments or not */
static int runs(opml_run *r, const void *in, size_t len, int k, int commit, char *err, size_t errlen) {
    const void *ins[1] = {in};
    for (int i = 0; i < k; i++)
        if (opml_run_exec(r, ins, &len, commit, err, errlen)) return -1;
    return 0;
}

static int bench_classifier(const char *path, const opts *o) {
    char err[512];
    opml_model m;
    opml_run r;
    opml_backend *b = NULL;
    if (opml_model_load(path, &m, err, sizeof err)) {
        fprintf(stderr, "bench_generation: %s: %s\n", path, err);
        return -1;
    }
    if (m.nin != 1 || !(b = opml_backend_new(o->backend)) || opml_run_init(&r, &m, b, err, sizeof err)) {
        fprintf(stderr, "bench_generation: %s: %s\n", path,
                m.nin != 1 ? "not a one-input classifier" : b ? err : "no such backend");
        if (b) opml_backend_free(b);
        opml_model_free(&m);
        return -1;
    }
    opml_backend_set_threads(b, o->threads);
    size_t len;
    void *in = make_input(&m, &len);
    clk plain = {0, 0}, happy = {0, 0}, commit = {0, 0};
    int k = 1, rc = runs(&r, in, len, 1, 1, err, sizeof err); /* warm-up, and the hashing plan made */
    clk c0 = now();
    rc = rc || runs(&r, in, len, 1, 0, err, sizeof err);
    double one = now().wall - c0.wall;
    while (k < 100000 && k * one < 0.2) k *= 2; /* about 0.2 s of runs per figure */
    for (int rep = 0; rep < o->reps && rc == 0; rep++) {
        clk t0 = now();
        rc = runs(&r, in, len, k, 0, err, sizeof err);
        clk t1 = now();
        rc = rc || runs(&r, in, len, k, 0, err, sizeof err);
        clk t2 = now();
        rc = rc || runs(&r, in, len, k, 1, err, sizeof err);
        keep_best(&plain, t0, t1), keep_best(&happy, t1, t2), keep_best(&commit, t2, now());
    }
    if (rc) {
        fprintf(stderr, "bench_generation: %s: %s\n", path, err);
    } else {
        printf("{\"model\":\"%s\",\"kind\":\"classifier\",\"nodes\":%u,\"threads\":%d,\"backend\":\"%s\",\"runs\":%d,"
               "\"reps\":%d,\"plain_us\":%.1f,\"happy_us\":%.1f,\"happy_overhead\":%.4f,\"happy_overhead_cpu\":%.4f,"
               "\"committed_us\":%.1f,\"committed_ratio\":%.2f,\"committed_ratio_cpu\":%.2f}\n",
               path, m.n, o->threads, o->backend, k, o->reps, 1e6 * plain.wall / k, 1e6 * happy.wall / k,
               over(happy.wall, plain.wall), over(happy.cpu, plain.cpu), 1e6 * commit.wall / k,
               commit.wall / plain.wall, commit.cpu / plain.cpu);
    }
    free(in);
    opml_run_free(&r);
    opml_backend_free(b);
    opml_model_free(&m);
    return rc;
}

static int count_arg(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v <= 1 << 20 ? (int)v : -1;
}

int main(int argc, char **argv) {
    opts o = {2, 3, 32, 32, 0, "blas"};
    const char **models = calloc((size_t)argc, sizeof *models);
    int nm = 0, bad = !models, status = 0;
    for (int i = 1; i < argc && !bad; i++) {
        int *opt = !strcmp(argv[i], "--threads") ? &o.threads : !strcmp(argv[i], "--prompt") ? &o.prompt
                 : !strcmp(argv[i], "--gen")     ? &o.gen     : !strcmp(argv[i], "--reps")   ? &o.reps : NULL;
        if (opt && i + 1 < argc && (*opt = count_arg(argv[i + 1])) >= 0) i++;
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) o.backend = argv[++i];
        else if (!strcmp(argv[i], "--step-only")) o.step_only = 1;
        else if (argv[i][0] != '-') models[nm++] = argv[i];
        else bad = 1;
    }
    if (bad || !nm || o.threads < 1 || o.prompt < 1 || o.gen < 2 || o.reps < 1) {
        fprintf(stderr, "usage: bench_generation [--threads N] [--reps R] [--prompt P] [--gen N] [--backend ref|blas] "
                        "[--step-only] MODEL.opml...\n");
        free(models);
        return 2;
    }
    for (int i = 0; i < nm; i++) {
        char err[512];
        opml_llama *m;
        if (opml_llama_open(models[i], 0, &m, err, sizeof err) == 0) {
            status |= bench_llama(m, models[i], &o) != 0;
            opml_llama_close(m);
        } else {
            status |= bench_classifier(models[i], &o) != 0;
        }
        fflush(stdout);
    }
    free(models);
    return status;
}
