/* main.c: opml-executor, the executor actor (docs/executor.md). It serves, as a bus worker or on
 * its own `listen` socket:
 *   opml.ExecutorInfer      run a model on inputs with nothing committed or stored: the output
 *                           (a submitter's and a validator's happy path);
 *   opml.ExecutorRun        run a model on inputs (their bytes, or the roots of stored tensors)
 *                           with commitments; every value's tensor goes to storage and the
 *                           run's value roots are recorded there under
 *                           "exec/run/" ++ modelRoot ++ State_0 (u32 nin, u32 n, then per value
 *                           its root and u64 length, big-endian), so that any executor answers
 *                           the queries below;
 *   opml.ExecutorGetStates  State_i of a recorded run for the steps asked;
 *   opml.ExecutorGetValue   the root and bytes of one value of a recorded run;
 *   generation tasks        opml.ExecutorGenerate, ExecutorGenStates, ExecutorGenStep (gen.c).
 * Models are loaded once and kept (models.h). Any number of executors run side by side: what one
 * computed, any other can serve, and a job lost with its executor is simply run again (the result
 * is the same bits). Bad requests get an opml.Error that says what is wrong. */
#include "executor_private.h"
#include "hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_KEY_PREFIX "exec/run/"
#define RUN_KEY_LEN (sizeof RUN_KEY_PREFIX - 1 + 64)
#define MAX_STEPS 1024
#define MAX_READ (32u << 20)
#define REC_VALUE 40 /* a value in the run record: root ++ u64 length */

static const config_opt options[] = {
    {"storage", "", "the storage actor, KEYHEX@endpoint (required)"},
    {"model", "", "a model file to load at start (and publish to storage)"},
    {"backend", "blas", "the engine backend: ref, blas or cuda (where built)"},
    {"max_models", "4", "models kept loaded; the least recently used one is dropped"},
    {"storage_timeout_ms", "10000", "time-out of one storage request"},
    {NULL, NULL, NULL},
};

int exec_refuse(executor *x, actor_reply *reply, unsigned code, const char *what) {
    x->refused++;
    return actor_reply_error(reply, code, "%s", what);
}

static void run_key(const uint8_t model_root[32], const uint8_t state0[32], uint8_t key[RUN_KEY_LEN]) {
    memcpy(key, RUN_KEY_PREFIX, sizeof RUN_KEY_PREFIX - 1);
    memcpy(key + sizeof RUN_KEY_PREFIX - 1, model_root, 32);
    memcpy(key + sizeof RUN_KEY_PREFIX - 1 + 32, state0, 32);
}

static void put32(uint8_t *p, uint32_t v) {
    for (int b = 0; b < 4; b++) p[b] = (uint8_t)(v >> (24 - 8 * b));
}
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

int exec_store_run(executor *x, const opml_run *r, const uint8_t *skip, char *err, size_t errlen) {
    const opml_model *m = r->m;
    size_t nv = (size_t)m->nin + m->n, rlen = 8 + REC_VALUE * nv;
    if (rlen > STORAGE_MAX_VALUE) {
        snprintf(err, errlen, "the model has %zu values: too many for one run record", nv);
        return OPML_E_BAD_REQUEST;
    }
    for (size_t v = 0; v < nv; v++) {
        size_t len = (size_t)kd_nbytes(&m->values[v]);
        if (skip && skip[v]) continue;
        if (len > STORAGE_MAX_PUT) {
            snprintf(err, errlen, "value %zu is %zu bytes, more than one storage put", v, len);
            return OPML_E_BAD_REQUEST;
        }
        uint8_t root[32];
        if (storage_client_put_tensor(x->st, r->values[v], len, r->roots[v], root)) {
            snprintf(err, errlen, "storage: storing value %zu: %s", v, storage_client_error(x->st));
            return OPML_E_UNAVAILABLE;
        }
    }
    uint8_t *rec = malloc(rlen), key[RUN_KEY_LEN];
    if (!rec) {
        snprintf(err, errlen, "out of memory");
        return OPML_E_INTERNAL;
    }
    put32(rec, m->nin), put32(rec + 4, m->n);
    for (size_t v = 0; v < nv; v++) {
        uint8_t *p = rec + 8 + REC_VALUE * v;
        uint64_t len = kd_nbytes(&m->values[v]);
        memcpy(p, r->roots[v], 32);
        put32(p + 32, (uint32_t)(len >> 32)), put32(p + 36, (uint32_t)len);
    }
    run_key(m->root, r->states[0], key);
    int rc = storage_client_kv_put(x->st, key, sizeof key, rec, rlen);
    free(rec);
    if (rc) {
        snprintf(err, errlen, "storage: storing the run record: %s", storage_client_error(x->st));
        return OPML_E_UNAVAILABLE;
    }
    return 0;
}

/* The request's inputs: its bytes, or the tensors its input_roots name, fetched into fetched[i]
 * (the caller frees them). Returns 0 or an OPML_E_* code with the reason in err. */
static unsigned gather_inputs(executor *x, const ProtobufCBinaryData *inputs, const ProtobufCBinaryData *input_roots,
                              const opml_model *m, const void **in, size_t *len, uint8_t **fetched, char *err,
                              size_t errlen) {
    for (uint32_t i = 0; i < m->nin; i++) {
        if (inputs) {
            in[i] = inputs[i].data, len[i] = inputs[i].len;
        } else if (input_roots[i].len != 32) {
            snprintf(err, errlen, "input_roots[%u] must be 32 bytes, got %zu", i, input_roots[i].len);
            return OPML_E_BAD_REQUEST;
        } else {
            char why[300];
            len[i] = (size_t)kd_nbytes(&m->inputs[i]);
            int code = storage_fetch_exact(x->st, input_roots[i].data, len[i], &fetched[i], why, sizeof why);
            if (code) {
                snprintf(err, errlen, "input %u: %s", i, why);
                return (unsigned)code;
            }
            in[i] = fetched[i];
        }
        if (len[i] != kd_nbytes(&m->inputs[i])) {
            snprintf(err, errlen, "input %u has %zu bytes, the model expects %llu (%llu values)", i, len[i],
                     (unsigned long long)kd_nbytes(&m->inputs[i]), (unsigned long long)kd_numel(&m->inputs[i]));
            return OPML_E_BAD_REQUEST;
        }
    }
    return 0;
}

exec_model *exec_model_for(executor *x, const ProtobufCBinaryData *model_root, actor_reply *reply) {
    char err[512];
    if (model_root->len != 32) {
        snprintf(err, sizeof err, "model_root must be 32 bytes, got %zu", model_root->len);
        exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
        return NULL;
    }
    int code;
    exec_model *e = models_get(&x->models, model_root->data, &code, err, sizeof err);
    if (!e) exec_refuse(x, reply, (unsigned)code, err);
    return e;
}

/* The model a run names and its runner, then the run on the request's inputs (bytes, or roots of
 * stored tensors), with commitments or not. NULL with the reply set (a refusal). */
static exec_model *run_request(executor *x, const ProtobufCBinaryData *model_root, size_t n_inputs,
                               const ProtobufCBinaryData *inputs, size_t n_roots, const ProtobufCBinaryData *roots,
                               int commit, actor_reply *reply) {
    char err[512];
    exec_model *e = exec_model_for(x, model_root, reply);
    if (!e) return NULL;
    if (models_run(&x->models, e, err, sizeof err)) {
        exec_refuse(x, reply, OPML_E_INTERNAL, err);
        return NULL;
    }
    const opml_model *m = &e->m;
    if (n_inputs && n_roots) {
        exec_refuse(x, reply, OPML_E_BAD_REQUEST, "give inputs or input_roots, not both");
        return NULL;
    }
    size_t given = n_inputs ? n_inputs : n_roots;
    if (given != m->nin) {
        snprintf(err, sizeof err, "the model takes %u inputs, the request has %zu", m->nin, given);
        exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
        return NULL;
    }
    const void **in = calloc(m->nin + 1, sizeof *in);
    size_t *len = calloc(m->nin + 1, sizeof *len);
    uint8_t **fetched = calloc(m->nin + 1, sizeof *fetched);
    if (!in || !len || !fetched) {
        free(in), free(len), free(fetched);
        exec_refuse(x, reply, OPML_E_INTERNAL, "out of memory");
        return NULL;
    }
    unsigned code_in = gather_inputs(x, n_inputs ? inputs : NULL, roots, m, in, len, fetched, err, sizeof err);
    int rc = code_in ? 0 : opml_run_exec(&e->run, in, len, commit, err, sizeof err);
    for (uint32_t i = 0; i < m->nin; i++) free(fetched[i]);
    free(in), free(len), free(fetched);
    if (code_in || rc) {
        exec_refuse(x, reply, code_in ? code_in : OPML_E_INTERNAL, err);
        return NULL;
    }
    return e;
}

static int on_infer(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__ExecutorInfer *q = (const Opml__ExecutorInfer *)msg;
    executor *x = user;
    (void)a, (void)req;
    exec_model *e = run_request(x, &q->model_root, q->n_inputs, q->inputs, 0, NULL, 0, reply);
    if (!e) return 0;
    Opml__ExecutorInferReply out = OPML__EXECUTOR_INFER_REPLY__INIT;
    out.model_root.data = e->m.root, out.model_root.len = 32;
    size_t nb;
    out.output.data = (uint8_t *)opml_run_output(&e->run, &nb);
    out.output.len = nb;
    out.backend = (char *)x->backend->ops->name;
    x->infers++;
    return actor_reply_msg(reply, &out.base);
}

static int on_run(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__ExecutorRun *q = (const Opml__ExecutorRun *)msg;
    executor *x = user;
    char err[512];
    (void)a, (void)req;
    exec_model *e = run_request(x, &q->model_root, q->n_inputs, q->inputs, q->n_input_roots, q->input_roots, 1, reply);
    if (!e) return 0;
    const opml_model *m = &e->m;
    int code;
    if ((code = exec_store_run(x, &e->run, NULL, err, sizeof err))) return exec_refuse(x, reply, (unsigned)code, err);

    Opml__ExecutorRunReply out = OPML__EXECUTOR_RUN_REPLY__INIT;
    out.model_root.data = (uint8_t *)m->root, out.model_root.len = 32;
    out.input_state.data = e->run.states[0], out.input_state.len = 32;
    out.state_root.data = e->run.states[m->n], out.state_root.len = 32;
    size_t nb;
    out.output.data = (uint8_t *)opml_run_output(&e->run, &nb);
    out.output.len = nb;
    ProtobufCBinaryData *roots = calloc(m->n + 1, sizeof *roots);
    if (!roots) return exec_refuse(x, reply, OPML_E_INTERNAL, "out of memory");
    for (uint32_t k = 0; k < m->n; k++) roots[k].data = e->run.roots[m->nin + k], roots[k].len = 32;
    out.node_output_roots = roots, out.n_node_output_roots = m->n;
    out.backend = (char *)x->backend->ops->name;
    x->runs++;
    int rc = actor_reply_msg(reply, &out.base);
    free(roots);
    return rc;
}

/* A recorded run: nin, n and each value's root and length (free *rec). Returns 0 or an OPML_E_*
 * code + err. */
static int load_run(executor *x, const ProtobufCBinaryData *model_root, const ProtobufCBinaryData *state0,
                    uint8_t **rec, uint32_t *nin, uint32_t *n, char *err, size_t errlen) {
    if (model_root->len != 32 || state0->len != 32) {
        snprintf(err, errlen, "model_root and input_state must be 32 bytes (got %zu and %zu)", model_root->len,
                 state0->len);
        return OPML_E_BAD_REQUEST;
    }
    uint8_t key[RUN_KEY_LEN];
    size_t len;
    int found;
    run_key(model_root->data, state0->data, key);
    if (storage_client_kv_get(x->st, key, sizeof key, &found, rec, &len)) {
        snprintf(err, errlen, "storage: %s", storage_client_error(x->st));
        return OPML_E_UNAVAILABLE;
    }
    if (!found) {
        char a[67], b[67];
        hex_encode(model_root->data, 32, a), hex_encode(state0->data, 32, b);
        snprintf(err, errlen, "no recorded run of model %s on input state %s (send opml.ExecutorRun first)", a, b);
        return OPML_E_NOT_FOUND;
    }
    if (len < 8 || (*nin = get32(*rec), *n = get32(*rec + 4), len != 8 + REC_VALUE * ((size_t)*nin + *n))) {
        free(*rec);
        snprintf(err, errlen, "the run record in storage is malformed (%zu bytes)", len);
        return OPML_E_INTERNAL;
    }
    return 0;
}

static int on_states(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__ExecutorGetStates *q = (const Opml__ExecutorGetStates *)msg;
    executor *x = user;
    char err[512];
    uint8_t *rec;
    uint32_t nin, n;
    (void)a, (void)req;
    if (q->n_steps > MAX_STEPS) {
        snprintf(err, sizeof err, "%zu steps asked, at most %d per request", q->n_steps, MAX_STEPS);
        return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
    }
    int code = load_run(x, &q->model_root, &q->input_state, &rec, &nin, &n, err, sizeof err);
    if (code) return exec_refuse(x, reply, (unsigned)code, err);
    for (size_t i = 0; i < q->n_steps; i++)
        if (q->steps[i] > n) {
            free(rec);
            snprintf(err, sizeof err, "step %u is past the last step %u", q->steps[i], n);
            return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
        }
    uint8_t(*states)[32] = malloc((q->n_steps + 1) * 32), (*roots)[32] = malloc(((size_t)nin + n) * 32);
    ProtobufCBinaryData *bd = calloc(q->n_steps + 1, sizeof *bd);
    if (!states || !roots || !bd) {
        free(rec), free(states), free(roots), free(bd);
        return exec_refuse(x, reply, OPML_E_INTERNAL, "out of memory");
    }
    for (size_t v = 0; v < (size_t)nin + n; v++) memcpy(roots[v], rec + 8 + REC_VALUE * v, 32);
    unsigned depth = opml_state_depth(nin, n);
    for (size_t i = 0; i < q->n_steps; i++) {
        opml_graph_state((const uint8_t(*)[32])roots, (size_t)nin + q->steps[i], depth, states[i]);
        bd[i].data = states[i], bd[i].len = 32;
    }
    Opml__ExecutorGetStatesReply out = OPML__EXECUTOR_GET_STATES_REPLY__INIT;
    out.states = bd, out.n_states = q->n_steps;
    x->queries++;
    int rc = actor_reply_msg(reply, &out.base);
    free(rec), free(states), free(roots), free(bd);
    return rc;
}

static int on_value(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__ExecutorGetValue *q = (const Opml__ExecutorGetValue *)msg;
    executor *x = user;
    char err[512];
    uint8_t *rec, *data = NULL, root[32];
    uint32_t nin, n;
    size_t len;
    (void)a, (void)req;
    int code = load_run(x, &q->model_root, &q->input_state, &rec, &nin, &n, err, sizeof err);
    if (code) return exec_refuse(x, reply, (unsigned)code, err);
    if (q->value >= (uint64_t)nin + n) {
        free(rec);
        snprintf(err, sizeof err, "value %u does not exist: the run has %llu values", q->value,
                 (unsigned long long)nin + n);
        return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
    }
    const uint8_t *p = rec + 8 + REC_VALUE * (size_t)q->value;
    uint64_t vlen = (uint64_t)get32(p + 32) << 32 | get32(p + 36);
    memcpy(root, p, 32);
    free(rec);
    char why[300];
    len = (size_t)vlen;
    if (vlen > STORAGE_MAX_PUT || (code = storage_fetch_exact(x->st, root, len, &data, why, sizeof why))) {
        snprintf(err, sizeof err, "value %u: %s", q->value, vlen > STORAGE_MAX_PUT ? "the run record is corrupt" : why);
        return exec_refuse(x, reply, vlen > STORAGE_MAX_PUT ? OPML_E_INTERNAL : OPML_E_UNAVAILABLE, err);
    }
    uint64_t want = q->length ? q->length : (q->offset <= len ? len - q->offset : 0);
    if (q->offset > len || want > len - q->offset || want > MAX_READ) {
        free(data);
        snprintf(err, sizeof err, "range [%llu, +%llu) is outside value %u (%zu bytes) or over %u bytes",
                 (unsigned long long)q->offset, (unsigned long long)want, q->value, len, MAX_READ);
        return exec_refuse(x, reply, OPML_E_BAD_REQUEST, err);
    }
    Opml__ExecutorGetValueReply out = OPML__EXECUTOR_GET_VALUE_REPLY__INIT;
    out.root.data = root, out.root.len = 32;
    out.total_length = len, out.offset = q->offset;
    out.data.data = data + q->offset, out.data.len = (size_t)want;
    x->queries++;
    int rc = actor_reply_msg(reply, &out.base);
    free(data);
    return rc;
}

static void stats(actor *a, void *user) {
    executor *x = user;
    actor_health_stat(a, "runs", (int64_t)x->runs);
    actor_health_stat(a, "infers", (int64_t)x->infers);
    actor_health_stat(a, "generations", (int64_t)x->generations);
    actor_health_stat(a, "gen_steps", (int64_t)x->gen_steps);
    actor_health_stat(a, "queries", (int64_t)x->queries);
    actor_health_stat(a, "refused", (int64_t)x->refused);
    actor_health_stat(a, "models_loaded", x->models.count);
    actor_health_stat(a, "model_loads_file", (int64_t)x->models.loads_file);
    actor_health_stat(a, "model_loads_storage", (int64_t)x->models.loads_storage);
}

int main(int argc, char **argv) {
    actor *a = actor_new("executor", options, argc, argv);
    if (!a) return 2;
    const config *cf = actor_config(a);
    executor x = {0};
    char err[512];
    long max_models, timeout;
    int rc = 1;
    if (config_get_long(cf, "max_models", 1, 1024, &max_models, err, sizeof err) ||
        config_get_long(cf, "storage_timeout_ms", 1, 3600000, &timeout, err, sizeof err)) {
        log_error("%s", err);
        goto out;
    }
    if (!*config_get(cf, "storage")) {
        log_error("storage is not set: the executor needs the storage actor (KEYHEX@endpoint)");
        goto out;
    }
    if (!(x.backend = opml_backend_new(config_get(cf, "backend")))) {
        log_error("backend '%s' is not in this build (it has %s), or could not start", config_get(cf, "backend"),
                  opml_backend_names());
        goto out;
    }
    if (!(x.st = storage_client_new(actor_net(a), actor_signer(a), config_get(cf, "storage"), (int)timeout, 2, err,
                                    sizeof err))) {
        log_error("storage: %s", err);
        goto out;
    }
    if (models_init(&x.models, (unsigned)max_models, x.backend, x.st)) {
        log_error("out of memory");
        goto out;
    }
    if (*config_get(cf, "model") && models_load_file(&x.models, config_get(cf, "model"), err, sizeof err)) {
        log_error("model %s: %s", config_get(cf, "model"), err);
        goto out;
    }
    actor_on_max(a, &opml__executor_run__descriptor, ENVELOPE_MAX_BYTES, on_run, &x); /* inputs' bytes */
    actor_on_max(a, &opml__executor_infer__descriptor, ENVELOPE_MAX_BYTES, on_infer, &x);
    exec_gen_register(a, &x);
    actor_on(a, &opml__executor_get_states__descriptor, on_states, &x);
    actor_on(a, &opml__executor_get_value__descriptor, on_value, &x);
    actor_on_health(a, stats, &x);
    log_info("backend %s, keeping up to %ld models", x.backend->ops->name, max_models);
    rc = actor_run(a);
out:
    models_free(&x.models);
    if (x.st) storage_client_free(x.st);
    opml_backend_free(x.backend);
    actor_free(a);
    return rc;
}
