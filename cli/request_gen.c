/* request_gen.c: the generation half of `opml request` (request_gen.h). The request's checks are
 * the oracle's (it refuses, with a custom error, ids outside the vocabulary, a prompt longer than the
 * context, no new tokens, a bad sampler: before any fee is taken); here only what cannot be sent
 * is refused: a prompt that does not parse or tokenize, numbers that do not parse (cli_num.h: before
 * the model is opened). */
#include "request_gen.h"

#include "errmsg.h"
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
        char one[24]; /* an id has at most 10 digits: a longer one is refused here or by the range */
        size_t len = strcspn(p, ",");
        uint64_t v;
        if (len >= sizeof one) return -1;
        memcpy(one, p, len), one[len] = 0;
        if (cli_parse_u64(one, 0, INT32_MAX, &v)) return -1;
        (*ids)[(*n)++] = (int32_t)v;
        if (!p[len]) return 0;
        p += len + 1;
    }
}

static int parse_f32_bits(const char *s, uint32_t *bits) {
    float f;
    if (cli_parse_float(s, &f)) return -1;
    memcpy(bits, &f, 4);
    return 0;
}

/* The request's numbers: each flag that is given, parsed before the model is opened. 0, or -1 with
 * the reason naming the flag. */
static int parse_numbers(const request_gen_opts *o, uint32_t *max_new, uint32_t *stop, uint32_t *temp, uint32_t *top_k,
                         uint32_t *top_p, uint64_t *seed, char *err, size_t errlen) {
    uint64_t v;
    if (o->max_new) {
        if (cli_flag_check("--max-new", o->max_new, 0, UINT32_MAX, &v, err, errlen)) return -1;
        *max_new = (uint32_t)v;
    }
    if (o->top_k) {
        if (cli_flag_check("--top-k", o->top_k, 0, UINT32_MAX, &v, err, errlen)) return -1;
        *top_k = (uint32_t)v;
    }
    if (o->stop && strcmp(o->stop, "eos") && strcmp(o->stop, "none")) {
        if (cli_parse_u64(o->stop, 0, UINT32_MAX, &v))
            return opml_errf(err, errlen, "--stop wants an id, eos or none, not '%s'", o->stop);
        *stop = (uint32_t)v;
    }
    if (o->seed && cli_flag_check("--seed", o->seed, 0, UINT64_MAX, seed, err, errlen)) return -1;
    if (o->temperature && parse_f32_bits(o->temperature, temp))
        return opml_errf(err, errlen, "--temperature '%s' is not a number", o->temperature);
    if (o->top_p && parse_f32_bits(o->top_p, top_p))
        return opml_errf(err, errlen, "--top-p '%s' is not a number", o->top_p);
    return 0;
}

int request_gen_args(const char *model_path, long long model_id, const request_gen_opts *o, cJSON **args, char *err,
                     size_t errlen) {
    uint32_t max_new = 32, stop = OPML_GEN_NO_STOP, temp = 0, top_k = 40, top_p = DEFAULT_TOP_P;
    uint64_t seed = 0;
    if (parse_numbers(o, &max_new, &stop, &temp, &top_k, &top_p, &seed, err, errlen)) return -1;
    cli_llama l;
    if (cli_llama_open(model_path, 1, "ref", 1, &l, err, errlen)) return -1;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = -1;
    if (o->prompt) {
        if (opml_tok_encode(l.tok, o->prompt, strlen(o->prompt), OPML_TOK_ADD_SPECIAL, &ids, &n, err, errlen)) goto out;
    } else if (!o->tokens || parse_ids(o->tokens, &ids, &n) || n == 0) {
        snprintf(err, errlen, "--tokens wants ids separated by commas");
        goto out;
    }
    if (o->stop && !strcmp(o->stop, "eos")) stop = (uint32_t)opml_tok_eos(l.tok);
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
    snprintf(num[3], sizeof num[3], "%" PRIu64, seed);
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
