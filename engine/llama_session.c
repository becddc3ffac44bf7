/* llama_session.c: LLaMA models and sessions (llama.h). A step of T tokens runs a T-token graph
 * from llama_build (kept in a small cache of variants) with a memory plan: a Reshape's output is
 * its operand's buffer, a KVAppend's output is the session's cache (the kernel appends in place;
 * the appends are the graph's last nodes, after every Attention has read the cache), every other
 * value gets a buffer that is reused once its last reader has run. Generations, the caches'
 * incremental roots and committed steps are llama_gen.c's. */
#include "llama_private.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "errmsg.h"
#include "gguf_file.h"

static const int32_t zero_pad[1]; /* a pad input's bytes (docs/generation.md: zero) */
static const uint8_t greedy_sampler[OPML_GEN_SAMPLER_BYTES]; /* temperature 0 */

/* ---- opening ---- */

static int meta_u32(const gguf_file *g, const char *key, uint32_t *v, char *err, size_t errlen) {
    uint64_t x;
    if (gguf_get_uint(g, key, UINT32_MAX, &x, err, errlen)) return -1;
    *v = (uint32_t)x;
    return 0;
}

static int meta_f32(const gguf_file *g, const char *key, float *v, char *err, size_t errlen) {
    double x;
    if (gguf_get_float(g, key, &x, err, errlen)) return -1;
    *v = (float)x;
    return 0;
}

/* The opml.llama.* keys the importer writes (docs/model-format.md). */
static int read_hparams(const opml_model *m, opml_llama_hparams *hp, char *err, size_t errlen) {
    gguf_file g;
    char why[300];
    if (opml_model_meta(m, &g, why, sizeof why)) return opml_errf(err, errlen, "not a LLaMA model: %s", why);
    uint32_t tied = 0;
    int rc = meta_u32(&g, "opml.llama.vocab", &hp->vocab, why, sizeof why) ||
             meta_u32(&g, "opml.llama.dim", &hp->dim, why, sizeof why) ||
             meta_u32(&g, "opml.llama.layers", &hp->layers, why, sizeof why) ||
             meta_u32(&g, "opml.llama.heads", &hp->heads, why, sizeof why) ||
             meta_u32(&g, "opml.llama.kv_heads", &hp->kv_heads, why, sizeof why) ||
             meta_u32(&g, "opml.llama.head_dim", &hp->head_dim, why, sizeof why) ||
             meta_u32(&g, "opml.llama.ffn", &hp->ffn, why, sizeof why) ||
             meta_u32(&g, "opml.llama.context", &hp->ctx, why, sizeof why) ||
             meta_u32(&g, "opml.llama.tied_output", &tied, why, sizeof why) ||
             meta_f32(&g, "opml.llama.rms_eps", &hp->rms_eps, why, sizeof why) ||
             meta_f32(&g, "opml.llama.rope_base", &hp->rope_base, why, sizeof why);
    gguf_close(&g);
    hp->tied_output = tied != 0;
    if (rc) return opml_errf(err, errlen, "not a LLaMA model: %s", why);
    return 0;
}

/* The file's graph must be the builder's one-token graph, node for node. */
static int same_graph(const opml_model *a, const opml_model *b) {
    if (a->nin != b->nin || a->n != b->n || a->output_value != b->output_value) return 0;
    for (uint32_t i = 0; i < a->nin; i++)
        if (!kd_same(&a->inputs[i], &b->inputs[i])) return 0;
    for (uint32_t k = 0; k < a->n; k++) {
        const opml_node *x = &a->nodes[k], *y = &b->nodes[k];
        if (memcmp(x->desc, y->desc, KD_BYTES) || x->input_mask != y->input_mask || memcmp(x->ref, y->ref, sizeof x->ref))
            return 0;
    }
    return 1;
}

/* l->m loaded: its hyperparameters, and its graph must be the builder's. 0 or -1 + err. */
static int check_model(opml_llama *l, const char *what, char *err, size_t errlen) {
    char why[300];
    if (read_hparams(&l->m, &l->hp, why, sizeof why) ||
        llama_step_build(&l->hp, l->m.weights, l->m.nweights, 1, l->hp.ctx, 0, &l->g, why, sizeof why))
        return opml_errf(err, errlen, "%s: %s", what, why);
    if (!same_graph(&l->g.m, &l->m))
        return opml_errf(err, errlen, "%s: its graph is not the LLaMA step graph of its hyperparameters", what);
    return 0;
}

int opml_llama_open(const char *path, unsigned flags, opml_llama **out, char *err, size_t errlen) {
    *out = NULL;
    opml_llama *l = calloc(1, sizeof *l);
    if (!l) return opml_errf(err, errlen, "out of memory");
    if (opml_model_map(path, flags & OPML_LLAMA_VERIFY ? 0 : OPML_MODEL_NO_ROOTS, &l->m, err, errlen)) {
        free(l);
        return -1;
    }
    if (check_model(l, path, err, errlen)) {
        opml_llama_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

int opml_llama_wrap(const opml_model *m, opml_llama **out, char *err, size_t errlen) {
    *out = NULL;
    opml_llama *l = calloc(1, sizeof *l);
    if (!l) return opml_errf(err, errlen, "out of memory");
    l->m = *m, l->borrowed = 1;
    if (check_model(l, "the model", err, errlen)) {
        opml_llama_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

void opml_llama_close(opml_llama *m) {
    if (!m) return;
    llama_step_free(&m->g);
    if (!m->borrowed) opml_model_free(&m->m);
    free(m);
}

const opml_llama_hparams *opml_llama_hparams_of(const opml_llama *m) { return &m->hp; }
const opml_model *opml_llama_model(const opml_llama *m) { return &m->m; }

void opml_llama_gen_facts(const opml_llama *m, opml_gen_facts *f) { llama_gen_facts(&m->hp, &m->g, f); }

/* ---- sessions ---- */

int opml_llama_session_new(opml_llama *m, uint32_t n_ctx, const char *backend, int threads,
                           opml_llama_session **out, char *err, size_t errlen) {
    *out = NULL;
    if (n_ctx == 0) n_ctx = m->hp.ctx;
    if (n_ctx > m->hp.ctx) return opml_errf(err, errlen, "context %u exceeds the model's %u", n_ctx, m->hp.ctx);
    opml_llama_session *s = calloc(1, sizeof *s);
    if (!s) return opml_errf(err, errlen, "out of memory");
    s->model = m, s->n_ctx = n_ctx;
    s->kv_row = (size_t)llama_cache_row_bytes(&m->hp);
    s->b = opml_backend_new(backend);
    s->kv = calloc(2 * m->hp.layers, sizeof *s->kv);
    s->hist = calloc(n_ctx, sizeof *s->hist);
    if (!s->b || !s->kv || !s->hist) {
        opml_llama_session_free(s);
        return opml_errf(err, errlen, s->b ? "out of memory" : "no backend '%s' (this build has %s)", backend,
                         opml_backend_names());
    }
    if (threads > 0) opml_backend_set_threads(s->b, threads);
    for (uint32_t i = 0; i < 2 * m->hp.layers; i++)
        if (!(s->kv[i] = aligned_alloc(64, ((size_t)n_ctx * s->kv_row + 63) & ~(size_t)63)) ||
            !memset(s->kv[i], 0, (size_t)n_ctx * s->kv_row)) {
            opml_llama_session_free(s);
            return opml_errf(err, errlen, "out of memory for the caches (%u positions)", n_ctx);
        }
    *out = s;
    return 0;
}

static void variant_free(opml_llama_session *s, variant *v) {
    if (v->cache && s->b->ops->release)
        for (uint32_t k = 0; k < v->g.m.n; k++)
            if (v->cache[k]) s->b->ops->release(s->b, v->cache[k]);
    for (uint32_t i = 0; v->bufs && i < v->nbufs; i++) free(v->bufs[i]);
    free(v->bufs), free(v->buf_of), free(v->root_of), free(v->cache);
    llama_step_free(&v->g);
    memset(v, 0, sizeof *v);
}

void opml_llama_session_free(opml_llama_session *s) {
    if (!s) return;
    for (int i = 0; i < VARIANTS; i++) variant_free(s, &s->var[i]);
    llama_gen_free(s);
    for (uint32_t i = 0; s->kv && i < 2 * s->model->hp.layers; i++) free(s->kv[i]);
    free(s->kv), free(s->hist), free(s->scratch);
    opml_backend_free(s->b);
    free(s);
}

uint32_t opml_llama_session_ctx(const opml_llama_session *s) { return s->n_ctx; }
uint32_t opml_llama_session_pos(const opml_llama_session *s) { return s->pos; }
const uint8_t *opml_llama_last_state(const opml_llama_session *s) { return s->committed ? s->state : NULL; }

const void *opml_llama_session_cache(const opml_llama_session *s, uint32_t i, size_t *bytes) {
    *bytes = (size_t)s->n_ctx * s->kv_row;
    return s->kv[i];
}

void opml_llama_session_truncate(opml_llama_session *s, uint32_t n_keep) {
    if (n_keep >= s->pos) return;
    if (s->synced > n_keep) llama_trees_sync(s, n_keep); /* reads rows below n_keep only: cannot fail */
    for (uint32_t i = 0; i < 2 * s->model->hp.layers; i++)
        memset(s->kv[i] + (size_t)n_keep * s->kv_row, 0, (size_t)(s->pos - n_keep) * s->kv_row);
    s->pos = n_keep;
}

const int32_t *opml_llama_session_tokens(const opml_llama_session *s) { return s->hist; }

/* The memory plan of v (see the top comment): per value its buffer; buffers are released after
 * the last node reading them and handed to later values that fit. 0 or -1 (out of memory). */
static int plan(opml_llama_session *s, variant *v) {
    const opml_model *m = &v->g.m;
    uint32_t nv = m->nin + m->n, nfree = 0;
    uint32_t *root = malloc(nv * sizeof *root), *last = calloc(nv, sizeof *last), *freeids = malloc(nv * sizeof *freeids);
    size_t *cap = calloc(nv, sizeof *cap);
    v->buf_of = malloc(nv * sizeof *v->buf_of);
    v->root_of = root;
    v->bufs = calloc(nv, sizeof *v->bufs);
    v->cache = calloc(m->n, sizeof *v->cache);
    int rc = -1;
    if (!root || !last || !freeids || !cap || !v->buf_of || !v->bufs || !v->cache) goto out;
    for (uint32_t i = 0; i < nv; i++) root[i] = i, v->buf_of[i] = UINT32_MAX;
    for (uint32_t k = 0; k < m->n; k++) {
        const opml_node *nd = &m->nodes[k];
        uint32_t out = m->nin + k;
        if ((nd->d.op == OP_RESHAPE || nd->d.op == OP_KVAPPEND) && (nd->input_mask & 1)) root[out] = root[nd->ref[0]];
        last[root[out]] = k;
        for (unsigned j = 0; j < nd->d.noperands; j++)
            if (nd->input_mask >> j & 1) last[root[nd->ref[j]]] = k;
    }
    last[root[v->g.sampled]] = last[root[v->g.logits]] = m->n; /* read after the pass */
    for (uint32_t k = 0; k < m->n; k++) {
        uint32_t out = m->nin + k;
        if (root[out] != out) {
            v->buf_of[out] = v->buf_of[root[out]]; /* UINT32_MAX for an input's bytes (a cache: the session's) */
        } else { /* the smallest free buffer that fits, else a new one */
            size_t need = (size_t)kd_nbytes(&m->values[out]);
            uint32_t best = nfree;
            for (uint32_t f = 0; f < nfree; f++)
                if (cap[freeids[f]] >= need && (best == nfree || cap[freeids[f]] < cap[freeids[best]])) best = f;
            if (best < nfree) {
                v->buf_of[out] = freeids[best];
                freeids[best] = freeids[--nfree];
            } else {
                uint32_t id = v->nbufs++;
                cap[id] = need ? need : 4;
                if (!(v->bufs[id] = aligned_alloc(64, (cap[id] + 63) & ~(size_t)63))) goto out;
                v->buf_of[out] = id;
            }
        }
        for (uint32_t r = m->nin; r <= out; r++) /* pooled buffers whose last reader was node k */
            if (root[r] == r && last[r] == k && v->buf_of[r] != UINT32_MAX) freeids[nfree++] = v->buf_of[r];
    }
    size_t sc = 0;
    for (uint32_t k = 0; k < m->n; k++) {
        size_t x = kernel_scratch_size(&m->nodes[k].d);
        if (x > sc) sc = x;
    }
    if (sc > s->scratch_len) {
        void *n = realloc(s->scratch, sc);
        if (!n) goto out;
        s->scratch = n, s->scratch_len = sc;
    }
    rc = 0;
out:
    free(last), free(freeids), free(cap);
    return rc;
}

/* The variant for T tokens (built and planned if not cached; the least recently used one goes). */
variant *llama_variant(opml_llama_session *s, uint32_t T, int last_only, char *err, size_t errlen) {
    variant *v = NULL;
    last_only = last_only && T > 1;
    for (int i = 0; i < VARIANTS; i++)
        if (s->var[i].g.T == T && s->var[i].g.last_only == last_only) v = &s->var[i];
    if (!v) {
        v = &s->var[0];
        for (int i = 1; i < VARIANTS; i++)
            if (s->var[i].used < v->used) v = &s->var[i];
        variant_free(s, v);
        opml_llama *m = s->model;
        if (llama_step_build(&m->hp, m->m.weights, m->m.nweights, T, s->n_ctx, last_only, &v->g, err, errlen)) return NULL;
        if (plan(s, v)) {
            variant_free(s, v);
            opml_errf(err, errlen, "out of memory for a %u-token pass", T);
            return NULL;
        }
    }
    v->used = ++s->clock;
    return v;
}

/* The bytes of input i of v's graph in a pass. */
static const void *input_bytes(const opml_llama_session *s, const variant *v, uint32_t i, const int32_t *tokens,
                               const int32_t *pos, const uint8_t *sampler) {
    if (i < v->g.caches) return s->kv[i];
    if (i == v->g.in_token) return tokens;
    if (i == v->g.in_pos) return pos;
    if (i == v->g.in_sampler) return sampler;
    return zero_pad;
}

int llama_pass(opml_llama_session *s, variant *v, const int32_t *tokens, const uint8_t *sampler, char *err,
               size_t errlen) {
    const opml_model *m = &v->g.m;
    int32_t pos = (int32_t)s->pos;
    for (uint32_t k = 0; k < m->n; k++) {
        const opml_node *nd = &m->nodes[k];
        if (nd->d.op == OP_RESHAPE) continue; /* its buffer is its operand's: the same bytes */
        const void *in[KD_MAX_OPERANDS] = {0};
        for (unsigned j = 0; j < nd->d.noperands; j++) {
            uint32_t r = nd->ref[j];
            if (!(nd->input_mask >> j & 1)) in[j] = m->weights[r].data;
            else if (v->buf_of[r] == UINT32_MAX) in[j] = input_bytes(s, v, v->root_of[r], tokens, &pos, sampler);
            else in[j] = v->bufs[v->buf_of[r]];
        }
        uint32_t o = m->nin + k;
        void *out = v->buf_of[o] == UINT32_MAX ? (void *)s->kv[v->root_of[o]] : (void *)v->bufs[v->buf_of[o]];
        int rc = s->b->ops->run(s->b, &nd->d, in, out, s->scratch, s->scratch_len, &v->cache[k]);
        if (rc)
            return opml_errf(err, errlen, "node %u (%s) failed on backend %s (error %d)", k, kernel_op_name(nd->d.op),
                             s->b->ops->name, rc);
    }
    memcpy(s->hist + s->pos, tokens, (size_t)v->g.T * sizeof *tokens);
    s->pos += v->g.T;
    return 0;
}

int llama_run_tokens(opml_llama_session *s, const int32_t *tokens, uint32_t n, const uint8_t *sampler,
                     int32_t *sampled, float *logits, char *err, size_t errlen) {
    for (uint32_t done = 0; done < n;) {
        uint32_t T = n - done < OPML_LLAMA_MAX_BATCH ? n - done : OPML_LLAMA_MAX_BATCH;
        variant *v = llama_variant(s, T, 1, err, errlen);
        if (!v || llama_pass(s, v, tokens + done, sampler, err, errlen)) return -1;
        done += T;
        if (done < n) continue;
        if (sampled) memcpy(sampled, v->bufs[v->buf_of[v->g.sampled]], 4);
        const float *y = (const float *)v->bufs[v->buf_of[v->g.logits]];
        if (logits) memcpy(logits, y + (size_t)(v->g.last_only ? 0 : T - 1) * s->model->hp.vocab, (size_t)s->model->hp.vocab * 4);
    }
    return 0;
}

int opml_llama_step(opml_llama_session *s, const int32_t *tokens, uint32_t n, uint32_t pos, unsigned flags,
                    float *logits, char *err, size_t errlen) {
    if (n < 1 || pos > s->pos || pos > s->n_ctx || n > s->n_ctx - pos)
        return opml_errf(err, errlen, "%u tokens at position %u: the session holds %u of %u positions", n, pos, s->pos,
                         s->n_ctx);
    if ((flags & OPML_LLAMA_COMMIT) && n != 1) return opml_errf(err, errlen, "a committed step is one token");
    opml_llama_session_truncate(s, pos);
    if (flags & OPML_LLAMA_COMMIT) return llama_commit_one(s, tokens[0], greedy_sampler, logits, NULL, err, errlen);
    if (!(flags & OPML_LLAMA_ALL_LOGITS)) return llama_run_tokens(s, tokens, n, greedy_sampler, NULL, logits, err, errlen);
    uint32_t vocab = s->model->hp.vocab;
    for (uint32_t done = 0; done < n;) {
        uint32_t T = n - done < OPML_LLAMA_MAX_BATCH ? n - done : OPML_LLAMA_MAX_BATCH;
        variant *v = llama_variant(s, T, 0, err, errlen);
        if (!v || llama_pass(s, v, tokens + done, greedy_sampler, err, errlen)) return -1;
        if (logits) memcpy(logits + (size_t)done * vocab, v->bufs[v->buf_of[v->g.logits]], (size_t)T * vocab * 4);
        done += T;
    }
    return 0;
}
