/* cmd_perplexity.c: `opml perplexity MODEL FILE [--chunk N]`: the model's perplexity on a token
 * stream with the shared protocol (../shared/models/README.md): consecutive chunks of N tokens
 * (default 256; a last partial chunk is left out), each evaluated from an empty cache as one step,
 * every position after a chunk's first predicted: ppl = exp(mean over predictions of
 * -log softmax(logits)[next token]), the log-softmax in double. FILE is a stream of int32
 * little-endian token ids when its name ends in .bin or .i32 or with --ids, else text, tokenized
 * whole with BOS as the model says (--text forces text). A progress line on stderr; --json prints
 * one object; --argmax OUT writes the teacher-forced argmax of each prediction (int16 LE, in stream
 * order, as bench/llamacpp's driver writes it) for comparisons with llama.cpp. */
#include "clock.h"
#include "commands.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llama_cli.h"
#include "sampler.h"

#define DEFAULT_CHUNK 256
#define PROGRESS_SECONDS 0.5 /* the progress line is redrawn at most this often */

typedef struct ppl_opts {
    const char *model, *file, *backend, *argmax;
    uint32_t chunk, threads, max_chunks;
    int json, ids; /* ids: 1 token ids, 0 text, -1 by the name */
} ppl_opts;

static int usage(const char *why) {
    if (why) fprintf(stderr, "opml perplexity: %s\n", why);
    fprintf(stderr, "usage: opml perplexity MODEL.opml FILE [--chunk N] [--ids|--text] [--max-chunks K]\n"
                    "       [--argmax OUT.i16] [--backend ref|blas] [--threads N] [--json]\n"
                    "  FILE: int32 token ids (*.bin, *.i32 or --ids) or text; chunks of N tokens (default %d)\n",
            DEFAULT_CHUNK);
    return 2;
}

static int parse(int argc, char **argv, ppl_opts *o) {
    *o = (ppl_opts){.backend = "blas", .chunk = DEFAULT_CHUNK, .ids = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--ids")) o->ids = 1;
        else if (!strcmp(a, "--text")) o->ids = 0;
        else if (a[0] == '-' && a[1] && !v) return usage("an option lacks its value");
        else if (!strcmp(a, "--chunk")) {
            if (cli_parse_u32(v, 2, 1u << 20, &o->chunk)) return usage("--chunk must be at least 2");
            i++;
        } else if (!strcmp(a, "--max-chunks")) {
            if (cli_parse_u32(v, 1, UINT32_MAX, &o->max_chunks)) return usage("--max-chunks must be at least 1");
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_u32(v, 0, 1024, &o->threads)) return usage("--threads must be 0..1024");
            i++;
        } else if (!strcmp(a, "--backend")) o->backend = argv[++i];
        else if (!strcmp(a, "--argmax")) o->argmax = argv[++i];
        else if (a[0] == '-' && a[1]) return usage("unknown option");
        else if (!o->model) o->model = a;
        else if (!o->file) o->file = a;
        else return usage("too many arguments");
    }
    if (!o->model || !o->file) return usage("MODEL and FILE are required");
    if (o->ids < 0) {
        size_t n = strlen(o->file);
        o->ids = (n > 4 && !strcmp(o->file + n - 4, ".bin")) || (n > 4 && !strcmp(o->file + n - 4, ".i32"));
    }
    return 0;
}

/* The token stream of FILE: ids checked against the vocabulary, or the text tokenized. */
static int read_stream(const cli_llama *l, const ppl_opts *o, int32_t **out, size_t *n, char *err, size_t errlen) {
    FILE *f = fopen(o->file, "rb");
    if (!f) return snprintf(err, errlen, "cannot open %s", o->file), -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)len) return free(buf), snprintf(err, errlen, "cannot read %s", o->file), -1;
    if (!o->ids) {
        int rc = opml_tok_encode(l->tok, buf, got, OPML_TOK_ADD_SPECIAL, out, n, err, errlen);
        free(buf);
        return rc;
    }
    if (got % 4) {
        free(buf);
        return snprintf(err, errlen, "%s is %zu bytes: a token file holds int32 ids, a multiple of 4 bytes", o->file,
                        got), -1;
    }
    *out = (int32_t *)buf; /* malloc'd: aligned for int32 */
    *n = got / 4;
    for (size_t i = 0; i < *n; i++)
        if ((*out)[i] < 0 || (uint32_t)(*out)[i] >= l->hp->vocab) {
            snprintf(err, errlen, "%s: token %zu is id %d, outside the vocabulary of %u", o->file, i, (*out)[i],
                     l->hp->vocab);
            free(buf);
            *out = NULL;
            return -1;
        }
    return 0;
}

/* -log softmax(row)[target] in double. */
static double nll_of(const float *row, uint32_t vocab, int32_t target) {
    double m = row[0], z = 0;
    for (uint32_t v = 1; v < vocab; v++) m = row[v] > m ? row[v] : m;
    for (uint32_t v = 0; v < vocab; v++) z += exp((double)row[v] - m);
    return m + log(z) - (double)row[target];
}

static int write_argmax(const char *path, const int16_t *am, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite(am, sizeof *am, n, f) != n;
    return fclose(f) != 0 || bad ? -1 : 0;
}

int cmd_perplexity(int argc, char **argv) {
    ppl_opts o;
    if (parse(argc, argv, &o) != 0) return 2;
    char err[768];
    cli_llama l;
    if (cli_llama_open(o.model, 0, o.backend, (int)o.threads, &l, err, sizeof err) != 0) {
        fprintf(stderr, "opml perplexity: %s\n", err);
        return 1;
    }
    int32_t *s = NULL;
    size_t n = 0;
    uint32_t vocab = l.hp->vocab, ctx = opml_llama_session_ctx(l.session);
    if (read_stream(&l, &o, &s, &n, err, sizeof err) != 0) {
        fprintf(stderr, "opml perplexity: %s\n", err);
        cli_llama_close(&l);
        return 1;
    }
    size_t chunks = n / o.chunk;
    if (o.max_chunks && chunks > o.max_chunks) chunks = o.max_chunks;
    int rc = 1;
    float *logits = NULL;
    int16_t *am = NULL;
    if (o.chunk > ctx) {
        fprintf(stderr, "opml perplexity: --chunk %u is above the model's context of %u\n", o.chunk, ctx);
    } else if (chunks == 0) {
        fprintf(stderr, "opml perplexity: %s has %zu tokens, less than one chunk of %u\n", o.file, n, o.chunk);
    } else if (o.argmax && vocab > INT16_MAX) {
        fprintf(stderr, "opml perplexity: --argmax writes int16 ids: the vocabulary of %u is too large\n", vocab);
    } else if (!(logits = malloc((size_t)o.chunk * vocab * sizeof *logits)) ||
               !(am = malloc(chunks * (o.chunk - 1) * sizeof *am))) {
        fprintf(stderr, "opml perplexity: out of memory\n");
    } else {
        double nll = 0, t0 = opml_now_s(), shown = t0;
        size_t preds = 0, k = 0;
        for (; k < chunks; k++) {
            const int32_t *c = s + k * o.chunk;
            if (opml_llama_step(l.session, c, o.chunk, 0, OPML_LLAMA_ALL_LOGITS, logits, err, sizeof err) != 0) break;
            for (uint32_t i = 0; i + 1 < o.chunk; i++, preds++) {
                nll += nll_of(logits + (size_t)i * vocab, vocab, c[i + 1]);
                am[preds] = (int16_t)opml_argmax(logits + (size_t)i * vocab, vocab);
            }
            double now = opml_now_s();
            if (now - shown >= PROGRESS_SECONDS || k + 1 == chunks) {
                fprintf(stderr, "\rperplexity: chunk %zu/%zu, %.4f so far", k + 1, chunks, exp(nll / (double)preds));
                shown = now;
            }
        }
        fprintf(stderr, "\n");
        double secs = opml_now_s() - t0, ppl = exp(nll / (double)preds);
        if (k < chunks) {
            fprintf(stderr, "opml perplexity: chunk %zu: %s\n", k, err);
        } else if (o.argmax && write_argmax(o.argmax, am, preds) != 0) {
            fprintf(stderr, "opml perplexity: cannot write %s\n", o.argmax);
        } else {
            rc = 0;
            if (o.json)
                printf("{\"chunks\":%zu,\"chunk\":%u,\"predictions\":%zu,\"mean_nll\":%.6f,\"ppl\":%.4f,"
                       "\"seconds\":%.3f,\"tok_per_s\":%.1f,\"backend\":\"%s\"}\n",
                       chunks, o.chunk, preds, nll / (double)preds, ppl, secs, (double)(chunks * o.chunk) / secs,
                       o.backend);
            else
                printf("perplexity %.4f (mean NLL %.6f) over %zu predictions: %zu chunks of %u tokens, %.2f s, "
                       "%.1f tokens/s\n", ppl, nll / (double)preds, preds, chunks, o.chunk, secs,
                       (double)(chunks * o.chunk) / secs);
        }
    }
    free(am);
    free(logits);
    free(s);
    cli_llama_close(&l);
    return rc;
}
