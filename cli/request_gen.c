/* request_gen.c: the generation half of `opml request` (request_gen.h). The request's checks are
 * the oracle's (it refuses, with a custom error, ids outside the vocabulary, a prompt longer than the
 * context, no new tokens, a bad sampler: before any fee is taken); here only what cannot be sent
 * is refused: a prompt that does not parse or tokenize, numbers that do not parse. */
#include "request_gen.h"

#include "generation.h"
#include "hex.h"
#include "llama_cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TOP_P 0x3F733333u /* 0.95f as binary32 bits */

static int parse_ids(const char *s, int32_t **ids, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *ids = malloc(cap * 4);
    if (!*ids) return -1;
    *n = 0;
    for (const char *p = s;;) {
        char *e;
        long long v = strtoll(p, &e, 10);
        if (e == p || v < 0 || v > INT32_MAX || (*e && *e != ',')) return -1;
        (*ids)[(*n)++] = (int32_t)v;
        if (!*e) return 0;
        p = e + 1;
    }
}

static int parse_f32_bits(const char *s, uint32_t *bits) {
    float f;
    if (cli_parse_float(s, &f)) return -1;
    memcpy(bits, &f, 4);
    return 0;
}

int request_gen_args(const char *model_path, long long model_id, const request_gen_opts *o, cJSON **args, char *err,
                     size_t errlen) {
    cli_llama l;
    if (cli_llama_open(model_path, 1, "ref", 1, &l, err, errlen)) return -1;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = -1;
    uint32_t max_new = 32, stop = OPML_GEN_NO_STOP, temp = 0, top_k = 40, top_p = DEFAULT_TOP_P;
    unsigned long long seed = 0;
    if (o->prompt) {
        if (opml_tok_encode(l.tok, o->prompt, strlen(o->prompt), OPML_TOK_ADD_SPECIAL, &ids, &n, err, errlen)) goto out;
    } else if (!o->tokens || parse_ids(o->tokens, &ids, &n) || n == 0) {
        snprintf(err, errlen, "--tokens wants ids separated by commas");
        goto out;
    }
    if (o->stop && !strcmp(o->stop, "eos")) stop = (uint32_t)opml_tok_eos(l.tok);
    else if (o->stop && strcmp(o->stop, "none") && cli_parse_u32(o->stop, 0, UINT32_MAX, &stop)) {
        snprintf(err, errlen, "--stop wants an id, eos or none, not %s", o->stop);
        goto out;
    }
    char *e = NULL;
    if ((o->max_new && cli_parse_u32(o->max_new, 0, UINT32_MAX, &max_new)) ||
        (o->top_k && cli_parse_u32(o->top_k, 0, UINT32_MAX, &top_k)) ||
        (o->temperature && parse_f32_bits(o->temperature, &temp)) || (o->top_p && parse_f32_bits(o->top_p, &top_p)) ||
        (o->seed && ((seed = strtoull(o->seed, &e, 10)), !e || e == o->seed || *e))) {
        snprintf(err, errlen, "--max-new, --top-k, --temperature, --top-p or --seed does not parse");
        goto out;
    }
    uint8_t *bytes = malloc(n * 4);
    char *hexp = malloc(8 * n + 3);
    if (!bytes || !hexp) {
        free(bytes), free(hexp);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    opml_gen_ids_bytes((const uint32_t *)ids, n, bytes);
    hex_encode(bytes, n * 4, hexp);
    char num[5][24];
    snprintf(num[0], sizeof num[0], "%lld", model_id);
    snprintf(num[1], sizeof num[1], "%" PRIu32, max_new);
    snprintf(num[2], sizeof num[2], "%" PRIu32, stop);
    snprintf(num[3], sizeof num[3], "%llu", seed);
    cJSON *a = cJSON_CreateArray(), *s = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateString(num[0]));
    cJSON_AddItemToArray(a, cJSON_CreateString(hexp));
    cJSON_AddItemToArray(a, cJSON_CreateString(num[1]));
    cJSON_AddItemToArray(a, cJSON_CreateString(num[2]));
    cJSON_AddItemToArray(s, cJSON_CreateNumber(temp));
    cJSON_AddItemToArray(s, cJSON_CreateNumber(top_k));
    cJSON_AddItemToArray(s, cJSON_CreateNumber(top_p));
    cJSON_AddItemToArray(s, cJSON_CreateString(num[3]));
    cJSON_AddItemToArray(a, s);
    *args = a;
    free(bytes), free(hexp);
    rc = 0;
out:
    free(ids);
    cli_llama_close(&l);
    return rc;
}

char *request_gen_text(const char *model_path, const unsigned char *ids, size_t len, char *err, size_t errlen) {
    cli_llama l;
    if (len % 4 || cli_llama_open(model_path, 1, "ref", 1, &l, err, errlen)) return NULL;
    uint32_t *v = opml_gen_ids_new(ids, len / 4);
    char *text = NULL;
    size_t tl = 0;
    if (v && opml_tok_decode(l.tok, (const int32_t *)v, len / 4, 0, &text, &tl, err, errlen)) text = NULL;
    free(v);
    cli_llama_close(&l);
    return text;
}
