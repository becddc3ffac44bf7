/* main.c: opml-bisector, one per identity: it drives the verification game (DESIGN.md section 5)
 * from the chain's events (chainwatch, on the bus) to transactions (chainwatch's ChainSendTx),
 * with executors (through the bus's work broker) computing the honest graph states.
 *
 *   as submitter (`submit` = 1): every task on a model it serves is run by an executor and
 *     submitted with the bond (claimed states and output as the `fault` setting lies, fault.h);
 *     after the window it finalizes; in a game it dissects with its claimed states;
 *   as validator (`validate` = 1): every other identity's submission is re-computed; a State_n
 *     other than ours is challenged with the bond; in the game it selects against its own states
 *     (game_select), and times out an opponent whose clock has run out (game_next).
 *
 * State: the chain's events are the log. On start the bisector reads every event from chainwatch
 * (ChainGetEvents) and rebuilds its view of tasks and games, then follows the bus; a gap in the
 * stream's seq is fetched again. What only it knows is in storage, written before it acts: the
 * game records (record.h, the write-ahead move) and the submission counter (for `fault`'s @K).
 * So a SIGKILL at any point resumes: a move recorded SENT is not sent again until its receipt says
 * it failed, a move recorded INTENDED is sent (again), and the contract refuses a move whose
 * position has passed (chainwatch refuses a transaction that would revert: harmless).
 *
 * Time: deadlines and chess clocks are the chain's (chaintime.h). A move's time is its event's
 * block timestamp, as the contract charges it, and "now" is the newest block timestamp seen (in
 * events and in chainwatch's ChainGetEvents replies) plus the local time elapsed since: never the
 * local wall clock, which drifts from block.timestamp and would age a replayed game wrongly.
 *
 * Money: every payout is a credit to pull (docs/game.md "Money"). What we are owed on the oracle
 * and on the game is read from the events (payout.h); with `auto_withdraw` each credit is
 * withdrawn as soon as the chain shows it, with the same write-ahead record as a move (record.h),
 * so a restart sends no second withdraw. A game whose submission another game rejected is ended
 * with abandon by its challenger (our bond back at once, and our share of the rejected bond) and
 * no longer played by its submitter.
 *
 * Phase 2: at one graph step the submitter opens the node (openNode: the node's leaf and its
 * path into the model, the operands' roots and paths into the agreed state, the claimed final VM
 * state from vmjudge with slot 15's path); the VM bisection then runs over vmjudge's state hashes,
 * and at one VM step the challenger sends vmjudge's step proof. On start the bisector puts each
 * served model's node descriptors and weights into storage, where vmjudge fetches them.
 */
#include "actor.h"
#include "chain.pb-c.h"
#include "chaintime.h"
#include "contract.h"
#include "executor.pb-c.h"
#include "fault.h"
#include "game.h"
#include "hex.h"
#include "keccak.h"
#include "log.h"
#include "merkle.h"
#include "model.h"
#include "payout.h"
#include "record.h"
#include "rpc.h"
#include "client.h"
#include "tensor_root.h"
#include "u256.h"
#include "vmjudge.pb-c.h"
#include "vm_guest.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static const config_opt options[] = {
    {"chainwatch", "", "this identity's chainwatch, KEYHEX@endpoint (required)"},
    {"bus_events", "", "the bus's event output (XPUB), KEYHEX@endpoint (required)"},
    {"work", "", "the bus's work socket, KEYHEX@endpoint: executors and vmjudge (required)"},
    {"storage", "", "the storage actor, KEYHEX@endpoint: game records (required)"},
    {"address", "", "this identity's on-chain address (chainwatch's), 0x... (required)"},
    {"registry", "", "ModelRegistry address"},
    {"oracle", "", "InferenceOracle address (required)"},
    {"game", "", "DisputeGame address (required)"},
    {"artifacts", "contracts/out", "forge's output directory: <Name>.sol/<Name>.json"},
    {"model", "", "model files this identity serves and checks, comma-separated"},
    {"fault", "none", "fault injection (bisector/fault.h): none, node=N, random[=SEED], output, vm=N[:STEP], each @K"},
    {"submit", "1", "1: submit results for requested tasks"},
    {"validate", "1", "1: check others' submissions and challenge wrong ones"},
    {"auto_withdraw", "1", "1: withdraw this identity's credits (bonds, fees) from oracle and game once on-chain"},
    {"tick_ms", "200", "how often to look for work"},
    {NULL, NULL, NULL},
};

#define MAX_MODELS 8

typedef struct model_entry {
    opml_model m;
    uint64_t id;          /* on-chain id, 0 until ModelRegistered names it */
    uint16_t k;
    uint8_t steps_log2;
    uint64_t clock;
    char sbond[80], cbond[80];
} model_entry;

typedef struct task {
    uint64_t id, model_id;
    int status;           /* 1 open, 2 submitted, 3 finalized, 4 cancelled */
    uint8_t requester[20];
    uint8_t *input;
    size_t input_len;
    uint32_t sub_id;
    uint8_t submitter[20];
    uint8_t state_n[32];
    uint8_t *output;      /* the live submission's output (for finalize) */
    size_t output_len;
    uint64_t deadline;
    int checked;          /* validator: this submission was checked */
    int busy;             /* submitter: a submit or finalize is in flight */
    uint64_t busy_at;
    int ran;              /* values below are known */
    uint8_t (*honest)[32];  /* value roots, nin + n */
    uint8_t (*claimed)[32]; /* what we post as submitter (honest when not lying) */
    uint8_t *claimed_out;
    size_t claimed_out_len;
    fault_plan plan;        /* the lie told on this task (inactive: none) */
    struct task *next;
} task;

typedef struct gm {
    game_record rec;      /* only for games we play */
    game_view v;
    uint8_t submitter[20], challenger[20];
    uint8_t (*roots)[32]; /* the pending dissection's roots */
    size_t nroots;
    int ours;
    struct gm *next;
} gm;

/* The two contracts that pay us (pull payments): b->pay[] and payers[] share this index. */
enum { PAY_ORACLE, PAY_GAME, PAYERS };
static const char *const payers[PAYERS] = {"InferenceOracle", "DisputeGame"};

typedef struct bisector {
    actor *a;
    rpc *cw, *work;
    storage_client *st;
    void *sub;
    contract *oracle_c, *game_c;
    uint8_t me[20], oracle[20], game_addr[20];
    model_entry models[MAX_MODELS];
    size_t nmodels;
    fault f;
    int submit, validate, auto_withdraw;
    payout pay[PAYERS];   /* our credit on each contract and its withdrawal */
    task *tasks;
    gm *games;
    uint64_t last_seq;
    chain_time ct;        /* the chain's time, from the events' block timestamps */
    uint32_t submissions;
    int64_t moves, txs_refused;
} bisector;

/* The chain's time now (chaintime.h): every deadline and clock is decided by it. */
static uint64_t now_s(const bisector *b) { return chain_time_now(&b->ct, clock_mono_ms(), (uint64_t)time(NULL)); }

/* ---- small helpers over chainwatch's decoded arguments ---- */

static uint64_t arg_u64(const cJSON *o, const char *name) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(x)) return (uint64_t)x->valuedouble;
    if (cJSON_IsString(x)) return strtoull(x->valuestring, NULL, 0);
    if (cJSON_IsBool(x)) return cJSON_IsTrue(x);
    return 0;
}
static int arg_bytes(const cJSON *o, const char *name, uint8_t *out, size_t len) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(x) ? hex_decode(x->valuestring, out, len) : -1;
}
/* A dynamic bytes argument (0x hex) into malloc'd memory. */
static uint8_t *arg_dyn(const cJSON *x, size_t *len) {
    if (!cJSON_IsString(x) || strncmp(x->valuestring, "0x", 2)) return NULL;
    size_t n = (strlen(x->valuestring) - 2) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (b && hex_decode(x->valuestring, b, n)) {
        free(b);
        return NULL;
    }
    *len = n;
    return b;
}
static const char *arg_str(const cJSON *o, const char *name) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(x) ? x->valuestring : "";
}
/* Whether the address argument `name` is this bisector's identity. */
static int arg_is_me(const bisector *b, const cJSON *o, const char *name) {
    uint8_t who[20];
    return arg_bytes(o, name, who, 20) == 0 && !memcmp(who, b->me, 20);
}
static void hexstr(const uint8_t *b, size_t n, char *out) { hex_encode(b, n, out); }

/* Puts the bytes behind every root the contract builds a node's VM state from (each node's
 * descriptor, each weight tensor) into storage, where vmjudge fetches them. Returns 0 or -1. */
static int publish_model(bisector *b, const opml_model *m) {
    uint8_t root[32];
    for (uint32_t i = 0; i < m->n; i++)
        if (storage_client_put_tensor(b->st, m->nodes[i].desc, KD_BYTES, m->nodes[i].desc_root, root)) goto bad;
    for (uint32_t i = 0; i < m->nweights; i++)
        if (storage_client_put_tensor(b->st, m->weights[i].data, (size_t)kd_nbytes(&m->weights[i].t), m->weights[i].root, root))
            goto bad;
    return 0;
bad:
    log_error("model: its descriptors and weights could not be stored: %s", storage_client_error(b->st));
    return -1;
}

/* ---- lookup ---- */

static model_entry *model_by_id(bisector *b, uint64_t id) {
    for (size_t i = 0; i < b->nmodels; i++)
        if (b->models[i].id == id) return &b->models[i];
    return NULL;
}
static task *task_get(bisector *b, uint64_t id, int create) {
    for (task *t = b->tasks; t; t = t->next)
        if (t->id == id) return t;
    if (!create) return NULL;
    task *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->id = id;
    t->next = b->tasks;
    b->tasks = t;
    return t;
}
static gm *game_get(bisector *b, uint64_t id, int create) {
    for (gm *g = b->games; g; g = g->next)
        if (g->rec.game_id == id) return g;
    if (!create) return NULL;
    gm *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->rec.game_id = id;
    g->next = b->games;
    b->games = g;
    return g;
}

/* ---- storage: the game record and the submission counter ---- */

static int record_save(bisector *b, const game_record *r) {
    char key[160];
    uint8_t buf[GAME_RECORD_BYTES];
    game_record_key(b->me, r->game_id, key, sizeof key);
    game_record_encode(r, buf);
    int rc = storage_client_kv_put(b->st, key, strlen(key), buf, sizeof buf);
    if (rc) log_warn("game %" PRIu64 ": record not stored: %s", r->game_id, storage_client_error(b->st));
    return rc;
}
static void record_load(bisector *b, gm *g) {
    char key[160], err[200];
    game_record_key(b->me, g->rec.game_id, key, sizeof key);
    int found = 0;
    uint8_t *val = NULL;
    size_t len = 0;
    if (storage_client_kv_get(b->st, key, strlen(key), &found, &val, &len) == 0 && found) {
        game_record r;
        if (game_record_decode(val, len, &r, err, sizeof err) == 0) g->rec = r;
        else log_error("game %" PRIu64 ": %s: playing from the chain's view alone", g->rec.game_id, err);
    }
    free(val);
}
static char *counter_key(bisector *b, char key[160]) {
    char a[43];
    hexstr(b->me, 20, a);
    snprintf(key, 160, "bisector/%s/submissions", a);
    return key;
}

/* ---- transactions through chainwatch ---- */

/* Sends fn(args) to `to` with value (decimal wei, NULL: 0). Returns 0 with the id, or -1. */
static int send_tx(bisector *b, const contract *k, const uint8_t to[20], const char *fn, const cJSON *args,
                   const char *value, uint8_t id[32]) {
    char err[600];
    const abi_function *f = contract_function(k, fn);
    uint8_t *data = NULL;
    size_t len = 0;
    if (!f || contract_encode_call(f, args, &data, &len, err, sizeof err)) {
        log_error("%s: cannot encode: %s", fn, f ? err : "no such function");
        return -1;
    }
    u256 v;
    u256_from_u64(&v, 0);
    if (value && u256_parse(&v, value, 0)) {
        free(data);
        return -1;
    }
    Opml__ChainSendTx req = OPML__CHAIN_SEND_TX__INIT;
    req.to.data = (uint8_t *)to;
    req.to.len = 20;
    req.value.data = v.b;
    req.value.len = 32;
    req.data.data = data;
    req.data.len = len;
    ProtobufCMessage *rep = NULL;
    int rc = rpc_call(b->cw, &req.base, &opml__chain_send_tx_reply__descriptor, &rep, 20000, 1, err, sizeof err);
    free(data);
    if (rc) {
        b->txs_refused++;
        log_info("%s not sent: %s", fn, err);
        return -1;
    }
    Opml__ChainSendTxReply *r = (Opml__ChainSendTxReply *)rep;
    if (r->tx_hash.len == 32) memcpy(id, r->tx_hash.data, 32);
    protobuf_c_message_free_unpacked(rep, NULL);
    b->moves++;
    return 0;
}

/* ---- our credits: the withdrawal's record and the withdraw ---- */

static const uint8_t *payer_address(const bisector *b, int i) { return i == PAY_ORACLE ? b->oracle : b->game_addr; }

static int payout_save(bisector *b, int i) {
    char key[200];
    uint8_t buf[PAYOUT_RECORD_BYTES];
    payout_record_key(b->me, payer_address(b, i), key, sizeof key);
    payout_record_encode(&b->pay[i], buf);
    int rc = storage_client_kv_put(b->st, key, strlen(key), buf, sizeof buf);
    if (rc) log_warn("%s: withdrawal record not stored: %s", payers[i], storage_client_error(b->st));
    return rc;
}

/* The withdrawal recorded before a restart (read before the history is replayed: the Withdrawn
 * events after its decision end it). */
static void payout_load(bisector *b, int i) {
    char key[200], err[200];
    int found = 0;
    uint8_t *val = NULL;
    size_t len = 0;
    payout_record_key(b->me, payer_address(b, i), key, sizeof key);
    if (storage_client_kv_get(b->st, key, strlen(key), &found, &val, &len) == 0 && found &&
        payout_record_decode(val, len, &b->pay[i], err, sizeof err))
        log_error("%s: %s: withdrawing from the chain's view alone", payers[i], err);
    free(val);
}

/* After the replay, a withdrawal still SENT asks chainwatch for its receipt, which may have been
 * published while we were away (none yet: it is pending, and its receipt will come on the bus). */
static void payout_resume(bisector *b, int i) {
    char err[600];
    if (b->pay[i].state != GAME_MOVE_SENT) return;
    Opml__ChainGetReceipt req = OPML__CHAIN_GET_RECEIPT__INIT;
    req.id.data = b->pay[i].tx_id;
    req.id.len = 32;
    ProtobufCMessage *rep = NULL;
    if (rpc_call(b->cw, &req.base, &opml__chain_receipt__descriptor, &rep, 10000, 1, err, sizeof err)) return; /* pending */
    const Opml__ChainReceipt *r = (const Opml__ChainReceipt *)rep;
    payout_receipt(&b->pay[i], b->pay[i].tx_id, r->success);
    protobuf_c_message_free_unpacked(rep, NULL);
    payout_save(b, i);
}

/* Withdraws our credit from contract i if the chain shows one and no withdrawal is on its way. */
static void try_withdraw(bisector *b, int i) {
    payout *p = &b->pay[i];
    uint64_t now = now_s(b);
    if (payout_next(p, now) != PAYOUT_SEND) return;
    payout_decide(p, b->last_seq, now);
    if (payout_save(b, i)) { /* write-ahead, or not at all: look again in PAYOUT_RETRY_S */
        p->state = GAME_MOVE_FAILED;
        return;
    }
    cJSON *args = cJSON_CreateArray();
    uint8_t tx[32];
    if (send_tx(b, i == PAY_ORACLE ? b->oracle_c : b->game_c, payer_address(b, i), "withdraw", args, NULL, tx) == 0) {
        p->state = GAME_MOVE_SENT;
        memcpy(p->tx_id, tx, 32);
        log_info("%s: withdraw sent", payers[i]);
    } else {
        p->state = GAME_MOVE_FAILED;
    }
    payout_save(b, i);
    cJSON_Delete(args);
}

/* ---- the executor ---- */

/* Runs task t's model on its input (any executor), and fills honest and claimed values. */
static int run_task(bisector *b, task *t, model_entry *me, int lying_nth) {
    if (t->ran) return 0;
    char err[600];
    Opml__ExecutorRun req = OPML__EXECUTOR_RUN__INIT;
    ProtobufCBinaryData in = {t->input_len, t->input};
    req.model_root.data = me->m.root;
    req.model_root.len = 32;
    req.n_inputs = 1;
    req.inputs = &in;
    ProtobufCMessage *rep = NULL;
    if (rpc_call_max(b->work, &req.base, &opml__executor_run_reply__descriptor, ENVELOPE_MAX_BYTES, &rep, 60000, 1, err,
                     sizeof err)) {
        log_warn("task %" PRIu64 ": executor: %s", t->id, err);
        return -1;
    }
    Opml__ExecutorRunReply *r = (Opml__ExecutorRunReply *)rep;
    uint32_t nin = me->m.nin, n = me->m.n;
    int rc = -1;
    if (r->n_node_output_roots != n) {
        log_error("task %" PRIu64 ": executor returned %zu node roots, the model has %u", t->id, r->n_node_output_roots, n);
        goto out;
    }
    t->honest = calloc(nin + n, 32);
    t->claimed = calloc(nin + n, 32);
    t->claimed_out = malloc(r->output.len ? r->output.len : 1);
    if (!t->honest || !t->claimed || !t->claimed_out) goto out;
    merkle_tensor_root(t->input, t->input_len, t->honest[0]);
    for (uint32_t i = 0; i < n; i++) {
        if (r->node_output_roots[i].len != 32) goto out;
        memcpy(t->honest[nin + i], r->node_output_roots[i].data, 32);
    }
    memcpy(t->claimed, t->honest, (size_t)(nin + n) * 32);
    memcpy(t->claimed_out, r->output.data, r->output.len);
    t->claimed_out_len = r->output.len;
    fault_plan p = {0};
    if (lying_nth) {
        if (fault_plan_for(&b->f, (uint32_t)lying_nth, t->id, nin, n, me->m.output_value, &p, err, sizeof err))
            log_error("task %" PRIu64 ": %s", t->id, err);
        else if (p.active) {
            fault_apply_values(&p, nin, t->claimed, t->claimed_out, t->claimed_out_len);
            t->plan = p;
            log_warn("task %" PRIu64 ": LYING (fault injection) at node %u%s", t->id, p.node,
                     p.output_bytes ? ", the output" : "");
        }
    }
    t->ran = 1;
    rc = 0;
out:
    protobuf_c_message_free_unpacked(rep, NULL);
    return rc;
}

static int state_at(const task *t, const model_entry *me, int claimed, uint64_t s, uint8_t out[32]) {
    return opml_graph_state(claimed ? t->claimed : t->honest, me->m.nin + s, me->m.state_depth, out);
}

/* ---- the submitter ---- */

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

static void try_submit(bisector *b, task *t) {
    model_entry *me = model_by_id(b, t->model_id);
    if (!me || t->status != 1 || (t->busy && now_s(b) - t->busy_at < 10)) return;
    if (!t->ran && run_task(b, t, me, (int)next_submission(b))) return;
    uint32_t D = me->m.state_depth, ov = me->m.output_value;
    uint8_t state_n[32];
    merkle_proof pr;
    size_t nvals = me->m.nin + me->m.n;
    if (state_at(t, me, 1, me->m.n, state_n) || merkle_prove(t->claimed, nvals * 32, D, ov, &pr)) return;
    char h[2 + 64 + 1], id[24];
    char *out = malloc(2 * t->claimed_out_len + 3);
    if (!out) return;
    hexstr(t->claimed_out, t->claimed_out_len, out);
    snprintf(id, sizeof id, "%" PRIu64, t->id);
    cJSON *args = cJSON_CreateArray(), *proof = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(id));
    cJSON_AddItemToArray(args, cJSON_CreateString(out));
    hexstr(state_n, 32, h);
    cJSON_AddItemToArray(args, cJSON_CreateString(h));
    for (unsigned i = 0; i < D; i++) {
        hexstr(pr.siblings[i], 32, h);
        cJSON_AddItemToArray(proof, cJSON_CreateString(h));
    }
    cJSON_AddItemToArray(args, proof);
    uint8_t tx[32];
    t->busy = 1; /* sent or refused: look again in 10 s unless the chain answers first */
    t->busy_at = now_s(b);
    if (send_tx(b, b->oracle_c, b->oracle, "submit", args, me->sbond, tx) == 0) log_info("task %" PRIu64 ": submitted", t->id);
    cJSON_Delete(args);
    free(out);
}

static void try_finalize(bisector *b, task *t) {
    if (t->status != 2 || memcmp(t->submitter, b->me, 20) || now_s(b) <= t->deadline || !t->output) return;
    if (t->busy && now_s(b) - t->busy_at < 5) return;
    char id[24];
    char *out = malloc(2 * t->output_len + 3);
    if (!out) return;
    hexstr(t->output, t->output_len, out);
    snprintf(id, sizeof id, "%" PRIu64, t->id);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(id));
    cJSON_AddItemToArray(args, cJSON_CreateString(out));
    uint8_t tx[32];
    t->busy = 1;
    t->busy_at = now_s(b);
    if (send_tx(b, b->oracle_c, b->oracle, "finalize", args, NULL, tx) == 0) log_info("task %" PRIu64 ": finalize sent", t->id);
    cJSON_Delete(args);
    free(out);
}

/* ---- the validator ---- */

static void try_check(bisector *b, task *t) {
    model_entry *me = model_by_id(b, t->model_id);
    if (!me || t->status != 2 || t->checked || !memcmp(t->submitter, b->me, 20) || now_s(b) >= t->deadline) return;
    if (run_task(b, t, me, 0)) return;
    /* a challenge recorded before a crash is not sent again (its game may not be on-chain yet) */
    char key[200], a[43];
    hexstr(b->me, 20, a);
    snprintf(key, sizeof key, "bisector/%s/challenge/%016" PRIx64 "/%08x", a, t->id, t->sub_id);
    int found = 0;
    uint8_t *val = NULL;
    size_t vlen = 0;
    if (storage_client_kv_get(b->st, key, strlen(key), &found, &val, &vlen)) return;
    free(val);
    if (found) {
        t->checked = 1;
        return;
    }
    uint8_t honest_n[32];
    if (state_at(t, me, 0, me->m.n, honest_n)) return;
    int wrong = memcmp(honest_n, t->state_n, 32) != 0;
    int dishonest = b->f.kind != FAULT_NONE; /* a validator with a fault challenges everything */
    t->checked = 1;
    if (!wrong && !dishonest) {
        log_info("task %" PRIu64 ": submission %u checked: State_n agrees", t->id, t->sub_id);
        return;
    }
    log_warn("task %" PRIu64 ": submission %u %s: challenging", t->id, t->sub_id,
             wrong ? "is WRONG (State_n differs)" : "is right, but this validator lies (fault injection)");
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, t->id);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(id));
    uint8_t tx[32], one = 1;
    if (storage_client_kv_put(b->st, key, strlen(key), &one, 1)) { /* write-ahead, or not at all */
        t->checked = 0;
        cJSON_Delete(args);
        return;
    }
    if (send_tx(b, b->game_c, b->game_addr, "challenge", args, me->cbond, tx)) {
        t->checked = 0; /* refused: try again (the marker is removed first) */
        storage_client_kv_delete(b->st, key, strlen(key));
    }
    cJSON_Delete(args);
}

/* ---- games ---- */

static cJSON *hashes_json(const uint8_t (*h)[32], size_t n) {
    cJSON *a = cJSON_CreateArray();
    char t[67];
    for (size_t i = 0; i < n; i++) {
        hexstr(h[i], 32, t);
        cJSON_AddItemToArray(a, cJSON_CreateString(t));
    }
    return a;
}

/* ---- phase 2: the VM run of one node, through vmjudge (any, via the bus) ---- */

typedef struct node_run {
    Opml__VmNodeRun run;
    ProtobufCBinaryData ops[KD_MAX_OPERANDS];
    uint8_t op_roots[KD_MAX_OPERANDS][32];
    uint8_t refs[KD_MAX_OPERANDS][32];   /* the node leaf's refs (value ids or weight roots) */
    uint8_t desc_root[32];
} node_run;

/* The run of node `node` as the contract builds it from the values `vals` (claimed or honest). */
static void node_run_init(node_run *nr, const model_entry *me, const uint8_t (*vals)[32], uint32_t node) {
    const opml_node *nd = &me->m.nodes[node];
    memset(nr, 0, sizeof *nr);
    opml__vm_node_run__init(&nr->run);
    memcpy(nr->desc_root, nd->desc_root, 32);
    for (int j = 0; j < KD_MAX_OPERANDS; j++) {
        uint32_t ref = nd->ref[j];
        if (nd->input_mask >> j & 1) {
            memset(nr->refs[j], 0, 32);
            for (int i = 0; i < 4; i++) nr->refs[j][28 + i] = (uint8_t)(ref >> (24 - 8 * i));
            memcpy(nr->op_roots[j], vals[ref], 32);
        } else {
            const uint8_t *r = ref == OPML_REF_NONE ? merkle_zero(23) : me->m.weights[ref].root;
            memcpy(nr->refs[j], r, 32);
            memcpy(nr->op_roots[j], r, 32);
        }
        nr->ops[j].data = nr->op_roots[j];
        nr->ops[j].len = 32;
    }
    nr->run.guest_root.data = (uint8_t *)vm_guest_root;
    nr->run.guest_root.len = 32;
    nr->run.desc_root.data = nr->desc_root;
    nr->run.desc_root.len = 32;
    nr->run.n_operand_roots = KD_MAX_OPERANDS;
    nr->run.operand_roots = nr->ops;
    nr->run.max_steps = 1ull << me->steps_log2;
}

static ProtobufCMessage *vm_call(bisector *b, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d) {
    char err[600];
    ProtobufCMessage *rep = NULL;
    if (rpc_call_max(b->work, req, d, ENVELOPE_MAX_BYTES, &rep, 120000, 1, err, sizeof err)) {
        log_warn("vmjudge: %s", err);
        return NULL;
    }
    return rep;
}

/* State hashes of the run at steps[0..n); *halt = the step it halted at. */
static int vm_hashes(bisector *b, node_run *nr, const uint64_t *steps, size_t n, uint8_t (*out)[32], uint64_t *halt) {
    Opml__VmStateHashes req = OPML__VM_STATE_HASHES__INIT;
    req.run = &nr->run;
    req.n_steps = n;
    req.steps = (uint64_t *)steps;
    Opml__VmStateHashesReply *r = (Opml__VmStateHashesReply *)vm_call(b, &req.base, &opml__vm_state_hashes_reply__descriptor);
    if (!r) return -1;
    int rc = r->n_hashes == n ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (r->hashes[i].len != 32) rc = -1;
        else memcpy(out[i], r->hashes[i].data, 32);
    }
    if (halt) *halt = r->final_step;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

/* The submitter's claimed final VM state of the opened node (honest, or with slot 15 = the lied
 * output), its slot path, and the first VM step whose claimed hash is false. */
typedef struct claim2 {
    uint8_t packed[173], hash[32], slot_path[4][32];
    uint64_t first, halt;
} claim2;

static int vm_claim(bisector *b, task *t, const model_entry *me, node_run *nr, uint32_t node, claim2 *c) {
    Opml__VmFinalState req = OPML__VM_FINAL_STATE__INIT;
    req.run = &nr->run;
    Opml__VmFinalStateReply *r = (Opml__VmFinalStateReply *)vm_call(b, &req.base, &opml__vm_final_state_reply__descriptor);
    if (!r) return -1;
    int rc = -1;
    if (r->state.len != 173 || r->n_output_slot_path != 4 || r->status != 1 || r->exit_code != 0) {
        log_error("node %u: the VM run did not exit cleanly (status %u, code %u)", node, r->status, r->exit_code);
        goto out;
    }
    for (int i = 0; i < 4; i++) {
        if (r->output_slot_path[i].len != 32) goto out;
        memcpy(c->slot_path[i], r->output_slot_path[i].data, 32);
    }
    c->halt = r->steps;
    const uint8_t *o = t->claimed[me->m.nin + node];
    if (r->output_root.len == 32 && !memcmp(r->output_root.data, o, 32)) {
        memcpy(c->packed, r->state.data, 173);
        c->first = (1ull << me->steps_log2) + 1; /* honest: no step is false */
    } else {
        fault_final_state(r->state.data, (const uint8_t (*)[32])c->slot_path, o, c->packed);
        c->first = fault_vm_first_step(&t->plan, c->halt, 1ull << me->steps_log2);
    }
    keccak256(c->packed, 173, c->hash);
    rc = 0;
out:
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

/* openNode's argument (DisputeGame.NodeOpening) for graph step s, as a JSON tuple. */
static cJSON *node_opening(bisector *b, task *t, const model_entry *me, uint64_t s) {
    uint32_t nin = me->m.nin, node = (uint32_t)(s - 1);
    unsigned D = me->m.state_depth;
    node_run nr;
    claim2 c;
    node_run_init(&nr, me, t->claimed, node);
    if (vm_claim(b, t, me, &nr, node, &c)) return NULL;
    merkle_proof sp, np;
    uint8_t(*leaves)[32] = malloc((size_t)me->m.n * 32);
    unsigned nd = 0;
    while ((1ull << nd) < me->m.n) nd++;
    if (!leaves) return NULL;
    for (uint32_t i = 0; i < me->m.n; i++) memcpy(leaves[i], me->m.nodes[i].leaf, 32);
    int bad = merkle_prove(t->claimed, (size_t)(nin + s) * 32, D, nin - 1 + s, &sp) ||
              merkle_prove(leaves, (size_t)me->m.n * 32, nd, node, &np);
    free(leaves);
    if (bad) return NULL;
    cJSON *o = cJSON_CreateArray(), *values = cJSON_CreateArray(), *paths = cJSON_CreateArray();
    char h[67], mask[8];
    hexstr(t->claimed[nin + node], 32, h);
    cJSON_AddItemToArray(o, cJSON_CreateString(h));
    cJSON_AddItemToArray(o, hashes_json((const uint8_t (*)[32])sp.siblings, D));
    hexstr(nr.desc_root, 32, h);
    cJSON_AddItemToArray(o, cJSON_CreateString(h));
    snprintf(mask, sizeof mask, "%u", me->m.nodes[node].input_mask);
    cJSON_AddItemToArray(o, cJSON_CreateString(mask));
    cJSON_AddItemToArray(o, hashes_json(nr.refs, KD_MAX_OPERANDS));
    cJSON_AddItemToArray(o, hashes_json((const uint8_t (*)[32])np.siblings, nd));
    for (int j = 0; j < KD_MAX_OPERANDS; j++) {
        if (!(me->m.nodes[node].input_mask >> j & 1)) continue;
        uint32_t ref = me->m.nodes[node].ref[j];
        merkle_proof vp;
        if (merkle_prove(t->claimed, (size_t)(nin + s - 1) * 32, D, ref, &vp)) {
            cJSON_Delete(o), cJSON_Delete(values), cJSON_Delete(paths);
            return NULL;
        }
        hexstr(t->claimed[ref], 32, h);
        cJSON_AddItemToArray(values, cJSON_CreateString(h));
        for (unsigned i = 0; i < D; i++) {
            hexstr(vp.siblings[i], 32, h);
            cJSON_AddItemToArray(paths, cJSON_CreateString(h));
        }
    }
    cJSON_AddItemToArray(o, values);
    cJSON_AddItemToArray(o, paths);
    char packed[2 + 346 + 1];
    hexstr(c.packed, 173, packed);
    cJSON_AddItemToArray(o, cJSON_CreateString(packed));
    cJSON_AddItemToArray(o, hashes_json(c.slot_path, 4));
    return o;
}

/* Our hashes at the m + 1 points of the current dissection: the submitter's claims (sub) or the
 * challenger's honest view; graph states in phase 1, VM state hashes (vmjudge) in phase 2. */
static int point_hashes(bisector *b, gm *g, task *t, const model_entry *me, int sub, const uint64_t *pts, unsigned m,
                        uint8_t (*out)[32]) {
    if (g->v.phase == 1) {
        for (unsigned j = 0; j <= m; j++)
            if (state_at(t, me, sub, pts[j], out[j])) return -1;
        return 0;
    }
    node_run nr;
    claim2 c;
    node_run_init(&nr, me, sub ? t->claimed : t->honest, g->v.node); /* the node NodeOpened named */
    if ((sub && vm_claim(b, t, me, &nr, g->v.node, &c)) || vm_hashes(b, &nr, pts, (size_t)m + 1, out, NULL)) return -1;
    if (sub)
        for (unsigned j = 0; j <= m; j++) fault_vm_hash(pts[j], c.first, 1ull << me->steps_log2, out[j], c.hash, out[j]);
    return 0;
}

/* One move of game g, if it is ours to make now. */
static void play(bisector *b, gm *g) {
    if (!g->ours || g->rec.finished) return;
    task *t = task_get(b, g->rec.task_id, 0);
    model_entry *me = t ? model_by_id(b, t->model_id) : NULL;
    if (!t || !me) return;
    uint64_t wake;
    int live = t->status == 2 && t->sub_id == g->rec.sub_id;
    game_action act = live ? game_next(&g->v, g->rec.role, now_s(b), &g->rec.pending, &wake)
                           : game_next_dead(&g->v, g->rec.role, &g->rec.pending);
    if (act == GAME_ACT_NONE || act == GAME_ACT_WAIT || act == GAME_ACT_LOST) return;
    /* a move refused a moment ago is tried again after 2 s, not at every tick */
    if (g->rec.pending.state == GAME_MOVE_FAILED && g->rec.pending.action == act && now_s(b) - g->rec.pending.sent_at < 2)
        return;
    if (act != GAME_ACT_ABANDON && !t->ran && run_task(b, t, me, g->rec.role == GAME_SUBMITTER ? (int)b->submissions : 0))
        return;
    char gid[24];
    snprintf(gid, sizeof gid, "%" PRIu64, g->rec.game_id);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(gid));
    const char *fn = NULL;
    if (act == GAME_ACT_DISSECT || act == GAME_ACT_SELECT) {
        uint64_t pts[70];
        uint8_t hs[70][32];
        int m = game_dissect_points(g->v.lo, g->v.hi, g->v.k, pts, 70);
        int sub = act == GAME_ACT_DISSECT;
        if (m < 2 || (!sub && (size_t)m != g->nroots + 1) || point_hashes(b, g, t, me, sub, pts, (unsigned)m, hs)) goto out;
        if (sub) {
            cJSON_AddItemToArray(args, hashes_json(hs + 1, (size_t)m - 1));
            fn = "dissect";
        } else {
            unsigned part;
            uint8_t claimed[70][32];
            memcpy(claimed[0], g->v.start_hash, 32);
            memcpy(claimed[m], g->v.end_hash, 32);
            for (int j = 1; j < m; j++) memcpy(claimed[j], g->roots[j - 1], 32);
            int rc = game_select(claimed, hs, (unsigned)m, &part);
            if (b->f.kind != FAULT_NONE) part = (unsigned)m - 1; /* a lying challenger: always the last part */
            else if (rc) {
                log_error("game %" PRIu64 ": phase %u: cannot select (%d): our computation disagrees with the agreed start",
                          g->rec.game_id, g->v.phase, rc);
                goto out;
            }
            cJSON_AddItemToArray(args, hashes_json(g->roots, g->nroots));
            char p[16];
            snprintf(p, sizeof p, "%u", part);
            cJSON_AddItemToArray(args, cJSON_CreateString(p));
            fn = "select";
        }
    } else if (act == GAME_ACT_TIMEOUT) {
        fn = "timeout";
    } else if (act == GAME_ACT_ABANDON) {
        fn = "abandon";
    } else if (act == GAME_ACT_OPEN) {
        cJSON *o = node_opening(b, t, me, g->v.hi);
        if (!o) goto out;
        cJSON_AddItemToArray(args, o);
        fn = "openNode";
    } else if (act == GAME_ACT_STEP) {
        node_run nr;
        node_run_init(&nr, me, t->honest, g->v.node);
        Opml__VmProveStep req = OPML__VM_PROVE_STEP__INIT;
        req.run = &nr.run;
        req.step = g->v.lo;
        Opml__VmProveStepReply *r = (Opml__VmProveStepReply *)vm_call(b, &req.base, &opml__vm_prove_step_reply__descriptor);
        if (!r) goto out;
        char *st = malloc(2 * r->state.len + 3), *pf = malloc(2 * r->proof.len + 3);
        if (st && pf) {
            hexstr(r->state.data, r->state.len, st);
            hexstr(r->proof.data, r->proof.len, pf);
            cJSON_AddItemToArray(args, cJSON_CreateString(st));
            cJSON_AddItemToArray(args, cJSON_CreateString(pf));
            fn = "step";
        }
        free(st), free(pf);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (!fn) goto out;
    } else {
        goto out;
    }
    /* write-ahead: the move is recorded before it is sent */
    game_move_for(&g->v, act, &g->rec.pending);
    g->rec.pending.sent_at = now_s(b);
    if (record_save(b, &g->rec)) goto out;
    uint8_t tx[32];
    if (send_tx(b, b->game_c, b->game_addr, fn, args, NULL, tx) == 0) {
        g->rec.pending.state = GAME_MOVE_SENT;
        memcpy(g->rec.pending.tx_id, tx, 32);
        log_info("game %" PRIu64 ": %s sent (phase %u, [%" PRIu64 ", %" PRIu64 "])", g->rec.game_id, fn, g->v.phase, g->v.lo, g->v.hi);
    } else {
        g->rec.pending.state = GAME_MOVE_FAILED;
    }
    record_save(b, &g->rec);
out:
    cJSON_Delete(args);
}

/* ---- the chain's events ---- */

static void on_model(bisector *b, const cJSON *a) {
    uint8_t root[32];
    if (arg_bytes(a, "modelRoot", root, 32)) return;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(a, "spec");
    for (size_t i = 0; i < b->nmodels; i++) {
        model_entry *me = &b->models[i];
        if (memcmp(me->m.root, root, 32) || !cJSON_IsObject(spec)) continue;
        me->id = arg_u64(a, "modelId");
        me->k = (uint16_t)arg_u64(spec, "k");
        me->steps_log2 = (uint8_t)arg_u64(spec, "stepsLog2");
        me->clock = arg_u64(spec, "clock");
        snprintf(me->sbond, sizeof me->sbond, "%s", arg_str(spec, "submitterBond"));
        snprintf(me->cbond, sizeof me->cbond, "%s", arg_str(spec, "challengerBond"));
        log_info("model %" PRIu64 " is ours to serve (%u nodes, k %u)", me->id, me->m.n, me->k);
    }
}

/* Contract i (payers[]) credited us `amount` wei, decimal, for reason `why`. */
static void credited(bisector *b, int i, const char *amount, const char *why) {
    payout_credited(&b->pay[i]);
    log_info("%s: credited %s wei (%s)%s", payers[i], amount, why, b->auto_withdraw ? "" : "; auto_withdraw is off");
}

static void on_event(bisector *b, const Opml__ChainEvent *ev) {
    if (ev->removed) {
        log_warn("event %" PRIu64 " retracted by a re-org: the view is rebuilt from the chain's next events", ev->retracts_seq);
        return;
    }
    cJSON *a = cJSON_Parse(ev->args_json);
    if (!a) return;
    const char *e = ev->event;
    uint64_t now = ev->block_time ? ev->block_time : now_s(b); /* the block's time, as the contract's */
    if (!strcmp(e, "ModelRegistered")) {
        on_model(b, a);
    } else if (!strcmp(e, "TaskRequested")) {
        task *t = task_get(b, arg_u64(a, "taskId"), 1);
        const cJSON *ins = cJSON_GetObjectItemCaseSensitive(a, "inputs");
        if (t && cJSON_GetArraySize(ins) == 1) {
            t->model_id = arg_u64(a, "modelId");
            t->status = 1;
            arg_bytes(a, "requester", t->requester, 20);
            t->input = arg_dyn(cJSON_GetArrayItem(ins, 0), &t->input_len);
        }
    } else if (!strcmp(e, "ResultSubmitted")) {
        task *t = task_get(b, arg_u64(a, "taskId"), 1);
        if (t) {
            t->status = 2;
            t->sub_id = (uint32_t)arg_u64(a, "subId");
            arg_bytes(a, "submitter", t->submitter, 20);
            arg_bytes(a, "stateN", t->state_n, 32);
            t->deadline = arg_u64(a, "deadline");
            free(t->output);
            t->output = arg_dyn(cJSON_GetObjectItemCaseSensitive(a, "output"), &t->output_len);
            t->checked = 0;
            t->busy = 0;
        }
    } else if (!strcmp(e, "SubmissionRejected")) {
        task *t = task_get(b, arg_u64(a, "taskId"), 0);
        if (t) {
            t->status = 1;
            t->busy = 0;
            if (!memcmp(t->submitter, b->me, 20)) {
                /* our submission lost: submit again, honestly */
                t->ran = 0;
                free(t->honest), free(t->claimed), free(t->claimed_out);
                t->honest = t->claimed = NULL;
                t->claimed_out = NULL;
            }
            log_info("task %" PRIu64 ": submission rejected, the task is open again", t->id);
        }
        if (arg_is_me(b, a, "challenger"))
            credited(b, PAY_ORACLE, arg_str(a, "share"), "our share of the rejected submitter's bond");
    } else if (!strcmp(e, "ShareCredited")) {
        if (arg_is_me(b, a, "challenger"))
            credited(b, PAY_ORACLE, arg_str(a, "share"), "our share of a bond rejected while our game was open");
    } else if (!strcmp(e, "TaskFinalized")) {
        task *t = task_get(b, arg_u64(a, "taskId"), 0);
        if (t) t->status = 3;
        if (t) log_info("task %" PRIu64 ": finalized", t->id);
        if (arg_is_me(b, a, "submitter"))
            credited(b, PAY_ORACLE, arg_str(a, "paid"), "bond and fee");
    } else if (!strcmp(e, "TaskCancelled")) {
        task *t = task_get(b, arg_u64(a, "taskId"), 0);
        if (t) t->status = 4;
        if (t && !memcmp(t->requester, b->me, 20)) credited(b, PAY_ORACLE, arg_str(a, "refund"), "a cancelled task's fee");
    } else if (!strcmp(e, "GameStarted")) {
        gm *g = game_get(b, arg_u64(a, "gameId"), 1);
        task *t = g ? task_get(b, arg_u64(a, "taskId"), 0) : NULL;
        model_entry *me = t ? model_by_id(b, t->model_id) : NULL;
        if (g) {
            arg_bytes(a, "submitter", g->submitter, 20);
            arg_bytes(a, "challenger", g->challenger, 20);
            g->v.lo = 0;
            g->v.hi = arg_u64(a, "n");
            g->v.phase = 1;
            g->v.turn = g->v.hi > 1 ? GAME_TURN_DISSECT : GAME_TURN_OPEN;
            g->v.k = me ? me->k : 2;
            arg_bytes(a, "state0", g->v.start_hash, 32);
            arg_bytes(a, "stateN", g->v.end_hash, 32);
            g->v.last_move = now;
            g->v.submitter_time = g->v.challenger_time = me ? me->clock : 0;
            g->ours = !memcmp(g->submitter, b->me, 20) || !memcmp(g->challenger, b->me, 20);
            if (t && !memcmp(g->challenger, b->me, 20) && t->sub_id == (uint32_t)arg_u64(a, "subId"))
                t->checked = 1; /* our challenge of this submission is on-chain */
            if (g->ours) {
                record_load(b, g);
                g->rec.task_id = arg_u64(a, "taskId");
                g->rec.sub_id = (uint32_t)arg_u64(a, "subId");
                g->rec.role = !memcmp(g->submitter, b->me, 20) ? GAME_SUBMITTER : GAME_CHALLENGER;
                if (me) memcpy(g->rec.model_root, me->m.root, 32);
                log_info("game %" PRIu64 " on task %" PRIu64 ": we are the %s", g->rec.game_id, g->rec.task_id,
                         g->rec.role == GAME_SUBMITTER ? "submitter" : "challenger");
            }
        }
    } else if (!strcmp(e, "Dissected") || !strcmp(e, "Selected") || !strcmp(e, "NodeOpened")) {
        gm *g = game_get(b, arg_u64(a, "gameId"), 0);
        if (g) {
            /* the mover's clock is charged since the last move */
            int sub_moved = !strcmp(e, "Dissected") || !strcmp(e, "NodeOpened");
            game_charge(&g->v, sub_moved ? GAME_SUBMITTER : GAME_CHALLENGER, now);
            if (!strcmp(e, "Dissected")) {
                const cJSON *rs = cJSON_GetObjectItemCaseSensitive(a, "roots");
                size_t n = (size_t)cJSON_GetArraySize(rs);
                free(g->roots);
                g->roots = calloc(n ? n : 1, 32);
                g->nroots = n;
                for (size_t i = 0; g->roots && i < n; i++) {
                    const cJSON *r = cJSON_GetArrayItem(rs, (int)i);
                    if (cJSON_IsString(r)) hex_decode(r->valuestring, g->roots[i], 32);
                }
                g->v.turn = GAME_TURN_SELECT;
            } else if (!strcmp(e, "Selected")) {
                g->v.lo = arg_u64(a, "lo");
                g->v.hi = arg_u64(a, "hi");
                arg_bytes(a, "startHash", g->v.start_hash, 32);
                arg_bytes(a, "endHash", g->v.end_hash, 32);
                g->v.turn = g->v.hi - g->v.lo > 1 ? GAME_TURN_DISSECT : g->v.phase == 1 ? GAME_TURN_OPEN : GAME_TURN_STEP;
            } else {
                g->v.phase = 2;
                g->v.lo = 0;
                g->v.hi = arg_u64(a, "steps");
                arg_bytes(a, "initialState", g->v.start_hash, 32);
                arg_bytes(a, "finalState", g->v.end_hash, 32);
                g->v.node = (uint32_t)arg_u64(a, "node");
                g->v.turn = GAME_TURN_DISSECT;
            }
            if (g->ours) log_info("game %" PRIu64 ": %s (phase %u, [%" PRIu64 ", %" PRIu64 "], %s to move)", g->rec.game_id, e,
                                  g->v.phase, g->v.lo, g->v.hi, game_turn_name(g->v.turn));
        }
    } else if (!strcmp(e, "TimedOut") || !strcmp(e, "GameAbandoned")) {
        gm *g = game_get(b, arg_u64(a, "gameId"), 0);
        if (g) g->v.turn = GAME_TURN_DONE;
        if (g && g->ours) log_info("game %" PRIu64 ": %s", g->rec.game_id, e);
        if (g && g->ours && !strcmp(e, "GameAbandoned")) {
            g->rec.finished = 1;
            record_save(b, &g->rec);
        }
        if (g && !strcmp(e, "GameAbandoned") && !memcmp(g->challenger, b->me, 20))
            credited(b, PAY_GAME, arg_str(a, "refund"), "our bond of an abandoned game");
    } else if (!strcmp(e, "GameResolved")) {
        gm *g = game_get(b, arg_u64(a, "gameId"), 0);
        int we_won = arg_is_me(b, a, "winner");
        if (g) g->v.turn = GAME_TURN_DONE;
        if (g && g->ours && !g->rec.finished) {
            g->rec.finished = 1;
            g->rec.won = (uint8_t)we_won;
            record_save(b, &g->rec);
            log_info("game %" PRIu64 ": resolved, we %s (bond %s wei to the winner)", g->rec.game_id, g->rec.won ? "WON" : "lost",
                     arg_str(a, "payout"));
        }
        if (we_won) credited(b, PAY_GAME, arg_str(a, "payout"), "a game's bond");
    } else if (!strcmp(e, "Withdrawn")) {
        int i = ev->address.len == 20 && !memcmp(ev->address.data, b->oracle, 20) ? PAY_ORACLE
                : ev->address.len == 20 && !memcmp(ev->address.data, b->game_addr, 20) ? PAY_GAME : -1;
        if (i >= 0 && arg_is_me(b, a, "who")) {
            payout_withdrawn(&b->pay[i], ev->seq);
            log_info("%s: withdrew %s wei", payers[i], arg_str(a, "amount"));
        }
    }
    cJSON_Delete(a);
}

/* The receipt of one of our transactions: a failed move is decided again. */
static void on_receipt(bisector *b, const Opml__ChainReceipt *r) {
    if (r->id.len != 32) return;
    for (int i = 0; i < PAYERS; i++)
        if (payout_receipt(&b->pay[i], r->id.data, r->success)) {
            if (!r->success) log_warn("%s: our withdraw failed on-chain: %s", payers[i], r->revert);
            payout_save(b, i);
        }
    if (r->success) return;
    for (gm *g = b->games; g; g = g->next)
        if (g->ours && !memcmp(g->rec.pending.tx_id, r->id.data, 32)) {
            log_warn("game %" PRIu64 ": our %s failed on-chain: %s", g->rec.game_id, game_action_name(g->rec.pending.action), r->revert);
            g->rec.pending.state = GAME_MOVE_FAILED;
            record_save(b, &g->rec);
        }
}

static void apply(bisector *b, const Opml__ChainEvent *ev) {
    if (ev->seq <= b->last_seq) return; /* a repeat */
    b->last_seq = ev->seq;
    if (!ev->removed) chain_time_saw(&b->ct, ev->block_time, clock_mono_ms());
    on_event(b, ev);
}

/* Fetches events after last_seq from chainwatch's store until caught up (or up to `until`). */
static int catch_up(bisector *b, uint64_t until) {
    char err[400];
    for (;;) {
        Opml__ChainGetEvents req = OPML__CHAIN_GET_EVENTS__INIT;
        req.from_seq = b->last_seq + 1;
        req.limit = 1000;
        ProtobufCMessage *rep = NULL;
        if (rpc_call_max(b->cw, &req.base, &opml__chain_get_events_reply__descriptor, ENVELOPE_MAX_BYTES, &rep, 10000, 1,
                         err, sizeof err)) {
            log_warn("chainwatch: events not fetched: %s", err);
            return -1;
        }
        Opml__ChainGetEventsReply *r = (Opml__ChainGetEventsReply *)rep;
        for (size_t i = 0; i < r->n_events; i++) apply(b, r->events[i]);
        chain_time_saw(&b->ct, r->block_time, clock_mono_ms()); /* the newest block chainwatch read */
        int done = r->n_events == 0 || b->last_seq >= r->last_seq || (until && b->last_seq >= until);
        protobuf_c_message_free_unpacked(rep, NULL);
        if (done) return 0;
    }
}

static void on_sub(actor *a, void *sock, void *user) {
    (void)a;
    bisector *b = user;
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    while (net_recv(sock, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) == 0) {
        envelope e;
        char err[200];
        if (n == 2 && envelope_open(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 0, 0, &e, err, sizeof err) == 0) {
            if (!strcmp(e.type, "opml.ChainEvent")) {
                Opml__ChainEvent *ev = (Opml__ChainEvent *)envelope_payload(&e, &opml__chain_event__descriptor);
                if (ev) {
                    if (ev->seq > b->last_seq + 1) catch_up(b, ev->seq - 1); /* a gap: fetch what was missed */
                    apply(b, ev);
                    protobuf_c_message_free_unpacked(&ev->base, NULL);
                }
            } else if (!strcmp(e.type, "opml.ChainReceipt")) {
                Opml__ChainReceipt *r = (Opml__ChainReceipt *)envelope_payload(&e, &opml__chain_receipt__descriptor);
                if (r) {
                    on_receipt(b, r);
                    protobuf_c_message_free_unpacked(&r->base, NULL);
                }
            }
            envelope_free(&e);
        }
        net_msgs_close(f, n);
    }
}

static void tick(actor *a, void *user) {
    bisector *b = user;
    if (actor_stopping(a)) return;
    for (task *t = b->tasks; t; t = t->next) {
        if (b->submit && t->status == 1) try_submit(b, t);
        if (b->submit && t->status == 2) try_finalize(b, t);
        if (b->validate && t->status == 2) try_check(b, t);
    }
    for (gm *g = b->games; g; g = g->next) play(b, g);
    for (int i = 0; b->auto_withdraw && i < PAYERS; i++) try_withdraw(b, i);
}

static void stats(actor *a, void *user) {
    bisector *b = user;
    int64_t games = 0, won = 0;
    for (gm *g = b->games; g; g = g->next)
        if (g->ours) games++, won += g->rec.won;
    actor_health_stat(a, "last_seq", (int64_t)b->last_seq);
    actor_health_stat(a, "games", games);
    actor_health_stat(a, "games_won", won);
    actor_health_stat(a, "moves_sent", b->moves);
    actor_health_stat(a, "txs_refused", b->txs_refused);
    actor_health_stat(a, "submissions", b->submissions);
}

static int need_address(const config *c, const char *name, uint8_t out[20]) {
    const char *v = config_get(c, name);
    if (!v || hex_decode(v, out, 20)) {
        log_error("option %s must be a 0x address (got \"%s\")", name, v ? v : "");
        return -1;
    }
    return 0;
}

static contract *load_contract(const char *dir, const char *name) {
    char path[1024], err[400];
    snprintf(path, sizeof path, "%s/%s.sol/%s.json", dir, name, name);
    contract *c = contract_load(path, err, sizeof err);
    if (!c) log_error("%s", err);
    return c;
}

int main(int argc, char **argv) {
    bisector b;
    memset(&b, 0, sizeof b);
    char err[600];
    actor *a = actor_new("bisector", options, argc, argv);
    if (!a) return 2;
    b.a = a;
    const config *c = actor_config(a);
    int rc = 2;
    long submit, validate, auto_withdraw, tick_ms;
    if (config_get_long(c, "submit", 0, 1, &submit, err, sizeof err) || config_get_long(c, "validate", 0, 1, &validate, err, sizeof err) ||
        config_get_long(c, "auto_withdraw", 0, 1, &auto_withdraw, err, sizeof err) ||
        config_get_long(c, "tick_ms", 10, 60000, &tick_ms, err, sizeof err) || fault_parse(config_get(c, "fault"), &b.f, err, sizeof err)) {
        log_error("%s", err);
        goto out;
    }
    b.submit = (int)submit;
    b.validate = (int)validate;
    b.auto_withdraw = (int)auto_withdraw;
    if (need_address(c, "address", b.me) || need_address(c, "oracle", b.oracle) || need_address(c, "game", b.game_addr)) goto out;
    for (const char **o = (const char *[]){"chainwatch", "bus_events", "work", "storage", NULL}; *o; o++)
        if (!*config_get(c, *o)) {
            log_error("option %s is required (KEYHEX@endpoint)", *o);
            goto out;
        }
    if (!(b.oracle_c = load_contract(config_get(c, "artifacts"), "InferenceOracle")) ||
        !(b.game_c = load_contract(config_get(c, "artifacts"), "DisputeGame")))
        goto out;
    /* the models we serve */
    char list[4096];
    snprintf(list, sizeof list, "%s", config_get(c, "model"));
    for (char *save, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (b.nmodels == MAX_MODELS || opml_model_load(p, &b.models[b.nmodels].m, err, sizeof err)) {
            log_error("model %s: %s", p, b.nmodels == MAX_MODELS ? "too many models" : err);
            goto out;
        }
        b.nmodels++;
    }
    b.cw = rpc_connect(actor_net(a), actor_signer(a), config_get(c, "chainwatch"), 0, err, sizeof err);
    b.work = b.cw ? rpc_connect(actor_net(a), actor_signer(a), config_get(c, "work"), 0, err, sizeof err) : NULL;
    b.st = b.work ? storage_client_new(actor_net(a), actor_signer(a), config_get(c, "storage"), 10000, 2, err, sizeof err) : NULL;
    b.sub = b.st ? net_connect(actor_net(a), ZMQ_SUB, config_get(c, "bus_events"), err, sizeof err) : NULL;
    if (!b.sub) {
        log_error("%s", err);
        goto out;
    }
    zmq_setsockopt(b.sub, ZMQ_SUBSCRIBE, "chain.", 6);
    for (size_t i = 0; i < b.nmodels; i++)
        if (publish_model(&b, &b.models[i].m)) goto out;
    /* the submission counter, then the chain's whole history */
    char key[160];
    int found = 0;
    uint8_t *val = NULL;
    size_t vlen = 0;
    if (storage_client_kv_get(b.st, counter_key(&b, key), strlen(key), &found, &val, &vlen) == 0 && found && vlen == 4)
        b.submissions = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 | (uint32_t)val[2] << 8 | val[3];
    free(val);
    for (int i = 0; i < PAYERS; i++) payout_load(&b, i); /* before the history: its Withdrawn events end them */
    while (catch_up(&b, 0) && !actor_stopping(a)) {
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < PAYERS; i++) payout_resume(&b, i);
    char fs[64];
    fault_format(&b.f, fs, sizeof fs);
    log_info("resumed at event %" PRIu64 ": %zu model(s), %s%s, fault %s, auto_withdraw %d", b.last_seq, b.nmodels,
             b.submit ? "submitter " : "", b.validate ? "validator" : "", fs, b.auto_withdraw);
    actor_watch(a, b.sub, on_sub, &b);
    actor_every(a, (unsigned)tick_ms, tick, &b);
    actor_on_health(a, stats, &b);
    rc = actor_run(a);
out:
    for (task *t = b.tasks, *n; t; t = n) {
        n = t->next;
        free(t->input), free(t->output), free(t->honest), free(t->claimed), free(t->claimed_out), free(t);
    }
    for (gm *g = b.games, *n; g; g = n) {
        n = g->next;
        free(g->roots), free(g);
    }
    for (size_t i = 0; i < b.nmodels; i++) opml_model_free(&b.models[i].m);
    net_close(b.sub);
    storage_client_free(b.st);
    rpc_close(b.work);
    rpc_close(b.cw);
    contract_free(b.oracle_c);
    contract_free(b.game_c);
    actor_free(a);
    return rc;
}
