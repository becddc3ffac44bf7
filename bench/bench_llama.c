/* bench_llama.c: a converted LLaMA model (opml convert MODEL.gguf) through the engine's sessions
 * (executor/llama.h), measured as bench/llamacpp's driver measures llama.cpp, so that
 * bench/bench_llama.sh can print the two side by side:
 *   - prompt processing: --prompt tokens as one batch from an empty cache, tokens/s;
 *   - decode: --gen single-token steps after that prompt, tokens/s;
 *   - with --commit N: N single-token steps on the committed graph with every value's root and
 *     the graph states (today's per-node commitments), tokens/s (context = the model's);
 *   - memory: the weights' bytes (the mapped file) and the process's peak resident set.
 * Best of --reps runs. Output: one JSON line (with --json) or a few readable lines.
 * usage: bench_llama MODEL.opml [--threads N] [--prompt N] [--gen N] [--reps N] [--ctx N]
 *        [--commit N] [--backend ref|blas] [--json] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* VmHWM of /proc/self/status in bytes (0 when unreadable) */
static double peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    if (f) fclose(f);
    return kb * 1024;
}

static int fail(const char *what, const char *err) {
    fprintf(stderr, "bench_llama: %s: %s\n", what, err);
    return 1;
}

int main(int argc, char **argv) {
    int threads = 0, prompt = 128, gen = 64, reps = 3, ctx = 0, commit = 0, json = 0;
    const char *path = NULL, *backend = "blas";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) json = 1;
        else if (v && !strcmp(a, "--threads")) threads = atoi(v), i++;
        else if (v && !strcmp(a, "--prompt")) prompt = atoi(v), i++;
        else if (v && !strcmp(a, "--gen")) gen = atoi(v), i++;
        else if (v && !strcmp(a, "--reps")) reps = atoi(v), i++;
        else if (v && !strcmp(a, "--ctx")) ctx = atoi(v), i++;
        else if (v && !strcmp(a, "--commit")) commit = atoi(v), i++;
        else if (v && !strcmp(a, "--backend")) backend = v, i++;
        else if (a[0] != '-' && !path) path = a;
        else path = NULL, i = argc;
    }
    if (!path || threads < 0 || prompt < 1 || gen < 0 || reps < 1 || ctx < 0 || commit < 0) {
        fprintf(stderr, "usage: bench_llama MODEL.opml [--threads N] [--prompt N] [--gen N] [--reps N] [--ctx N] "
                        "[--commit N] [--backend ref|blas] [--json]\n");
        return 2;
    }
    char err[600];
    opml_llama *m;
    double t0 = now();
    if (opml_llama_open(path, 0, &m, err, sizeof err)) return fail("open", err);
    double open_s = now() - t0;
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    uint32_t n_ctx = ctx ? (uint32_t)ctx : (uint32_t)(prompt + gen) < hp->ctx ? (uint32_t)(prompt + gen) : hp->ctx;
    if ((uint32_t)(prompt + gen) > n_ctx) return fail("shape", "--prompt + --gen exceed the context");
    opml_llama_session *s;
    if (opml_llama_session_new(m, n_ctx, backend, threads, &s, err, sizeof err)) return fail("session", err);
    int32_t *tok = malloc((size_t)(prompt + gen) * sizeof *tok);
    float *logits = malloc((size_t)hp->vocab * sizeof *logits);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < prompt + gen; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        tok[i] = i == 0 ? 1 : (int32_t)(3 + x % (hp->vocab - 3));
    }
    double best_pp = 1e30, best_dec = 1e30;
    for (int r = 0; r < reps; r++) {
        double a = now();
        if (opml_llama_step(s, tok, (uint32_t)prompt, 0, 0, logits, err, sizeof err)) return fail("prompt", err);
        double b = now();
        for (int g = 0; g < gen; g++)
            if (opml_llama_step(s, tok + prompt + g, 1, (uint32_t)(prompt + g), 0, logits, err, sizeof err))
                return fail("decode", err);
        double c = now();
        if (b - a < best_pp) best_pp = b - a;
        if (gen && c - b < best_dec) best_dec = c - b;
    }
    double commit_tps = 0;
    if (commit) { /* the committed graph has the model's context */
        opml_llama_session *cs;
        if (opml_llama_session_new(m, 0, backend, threads, &cs, err, sizeof err)) return fail("session", err);
        if (opml_llama_step(cs, tok, (uint32_t)prompt, 0, 0, logits, err, sizeof err)) return fail("prompt", err);
        double a = now();
        for (int g = 0; g < commit; g++)
            if (opml_llama_step(cs, tok + prompt + g % gen, 1, (uint32_t)(prompt + g), OPML_LLAMA_COMMIT, logits, err,
                                sizeof err))
                return fail("committed decode", err);
        commit_tps = commit / (now() - a);
        opml_llama_session_free(cs);
    }
    double pp = prompt / best_pp, dec = gen ? gen / best_dec : 0, weights = (double)opml_llama_model(m)->file_len;
    double rss = peak_rss();
    if (json)
        printf("{\"cmd\":\"speed\",\"engine\":\"opml\",\"backend\":\"%s\",\"threads\":%d,\"prompt\":%d,\"gen\":%d,"
               "\"reps\":%d,\"ctx\":%u,\"pp_tok_s\":%.2f,\"decode_tok_s\":%.2f,\"commit_tok_s\":%.3f,"
               "\"file_bytes\":%.0f,\"peak_rss\":%.0f,\"open_s\":%.3f}\n",
               backend, threads, prompt, gen, reps, n_ctx, pp, dec, commit_tps, weights, rss, open_s);
    else {
        printf("model: %u layers, embedding %u, vocab %u; file %.1f MB, opened in %.2f s\n", hp->layers, hp->dim,
               hp->vocab, weights / 1e6, open_s);
        printf("prompt %d tokens as one batch: %.1f tokens/s; decode %d tokens: %.2f tokens/s (best of %d, %s, "
               "threads %d, context %u)\n", prompt, pp, gen, dec, reps, backend, threads, n_ctx);
        if (commit) printf("decode with per-node commitments (context %u): %.3f tokens/s\n", hp->ctx, commit_tps);
        printf("peak resident set %.1f MB = %.3f x the model file\n", rss / 1e6, rss / weights);
    }
    opml_llama_session_free(s);
    opml_llama_close(m);
    free(tok), free(logits);
    return 0;
}
