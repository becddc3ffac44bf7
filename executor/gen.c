/* gen.c: the executor's generation tasks (docs/generation.md, docs/executor.md), on the LLaMA
 * session each loaded step graph gets (models_llama): one session per model, requests served one
 * at a time, so a replay keeps what the session already holds of the same tokens.
 *   opml.ExecutorGenerate   a whole generation, nothing committed (a submitter's happy path);
 *   opml.ExecutorGenStates  G_t, tokensRoot_t and kvRoot_t at the steps asked of given tokens;
 *   opml.ExecutorGenStep    step t with all its commitments: its operands go to storage by root
 *                           (the caches at step t first, as they are before the step writes them in
 *                           place), the run recorded as ExecutorRun's, so that ExecutorGetStates,
 *                           ExecutorGetValue and any vmjudge serve the step's phases 1 and 2.
 * Caches are never stored for every step: replaying the tokens makes them again. */
#include "executor_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GEN_STEPS 4096

/* The model and its session for a generation request; NULL with the reply set. */
static opml_llama_session *session_for(executor *x, const ProtobufCBinaryData *root, exec_model **em,
                                       actor_reply *reply) {
    char err[512];
    exec_model *e = exec_model_for(x, root, reply);
    if (!e) return NULL;
    opml_llama_session *s = models_llama(&x->models, e, err, sizeof err);
    /* no LLaMA view of the model: the request's fault; no session over it: ours (memory, backend) */
    if (!s) exec_refuse(x, reply, e->llama ? OPML_E_INTERNAL : OPML_E_BAD_REQUEST, err);
    *em = e;
    return s;
}

/* Token ids from int32 little-endian bytes, each checked against the vocabulary (malloc'd; NULL
 * with the reply set). */
static int32_t *ids_of(executor *x, const ProtobufCBinaryData *b, const char *what, uint32_t vocab, uint32_t *count,
                       actor_reply *reply) {
    char err[200];
    if (b->len == 0 || b->len % 4) {
        snprintf(err, sizeof err, "%s must be a nonzero multiple of 4 bytes (int32 ids), got %zu", what, b->len);
        exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
        return NULL;
    }
    *count = (uint32_t)(b->len / 4);
    int32_t *ids = malloc(b->len);
    if (!ids) {
        exec_refuse(x, reply, OPML_E_INTERNAL, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < *count; i++) {
        const uint8_t *p = b->data + 4 * (size_t)i;
        ids[i] = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        if (ids[i] < 0 || (uint32_t)ids[i] >= vocab) {
            snprintf(err, sizeof err, "%s: id %u is %d, the vocabulary has %u", what, i, ids[i], vocab);
            free(ids);
            exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
            return NULL;
        }
    }
    return ids;
}

static opml_gen_sampler sampler_of(const Opml__GenSampler *s) {
    opml_gen_sampler g = {0, 0, 0, 0};
    if (s) g = (opml_gen_sampler){s->temperature, s->top_k, s->top_p, s->seed};
    return g;
}

static int on_generate(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__ExecutorGenerate *q = (const Opml__ExecutorGenerate *)msg;
    executor *x = user;
    exec_model *e;
    char err[512];
    uint32_t np, m;
    (void)a, (void)req;
    opml_llama_session *s = session_for(x, &q->model_root, &e, reply);
    if (!s) return 0;
    int32_t *prompt = ids_of(x, &q->prompt, "prompt", opml_llama_hparams_of(e->llama)->vocab, &np, reply);
    if (!prompt) return 0;
    opml_llama_request r = {prompt, np, q->max_new, q->stop_token, sampler_of(q->sampler)};
    int32_t *out = opml_llama_check_request(e->llama, &r, err, sizeof err) ? NULL : malloc((size_t)q->max_new * 4);
    if (!out) {
        free(prompt);
        return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
    }
    int rc = opml_llama_generate(s, &r, out, &m, NULL, NULL, err, sizeof err);
    free(prompt);
    if (rc) {
        free(out);
        return exec_refuse(x, reply, OPML_E_INTERNAL, err);
    }
    uint8_t *bytes = malloc((size_t)m * 4);
    if (!bytes) {
        free(out);
        return exec_refuse(x, reply, OPML_E_INTERNAL, "out of memory");
    }
    opml_gen_ids_bytes((const uint32_t *)out, m, bytes);
    Opml__ExecutorGenerateReply o = OPML__EXECUTOR_GENERATE_REPLY__INIT;
    o.model_root.data = e->m.root, o.model_root.len = 32;
    o.output.data = bytes, o.output.len = (size_t)m * 4;
    o.backend = (char *)x->backend->ops->name;
    x->generations++;
    rc = actor_reply_msg(reply, &o.base);
    free(out), free(bytes);
    return rc;
}

static int on_gen_states(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__ExecutorGenStates *q = (const Opml__ExecutorGenStates *)msg;
    executor *x = user;
    exec_model *e;
    char err[512];
    uint32_t count, last = 0;
    (void)a, (void)req;
    if (q->n_steps == 0 || q->n_steps > MAX_GEN_STEPS) {
        snprintf(err, sizeof err, "%zu steps asked: 1 to %d per request", q->n_steps, MAX_GEN_STEPS);
        return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
    }
    opml_llama_session *s = session_for(x, &q->model_root, &e, reply);
    if (!s) return 0;
    int32_t *ids = ids_of(x, &q->tokens, "tokens", opml_llama_hparams_of(e->llama)->vocab, &count, reply);
    if (!ids) return 0;
    for (size_t i = 0; i < q->n_steps; i++) last = q->steps[i] > last ? q->steps[i] : last;
    if (last >= count || last > opml_llama_session_ctx(s)) {
        free(ids);
        snprintf(err, sizeof err, "step %u is past the %u ids given (or the context)", last, count);
        return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
    }
    uint8_t(*roots)[32] = malloc(3 * ((size_t)last + 1) * 32);
    ProtobufCBinaryData *bd = calloc(3 * q->n_steps, sizeof *bd);
    int rc = !roots || !bd ? -1 : 0;
    uint8_t(*st)[32] = roots, (*tr)[32] = roots + last + 1, (*kr)[32] = roots + 2 * ((size_t)last + 1);
    if (rc == 0) rc = opml_llama_gen_states(s, ids, last + 1, st, tr, kr, err, sizeof err);
    free(ids);
    if (rc) {
        free(roots), free(bd);
        return exec_refuse(x, reply, OPML_E_INTERNAL, roots && bd ? err : "out of memory");
    }
    for (size_t i = 0; i < q->n_steps; i++) {
        uint32_t t = q->steps[i];
        bd[i] = (ProtobufCBinaryData){32, st[t]};
        bd[q->n_steps + i] = (ProtobufCBinaryData){32, tr[t]};
        bd[2 * q->n_steps + i] = (ProtobufCBinaryData){32, kr[t]};
    }
    Opml__ExecutorGenStatesReply o = OPML__EXECUTOR_GEN_STATES_REPLY__INIT;
    o.states = bd, o.n_states = q->n_steps;
    o.tokens_roots = bd + q->n_steps, o.n_tokens_roots = q->n_steps;
    o.kv_roots = bd + 2 * q->n_steps, o.n_kv_roots = q->n_steps;
    x->queries++;
    rc = actor_reply_msg(reply, &o.base);
    free(roots), free(bd);
    return rc;
}

/* The caches at step t (the session holds x_0 .. x_{t-1}) into storage, before the step writes
 * them in place: roots[i] gets cache i's root. Only rows 0 .. t-1 are stored: the rows past them
 * are zero, and zero bytes past a tensor's data do not change its root (docs/commitments.md), so
 * whoever fetches the cache by root zero-extends it to the model's length (storage_fetch_exact,
 * the VM's slots): what a step stores grows with t, not with the context. 0 or an OPML_E_* code
 * + err. */
static int store_caches(executor *x, const opml_llama_session *s, uint32_t caches, uint8_t (*roots)[32], char *err,
                        size_t errlen) {
    for (uint32_t i = 0; i < caches; i++) {
        size_t cb;
        const uint8_t *c = opml_llama_session_cache(s, i, &cb);
        size_t used = cb / opml_llama_session_ctx(s) * opml_llama_session_pos(s);
        if (storage_client_put_tensor(x->st, c, used, NULL, roots[i])) {
            snprintf(err, errlen, "storage: storing cache %u: %s", i, storage_client_error(x->st));
            return OPML_E_UNAVAILABLE;
        }
    }
    return 0;
}

/* The reply of a committed step: every root of r and the kv subtrees' roots. */
static int step_reply(executor *x, const exec_model *e, const opml_run *r, const uint8_t kv[2][32], uint32_t kv_value,
                      actor_reply *reply) {
    const opml_model *m = &e->m;
    ProtobufCBinaryData *bd = calloc((size_t)m->nin + m->n, sizeof *bd);
    if (!bd) return exec_refuse(x, reply, OPML_E_INTERNAL, "out of memory");
    for (uint32_t v = 0; v < m->nin + m->n; v++) bd[v] = (ProtobufCBinaryData){32, r->roots[v]};
    Opml__ExecutorGenStepReply o = OPML__EXECUTOR_GEN_STEP_REPLY__INIT;
    o.model_root.data = (uint8_t *)m->root, o.model_root.len = 32;
    o.input_state = (ProtobufCBinaryData){32, r->states[0]};
    o.state_root = (ProtobufCBinaryData){32, r->states[m->n]};
    o.output = (ProtobufCBinaryData){4, r->values[m->output_value]};
    o.input_roots = bd, o.n_input_roots = m->nin;
    o.node_output_roots = bd + m->nin, o.n_node_output_roots = m->n;
    o.kv_root = (ProtobufCBinaryData){32, (uint8_t *)kv[0]};
    o.next_kv_root = (ProtobufCBinaryData){32, (uint8_t *)kv[1]};
    o.kv_value = kv_value;
    o.backend = (char *)x->backend->ops->name;
    int rc = actor_reply_msg(reply, &o.base);
    free(bd);
    return rc;
}

/* kvRoot over cache roots at values first .. first + 2L - 1 of r */
static void kv_root_at(const opml_run *r, uint32_t first, uint32_t layers, uint8_t out[32]) {
    opml_gen_kv_root((const uint8_t(*)[32])r->roots[first], layers, out);
}

static int on_gen_step(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__ExecutorGenStep *q = (const Opml__ExecutorGenStep *)msg;
    executor *x = user;
    exec_model *e;
    char err[512];
    uint32_t count;
    (void)a, (void)req;
    opml_llama_session *s = session_for(x, &q->model_root, &e, reply);
    if (!s) return 0;
    int32_t *ids = ids_of(x, &q->tokens, "tokens", opml_llama_hparams_of(e->llama)->vocab, &count, reply);
    if (!ids) return 0;
    uint32_t t = q->step, L = opml_llama_hparams_of(e->llama)->layers;
    if (t >= count || q->prompt_len < 1 || t >= opml_llama_session_ctx(s)) {
        free(ids);
        snprintf(err, sizeof err, "step %u of %u ids (prompt of %u) in a context of %u", t, count, q->prompt_len,
                 opml_llama_session_ctx(s));
        return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
    }
    opml_gen_facts f;
    opml_llama_gen_facts(e->llama, &f);
    opml_gen_sampler sp = sampler_of(q->sampler);
    uint8_t(*cr)[32] = malloc(2 * (size_t)L * 32), *skip = calloc((size_t)e->m.nin + e->m.n, 1), kv[2][32];
    const opml_run *r = NULL;
    int code = !cr || !skip ? OPML_E_INTERNAL : 0;
    if (code) snprintf(err, sizeof err, "out of memory");
    if (!code && opml_llama_replay(s, ids, t, err, sizeof err)) code = OPML_E_INTERNAL;
    if (!code) code = store_caches(x, s, 2 * L, cr, err, sizeof err);
    if (!code && opml_llama_commit_step(s, ids, t, q->prompt_len, &sp, &r, err, sizeof err)) code = OPML_E_INTERNAL;
    for (uint32_t i = 0; !code && i < 2 * L; i++) /* stored before the step == the step's input roots */
        if (memcmp(cr[i], r->roots[i], 32)) code = OPML_E_INTERNAL, snprintf(err, sizeof err, "cache %u's root changed", i);
    for (uint32_t i = 0; !code && i < 2 * L; i++) skip[i] = skip[f.kv_value + i] = 1;
    if (!code) code = exec_store_run(x, r, skip, err, sizeof err);
    free(ids), free(cr), free(skip);
    if (code) return exec_refuse(x, reply, (unsigned)code, err);
    kv_root_at(r, 0, L, kv[0]);
    kv_root_at(r, f.kv_value, L, kv[1]);
    x->gen_steps++;
    return step_reply(x, e, r, (const uint8_t(*)[32])kv, f.kv_value, reply);
}

void exec_gen_register(actor *a, executor *x) {
    actor_on_max(a, &opml__executor_generate__descriptor, ENVELOPE_MAX_BYTES, on_generate, x);
    actor_on_max(a, &opml__executor_gen_states__descriptor, ENVELOPE_MAX_BYTES, on_gen_states, x);
    actor_on_max(a, &opml__executor_gen_step__descriptor, ENVELOPE_MAX_BYTES, on_gen_step, x);
}
