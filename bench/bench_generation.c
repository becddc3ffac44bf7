/* bench_generation.c: what generation tasks cost beyond plain decoding (issue 14, docs/generation.md),
 * on a converted LLaMA model, best of --reps runs each, interleaved:
 *   - happy path: a whole generation as a submitter runs it (opml_llama_generate: the step graph
 *     with its Sample node, nothing committed) against plain decoding (the prompt as one batch,
 *     then one step per token, each the argmax of the returned logits, as `opml generate` does);
 *   - G_t for every t of that generation (opml_llama_gen_states): the replay of its tokens and the
 *     hashing of the caches' incremental roots, with the bytes of cache rows hashed;
 *   - a disputed step's full commitments (opml_llama_commit_step: every value's root and the graph
 *     states of step t) against the plain decoding of the same step (opml_llama_step), the
 *     session holding x_0 .. x_{t-1} in both.
 * Prints one JSON line. Usage: bench_generation MODEL.opml [--threads N] [--prompt P] [--gen N]
 *        [--reps R] [--backend ref|blas] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int count(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v <= 1 << 20 ? (int)v : -1;
}

static double best(double a, double b) { return a == 0 || b < a ? b : a; }

static int argmax(const float *x, uint32_t n) {
    uint32_t b = 0;
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int)b;
}

typedef struct figures {
    double plain, happy, replay, states, step, commit;
} figures;

/* One round of every measurement; 0 or -1 + err. */
static int round_once(opml_llama_session *s, opml_llama_session *fresh, const opml_llama_request *q, int32_t *ids,
                      float *logits, uint32_t vocab, figures *f, char *err, size_t errlen) {
    uint32_t P = q->prompt_len, N = q->max_new, M;
    double t0 = now_s();
    int rc = opml_llama_step(s, q->prompt, P, 0, 0, logits, err, errlen);
    for (uint32_t g = 0; g < N && rc == 0; g++) {
        int32_t tok = argmax(logits, vocab);
        if (g + 1 < N) rc = opml_llama_step(s, &tok, 1, P + g, 0, logits, err, errlen);
    }
    double t1 = now_s();
    if (rc || opml_llama_generate(s, q, ids + P, &M, NULL, NULL, err, errlen)) return -1;
    double t2 = now_s();
    f->plain = best(f->plain, t1 - t0), f->happy = best(f->happy, t2 - t1);
    uint32_t count = P + M;
    /* G_t: a fresh session replays and hashes; the replay alone on another fresh start */
    opml_llama_session_truncate(fresh, 0);
    double t3 = now_s();
    if (opml_llama_replay(fresh, ids, count - 1, err, errlen)) return -1;
    double t4 = now_s();
    opml_llama_session_truncate(fresh, 0);
    uint8_t(*st)[32] = malloc((size_t)count * 32);
    rc = !st || opml_llama_gen_states(fresh, ids, count, st, NULL, NULL, err, errlen);
    double t5 = now_s();
    free(st);
    if (rc) return -1;
    f->replay = best(f->replay, t4 - t3), f->states = best(f->states, (t5 - t4) - (t4 - t3));
    /* the disputed step t = P + M/2: plain, then committed, both from x_0 .. x_{t-1} */
    uint32_t t = P + M / 2;
    const opml_run *r;
    if (opml_llama_replay(s, ids, t, err, errlen)) return -1;
    double t6 = now_s();
    if (opml_llama_step(s, ids + t, 1, t, 0, logits, err, errlen)) return -1;
    double t7 = now_s();
    if (opml_llama_replay(s, ids, t, err, errlen)) return -1;
    double t8 = now_s();
    if (opml_llama_commit_step(s, ids, t, P, &q->sampler, &r, err, errlen)) return -1;
    double t9 = now_s();
    f->step = best(f->step, t7 - t6), f->commit = best(f->commit, t9 - t8);
    return 0;
}

int main(int argc, char **argv) {
    int threads = 2, prompt = 32, gen = 32, reps = 3;
    const char *model = NULL, *backend = "blas";
    for (int i = 1; i < argc; i++) {
        int *opt = !strcmp(argv[i], "--threads") ? &threads : !strcmp(argv[i], "--prompt") ? &prompt
                 : !strcmp(argv[i], "--gen")     ? &gen     : !strcmp(argv[i], "--reps")   ? &reps : NULL;
        if (opt && i + 1 < argc && (*opt = count(argv[i + 1])) >= 0) i++;
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (argv[i][0] != '-' && !model) model = argv[i];
        else {
            fprintf(stderr, "usage: bench_generation MODEL.opml [--threads N] [--prompt P] [--gen N] [--reps R] "
                            "[--backend ref|blas]\n");
            return 2;
        }
    }
    if (!model || prompt < 1 || gen < 2 || reps < 1) return 2;
    char err[512];
    opml_llama *m;
    opml_llama_session *s, *fresh;
    if (opml_llama_open(model, OPML_LLAMA_VERIFY, &m, err, sizeof err) != 0 ||
        opml_llama_session_new(m, 0, backend, threads, &s, err, sizeof err) != 0 ||
        opml_llama_session_new(m, 0, backend, threads, &fresh, err, sizeof err) != 0) {
        fprintf(stderr, "bench_generation: %s\n", err);
        return 1;
    }
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    if ((uint32_t)(prompt + gen) > hp->ctx) {
        fprintf(stderr, "bench_generation: the prompt and the new tokens need more than the model's %u positions\n", hp->ctx);
        return 1;
    }
    int32_t *ids = malloc((size_t)(prompt + gen) * sizeof *ids);
    float *logits = malloc((size_t)hp->vocab * sizeof *logits);
    for (int i = 0; i < prompt; i++) ids[i] = 3 + (int32_t)((i * 37) % (hp->vocab - 3));
    opml_llama_request q = {ids, (uint32_t)prompt, (uint32_t)gen, OPML_GEN_NO_STOP, {0, 0, 0, 0}};
    figures f = {0};
    int rc = 0;
    for (int r = 0; r < reps && rc == 0; r++) rc = round_once(s, fresh, &q, ids, logits, hp->vocab, &f, err, sizeof err);
    if (rc) {
        fprintf(stderr, "bench_generation: %s\n", err);
    } else {
        uint32_t T = (uint32_t)(prompt + gen - 1);
        double rows_mb = (double)T * 2 * hp->layers * (double)llama_cache_row_bytes(hp) / 1e6;
        printf("{\"threads\":%d,\"backend\":\"%s\",\"prompt\":%d,\"gen\":%d,\"reps\":%d,"
               "\"plain_s\":%.4f,\"happy_s\":%.4f,\"happy_overhead\":%.4f,"
               "\"replay_s\":%.4f,\"states_hash_s\":%.5f,\"states_rows\":%u,\"states_rows_mb\":%.3f,"
               "\"step_s\":%.5f,\"commit_step_s\":%.5f,\"commit_overhead\":%.4f}\n",
               threads, backend, prompt, gen, reps, f.plain, f.happy, f.happy / f.plain - 1, f.replay, f.states, T,
               rows_mb, f.step, f.commit, f.commit / f.step - 1);
    }
    free(ids), free(logits);
    opml_llama_session_free(s), opml_llama_session_free(fresh);
    opml_llama_close(m);
    return rc ? 1 : 0;
}
