/* bench_llama.c: opml's side of the LLaMA speed benchmark (bench/llama.sh runs it beside
 * llama.cpp's driver, bench/llamacpp/llamacpp_driver.c, with the same protocol and thread count):
 * prompt processing = a --prompt-token prompt (ids 3 + 37i mod (vocab - 3), as the driver's) run
 * as one step from an empty cache; decode = --gen single-token steps after it, each token the
 * argmax of the last logits; both the best of --reps runs; decode also per second of the process's
 * CPU time (decode_cpu_tok_s: what time-slicing on a shared machine does not change). With per-node commitments on
 * (OPML_LLAMA_COMMIT: the committed one-token graph with every value's root and the graph states)
 * --commit single-token steps after the prompt. Prints one JSON line.
 * Usage: bench_llama MODEL.opml [--threads N] [--prompt N] [--gen N] [--reps N] [--commit N]
 *        [--backend ref|blas] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"
#include "sampler.h"

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

static int count(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v <= 1 << 20 ? (int)v : -1;
}

int main(int argc, char **argv) {
    int threads = 2, prompt = 128, gen = 64, reps = 3, commit = 4;
    const char *model = NULL, *backend = "blas";
    for (int i = 1; i < argc; i++) {
        int *opt = !strcmp(argv[i], "--threads") ? &threads : !strcmp(argv[i], "--prompt") ? &prompt
                 : !strcmp(argv[i], "--gen")     ? &gen     : !strcmp(argv[i], "--reps")   ? &reps
                 : !strcmp(argv[i], "--commit")  ? &commit  : NULL;
        if (opt && i + 1 < argc && (*opt = count(argv[i + 1])) >= 0) i++;
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (argv[i][0] != '-' && !model) model = argv[i];
        else {
            fprintf(stderr, "usage: bench_llama MODEL.opml [--threads N] [--prompt N] [--gen N] [--reps N] "
                            "[--commit N] [--backend ref|blas]\n");
            return 2;
        }
    }
    if (!model || prompt < 1 || reps < 1) return 2;
    char err[512];
    opml_llama *m;
    opml_llama_session *s;
    if (opml_llama_open(model, 0, &m, err, sizeof err) != 0 ||
        opml_llama_session_new(m, 0, backend, threads, &s, err, sizeof err) != 0) {
        fprintf(stderr, "bench_llama: %s\n", err);
        return 1;
    }
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    if ((uint32_t)(prompt + (gen > commit ? gen : commit)) > hp->ctx) {
        fprintf(stderr, "bench_llama: the prompt and the steps need more than the model's %u positions\n", hp->ctx);
        return 1;
    }
    int32_t *p = malloc((size_t)prompt * sizeof *p);
    float *logits = malloc((size_t)hp->vocab * sizeof *logits);
    for (int i = 0; i < prompt; i++) p[i] = 3 + (int32_t)((i * 37) % (hp->vocab - 3));
    double best_pp = 0, best_dec = 0, best_dec_cpu = 0, commit_tok_s = 0;
    int rc = 0;
    for (int r = 0; r < reps && rc == 0; r++) {
        double t0 = now_s();
        rc = opml_llama_step(s, p, (uint32_t)prompt, 0, 0, logits, err, sizeof err);
        double t1 = now_s(), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        for (int g = 0; g < gen && rc == 0; g++) {
            int32_t tok = opml_argmax(logits, hp->vocab);
            rc = opml_llama_step(s, &tok, 1, (uint32_t)(prompt + g), 0, logits, err, sizeof err);
        }
        double t2 = now_s(), c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (prompt / (t1 - t0) > best_pp) best_pp = prompt / (t1 - t0);
        if (gen && gen / (t2 - t1) > best_dec) best_dec = gen / (t2 - t1);
        if (gen && gen / (c2 - c1) > best_dec_cpu) best_dec_cpu = gen / (c2 - c1);
    }
    if (rc == 0 && commit > 0) {
        rc = opml_llama_step(s, p, (uint32_t)prompt, 0, 0, logits, err, sizeof err);
        double t0 = now_s();
        for (int g = 0; g < commit && rc == 0; g++) {
            int32_t tok = opml_argmax(logits, hp->vocab);
            rc = opml_llama_step(s, &tok, 1, (uint32_t)(prompt + g), OPML_LLAMA_COMMIT, logits, err, sizeof err);
        }
        commit_tok_s = commit / (now_s() - t0);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_llama: %s\n", err);
    } else {
        printf("{\"threads\":%d,\"backend\":\"%s\",\"prompt\":%d,\"gen\":%d,\"reps\":%d,\"pp_tok_s\":%.2f,"
               "\"decode_tok_s\":%.2f,\"decode_cpu_tok_s\":%.2f,\"commit\":%d,\"commit_decode_tok_s\":%.3f}\n",
               threads, backend, prompt, gen, reps, best_pp, best_dec, best_dec_cpu, commit, commit_tok_s);
    }
    free(p);
    free(logits);
    opml_llama_session_free(s);
    opml_llama_close(m);
    return rc ? 1 : 0;
}
