/* main.c: opml-vmjudge, the vmjudge actor (docs/architecture.md, proto/vmjudge.proto). It runs one
 * graph node inside the RISC-V VM and answers the questions of a phase-2 dispute: the state hash
 * at many steps, the final state, the proof of one step, and whether a step proof holds the way
 * the contract checks it.
 *
 * A node run is named by the roots the contract builds its initial state from (guest, descriptor,
 * 12 operands) and the game's step bound. The first request about a run fetches the bytes behind
 * those roots from the storage actor (each checked against its root), builds the machine with the
 * node loader and records the run with checkpoints (vm_trace.h); later requests about it re-run
 * from the nearest checkpoint. The last `cache_runs` runs are kept, least recently used evicted. */
#include "actor.h"
#include "client.h"
#include "keccak.h"
#include "vm_node.h"
#include "vm_trace.h"
#include "vmjudge.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUERIES 4096

static const config_opt vmjudge_options[] = {
    {"storage", "", "the storage actor, KEYHEX@ENDPOINT: where the bytes behind node roots come from"},
    {"checkpoint_steps", "1048576", "steps between the checkpoints of a recorded run"},
    {"max_steps", "17179869184", "the most steps a node run may take (a request's max_steps is capped here)"},
    {"cache_runs", "4", "recorded runs kept in memory"},
    {NULL, NULL, NULL},
};

typedef struct cached_run {
    uint8_t key[32];     /* keccak256 of the run's roots and step bound */
    vm_trace t;
    uint8_t initial[32]; /* the initial state hash */
    uint64_t used;       /* LRU clock */
    int live;
} cached_run;

typedef struct judge {
    actor *actor;
    storage_client *st;
    uint64_t interval, max_steps;
    unsigned ncache;
    cached_run *cache;
    uint64_t clock;
    uint8_t *fetched;    /* the last bytes fetched (vm_fetch_fn contract: valid until the next call) */
    int fetch_rc;        /* the storage client's code for the last fetch: 0, OPML_E_NOT_FOUND, ... */
    uint64_t recorded, hashes, proofs, verifies, refused;
} judge;

static const void *fetch_from_storage(const uint8_t root[32], size_t *len, void *user, char *err, size_t errlen) {
    judge *j = user;
    free(j->fetched);
    j->fetched = NULL;
    int rc = j->fetch_rc = storage_client_get_tensor(j->st, root, &j->fetched, len);
    if (rc != 0) {
        snprintf(err, errlen, "storage: %s", storage_client_error(j->st));
        return NULL;
    }
    return j->fetched;
}

/* A long recording gives up when the actor is asked to stop (SIGTERM); so does a storage call
 * waiting on a storage actor that is down (the runtime's rpc_cancel_when hook, actor.h). */
static int stopping(void *a) { return actor_stopping(a); }

static int refuse(judge *j, actor_reply *reply, unsigned code, const char *fmt, const char *arg) {
    j->refused++;
    return actor_reply_error(reply, code, fmt, arg);
}

/* The recorded run a request names, recording it first if needed. NULL after setting the reply. */
static cached_run *get_run(judge *j, const Opml__VmNodeRun *r, actor_reply *reply) {
    if (!r || r->guest_root.len != 32 || r->desc_root.len != 32 || r->n_operand_roots != VM_NODE_OPERANDS) {
        refuse(j, reply, OPML_E_BAD_REQUEST, "%s", "a run needs guest_root, desc_root (32 bytes) and 12 operand_roots");
        return NULL;
    }
    uint8_t ops[VM_NODE_OPERANDS][32];
    for (unsigned k = 0; k < VM_NODE_OPERANDS; k++) {
        if (r->operand_roots[k].len != 32) {
            refuse(j, reply, OPML_E_BAD_REQUEST, "%s", "every operand root must be 32 bytes");
            return NULL;
        }
        memcpy(ops[k], r->operand_roots[k].data, 32);
    }
    uint64_t max_steps = r->max_steps && r->max_steps < j->max_steps ? r->max_steps : j->max_steps;
    keccak256_ctx kc;
    keccak256_init(&kc);
    keccak256_update(&kc, r->guest_root.data, 32);
    keccak256_update(&kc, r->desc_root.data, 32);
    keccak256_update(&kc, ops, sizeof ops);
    keccak256_update(&kc, &max_steps, sizeof max_steps);
    uint8_t key[32];
    keccak256_final(&kc, key);
    cached_run *victim = &j->cache[0];
    for (unsigned k = 0; k < j->ncache; k++) {
        cached_run *c = &j->cache[k];
        if (c->live && !memcmp(c->key, key, 32)) {
            c->used = ++j->clock;
            return c;
        }
        if (!c->live || (victim->live && c->used < victim->used)) victim = c;
    }
    if (victim->live) vm_trace_free(&victim->t);
    victim->live = 0;
    vm v;
    char err[400];
    if (vm_init(&v) != 0) {
        refuse(j, reply, OPML_E_UNAVAILABLE, "%s", "out of memory");
        return NULL;
    }
    log_debug("recording a new node run: fetching its bytes from storage");
    j->fetch_rc = 0;
    if (vm_node_load_roots(&v, r->guest_root.data, r->desc_root.data, ops, fetch_from_storage, j, err, sizeof err) != 0) {
        free(j->fetched);
        j->fetched = NULL;
        vm_free(&v);
        if (actor_stopping(j->actor)) { /* the fetch was cut short: say nothing of the roots */
            log_info("gave up fetching a node run's bytes: shutting down (%s)", err);
            refuse(j, reply, OPML_E_UNAVAILABLE, "%s", "shutting down");
        } else if (j->fetch_rc && j->fetch_rc != OPML_E_NOT_FOUND) { /* no answer, or a bad one: try again */
            refuse(j, reply, OPML_E_UNAVAILABLE, "%s", err);
        } else refuse(j, reply, strstr(err, "guest root") ? OPML_E_BAD_REQUEST : OPML_E_NOT_FOUND, "%s", err);
        return NULL;
    }
    free(j->fetched);
    j->fetched = NULL;
    vm_state_hash(&v, victim->initial);
    int rc = vm_trace_record_until(&victim->t, &v, max_steps, j->interval, stopping, j->actor);
    if (rc != 0) {
        if (rc == -2) log_info("gave up recording a node run after %llu steps: shutting down",
                               (unsigned long long)victim->t.cur.step);
        vm_trace_free(&victim->t);
        vm_free(&v);
        refuse(j, reply, OPML_E_UNAVAILABLE, "%s", rc == -2 ? "shutting down" : "out of memory recording the run");
        return NULL;
    }
    memcpy(victim->key, key, 32);
    victim->live = 1;
    victim->used = ++j->clock;
    j->recorded++;
    log_info("recorded a node run: %llu steps, %s, %zu checkpoints", (unsigned long long)victim->t.final_step,
             victim->t.halted ? "halted" : "cut at max_steps", victim->t.nckpts);
    return victim;
}

static int on_hashes(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    judge *j = user;
    const Opml__VmStateHashes *m = (const Opml__VmStateHashes *)msg;
    if (m->n_steps == 0 || m->n_steps > MAX_QUERIES)
        return refuse(j, reply, OPML_E_BAD_REQUEST, "%s", "ask for 1 to 4096 steps");
    cached_run *c = get_run(j, m->run, reply);
    if (!c) return 0;
    uint8_t (*h)[32] = malloc(m->n_steps * 32);
    ProtobufCBinaryData *bins = malloc(m->n_steps * sizeof *bins);
    size_t *order = malloc(m->n_steps * sizeof *order);
    if (!h || !bins || !order) {
        free(h), free(bins), free(order);
        return refuse(j, reply, OPML_E_UNAVAILABLE, "%s", "out of memory");
    }
    /* answer in ascending step order so the run only moves forward between checkpoints */
    for (size_t i = 0; i < m->n_steps; i++) order[i] = i;
    for (size_t i = 1; i < m->n_steps; i++)
        for (size_t k = i; k > 0 && m->steps[order[k - 1]] > m->steps[order[k]]; k--) {
            size_t t = order[k];
            order[k] = order[k - 1], order[k - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i < m->n_steps && rc == 0; i++) rc = vm_trace_state_hash(&c->t, m->steps[order[i]], h[order[i]]);
    if (rc == 0) {
        for (size_t i = 0; i < m->n_steps; i++) bins[i].data = h[i], bins[i].len = 32;
        Opml__VmStateHashesReply out = OPML__VM_STATE_HASHES_REPLY__INIT;
        out.n_hashes = m->n_steps;
        out.hashes = bins;
        out.final_step = c->t.final_step;
        out.halted = c->t.halted;
        actor_reply_msg(reply, &out.base);
        j->hashes += m->n_steps;
    } else refuse(j, reply, OPML_E_UNAVAILABLE, "%s", "out of memory re-running the node");
    free(h), free(bins), free(order);
    return 0;
}

static int on_final(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    judge *j = user;
    cached_run *c = get_run(j, ((const Opml__VmFinalState *)msg)->run, reply);
    if (!c) return 0;
    if (vm_trace_seek(&c->t, c->t.final_step) != 0) return refuse(j, reply, OPML_E_UNAVAILABLE, "%s", "out of memory");
    uint8_t state[VM_STATE_BYTES], hash[32], out_root[32];
    vm_pack(&c->t.cur, state);
    keccak256(state, sizeof state, hash);
    vm_node_output_root(&c->t.cur, out_root);
    Opml__VmFinalStateReply out = OPML__VM_FINAL_STATE_REPLY__INIT;
    out.state.data = state, out.state.len = sizeof state;
    out.state_hash.data = hash, out.state_hash.len = 32;
    out.steps = c->t.cur.step;
    out.status = c->t.cur.status;
    out.exit_code = c->t.cur.exit_code;
    out.output_root.data = out_root, out.output_root.len = 32;
    out.initial_state_hash.data = c->initial, out.initial_state_hash.len = 32;
    uint8_t path[4][32];
    ProtobufCBinaryData bins[4];
    vm_node_output_path(&c->t.cur, path);
    for (int k = 0; k < 4; k++) bins[k].data = path[k], bins[k].len = 32;
    out.n_output_slot_path = 4;
    out.output_slot_path = bins;
    return actor_reply_msg(reply, &out.base);
}

static int on_prove(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    judge *j = user;
    const Opml__VmProveStep *m = (const Opml__VmProveStep *)msg;
    cached_run *c = get_run(j, m->run, reply);
    if (!c) return 0;
    uint8_t state[VM_STATE_BYTES], proof[VM_PROOF_MAX], post[32];
    long len = vm_trace_prove(&c->t, m->step, state, proof);
    if (len < 0) return refuse(j, reply, OPML_E_UNAVAILABLE, "%s", "out of memory");
    if (vm_verify_step(state, sizeof state, proof, (size_t)len, NULL, post) != 0)
        return refuse(j, reply, OPML_E_INTERNAL, "%s", "the proof made here does not verify");
    Opml__VmProveStepReply out = OPML__VM_PROVE_STEP_REPLY__INIT;
    out.state.data = state, out.state.len = sizeof state;
    out.proof.data = proof, out.proof.len = (size_t)len;
    out.post_state_hash.data = post, out.post_state_hash.len = 32;
    j->proofs++;
    return actor_reply_msg(reply, &out.base);
}

static int on_verify(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    judge *j = user;
    const Opml__VmVerifyStep *m = (const Opml__VmVerifyStep *)msg;
    int with_hashes = m->pre_state_hash.len == 32 && m->post_state_hash.len == 32;
    if ((m->pre_state_hash.len || m->post_state_hash.len) && !with_hashes)
        return refuse(j, reply, OPML_E_BAD_REQUEST, "%s", "pre_state_hash and post_state_hash go together, 32 bytes each");
    uint8_t post[32];
    int rc = vm_verify_step(m->state.data, m->state.len, m->proof.data, m->proof.len, NULL, post);
    Opml__VmVerifyStepReply out = OPML__VM_VERIFY_STEP_REPLY__INIT;
    out.valid = rc == 0;
    out.error = rc ? (char *)vm_verify_strerror(rc) : "";
    if (rc == 0) {
        out.post_state_hash.data = post, out.post_state_hash.len = 32;
        if (with_hashes)
            out.accepted = vm_check_step(m->pre_state_hash.data, m->state.data, m->state.len, m->proof.data,
                                         m->proof.len, m->post_state_hash.data, NULL);
    }
    j->verifies++;
    return actor_reply_msg(reply, &out.base);
}

static void stats(actor *a, void *user) {
    judge *j = user;
    unsigned live = 0;
    for (unsigned k = 0; k < j->ncache; k++) live += (unsigned)j->cache[k].live;
    actor_health_stat(a, "runs_cached", live);
    actor_health_stat(a, "runs_recorded", (int64_t)j->recorded);
    actor_health_stat(a, "state_hashes", (int64_t)j->hashes);
    actor_health_stat(a, "proofs", (int64_t)j->proofs);
    actor_health_stat(a, "verifies", (int64_t)j->verifies);
    actor_health_stat(a, "refused", (int64_t)j->refused);
}

static int positive(const config *cfg, const char *name, uint64_t *out) {
    const char *s = config_get(cfg, name);
    char *end;
    unsigned long long v = s && *s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *end || v == 0) {
        log_error("%s must be a positive integer (got '%s')", name, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    actor *a = actor_new("vmjudge", vmjudge_options, argc, argv);
    if (!a) return 2;
    const config *cfg = actor_config(a);
    judge j;
    memset(&j, 0, sizeof j);
    uint64_t ncache;
    int rc = 1;
    if (positive(cfg, "checkpoint_steps", &j.interval) || positive(cfg, "max_steps", &j.max_steps) ||
        positive(cfg, "cache_runs", &ncache) || ncache > 64) {
        if (ncache > 64) log_error("cache_runs is at most 64");
        goto out;
    }
    const char *peer = config_get(cfg, "storage");
    if (!peer || !*peer) {
        log_error("storage is not set: vmjudge fetches node bytes from a storage actor");
        goto out;
    }
    char err[400];
    if (!(j.st = storage_client_new(actor_net(a), actor_signer(a), peer, 5000, 2, err, sizeof err))) {
        log_error("storage %s: %s", peer, err);
        goto out;
    }
    j.ncache = (unsigned)ncache;
    j.actor = a;
    if (!(j.cache = calloc(j.ncache, sizeof *j.cache))) goto out;
    actor_on(a, &opml__vm_state_hashes__descriptor, on_hashes, &j);
    actor_on(a, &opml__vm_final_state__descriptor, on_final, &j);
    actor_on(a, &opml__vm_prove_step__descriptor, on_prove, &j);
    actor_on(a, &opml__vm_verify_step__descriptor, on_verify, &j);
    actor_on_health(a, stats, &j);
    rc = actor_run(a);
out:
    for (unsigned k = 0; k < j.ncache; k++)
        if (j.cache[k].live) vm_trace_free(&j.cache[k].t);
    free(j.cache);
    if (j.st) storage_client_free(j.st);
    actor_free(a);
    return rc;
}
