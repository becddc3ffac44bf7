/* submitter.c: the submitter's job (`submit` = 1). Every open task on a model this identity serves
 * is run by an executor (any, through the bus's work broker) and submitted with the bond: its
 * output alone, computed with nothing committed (ExecutorInfer; a generation's ExecutorGenerate,
 * phase0.c); the states are computed only when a game asks (run_task: ExecutorRun; the game's
 * first move, bindEnd, is play.c's). What is claimed is what the run gives, unless the `fault` setting lies about this
 * submission (fault.h; the submissions are counted in storage so that a restarted liar tells its
 * lie at the same @K). After the challenge window the submission is finalized (bond and fee become
 * our credit on the oracle).
 *
 * infer_task is also the validator's (it compares outputs); run_task is the game's: the honest
 * values of a task, with the claimed ones beside them, computed once per submission. */
#include "bisector.h"
#include "executor.pb-c.h"
#include "hex.h"
#include "log.h"
#include "tensor_root.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the submission counter (fault.h's @K) ---- */

static void counter_key(const bisector *b, char key[160]) {
    char a[43];
    hex_encode(b->s.me, 20, a);
    snprintf(key, 160, "bisector/%s/submissions", a);
}

void submissions_load(bisector *b) {
    char key[160];
    int found = 0;
    uint8_t *val = NULL;
    size_t vlen = 0;
    counter_key(b, key); /* before strlen(key): the order of a call's arguments is unspecified */
    if (storage_client_kv_get(b->st, key, strlen(key), &found, &val, &vlen) == 0 && found && vlen == 4)
        b->submissions = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 | (uint32_t)val[2] << 8 | val[3];
    free(val);
}

static uint32_t next_submission(bisector *b) {
    char key[160];
    uint8_t v[4];
    b->submissions++;
    for (int i = 0; i < 4; i++) v[i] = (uint8_t)(b->submissions >> (24 - 8 * i));
    counter_key(b, key);
    if (storage_client_kv_put(b->st, key, strlen(key), v, 4))
        log_warn("submission counter not stored: %s", storage_client_error(b->st));
    return b->submissions;
}

/* ---- the executor's run ---- */

#define EXECUTOR_RUN_MS 60000 /* a classifier's run answers within this */

/* The lie of the lying_nth submission (0: honest) on task t, once per run of the task (t->plan). */
static void plan_lie(bisector *b, task *t, const model_entry *me, int lying_nth) {
    char err[600];
    fault_plan p = {0};
    if (!lying_nth || t->plan.active) return;
    if (fault_plan_for(&b->f, (uint32_t)lying_nth, t->id, me->m.nin, me->m.n, me->m.output_value, &p, err, sizeof err))
        log_error("task %" PRIu64 ": %s", t->id, err);
    else if (p.active) {
        t->plan = p;
        log_warn("task %" PRIu64 ": LYING (fault injection) at node %u%s", t->id, p.node, p.output_bytes ? ", the output" : "");
    }
}

/* The output bytes of a reply (malloc'd copy) as t's claimed output, lied as t->plan says. */
static int claim_output(task *t, const ProtobufCBinaryData *out) {
    uint8_t *o = malloc(out->len ? out->len : 1);
    if (!o) return -1;
    memcpy(o, out->data, out->len);
    free(t->claimed_out);
    t->claimed_out = o;
    t->claimed_out_len = out->len;
    return 0;
}

ProtobufCMessage *executor_call(bisector *b, const task *t, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d,
                                int timeout_ms) {
    char err[600];
    ProtobufCMessage *rep = NULL;
    if (rpc_call_max(b->work, req, d, ENVELOPE_MAX_BYTES, &rep, timeout_ms, 1, err, sizeof err)) {
        log_warn("task %" PRIu64 ": executor: %s", t->id, err);
        return NULL;
    }
    return rep;
}

int infer_task(bisector *b, task *t, model_entry *me, int lying_nth) {
    if (t->ran || t->inferred) return 0;
    if (t->gen || me->is_gen) return run_task(b, t, me, lying_nth); /* a generation's happy path is its run */
    Opml__ExecutorInfer req = OPML__EXECUTOR_INFER__INIT;
    ProtobufCBinaryData in = {t->input_len, t->input};
    req.model_root = (ProtobufCBinaryData){32, me->m.root};
    req.n_inputs = 1;
    req.inputs = &in;
    ProtobufCMessage *rep = executor_call(b, t, &req.base, &opml__executor_infer_reply__descriptor, EXECUTOR_RUN_MS);
    if (!rep) return -1;
    Opml__ExecutorInferReply *r = (Opml__ExecutorInferReply *)rep;
    int rc = claim_output(t, &r->output);
    protobuf_c_message_free_unpacked(rep, NULL);
    if (rc) return -1;
    plan_lie(b, t, me, lying_nth);
    if (fault_apply_output(&t->plan, t->claimed_out, t->claimed_out_len)) return -1;
    t->inferred = 1;
    return 0;
}

/* Runs task t's model on its input (any executor), and fills honest and claimed values. */
int run_task(bisector *b, task *t, model_entry *me, int lying_nth) {
    if (t->ran) return 0;
    if (t->gen || me->is_gen) {
        if (!t->gen || !me->is_gen) return -1; /* a classifier's request on a generation model, or the reverse */
        return gen_run_task(b, t, me, lying_nth);
    }
    Opml__ExecutorRun req = OPML__EXECUTOR_RUN__INIT;
    ProtobufCBinaryData in = {t->input_len, t->input};
    req.model_root = (ProtobufCBinaryData){32, me->m.root};
    req.n_inputs = 1;
    req.inputs = &in;
    ProtobufCMessage *rep = executor_call(b, t, &req.base, &opml__executor_run_reply__descriptor, EXECUTOR_RUN_MS);
    if (!rep) return -1;
    Opml__ExecutorRunReply *r = (Opml__ExecutorRunReply *)rep;
    uint32_t nin = me->m.nin, n = me->m.n;
    int rc = -1;
    if (r->n_node_output_roots != n) {
        log_error("task %" PRIu64 ": executor returned %zu node roots, the model has %u", t->id, r->n_node_output_roots, n);
        goto out;
    }
    free(t->honest), free(t->claimed);
    t->honest = calloc(nin + n, 32);
    t->claimed = calloc(nin + n, 32);
    if (!t->honest || !t->claimed) goto out;
    merkle_tensor_root(t->input, t->input_len, t->honest[0]);
    for (uint32_t i = 0; i < n; i++) {
        if (r->node_output_roots[i].len != 32) goto out;
        memcpy(t->honest[nin + i], r->node_output_roots[i].data, 32);
    }
    memcpy(t->claimed, t->honest, (size_t)(nin + n) * 32);
    if (claim_output(t, &r->output)) goto out;
    plan_lie(b, t, me, lying_nth);
    if (fault_apply_values(&t->plan, nin, me->m.output_value, t->claimed, t->claimed_out, t->claimed_out_len)) goto out;
    t->ran = t->inferred = 1;
    rc = 0;
out:
    protobuf_c_message_free_unpacked(rep, NULL);
    return rc;
}

int state_at(const task *t, const model_entry *me, int claimed, uint64_t s, uint8_t out[32]) {
    return opml_graph_state((const uint8_t (*)[32])(claimed ? t->claimed : t->honest), me->m.nin + s, me->m.state_depth, out);
}

/* ---- submit and finalize ---- */

/* The arguments (taskId, output) of submit and finalize, as JSON; NULL when out of memory. */
static cJSON *task_output_args(uint64_t task_id, const uint8_t *out, size_t len) {
    char id[24];
    char *h = malloc(2 * len + 3);
    cJSON *args = cJSON_CreateArray();
    if (!h || !args) {
        free(h);
        cJSON_Delete(args);
        return NULL;
    }
    hex_encode(out, len, h);
    snprintf(id, sizeof id, "%" PRIu64, task_id);
    cJSON_AddItemToArray(args, cJSON_CreateString(id));
    cJSON_AddItemToArray(args, cJSON_CreateString(h));
    free(h);
    return args;
}

void try_submit(bisector *b, task *t) {
    model_entry *me = fold_model(&b->s, t->model_id);
    if (!me || t->status != TASK_OPEN || (t->busy && now_s(b) - t->busy_at < 10)) return;
    if (!t->inferred && !t->ran && infer_task(b, t, me, (int)next_submission(b))) return;
    cJSON *args = task_output_args(t->id, t->claimed_out, t->claimed_out_len);
    if (!args) return;
    uint8_t tx[32];
    t->busy = 1; /* sent or refused: look again in 10 s unless the chain answers first */
    t->busy_at = now_s(b);
    if (send_tx(b, C_ORACLE, "submit", args, me->sbond, tx) == 0) log_info("task %" PRIu64 ": submitted", t->id);
    cJSON_Delete(args);
}

void try_finalize(bisector *b, task *t) {
    if (t->status != TASK_SUBMITTED || memcmp(t->submitter, b->s.me, 20) || now_s(b) <= t->deadline || !t->output) return;
    if (t->busy && now_s(b) - t->busy_at < 5) return;
    cJSON *args = task_output_args(t->id, t->output, t->output_len);
    if (!args) return;
    uint8_t tx[32];
    t->busy = 1;
    t->busy_at = now_s(b);
    if (send_tx(b, C_ORACLE, "finalize", args, NULL, tx) == 0) log_info("task %" PRIu64 ": finalize sent", t->id);
    cJSON_Delete(args);
}
