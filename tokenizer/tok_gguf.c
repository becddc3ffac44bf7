/* tok_gguf.c: see tok_gguf.h. The GGUF's arrays are read in place; opml_tok_new copies them. */
#include "tok_gguf.h"

#include "errmsg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An optional id or flag: the default when absent, else it must read as the type asked. */
static int opt_id(const gguf_file *g, const char *key, int32_t def, int32_t *out, char *err, size_t errlen) {
    uint64_t v;
    *out = def;
    if (!gguf_find_kv(g, key)) return 0;
    if (gguf_get_uint(g, key, INT32_MAX, &v, err, errlen) != 0) return -1;
    *out = (int32_t)v;
    return 0;
}

static int opt_flag(const gguf_file *g, const char *key, int def, int *out, char *err, size_t errlen) {
    *out = def;
    return gguf_find_kv(g, key) ? gguf_get_bool(g, key, out, err, errlen) : 0;
}

int opml_tok_from_gguf(const gguf_file *g, opml_tok **out, char *err, size_t errlen) {
    *out = NULL;
    gguf_str model;
    const gguf_kv *tokens, *scores = NULL, *types = NULL;
    if (gguf_get_str(g, "tokenizer.ggml.model", &model, err, errlen) != 0 ||
        gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens, err, errlen) != 0)
        return -1;
    if (gguf_find_kv(g, "tokenizer.ggml.scores") &&
        gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, &scores, err, errlen) != 0)
        return -1;
    if (gguf_find_kv(g, "tokenizer.ggml.token_type") &&
        gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &types, err, errlen) != 0)
        return -1;
    uint64_t n = tokens->n;
    if (n == 0 || n > INT32_MAX) return opml_errf(err, errlen, "tokenizer: %" PRIu64 " tokens", n);
    if ((scores && scores->n != n) || (types && types->n != n))
        return opml_errf(err, errlen, "tokenizer: %" PRIu64 " tokens but %" PRIu64 " scores and %" PRIu64 " types", n,
                         scores ? scores->n : n, types ? types->n : n);
    char kind[32];
    snprintf(kind, sizeof kind, "%.*s", (int)(model.len < 31 ? model.len : 31), model.p);
    opml_tok_vocab v = {.model = kind, .n = (uint32_t)n};
    if (opt_id(g, "tokenizer.ggml.bos_token_id", 1, &v.bos, err, errlen) != 0 ||
        opt_id(g, "tokenizer.ggml.eos_token_id", 2, &v.eos, err, errlen) != 0 ||
        opt_id(g, "tokenizer.ggml.unknown_token_id", 0, &v.unk, err, errlen) != 0 ||
        opt_flag(g, "tokenizer.ggml.add_bos_token", 1, &v.add_bos, err, errlen) != 0 ||
        opt_flag(g, "tokenizer.ggml.add_eos_token", 0, &v.add_eos, err, errlen) != 0 ||
        opt_flag(g, "tokenizer.ggml.add_space_prefix", 1, &v.add_space_prefix, err, errlen) != 0)
        return -1;
    const char **text = malloc(n * sizeof *text);
    uint32_t *len = malloc(n * sizeof *len);
    float *sc = scores ? malloc(n * sizeof *sc) : NULL;
    int32_t *ty = types ? malloc(n * sizeof *ty) : NULL;
    int rc = -1;
    if (!text || !len || (scores && !sc) || (types && !ty)) {
        opml_errf(err, errlen, "tokenizer: out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        gguf_str s = gguf_val_str(tokens, i);
        if (s.len > UINT32_MAX) {
            opml_errf(err, errlen, "tokenizer: token %" PRIu64 " is %" PRIu64 " bytes long", i, s.len);
            goto done;
        }
        text[i] = s.p;
        len[i] = (uint32_t)s.len;
        if (sc) sc[i] = gguf_val_f32(scores, i);
        if (ty) {
            int64_t t64;
            gguf_val_int(types, i, &t64);
            ty[i] = (int32_t)t64;
        }
    }
    v.text = text, v.len = len, v.score = sc, v.type = ty;
    rc = opml_tok_new(&v, out, err, errlen);
done:
    free(text);
    free(len);
    free(sc);
    free(ty);
    return rc;
}
