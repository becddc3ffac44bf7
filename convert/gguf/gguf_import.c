/* gguf_import.c: GGUF (llama architecture) to an opml model file (gguf_import.h). */
#include "gguf_import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "fmath.h"
#include "gguf_build.h"
#include "gguf_file.h"
#include "llama_build.h"
#include "model.h"

/* ---- hyperparameters ---- */

static int opt_u32(const gguf_file *g, const char *key, uint32_t dflt, uint32_t *v, char *err, size_t errlen) {
    uint64_t x;
    if (!gguf_find_kv(g, key)) {
        *v = dflt;
        return 0;
    }
    if (gguf_get_uint(g, key, UINT32_MAX, &x, err, errlen)) return -1;
    *v = (uint32_t)x;
    return 0;
}

static int read_hparams(const gguf_file *g, const gguf_import_opts *o, opml_llama_hparams *hp, char *err, size_t errlen) {
    gguf_str arch;
    if (gguf_get_str(g, "general.architecture", &arch, err, errlen)) return -1;
    if (arch.len != 5 || memcmp(arch.p, "llama", 5))
        return opml_errf(err, errlen, "architecture '%.*s' is not supported (only llama)", (int)(arch.len > 64 ? 64 : arch.len), arch.p);
    uint32_t key_len, value_len, rope_dims, experts, ctx;
    double base = 10000.0, eps;
    gguf_str scaling;
    memset(hp, 0, sizeof *hp);
    if (opt_u32(g, "llama.embedding_length", 0, &hp->dim, err, errlen) || opt_u32(g, "llama.block_count", 0, &hp->layers, err, errlen) ||
        opt_u32(g, "llama.feed_forward_length", 0, &hp->ffn, err, errlen) ||
        opt_u32(g, "llama.attention.head_count", 0, &hp->heads, err, errlen) ||
        opt_u32(g, "llama.attention.head_count_kv", hp->heads, &hp->kv_heads, err, errlen) ||
        opt_u32(g, "llama.context_length", 0, &ctx, err, errlen) || opt_u32(g, "llama.expert_count", 0, &experts, err, errlen))
        return -1;
    if (!hp->dim || !hp->layers || !hp->ffn || !hp->heads || !ctx)
        return opml_errf(err, errlen, "llama.embedding_length, block_count, feed_forward_length, attention.head_count and "
                                      "context_length are required and non-zero");
    if (experts) return opml_errf(err, errlen, "mixture-of-experts models (llama.expert_count %u) are not supported", experts);
    if (opt_u32(g, "llama.attention.key_length", hp->dim / hp->heads, &key_len, err, errlen) ||
        opt_u32(g, "llama.attention.value_length", key_len, &value_len, err, errlen) ||
        opt_u32(g, "llama.rope.dimension_count", key_len, &rope_dims, err, errlen))
        return -1;
    if (value_len != key_len || rope_dims != key_len)
        return opml_errf(err, errlen, "key length %u, value length %u and rope dimensions %u must be equal", key_len, value_len, rope_dims);
    hp->head_dim = key_len;
    if (gguf_find_kv(g, "llama.rope.freq_base") && gguf_get_float(g, "llama.rope.freq_base", &base, err, errlen)) return -1;
    if (gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps, err, errlen)) return -1;
    if (gguf_find_kv(g, "llama.rope.scaling.type")) {
        if (gguf_get_str(g, "llama.rope.scaling.type", &scaling, err, errlen)) return -1;
        if (!(scaling.len == 4 && !memcmp(scaling.p, "none", 4)))
            return opml_errf(err, errlen, "rope scaling '%.*s' is not supported", (int)(scaling.len > 64 ? 64 : scaling.len), scaling.p);
    }
    hp->rope_base = (float)base, hp->rms_eps = (float)eps;
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2) return opml_errf(err, errlen, "tensor 'token_embd.weight' missing or not 2-D");
    hp->vocab = emb->ne[1] > UINT32_MAX ? 0 : (uint32_t)emb->ne[1];
    hp->tied_output = gguf_find_tensor(g, "output.weight") == NULL;
    /* the largest context whose cache fits one VM slot */
    uint64_t row = hp->kv_heads && hp->head_dim ? llama_cache_row_bytes(hp) : 0, cap = row ? KD_MAX_TENSOR_BYTES / row : 1;
    hp->ctx = o && o->ctx ? o->ctx : (ctx < cap ? ctx : (uint32_t)cap);
    if (o && o->ctx > ctx) return opml_errf(err, errlen, "--ctx %u exceeds the model's context length %u", o->ctx, ctx);
    return llama_check_hparams(hp, err, errlen);
}

/* ---- weights ---- */

typedef struct importer {
    const gguf_file *g;
    opml_llama_hparams hp;
    llama_wdesc *list;
    const gguf_tensor **src; /* per weight: its GGUF tensor (matrices, vectors) */
    const float *freq;       /* rope_freqs, or NULL */
    opml_weight *w;
    uint32_t nw;
    char err[300];
} importer;

/* ggml's quantize_row_q8_0_ref on one block: amax = MAX(amax, |x|), d = amax / 127,
 * id = d ? 1/d : 0, q = roundf(x * id), d stored as fp16. */
static int q8_block(importer *im, const float *x, uint8_t *out, const char *name) {
    float amax = 0.0f;
    for (int j = 0; j < KD_Q8_BLOCK; j++) {
        if (!isfinite(x[j])) {
            opml_errf(im->err, sizeof im->err, "tensor '%s' holds a non-finite value", name);
            return -1;
        }
        amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    }
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = kf_f32_to_f16(d);
    out[0] = (uint8_t)h, out[1] = (uint8_t)(h >> 8);
    for (int j = 0; j < KD_Q8_BLOCK; j++) out[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
    return 0;
}

/* value i of an F32 or F16 tensor's bytes */
static float value_at(const gguf_tensor *t, uint64_t i) {
    if (t->type == GGUF_T_F16) return kf_f16_to_f32((uint16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8));
    float f;
    memcpy(&f, t->data + 4 * i, 4);
    return f;
}

static int fill(void *user, uint32_t i, uint8_t *dst) {
    importer *im = user;
    const llama_wdesc *d = &im->list[i];
    const gguf_tensor *t = im->src[i];
    size_t half = im->hp.head_dim / 2;
    switch (d->kind) {
    case LLAMA_W_ROPE_COS:
    case LLAMA_W_ROPE_SIN: {
        float *other = malloc((size_t)im->hp.ctx * half * 4);
        if (!other) return opml_errf(im->err, sizeof im->err, "out of memory");
        float *c = d->kind == LLAMA_W_ROPE_COS ? (float *)dst : other, *s = c == other ? (float *)dst : other;
        llama_rope_tables(&im->hp, im->hp.ctx, im->freq, c, s);
        free(other);
        return 0;
    }
    case LLAMA_W_VECTOR:
        for (uint32_t j = 0; j < d->t.dims[0]; j++) {
            float v = value_at(t, j);
            memcpy(dst + 4 * j, &v, 4);
        }
        return 0;
    default: {
        uint32_t k = d->t.dims[1];
        float blk[KD_Q8_BLOCK];
        for (uint64_t r = 0; r < d->t.dims[0]; r++)
            for (uint32_t b = 0; b < k / KD_Q8_BLOCK; b++, dst += KD_Q8_BYTES) {
                for (int j = 0; j < KD_Q8_BLOCK; j++) blk[j] = value_at(t, (d->row0 + r) * k + b * KD_Q8_BLOCK + (uint64_t)j);
                if (q8_block(im, blk, dst, t->name)) return -1;
            }
        return 0;
    }
    }
}

/* Every tensor known and of a supported type; each weight's source, its bytes in place when the
 * file has them as they are stored (Q8_0 rows, F32 norms). */
static int bind_tensors(importer *im, char *err, size_t errlen) {
    const gguf_file *g = im->g;
    const gguf_tensor *rf = gguf_find_tensor(g, "rope_freqs.weight");
    if (rf) {
        if (rf->type != GGUF_T_F32 || rf->n_dims != 1 || rf->ne[0] != im->hp.head_dim / 2)
            return opml_errf(err, errlen, "tensor 'rope_freqs.weight' is not F32 [%u]", im->hp.head_dim / 2);
        im->freq = (const float *)rf->data;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) { /* each tensor of the file must be one we use */
        const gguf_tensor *t = &g->tensors[i];
        int known = t == rf;
        for (uint32_t j = 0; !known && j < im->nw; j++) known = !strcmp(im->list[j].name, t->name);
        if (!known) return opml_errf(err, errlen, "tensor '%s' is not part of a llama model opml knows", t->name);
        if (t->type != GGUF_T_F32 && t->type != GGUF_T_F16 && t->type != GGUF_T_Q8_0 && t != rf) {
            const char *tn = gguf_ggml_type_name(t->type);
            return opml_errf(err, errlen, "tensor '%s' has type %s; only F32, F16 and Q8_0 are supported", t->name,
                             tn ? tn : "unknown");
        }
    }
    for (uint32_t j = 0; j < im->nw; j++) {
        const llama_wdesc *d = &im->list[j];
        im->w[j].t = d->t;
        if (d->kind == LLAMA_W_ROPE_COS || d->kind == LLAMA_W_ROPE_SIN) continue;
        const gguf_tensor *t = gguf_find_tensor(g, d->name);
        if (!t) return opml_errf(err, errlen, "tensor '%s' is missing", d->name);
        im->src[j] = t;
        if (d->kind == LLAMA_W_VECTOR) {
            if (t->n_dims != 1 || t->ne[0] != d->t.dims[0] || t->type == GGUF_T_Q8_0)
                return opml_errf(err, errlen, "tensor '%s' is not an F32 or F16 vector of %u", d->name, d->t.dims[0]);
            if (t->type == GGUF_T_F32) im->w[j].data = t->data;
            continue;
        }
        uint32_t k = d->t.dims[1], rows = d->t.dims[0];
        uint64_t total = !strcmp(d->name, "token_embd.weight") || !strcmp(d->name, "output.weight") ? im->hp.vocab : 0;
        if (t->n_dims != 2 || t->ne[0] != k || (total ? t->ne[1] != total : t->ne[1] < (uint64_t)d->row0 + rows))
            return opml_errf(err, errlen, "tensor '%s' has the wrong shape [%llu, %llu] (want %u columns)", d->name,
                             (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], k);
        if (t->type == GGUF_T_Q8_0) im->w[j].data = t->data + (size_t)d->row0 * (k / KD_Q8_BLOCK) * KD_Q8_BYTES;
    }
    /* a matrix whose parts cover fewer rows than the file's (the last part ends at the file's rows) */
    for (uint32_t j = 0; j < im->nw; j++)
        if (im->src[j] && im->list[j].kind == LLAMA_W_MATRIX && (j + 1 == im->nw || strcmp(im->list[j + 1].name, im->list[j].name)) &&
            im->src[j]->ne[1] != (uint64_t)im->list[j].row0 + im->list[j].t.dims[0])
            return opml_errf(err, errlen, "tensor '%s' has %llu rows, not %u", im->list[j].name,
                             (unsigned long long)im->src[j]->ne[1], im->list[j].row0 + im->list[j].t.dims[0]);
    return 0;
}

/* ---- the metadata section: a GGUF of key/values ---- */

/* The bytes of kv's value after its type (array: element type, count, elements), as in the file. */
static void copy_value(gb *b, const gguf_kv *kv) {
    uint64_t len;
    if (kv->type == GGUF_TYPE_ARRAY) {
        gb_u32(b, kv->elem_type);
        gb_u64(b, kv->n);
        if (kv->elem_type != GGUF_TYPE_STRING) gb_bytes(b, kv->data, kv->n * gguf_vtype_size(kv->elem_type));
        else if (kv->n) {
            memcpy(&len, kv->data + kv->str_at[kv->n - 1], 8);
            gb_bytes(b, kv->data, kv->str_at[kv->n - 1] + 8 + len);
        }
    } else if (kv->type == GGUF_TYPE_STRING) {
        memcpy(&len, kv->data, 8);
        gb_bytes(b, kv->data, 8 + len);
    } else {
        gb_bytes(b, kv->data, gguf_vtype_size(kv->type));
    }
}

static int skip_key(const char *key) { return !strcmp(key, "general.alignment") || !strncmp(key, "opml.", 5); }

static int make_meta(const importer *im, gb *b) {
    const opml_llama_hparams *hp = &im->hp;
    struct { const char *key; uint32_t v; } u[] = {
        {"opml.llama.vocab", hp->vocab},       {"opml.llama.dim", hp->dim},   {"opml.llama.layers", hp->layers},
        {"opml.llama.heads", hp->heads},       {"opml.llama.kv_heads", hp->kv_heads},
        {"opml.llama.head_dim", hp->head_dim}, {"opml.llama.ffn", hp->ffn},   {"opml.llama.context", hp->ctx},
        {"opml.llama.tied_output", (uint32_t)hp->tied_output}};
    struct { const char *key; float v; } f[] = {{"opml.llama.rms_eps", hp->rms_eps}, {"opml.llama.rope_base", hp->rope_base}};
    uint64_t n = sizeof u / sizeof *u + sizeof f / sizeof *f;
    for (uint64_t i = 0; i < im->g->n_kv; i++) n += !skip_key(im->g->kv[i].key);
    gb_header(b, 3, 0, n);
    for (uint64_t i = 0; i < im->g->n_kv; i++) {
        const gguf_kv *kv = &im->g->kv[i];
        if (skip_key(kv->key)) continue;
        gb_str(b, kv->key);
        gb_u32(b, kv->type);
        copy_value(b, kv);
    }
    for (size_t i = 0; i < sizeof u / sizeof *u; i++) gb_kv_u32(b, u[i].key, u[i].v);
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) gb_kv_f32(b, f[i].key, f[i].v);
    return b->oom ? -1 : 0;
}

/* ---- the whole conversion ---- */

/* Write g's model (meta attached) to a temporary file beside out_path, load it back with every
 * root, rename it into place. */
static int write_file(importer *im, llama_step *st, const char *out_path, uint8_t root[32], uint32_t *nodes,
                      uint32_t *weights, uint64_t *bytes, char *err, size_t errlen) {
    size_t pl = strlen(out_path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return opml_errf(err, errlen, "out of memory");
    snprintf(tmp, pl + 16, "%s.tmp-XXXXXX", out_path);
    int fd = mkstemp(tmp);
    mode_t mask = umask(0);
    umask(mask);
    if (fd >= 0) fchmod(fd, 0666 & ~mask); /* as fopen would create it (mkstemp makes it 0600) */
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0) close(fd), unlink(tmp);
        free(tmp);
        return opml_errf(err, errlen, "%s: cannot create a file beside it", out_path);
    }
    int werr = opml_model_write_with(&st->m, f, fill, im);
    if (fclose(f)) werr = -1;
    opml_model m;
    int rc = -1;
    if (werr) opml_errf(err, errlen, "%s: %s", out_path, im->err[0] ? im->err : "cannot write");
    else if (opml_model_map(tmp, 0, &m, err, errlen) == 0) {
        memcpy(root, m.root, 32);
        *nodes = m.n, *weights = m.nweights, *bytes = m.file_len;
        opml_model_free(&m);
        rc = rename(tmp, out_path) ? opml_errf(err, errlen, "%s: cannot rename the finished file into place", out_path) : 0;
    }
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}

int gguf_import(const char *in_path, const char *out_path, const gguf_import_opts *o, uint8_t root[32],
                uint32_t *nodes, uint32_t *weights, uint64_t *bytes, char *err, size_t errlen) {
    gguf_file g;
    char why[300];
    if (gguf_open(in_path, &g, why, sizeof why)) return opml_errf(err, errlen, "%s: %s", in_path, why);
    importer im = {.g = &g};
    llama_step st;
    gb meta = {0};
    int rc = -1;
    memset(&st, 0, sizeof st);
    if (read_hparams(&g, o, &im.hp, why, sizeof why)) {
        opml_errf(err, errlen, "%s: %s", in_path, why);
        goto out;
    }
    im.nw = llama_weight_list(&im.hp, NULL);
    im.list = calloc(im.nw, sizeof *im.list);
    im.src = calloc(im.nw, sizeof *im.src);
    im.w = calloc(im.nw, sizeof *im.w);
    if (!im.list || !im.src || !im.w) {
        opml_errf(err, errlen, "out of memory");
        goto out;
    }
    llama_weight_list(&im.hp, im.list);
    if (bind_tensors(&im, why, sizeof why) || llama_step_build(&im.hp, im.w, im.nw, 1, im.hp.ctx, 0, &st, why, sizeof why)) {
        opml_errf(err, errlen, "%s: %s", in_path, why);
        goto out;
    }
    if (make_meta(&im, &meta)) {
        opml_errf(err, errlen, "out of memory");
        goto out;
    }
    st.m.meta = meta.p, st.m.meta_len = meta.n;
    rc = write_file(&im, &st, out_path, root, nodes, weights, bytes, err, errlen);
out:
    llama_step_free(&st);
    free(im.list), free(im.src), free(im.w);
    gb_free(&meta);
    gguf_close(&g);
    return rc;
}
