/* fold.c: the chain's events folded into the bisector's view: the models it serves learn their
 * ids, tasks their status and live submission, games their range, hashes, clocks and turn, and our
 * credits what the contracts owe us. Events come once each and in seq order (chainio.c). */
#include "bisector.h"
#include "hex.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- lookup ---- */

task *task_get(bisector *b, uint64_t id, int create) {
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
gm *game_get(bisector *b, uint64_t id, int create) {
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

/* ---- the events ---- */

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

/* The oracle's and the registry's events, and Withdrawn. Returns 0 when `e` is none of them. */
static int on_oracle_event(bisector *b, const Opml__ChainEvent *ev, const char *e, const cJSON *a) {
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
            credited(b, PAY_ORACLE, arg_str(a, "bond"), "the rejected submitter's bond");
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
    } else if (!strcmp(e, "Withdrawn")) {
        int i = ev->address.len == 20 && !memcmp(ev->address.data, b->oracle, 20) ? PAY_ORACLE
                : ev->address.len == 20 && !memcmp(ev->address.data, b->game_addr, 20) ? PAY_GAME : -1;
        if (i >= 0 && arg_is_me(b, a, "who")) {
            payout_withdrawn(&b->pay[i], ev->seq);
            log_info("%s: withdrew %s wei", payers[i], arg_str(a, "amount"));
        }
    } else {
        return 0;
    }
    return 1;
}

/* The game's events. */
static void on_game_event(bisector *b, const char *e, const cJSON *a, uint64_t now) {
    if (!strcmp(e, "GameStarted")) {
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
    }
}

void fold_event(bisector *b, const Opml__ChainEvent *ev) {
    if (ev->removed) {
        log_warn("event %" PRIu64 " retracted by a re-org: the view is rebuilt from the chain's next events", ev->retracts_seq);
        return;
    }
    cJSON *a = cJSON_Parse(ev->args_json);
    if (!a) return;
    const char *e = ev->event;
    uint64_t now = ev->block_time ? ev->block_time : now_s(b); /* the block's time, as the contract's */
    if (!on_oracle_event(b, ev, e, a)) on_game_event(b, e, a, now);
    cJSON_Delete(a);
}
