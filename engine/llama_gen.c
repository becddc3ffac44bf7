/* llama_gen.c: generation tasks on a LLaMA session (llama.h, docs/generation.md): whole
 * generations with the graph's Sample node choosing each token, the generation states G_t from
 * the caches' incremental tensor roots (base/tensor_tree.h: appending row t rehashes that row's
 * chunks and the path up, so G_t for every t costs in proportion to the rows written), and a
 * disputed step's full commitments on the file's graph: the caches are bound to the run in place
 * (no copy) and their roots before and after the step come from the trees; every other value is
 * hashed as its node runs (engine.c). */
#include "llama_private.h"

#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "keccak.h"

/* ---- requests ---- */

int opml_llama_check_request(const opml_llama *m, const opml_llama_request *q, char *err, size_t errlen) {
    const opml_llama_hparams *hp = &m->hp;
    if (q->prompt_len == 0) return opml_errf(err, errlen, "BadPromptLength: an empty prompt");
    if (q->max_new == 0) return opml_errf(err, errlen, "NoNewTokens: max_new is 0");
    if ((uint64_t)q->prompt_len + q->max_new > m->g.S)
        return opml_errf(err, errlen, "TooLong: %u prompt tokens and %u new exceed the context %u", q->prompt_len,
                         q->max_new, m->g.S);
    for (uint32_t i = 0; i < q->prompt_len; i++)
        if (q->prompt[i] < 0 || (uint32_t)q->prompt[i] >= hp->vocab)
            return opml_errf(err, errlen, "BadTokenId: prompt token %u is %d, the vocabulary has %u", i, q->prompt[i],
                             hp->vocab);
    if (q->stop >= hp->vocab && q->stop != OPML_GEN_NO_STOP)
        return opml_errf(err, errlen, "BadStopToken: %u, the vocabulary has %u", q->stop, hp->vocab);
    const opml_gen_sampler *sp = &q->sampler;
    if (sp->temperature >= 0x7F800000u || (sp->temperature && (sp->top_p == 0 || sp->top_p > 0x3F800000u)))
        return opml_errf(err, errlen, "BadSampler: temperature 0x%08x, top-p 0x%08x", sp->temperature, sp->top_p);
    return 0;
}

int opml_llama_generate(opml_llama_session *s, const opml_llama_request *q, int32_t *out, uint32_t *m,
                        opml_llama_token_fn on_token, void *user, char *err, size_t errlen) {
    *m = 0;
    if (opml_llama_check_request(s->model, q, err, errlen)) return -1;
    uint32_t P = q->prompt_len;
    if (P + q->max_new > s->n_ctx)
        return opml_errf(err, errlen, "%u prompt tokens and %u new exceed the session's %u positions", P, q->max_new,
                         s->n_ctx);
    uint8_t sampler[OPML_GEN_SAMPLER_BYTES];
    int32_t tok;
    opml_llama_session_truncate(s, 0);
    opml_gen_sampler_input(&q->sampler, P - 1, P, sampler);
    if (llama_run_tokens(s, q->prompt, P, sampler, &tok, NULL, err, errlen)) return -1;
    for (;;) {
        out[(*m)++] = tok;
        if (on_token) on_token(user, tok);
        if (*m == q->max_new || (uint32_t)tok == q->stop) return 0;
        opml_gen_sampler_input(&q->sampler, P + *m - 1, P, sampler); /* step t = P + M - 1 runs x_t */
        if (llama_run_tokens(s, &tok, 1, sampler, &tok, NULL, err, errlen)) return -1;
    }
}

int opml_llama_replay(opml_llama_session *s, const int32_t *ids, uint32_t n, char *err, size_t errlen) {
    if (n > s->n_ctx) return opml_errf(err, errlen, "%u tokens exceed the session's %u positions", n, s->n_ctx);
    uint32_t keep = 0;
    while (keep < s->pos && keep < n && s->hist[keep] == ids[keep]) keep++;
    opml_llama_session_truncate(s, keep);
    static const uint8_t greedy[OPML_GEN_SAMPLER_BYTES];
    return n > keep ? llama_run_tokens(s, ids + keep, n - keep, greedy, NULL, NULL, err, errlen) : 0;
}

/* ---- the caches' incremental roots ---- */

int llama_trees_sync(opml_llama_session *s, uint32_t rows) {
    uint32_t caches = 2 * s->model->hp.layers;
    size_t cap = (size_t)s->n_ctx * s->kv_row;
    if (!s->trees) {
        if (!(s->trees = calloc(caches, sizeof *s->trees))) return -1;
        for (uint32_t i = 0; i < caches; i++)
            if (opml_tensor_tree_init(&s->trees[i], cap, NULL)) {
                for (uint32_t j = 0; j < i; j++) opml_tensor_tree_free(&s->trees[j]);
                free(s->trees), s->trees = NULL;
                return -1;
            }
        s->synced = 0;
    }
    uint32_t lo = rows < s->synced ? rows : s->synced, hi = rows < s->synced ? s->synced : rows;
    for (uint32_t i = 0; i < caches && hi > lo; i++)
        opml_tensor_tree_update(&s->trees[i], s->kv[i], lo * s->kv_row, (hi - lo) * s->kv_row, rows * s->kv_row);
    s->synced = rows;
    return 0;
}

/* kvRoot of the caches as the trees hold them */
static void kv_root(const opml_llama_session *s, uint8_t out[32]) {
    uint32_t caches = 2 * s->model->hp.layers;
    uint8_t(*roots)[32] = malloc((size_t)caches * 32);
    if (!roots) abort(); /* 2L roots: 64 bytes a layer */
    for (uint32_t i = 0; i < caches; i++) opml_tensor_tree_root(&s->trees[i], roots[i]);
    opml_gen_kv_root((const uint8_t(*)[32])roots, s->model->hp.layers, out);
    free(roots);
}

int opml_llama_gen_states(opml_llama_session *s, const int32_t *ids, uint32_t count, uint8_t (*states)[32],
                          uint8_t (*tokens_roots)[32], uint8_t (*kv_roots)[32], char *err, size_t errlen) {
    if (count < 1) return opml_errf(err, errlen, "no tokens");
    if (opml_llama_replay(s, ids, count - 1, err, errlen)) return -1;
    opml_tensor_tree tok;
    uint8_t *bytes = malloc((size_t)count * 4);
    if (!bytes || opml_tensor_tree_init(&tok, (size_t)count * 4, NULL) || llama_trees_sync(s, 0)) {
        free(bytes);
        return opml_errf(err, errlen, "out of memory for the roots");
    }
    opml_gen_ids_bytes((const uint32_t *)ids, count, bytes);
    for (uint32_t t = 0; t < count; t++) {
        uint8_t tr[32], kr[32];
        opml_tensor_tree_update(&tok, bytes, 4 * (size_t)t, 4, 4 * ((size_t)t + 1));
        llama_trees_sync(s, t); /* trees exist: cannot fail */
        opml_tensor_tree_root(&tok, tr);
        kv_root(s, kr);
        if (tokens_roots) memcpy(tokens_roots[t], tr, 32);
        if (kv_roots) memcpy(kv_roots[t], kr, 32);
        if (states) opml_gen_state(tr, kr, states[t]);
    }
    opml_tensor_tree_free(&tok);
    free(bytes);
    return 0;
}

/* ---- committed steps ---- */

/* After the last node: the trees take row pos (just appended in place), the KVAppend outputs
 * their roots; the pads' Reshapes keep Z(23) (their inputs are hashed: zero) */
static void fill_after(void *user, opml_run *r) {
    opml_llama_session *s = user;
    const llama_step *g = &s->model->g;
    llama_trees_sync(s, s->pos + 1);
    for (uint32_t i = 0; i < g->caches; i++) opml_tensor_tree_root(&s->trees[i], r->roots[g->kv_out[i]]);
}

/* The committed graph's runner: the caches in place (inputs and KVAppend outputs bound to the
 * session's buffers), their roots given (from the trees). */
static int make_run(opml_llama_session *s, char *err, size_t errlen) {
    opml_llama *m = s->model;
    const llama_step *g = &m->g;
    if (s->n_ctx != g->S) return opml_errf(err, errlen, "a committed step needs the model's context %u", g->S);
    if (llama_trees_sync(s, s->synced)) return opml_errf(err, errlen, "out of memory for the caches' trees");
    s->run = calloc(1, sizeof *s->run);
    uint32_t *given = calloc(2 * (size_t)g->caches, sizeof *given);
    if (!s->run || !given) {
        free(s->run), free(given), s->run = NULL;
        return opml_errf(err, errlen, "out of memory");
    }
    if (opml_run_init(s->run, &m->m, s->b, err, errlen)) {
        free(s->run), free(given), s->run = NULL;
        return -1;
    }
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < g->caches; i++) {
        given[2 * i] = i, given[2 * i + 1] = g->kv_out[i];
        rc = opml_run_bind(s->run, i, s->kv[i]) || opml_run_bind(s->run, g->kv_out[i], s->kv[i]);
    }
    if (rc == 0) rc = opml_run_given(s->run, given, 2 * (size_t)g->caches, fill_after, s);
    free(given);
    if (rc) { /* the graph is the builder's: its value ids exist */
        opml_run_free(s->run);
        free(s->run), s->run = NULL;
        return opml_errf(err, errlen, "the committed graph's runner could not bind the caches");
    }
    return 0;
}

int llama_commit_one(opml_llama_session *s, int32_t token, const uint8_t *sampler, float *logits,
                     const opml_run **run, char *err, size_t errlen) {
    const llama_step *g = &s->model->g;
    if (!s->run && make_run(s, err, errlen)) return -1;
    llama_trees_sync(s, s->pos); /* the trees exist: cannot fail */
    const void **in = calloc(g->m.nin, sizeof *in);
    size_t *len = calloc(g->m.nin, sizeof *len);
    if (!in || !len) {
        free(in), free(len);
        return opml_errf(err, errlen, "out of memory");
    }
    static const int32_t zero;
    int32_t pos = (int32_t)s->pos;
    for (uint32_t i = 0; i < g->m.nin; i++) {
        in[i] = i < g->caches ? (const void *)s->kv[i] : &zero, len[i] = (size_t)kd_nbytes(&g->inputs[i]);
        if (i < g->caches) opml_tensor_tree_root(&s->trees[i], s->run->roots[i]);
    }
    in[g->in_token] = &token, in[g->in_pos] = &pos, in[g->in_sampler] = sampler;
    int rc = opml_run_exec(s->run, in, len, 1, err, errlen);
    free(in), free(len);
    if (rc) { /* row pos may hold a partial append: zero again, and the trees back to pos rows */
        for (uint32_t i = 0; i < g->caches; i++) memset(s->kv[i] + (size_t)s->pos * s->kv_row, 0, s->kv_row);
        llama_trees_sync(s, s->pos);
        return -1;
    }
    s->hist[s->pos++] = token;
    memcpy(s->state, s->run->states[g->m.n], 32);
    s->committed = 1;
    if (logits) memcpy(logits, s->run->values[g->logits], (size_t)s->model->hp.vocab * 4);
    if (run) *run = s->run;
    return 0;
}

int opml_llama_commit_step(opml_llama_session *s, const int32_t *ids, uint32_t t, uint32_t prompt_len,
                           const opml_gen_sampler *sampler, const opml_run **run, char *err, size_t errlen) {
    if (t >= s->n_ctx || prompt_len < 1) return opml_errf(err, errlen, "step %u of a %u-position session", t, s->n_ctx);
    if (opml_llama_replay(s, ids, t, err, errlen)) return -1;
    uint8_t in[OPML_GEN_SAMPLER_BYTES];
    opml_gen_sampler_input(sampler, t, prompt_len, in);
    return llama_commit_one(s, ids[t], in, NULL, run, err, errlen);
}

void llama_gen_free(opml_llama_session *s) {
    if (s->run) opml_run_free(s->run);
    free(s->run);
    for (uint32_t i = 0; s->trees && i < 2 * s->model->hp.layers; i++) opml_tensor_tree_free(&s->trees[i]);
    free(s->trees);
    s->run = NULL, s->trees = NULL;
}
