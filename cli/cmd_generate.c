/* cmd_generate.c: `opml generate MODEL "PROMPT" -n N`: a completion from a converted LLaMA model.
 * The prompt is tokenized as llama.cpp does (BOS as the model says), run as one step, then N
 * tokens are chosen one at a time by the sampler (greedy unless --temp; docs/numerics.md
 * "Sampling") and each is printed as soon as it is known (whole UTF-8 characters; the prompt is
 * echoed first). Generation stops at EOS unless --ignore-eos. Tokens per second on stderr at the
 * end; --json prints one object instead of the text: prompt_ids, ids, text, counts and timings. */
#include "clock.h"
#include "commands.h"

#include <stdlib.h>
#include <string.h>

#include "llama_cli.h"
#include "sampler.h"

#define DEFAULT_N 64

typedef struct gen_opts {
    const char *model, *prompt, *backend;
    uint32_t n, ctx, top_k, threads;
    float temp, top_p;
    uint64_t seed;
    int json, ignore_eos;
} gen_opts;

static int usage(const char *why) {
    if (why) fprintf(stderr, "opml generate: %s\n", why);
    fprintf(stderr, "usage: opml generate MODEL.opml PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S]\n"
                    "       [--ignore-eos] [--ctx N] [--backend ref|blas] [--threads N] [--json]\n"
                    "  -n N: tokens to generate (default %d, at least 1); greedy unless --temp > 0\n",
            DEFAULT_N);
    return 2;
}

static int parse(int argc, char **argv, gen_opts *o) {
    *o = (gen_opts){.backend = "blas", .n = DEFAULT_N, .top_p = 1.0f};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--ignore-eos")) o->ignore_eos = 1;
        else if (a[0] == '-' && a[1] && !v) return usage("an option lacks its value");
        else if (!strcmp(a, "-n")) {
            if (cli_parse_u32(v, 1, 1u << 24, &o->n)) return usage("-n must be a whole number of tokens, at least 1");
            i++;
        } else if (!strcmp(a, "--ctx")) {
            if (cli_parse_u32(v, 1, UINT32_MAX, &o->ctx)) return usage("--ctx must be a positive number");
            i++;
        } else if (!strcmp(a, "--top-k")) {
            if (cli_parse_u32(v, 0, UINT32_MAX, &o->top_k)) return usage("--top-k must be a number >= 0");
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_u32(v, 0, 1024, &o->threads)) return usage("--threads must be 0..1024");
            i++;
        } else if (!strcmp(a, "--temp")) {
            if (cli_parse_float(v, &o->temp)) return usage("--temp must be a number");
            i++;
        } else if (!strcmp(a, "--top-p")) {
            if (cli_parse_float(v, &o->top_p)) return usage("--top-p must be a number");
            i++;
        } else if (!strcmp(a, "--seed")) {
            uint64_t seed;
            if (cli_parse_u64(v, 0, UINT64_MAX, &seed)) return usage("--seed must be a whole number below 2^64");
            o->seed = seed;
            i++;
        } else if (!strcmp(a, "--backend")) {
            o->backend = v;
            i++;
        } else if (a[0] == '-' && a[1]) return usage("unknown option");
        else if (!o->model) o->model = a;
        else if (!o->prompt) o->prompt = a;
        else return usage("too many arguments");
    }
    return o->model && o->prompt ? 0 : usage("MODEL and PROMPT are required");
}

/* Writes a token's piece (held back to whole UTF-8 characters) to stdout. */
static void stream_piece(const opml_tok *t, opml_tok_utf8 *u, int32_t id) {
    size_t len;
    const char *p = opml_tok_piece(t, id, 0, &len);
    char *out = malloc(len + 4);
    if (!out) return;
    fwrite(out, 1, opml_tok_utf8_put(u, p, len, out), stdout);
    fflush(stdout);
    free(out);
}

/* The generation proper: ids[] gets up to o->n tokens; *got their count. 0 or -1 + err. */
static int generate(cli_llama *l, const gen_opts *o, const int32_t *prompt, uint32_t np, int32_t *ids, uint32_t *got,
                    double *t_prompt, double *t_gen, char *err, size_t errlen) {
    opml_sampler s;
    uint32_t vocab = l->hp->vocab;
    float *logits = malloc((size_t)vocab * sizeof *logits);
    if (!logits) return -1;
    if (opml_sampler_init(&s, o->temp, o->top_k, o->top_p, o->seed, vocab, err, errlen) != 0) {
        free(logits);
        return -1;
    }
    opml_tok_utf8 u = {0};
    double t0 = opml_now_s();
    int rc = opml_llama_step(l->session, prompt, np, 0, 0, logits, err, errlen);
    double t1 = opml_now_s();
    *got = 0;
    for (uint32_t i = 0; i < o->n && rc == 0; i++) {
        int32_t id = opml_sampler_next(&s, logits);
        ids[(*got)++] = id;
        if (!o->json) stream_piece(l->tok, &u, id);
        if (id == opml_tok_eos(l->tok) && !o->ignore_eos) break;
        if (i + 1 < o->n) rc = opml_llama_step(l->session, &id, 1, np + i, 0, logits, err, errlen);
    }
    if (!o->json) {
        char tail[4];
        fwrite(tail, 1, opml_tok_utf8_flush(&u, tail), stdout);
        putchar('\n');
    }
    *t_prompt = t1 - t0;
    *t_gen = opml_now_s() - t1;
    opml_sampler_free(&s);
    free(logits);
    return rc;
}

static void print_json(const cli_llama *l, const gen_opts *o, const int32_t *prompt, uint32_t np, const int32_t *ids,
                       uint32_t n, double t_prompt, double t_gen) {
    char *text = NULL, err[256];
    size_t tl = 0;
    opml_tok_decode(l->tok, ids, n, 0, &text, &tl, err, sizeof err);
    printf("{\"prompt\":");
    cli_json_string(stdout, o->prompt, strlen(o->prompt));
    printf(",\"prompt_ids\":");
    cli_json_ids(stdout, prompt, np);
    printf(",\"ids\":");
    cli_json_ids(stdout, ids, n);
    printf(",\"text\":");
    cli_json_string(stdout, text ? text : "", tl);
    printf(",\"n\":%u,\"prompt_seconds\":%.6f,\"seconds\":%.6f,\"prompt_tok_s\":%.2f,\"tok_s\":%.2f,"
           "\"temperature\":%g,\"top_k\":%u,\"top_p\":%g,\"seed\":%llu,\"backend\":\"%s\"}\n",
           n, t_prompt, t_gen, np / t_prompt, t_gen > 0 ? n / t_gen : 0.0, o->temp, o->top_k, o->top_p,
           (unsigned long long)o->seed, o->backend);
    free(text);
}

int cmd_generate(int argc, char **argv) {
    gen_opts o;
    if (parse(argc, argv, &o) != 0) return 2;
    char err[768];
    cli_llama l;
    if (cli_llama_open(o.model, o.ctx, o.backend, (int)o.threads, &l, err, sizeof err) != 0) {
        fprintf(stderr, "opml generate: %s\n", err);
        return 1;
    }
    int32_t *prompt = NULL, *ids = malloc((size_t)o.n * sizeof *ids);
    size_t np = 0;
    uint32_t ctx = opml_llama_session_ctx(l.session), got = 0;
    int rc = 1;
    double tp = 0, tg = 0;
    if (!ids || opml_tok_encode(l.tok, o.prompt, strlen(o.prompt), OPML_TOK_ADD_SPECIAL, &prompt, &np, err,
                                sizeof err) != 0) {
        fprintf(stderr, "opml generate: %s\n", ids ? err : "out of memory");
    } else if (np == 0) {
        fprintf(stderr, "opml generate: the prompt gives no token (the model adds no BOS): nothing to continue\n");
    } else if (np + o.n - 1 > ctx) {
        fprintf(stderr, "opml generate: the prompt is %zu tokens and -n %u asks for %u more: the context holds %u "
                        "positions (--ctx, up to the model's %u)\n", np, o.n, o.n, ctx, l.hp->ctx);
    } else {
        if (!o.json) {
            fputs(o.prompt, stdout);
            fflush(stdout);
        }
        if (generate(&l, &o, prompt, (uint32_t)np, ids, &got, &tp, &tg, err, sizeof err) != 0) {
            fprintf(stderr, "opml generate: %s\n", err);
        } else {
            rc = 0;
            if (o.json) print_json(&l, &o, prompt, (uint32_t)np, ids, got, tp, tg);
            else
                fprintf(stderr, "opml generate: %u tokens in %.3f s: %.2f tokens/s (prompt: %zu tokens in %.3f s, "
                                "%.1f tokens/s; backend %s)\n", got, tg, tg > 0 ? got / tg : 0.0, np, tp, np / tp,
                        o.backend);
        }
    }
    free(prompt);
    free(ids);
    cli_llama_close(&l);
    return rc;
}
