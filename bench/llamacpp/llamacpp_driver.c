/* llamacpp_driver.c: llama.cpp as the reference for opml's benchmarks and for the accuracy tests'
 * reference files, driven through llama.h against the prebuilt CPU library of the npm package
 * @node-llama-cpp/linux-x64@3.22.1 (llama.cpp release v0.5.0). Built and installed by
 * scripts/bench-deps.sh only: neither the build nor any test needs it.
 *
 * Usage: llamacpp-driver [OPTIONS] COMMAND MODEL ARGS
 *   tokenize MODEL TEXT           TEXT's ids (BOS added as the model says) as a JSON line
 *   speed MODEL                   prompt processing (--prompt tokens as one batch from an empty
 *                                 cache) and decode (--gen single-token steps after that prompt)
 *                                 tokens/s, best of --reps runs; decode also per second of the
 *                                 process's CPU time (decode_cpu_tok_s)
 *   eval MODEL TOKENS.bin         perplexity with the shared protocol: consecutive --chunk-token
 *                                 chunks of the int32 stream, each from an empty cache, every
 *                                 position after a chunk's first predicted; with --argmax OUT the
 *                                 teacher-forced argmax at each of those positions, int16 LE, in
 *                                 stream order (chunk c, position i: the prediction of token
 *                                 c*chunk + i + 1)
 *   generate MODEL PROMPT         -n greedy tokens after PROMPT (BOS prepended), past EOS
 * Options: --threads N (default 2), --kv f16|f32 (default f16, the release's default),
 *   --fa auto|on|off (default auto), --prompt N (128), --gen N (64), --reps N (3), --chunk N
 *   (256), --argmax FILE, -n N (32), --libdir DIR (where the ggml CPU backends are), --verbose.
 * Output: one JSON object per command on stdout. Argmax ties go to the lowest id. */
#include "llama.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef LLAMACPP_LIBDIR
#define LLAMACPP_LIBDIR "."
#endif

typedef struct opts {
    int threads, prompt, gen, reps, chunk, n, verbose;
    enum ggml_type kv;
    enum llama_flash_attn_type fa;
    const char *argmax, *libdir;
} opts;

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static void die(const char *msg) {
    fprintf(stderr, "llamacpp-driver: %s\n", msg);
    exit(1);
}

static struct llama_model *load_model(const opts *o, const char *path) {
    if (!o->verbose) llama_log_set(quiet_log, NULL);
    ggml_backend_load_all_from_path(o->libdir);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *m = llama_model_load_from_file(path, mp);
    if (!m) die("cannot load the model");
    return m;
}

static struct llama_context *new_context(const opts *o, struct llama_model *m, int n_ctx, int n_batch) {
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = cp.n_ubatch = (uint32_t)n_batch;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = o->threads;
    cp.type_k = cp.type_v = o->kv;
    cp.flash_attn_type = o->fa;
    cp.no_perf = true;
    struct llama_context *c = llama_init_from_model(m, cp);
    if (!c) die("cannot create a context");
    return c;
}

/* Decodes n tokens at positions pos.., logits for all of them (all = 1) or the last only. */
static void decode(struct llama_context *c, struct llama_batch *b, const llama_token *t, int n, int pos, int all) {
    b->n_tokens = n;
    for (int i = 0; i < n; i++) {
        b->token[i] = t[i];
        b->pos[i] = pos + i;
        b->n_seq_id[i] = 1;
        b->seq_id[i][0] = 0;
        b->logits[i] = (int8_t)(all || i == n - 1);
    }
    if (llama_decode(c, *b) != 0) die("llama_decode failed");
}

static int argmax(const float *l, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[best]) best = i;
    return best;
}

static int tokenize(const struct llama_vocab *v, const char *text, llama_token **out) {
    int len = (int)strlen(text), cap = len + 8;
    *out = malloc((size_t)cap * sizeof **out);
    int n = llama_tokenize(v, text, len, *out, cap, true, false);
    if (n < 0) die("llama_tokenize failed");
    return n;
}

static void print_ids(const llama_token *t, int n) {
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", t[i]);
}

static int cmd_tokenize(const opts *o, const char *model, const char *text) {
    struct llama_model *m = load_model(o, model);
    llama_token *t;
    int n = tokenize(llama_model_get_vocab(m), text, &t);
    printf("{\"cmd\":\"tokenize\",\"n\":%d,\"ids\":[", n);
    print_ids(t, n);
    printf("]}\n");
    free(t);
    llama_model_free(m);
    return 0;
}

static int cmd_speed(const opts *o, const char *model) {
    struct llama_model *m = load_model(o, model);
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
    struct llama_context *c = new_context(o, m, o->prompt + o->gen + 1, o->prompt);
    struct llama_batch b = llama_batch_init(o->prompt, 0, 1);
    llama_token *p = malloc((size_t)o->prompt * sizeof *p);
    for (int i = 0; i < o->prompt; i++) p[i] = 3 + (i * 37) % (nv - 3); /* skip the 3 specials */
    double best_pp = 0, best_dec = 0, best_dec_cpu = 0;
    for (int r = 0; r < o->reps; r++) {
        llama_memory_clear(llama_get_memory(c), true);
        double t0 = now_s();
        decode(c, &b, p, o->prompt, 0, 0);
        llama_synchronize(c);
        double t1 = now_s(), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        llama_token tok = argmax(llama_get_logits_ith(c, -1), nv);
        for (int g = 0; g < o->gen; g++) {
            decode(c, &b, &tok, 1, o->prompt + g, 0);
            tok = argmax(llama_get_logits_ith(c, -1), nv);
        }
        double t2 = now_s(), c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        double pp = o->prompt / (t1 - t0), dec = o->gen / (t2 - t1), dec_cpu = o->gen / (c2 - c1);
        if (pp > best_pp) best_pp = pp;
        if (dec > best_dec) best_dec = dec;
        if (dec_cpu > best_dec_cpu) best_dec_cpu = dec_cpu;
    }
    printf("{\"cmd\":\"speed\",\"threads\":%d,\"prompt\":%d,\"gen\":%d,\"reps\":%d,\"pp_tok_s\":%.2f,"
           "\"decode_tok_s\":%.2f,\"decode_cpu_tok_s\":%.2f}\n",
           o->threads, o->prompt, o->gen, o->reps, best_pp, best_dec, best_dec_cpu);
    free(p);
    llama_batch_free(b);
    llama_free(c);
    llama_model_free(m);
    return 0;
}

static int32_t *read_tokens(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open the token file");
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (bytes % 4) die("token file size is not a multiple of 4");
    int32_t *t = malloc((size_t)bytes + 4);
    *n = (long)fread(t, 4, (size_t)bytes / 4, f);
    fclose(f);
    return t;
}

static int cmd_eval(const opts *o, const char *model, const char *tokens) {
    long n;
    int32_t *s = read_tokens(tokens, &n);
    struct llama_model *m = load_model(o, model);
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
    for (long i = 0; i < n; i++)
        if (s[i] < 0 || s[i] >= nv) die("a token id is outside the vocabulary");
    if (o->argmax && nv > 32767) die("--argmax stores int16: vocabulary too large");
    struct llama_context *c = new_context(o, m, o->chunk, o->chunk);
    struct llama_batch b = llama_batch_init(o->chunk, 0, 1);
    long chunks = n / o->chunk, preds = 0;
    int16_t *am = malloc((size_t)(chunks * (o->chunk - 1) + 1) * sizeof *am);
    double nll = 0, t0 = now_s();
    for (long k = 0; k < chunks; k++) {
        llama_memory_clear(llama_get_memory(c), true);
        decode(c, &b, s + k * o->chunk, o->chunk, 0, 1);
        for (int i = 0; i + 1 < o->chunk; i++) {
            const float *l = llama_get_logits_ith(c, i);
            int best = argmax(l, nv);
            double z = 0;
            for (int v = 0; v < nv; v++) z += exp((double)l[v] - (double)l[best]);
            nll += (double)l[best] + log(z) - (double)l[s[k * o->chunk + i + 1]];
            am[preds++] = (int16_t)best;
        }
        if (k % 16 == 15 || k + 1 == chunks) fprintf(stderr, "\reval: chunk %ld/%ld", k + 1, chunks);
    }
    double secs = now_s() - t0;
    fprintf(stderr, "\n");
    if (o->argmax) {
        FILE *f = fopen(o->argmax, "wb");
        if (!f || fwrite(am, sizeof *am, (size_t)preds, f) != (size_t)preds || fclose(f) != 0)
            die("cannot write the argmax file");
    }
    printf("{\"cmd\":\"eval\",\"chunks\":%ld,\"chunk\":%d,\"predictions\":%ld,\"mean_nll\":%.6f,\"ppl\":%.4f,"
           "\"seconds\":%.3f,\"tok_per_s\":%.1f,\"threads\":%d}\n",
           chunks, o->chunk, preds, nll / (double)preds, exp(nll / (double)preds), secs,
           (double)(chunks * o->chunk) / secs, o->threads);
    free(am);
    free(s);
    llama_batch_free(b);
    llama_free(c);
    llama_model_free(m);
    return 0;
}

static int cmd_generate(const opts *o, const char *model, const char *prompt) {
    struct llama_model *m = load_model(o, model);
    const struct llama_vocab *v = llama_model_get_vocab(m);
    int nv = llama_vocab_n_tokens(v);
    llama_token *p;
    int np = tokenize(v, prompt, &p);
    struct llama_context *c = new_context(o, m, np + o->n + 1, np + 1);
    struct llama_batch b = llama_batch_init(np + 1, 0, 1);
    decode(c, &b, p, np, 0, 0);
    llama_token *g = malloc((size_t)(o->n + 1) * sizeof *g);
    for (int i = 0; i < o->n; i++) {
        g[i] = argmax(llama_get_logits_ith(c, -1), nv);
        if (i + 1 < o->n) decode(c, &b, &g[i], 1, np + i, 0);
    }
    printf("{\"cmd\":\"generate\",\"prompt_ids\":[");
    print_ids(p, np);
    printf("],\"gen_ids\":[");
    print_ids(g, o->n);
    printf("]}\n");
    free(g);
    free(p);
    llama_batch_free(b);
    llama_free(c);
    llama_model_free(m);
    return 0;
}

static int int_arg(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0 || v > 1 << 20) die("a count must be a positive integer");
    return (int)v;
}

int main(int argc, char **argv) {
    opts o = {2, 128, 64, 3, 256, 32, 0, GGML_TYPE_F16, LLAMA_FLASH_ATTN_TYPE_AUTO, NULL, LLAMACPP_LIBDIR};
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        const char *f = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(f, "--verbose") == 0) {
            o.verbose = 1;
            continue;
        }
        if (!v) die("an option lacks its value");
        a++;
        if (strcmp(f, "--threads") == 0) o.threads = int_arg(v);
        else if (strcmp(f, "--prompt") == 0) o.prompt = int_arg(v);
        else if (strcmp(f, "--gen") == 0) o.gen = int_arg(v);
        else if (strcmp(f, "--reps") == 0) o.reps = int_arg(v);
        else if (strcmp(f, "--chunk") == 0) o.chunk = int_arg(v);
        else if (strcmp(f, "-n") == 0) o.n = int_arg(v);
        else if (strcmp(f, "--argmax") == 0) o.argmax = v;
        else if (strcmp(f, "--libdir") == 0) o.libdir = v;
        else if (strcmp(f, "--kv") == 0) o.kv = strcmp(v, "f32") == 0 ? GGML_TYPE_F32 : GGML_TYPE_F16;
        else if (strcmp(f, "--fa") == 0)
            o.fa = strcmp(v, "on") == 0    ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                   : strcmp(v, "off") == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                           : LLAMA_FLASH_ATTN_TYPE_AUTO;
        else die("unknown option");
    }
    if (argc - a == 3 && strcmp(argv[a], "tokenize") == 0) return cmd_tokenize(&o, argv[a + 1], argv[a + 2]);
    if (argc - a == 2 && strcmp(argv[a], "speed") == 0) return cmd_speed(&o, argv[a + 1]);
    if (argc - a == 3 && strcmp(argv[a], "eval") == 0) return cmd_eval(&o, argv[a + 1], argv[a + 2]);
    if (argc - a == 3 && strcmp(argv[a], "generate") == 0) return cmd_generate(&o, argv[a + 1], argv[a + 2]);
    fprintf(stderr, "usage: llamacpp-driver [OPTIONS] tokenize|speed|eval|generate MODEL [TEXT|TOKENS.bin|PROMPT]\n");
    return 2;
}
