/* play.c: one move of a game we play (as its submitter or its challenger), decided by game_next
 * (game.h) from the game as the chain's events show it, our role, the chain's time and the move
 * we recorded last. The move is written ahead: recorded INTENDED in storage (record.h) before it
 * is sent, SENT with chainwatch's transaction id, FAILED when refused or when its receipt says it
 * reverted, so that a restart never sends a move twice on purpose. The submitter's first move binds
 * its State_n to the output it submitted (bindEnd, phase1.c). Dissect and select are the same in
 * both phases but for the hashes at the dissection's points: graph states in phase 1 (phase1.c),
 * VM state hashes in phase 2 (phase2.c). A generation game's token phase (phase 0) binds G_T
 * (bindTokens), bisects over the G_t and opens the one disputed token step (openStep) (phase0.c);
 * its phases 1 and 2 play on that step's run. Once the one-step proof or a timeout has decided the
 * game, its winner (us, when we play honestly) sends resolve, written ahead the same way. */
#include "bisector.h"
#include "hex.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the game record in storage ---- */

static int record_save(bisector *b, const game_record *r) {
    char key[160];
    uint8_t buf[GAME_RECORD_BYTES];
    game_record_key(b->s.me, r->game_id, key, sizeof key);
    game_record_encode(r, buf);
    int rc = storage_client_kv_put(b->st, key, strlen(key), buf, sizeof buf);
    if (rc) log_warn("game %" PRIu64 ": record not stored: %s", r->game_id, storage_client_error(b->st));
    return rc;
}

static void record_load(bisector *b, gm *g) {
    char key[160], err[200];
    game_record_key(b->s.me, g->rec.game_id, key, sizeof key);
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

/* A game we play started (FOLD_FX_JOINED): its record, if one was stored before a restart, with the
 * game's identity as the chain names it. */
void game_join(bisector *b, gm *g) {
    g->rec.game_id = g->id;
    record_load(b, g);
    g->rec.task_id = g->task_id;
    g->rec.sub_id = g->sub_id;
    g->rec.role = g->role;
    task *t = fold_task(&b->s, g->task_id);
    model_entry *me = t ? fold_model(&b->s, t->model_id) : NULL;
    if (me) memcpy(g->rec.model_root, me->m.root, 32);
}

/* A game we play was abandoned (FOLD_FX_ABANDONED): it is over. */
void game_abandoned(bisector *b, gm *g) {
    g->rec.finished = 1;
    record_save(b, &g->rec);
}

/* A game we play was resolved (FOLD_FX_RESOLVED: GameResolved, after our resolve or anyone's): it
 * is over, won or lost, the bond credited at the oracle; said once (a replayed
 * resolution of a game the record shows finished says nothing). */
void game_resolved(bisector *b, gm *g, int won, const char *bond) {
    if (g->rec.finished) return;
    g->rec.finished = 1;
    g->rec.won = (uint8_t)won;
    record_save(b, &g->rec);
    log_info("game %" PRIu64 ": resolved, we %s (bond %s wei to the winner)", g->rec.game_id, g->rec.won ? "WON" : "lost", bond);
}

void hash_json_add(cJSON *a, const uint8_t h[32]) {
    char t[67];
    hex_encode(h, 32, t);
    cJSON_AddItemToArray(a, cJSON_CreateString(t));
}

cJSON *hashes_json(const uint8_t (*h)[32], size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) hash_json_add(a, h[i]);
    return a;
}

/* ---- the moves' arguments ---- */

/* Our hashes at the m + 1 points of the current dissection: the submitter's claims (sub) or the
 * challenger's honest view; graph states in phase 1, VM state hashes (vmjudge) in phase 2. */
/* A generation's last token step T = P + M - 1, M the submitted ids. */
static uint64_t gen_last_step(const task *t) { return t->gen->P + t->output_len / 4 - 1; }

static int point_hashes(bisector *b, gm *g, task *t, const model_entry *me, int sub, const uint64_t *pts, unsigned m,
                        uint8_t (*out)[32]) {
    if (g->v.phase == 0) return gen_point_hashes(b, t, me, sub, gen_last_step(t), pts, m, out);
    if (g->v.phase == 1) return graph_hashes(t, me, sub, pts, m, out);
    return vm_point_hashes(b, t, me, g->v.node, sub, pts, m, out); /* the node NodeOpened named */
}

/* dissect's roots (the submitter: its claims at the inner points) or select's roots and part (the
 * challenger: the first part whose end it disputes), appended to args. Returns the function's
 * name, or NULL when no move can be made. */
static const char *bisect_args(bisector *b, gm *g, task *t, const model_entry *me, game_action act, cJSON *args) {
    uint64_t pts[70];
    uint8_t hs[70][32];
    int m = game_dissect_points(g->v.lo, g->v.hi, g->v.k, pts, 70);
    int sub = act == GAME_ACT_DISSECT;
    if (m < 2 || (!sub && (size_t)m != g->nroots + 1) || point_hashes(b, g, t, me, sub, pts, (unsigned)m, hs)) return NULL;
    if (sub) {
        cJSON_AddItemToArray(args, hashes_json((const uint8_t (*)[32])(hs + 1), (size_t)m - 1));
        return "dissect";
    }
    unsigned part;
    uint8_t claimed[70][32];
    memcpy(claimed[0], g->v.start_hash, 32);
    memcpy(claimed[m], g->v.end_hash, 32);
    for (int j = 1; j < m; j++) memcpy(claimed[j], g->roots[j - 1], 32);
    int rc = game_select((const uint8_t (*)[32])claimed, (const uint8_t (*)[32])hs, (unsigned)m, &part);
    if (b->f.kind != FAULT_NONE) part = (unsigned)m - 1; /* a lying challenger: always the last part */
    else if (rc) {
        log_error("game %" PRIu64 ": phase %u: cannot select (%d): our computation disagrees with the agreed start",
                  g->rec.game_id, g->v.phase, rc);
        return NULL;
    }
    cJSON_AddItemToArray(args, hashes_json((const uint8_t (*)[32])g->roots, g->nroots));
    char p[16];
    snprintf(p, sizeof p, "%u", part);
    cJSON_AddItemToArray(args, cJSON_CreateString(p));
    return "select";
}

/* The arguments of action act after the game id, appended to args. Returns the contract
 * function's name, or NULL when the move cannot be made now. */
static const char *move_args(bisector *b, gm *g, task *t, const model_entry *me, game_action act, cJSON *args) {
    switch (act) {
    case GAME_ACT_DISSECT:
    case GAME_ACT_SELECT: return bisect_args(b, g, t, me, act, args);
    case GAME_ACT_TIMEOUT: return "timeout";
    case GAME_ACT_ABANDON: return "abandon";
    case GAME_ACT_RESOLVE: return "resolve";
    case GAME_ACT_BIND:
        if (g->v.phase == 0) return gen_binding(b, t, me, gen_last_step(t), args) ? NULL : "bindTokens";
        return end_binding(t, me, args) ? NULL : "bindEnd";
    case GAME_ACT_OPEN_STEP: {
        cJSON *o = gen_step_opening(b, t, me, gen_last_step(t), g->v.lo);
        if (!o) return NULL;
        cJSON_AddItemToArray(args, o);
        return "openStep";
    }
    case GAME_ACT_OPEN: {
        cJSON *o = node_opening(b, t, me, g->v.hi);
        if (!o) return NULL;
        cJSON_AddItemToArray(args, o);
        return "openNode";
    }
    case GAME_ACT_STEP: return vm_step_args(b, t, me, g->v.node, g->v.lo, args) ? NULL : "step";
    default: return NULL;
    }
}

/* One move of game g, if it is ours to make now. */
void play(bisector *b, gm *g) {
    if (!g->role || g->rec.finished) return;
    task *t = fold_task(&b->s, g->rec.task_id);
    model_entry *me = t ? fold_model(&b->s, t->model_id) : NULL;
    if (!t || !me) return;
    uint64_t wake;
    int live = t->status == TASK_SUBMITTED && t->sub_id == g->rec.sub_id;
    game_action act = live ? game_next(&g->v, g->rec.role, now_s(b), &g->rec.pending, &wake)
                           : game_next_dead(&g->v, g->rec.role, &g->rec.pending);
    if (act == GAME_ACT_NONE || act == GAME_ACT_WAIT || act == GAME_ACT_LOST) return;
    /* a move refused a moment ago is tried again after 2 s, not at every tick */
    if (g->rec.pending.state == GAME_MOVE_FAILED && g->rec.pending.action == act && now_s(b) - g->rec.pending.sent_at < 2)
        return;
    /* ending a game (abandon, resolve) needs no computation */
    int ends = act == GAME_ACT_ABANDON || act == GAME_ACT_RESOLVE;
    if (!ends && !t->ran && run_task(b, t, me, g->rec.role == GAME_SUBMITTER ? (int)b->submissions : 0))
        return;
    /* a generation's phases 1 and 2 play on the run of the token step phase 0 opened */
    if (!ends && act != GAME_ACT_TIMEOUT && t->gen && g->v.phase >= 1 &&
        gen_step_ready(b, t, me, g->token_step, g->rec.role))
        return;
    char gid[24];
    snprintf(gid, sizeof gid, "%" PRIu64, g->rec.game_id);
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(gid));
    const char *fn = move_args(b, g, t, me, act, args);
    if (!fn) goto out;
    /* write-ahead: the move is recorded before it is sent */
    game_move_for(&g->v, act, &g->rec.pending);
    g->rec.pending.sent_at = now_s(b);
    if (record_save(b, &g->rec)) goto out;
    uint8_t tx[32];
    if (send_tx(b, C_GAME, fn, args, NULL, tx) == 0) {
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

/* The receipt of transaction id: a move of ours that failed on-chain is decided again. */
void on_move_receipt(bisector *b, const uint8_t id[32], int success, const char *revert) {
    if (success) return;
    for (gm *g = b->s.games; g; g = g->next)
        if (g->role && !memcmp(g->rec.pending.tx_id, id, 32)) {
            log_warn("game %" PRIu64 ": our %s failed on-chain: %s", g->rec.game_id, game_action_name(g->rec.pending.action), revert);
            g->rec.pending.state = GAME_MOVE_FAILED;
            record_save(b, &g->rec);
        }
}
