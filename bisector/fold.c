/* fold.c: the chain's events folded into the bisector's view (fold.h). One handler per event, found
 * by the event's name in `handlers`, with the typed message it reads; each checks what it uses
 * before it changes anything, so a refused event leaves the view as it was. The game's turn rules
 * are game.c's (game_started, game_dissected, ...), not restated here. The events only generation
 * tasks have are folded in fold_gen.c (fold_private.h: what the two share). */
#include "fold_private.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const contract_names[NCONTRACTS] = {"InferenceOracle", "DisputeGame"};

const char *task_status_name(task_status s) {
    switch (s) {
    case TASK_NONE: return "none";
    case TASK_OPEN: return "open";
    case TASK_SUBMITTED: return "submitted";
    case TASK_FINALIZED: return "finalized";
    case TASK_CANCELLED: return "cancelled";
    }
    return "?";
}

/* ---- effects ---- */

static fold_fx *fx_push(fold_out *o, fold_fx_kind kind, uint64_t id) {
    if (o->n == FOLD_MAX_FX) {
        o->lost++;
        return NULL;
    }
    fold_fx *f = &o->fx[o->n++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->id = id;
    return f;
}

static void say(fold_out *o, fold_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(fold_out *o, fold_level level, const char *fmt, ...) {
    fold_fx *f = fx_push(o, FOLD_FX_LOG, 0);
    if (!f) return;
    f->level = level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
}

/* An event refused whole: an error line naming it and why. Returns -1. */
int fold_refuse(const fold_ctx *c, const char *fmt, ...) {
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    say(c->out, FOLD_ERROR, "event %" PRIu64 " %s: %s: not folded", c->ev->seq, c->ev->event, why);
    return -1;
}

/* An event that does not fit the view: a warning naming it (what it says is still folded where
 * the view allows). */
void fold_odd(const fold_ctx *c, const char *fmt, ...) {
    char what[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    say(c->out, FOLD_WARN, "event %" PRIu64 " %s: %s", c->ev->seq, c->ev->event, what);
}

/* The oracle credited us (the one bank: the game's GameResolved and GameAbandoned name credits
 * there too). */
static void credit(const fold_ctx *c, const char *amount, const char *why) {
    payout_credited(&c->s->pay);
    fold_fx *f = fx_push(c->out, FOLD_FX_CREDITED, 0);
    if (!f) return;
    f->why = why;
    snprintf(f->text, sizeof f->text, "%s", amount);
}

/* ---- checks of a typed field ---- */

/* 0 if field `name` has exactly n bytes, else refused. */
int fold_need_len(const fold_ctx *c, const char *name, ProtobufCBinaryData d, size_t n) {
    return d.len == n ? 0 : fold_refuse(c, "%s has %zu bytes, not %zu", name, d.len, n);
}

/* 0 if `v` is an amount of wei as the typed message writes it (decimal, 1 to 78 digits), else refused. */
static int need_wei(const fold_ctx *c, const char *name, const char *v) {
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > 78 || strspn(v, "0123456789") != n) return fold_refuse(c, "%s \"%s\" is not decimal wei", name, v ? v : "");
    return 0;
}

static int is_me(const fold_state *s, ProtobufCBinaryData who) { return who.len == 20 && !memcmp(who.data, s->me, 20); }

static uint8_t *dup_bytes(ProtobufCBinaryData d) {
    uint8_t *p = malloc(d.len ? d.len : 1);
    if (p && d.len) memcpy(p, d.data, d.len);
    return p;
}

/* ---- lookups ---- */

model_entry *fold_model(fold_state *s, uint64_t model_id) {
    for (size_t i = 0; model_id && i < s->nmodels; i++)
        if (s->models[i].id == model_id) return &s->models[i];
    return NULL;
}

task *fold_task(const fold_state *s, uint64_t task_id) {
    for (task *t = s->tasks; t; t = t->next)
        if (t->id == task_id) return t;
    return NULL;
}

gm *fold_game(const fold_state *s, uint64_t game_id) {
    for (gm *g = s->games; g; g = g->next)
        if (g->id == game_id) return g;
    return NULL;
}

static void gen_side_free(gen_side *g) {
    free(g->ids), free(g->g), free(g->tok), free(g->kv);
    memset(g, 0, sizeof *g);
}

void fold_task_forget_run(task *t) {
    if (t->gr) {
        gen_side_free(&t->gr->honest);
        gen_side_free(&t->gr->claimed);
        free(t->gr);
        t->gr = NULL;
    }
    memset(&t->plan, 0, sizeof t->plan);
    t->ran = t->inferred = 0;
    free(t->honest), free(t->claimed), free(t->claimed_out);
    t->honest = t->claimed = NULL;
    t->claimed_out = NULL;
    t->claimed_out_len = 0;
}

void fold_free(fold_state *s) {
    for (task *t = s->tasks, *n; t; t = n) {
        n = t->next;
        fold_task_forget_run(t);
        if (t->gen) free(t->gen->prompt);
        free(t->gen), free(t->input), free(t->output), free(t);
    }
    for (gm *g = s->games, *n; g; g = n) {
        n = g->next;
        free(g->roots), free(g);
    }
    s->tasks = NULL;
    s->games = NULL;
}

/* A task known to the view, or a warning that the event names one it never saw. */
static task *known_task(const fold_ctx *c, uint64_t id) {
    task *t = fold_task(c->s, id);
    if (!t) fold_odd(c, "task %" PRIu64 " was never requested here (missed or out of order)", id);
    return t;
}

gm *fold_known_game(const fold_ctx *c, uint64_t id) {
    gm *g = fold_game(c->s, id);
    if (!g) fold_odd(c, "game %" PRIu64 " was never started here (missed or out of order)", id);
    return g;
}

/* ---- the registry's and the oracle's events ---- */

/* Served model me takes the on-chain id and game parameters of the pending registration. */
void fold_serve_model(const fold_ctx *c, model_entry *me) {
    const fold_pending_model *p = &c->s->pending_model;
    me->id = p->model_id;
    me->k = p->k;
    me->steps_log2 = p->steps_log2;
    me->clock = p->clock;
    snprintf(me->sbond, sizeof me->sbond, "%s", p->sbond);
    snprintf(me->cbond, sizeof me->cbond, "%s", p->cbond);
    say(c->out, FOLD_INFO, "model %" PRIu64 " is ours to serve (%s%u nodes, k %u)", me->id,
        me->is_gen ? "a generation model, a step graph of " : "", me->m.n, me->k);
}

static int on_model_registered(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainModelRegistered *m = (const Opml__ChainModelRegistered *)msg;
    const Opml__ChainModelSpec *sp = m->spec;
    if (fold_need_len(c, "model_root", m->model_root, 32)) return -1;
    if (!sp) return fold_refuse(c, "model %" PRIu64 " has no spec", m->model_id);
    if (m->model_id == 0 || sp->k < 2 || sp->k > UINT16_MAX || sp->steps_log2 > 63)
        return fold_refuse(c, "model %" PRIu64 ": id, k %u or steps_log2 %u out of range", m->model_id, sp->k, sp->steps_log2);
    if (need_wei(c, "submitter_bond", sp->submitter_bond) || need_wei(c, "challenger_bond", sp->challenger_bond)) return -1;
    /* a generation model's root is its generation root: GenerationRegistered (next) names its step graph */
    fold_pending_model *p = &c->s->pending_model;
    p->model_id = m->model_id;
    memcpy(p->root, m->model_root.data, 32);
    p->k = (uint16_t)sp->k;
    p->steps_log2 = (uint8_t)sp->steps_log2;
    p->clock = sp->clock;
    snprintf(p->sbond, sizeof p->sbond, "%s", sp->submitter_bond);
    snprintf(p->cbond, sizeof p->cbond, "%s", sp->challenger_bond);
    for (size_t i = 0; i < c->s->nmodels; i++) {
        model_entry *me = &c->s->models[i];
        if (memcmp(me->m.root, m->model_root.data, 32)) continue;
        fold_serve_model(c, me);
        p->model_id = 0;
    }
    return 0;
}

static int on_task_requested(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainTaskRequested *m = (const Opml__ChainTaskRequested *)msg;
    if (fold_need_len(c, "requester", m->requester, 20)) return -1;
    if (fold_task(c->s, m->task_id)) {
        fold_odd(c, "task %" PRIu64 " was requested before: the first request stands", m->task_id);
        return 0;
    }
    if (m->n_inputs != 1) {
        fold_odd(c, "task %" PRIu64 " has %zu inputs; models here take one: not followed", m->task_id, m->n_inputs);
        return 0;
    }
    task *t = calloc(1, sizeof *t);
    uint8_t *in = dup_bytes(m->inputs[0]);
    if (!t || !in) {
        free(t), free(in);
        return fold_refuse(c, "out of memory");
    }
    t->id = m->task_id;
    t->model_id = m->model_id;
    t->status = TASK_OPEN;
    memcpy(t->requester, m->requester.data, 20);
    t->input = in;
    t->input_len = m->inputs[0].len;
    t->next = c->s->tasks;
    c->s->tasks = t;
    return 0;
}

static int on_result_submitted(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainResultSubmitted *m = (const Opml__ChainResultSubmitted *)msg;
    if (fold_need_len(c, "submitter", m->submitter, 20)) return -1;
    task *t = known_task(c, m->task_id);
    if (!t) return 0;
    uint8_t *out = dup_bytes(m->output);
    if (!out) return fold_refuse(c, "out of memory");
    if (t->status != TASK_OPEN)
        fold_odd(c, "task %" PRIu64 " was %s, not open: submission %u is taken as the live one", t->id,
            task_status_name(t->status), m->sub_id);
    t->status = TASK_SUBMITTED;
    t->sub_id = m->sub_id;
    memcpy(t->submitter, m->submitter.data, 20);
    t->deadline = m->deadline;
    free(t->output);
    t->output = out;
    t->output_len = m->output.len;
    fx_push(c->out, FOLD_FX_SUBMITTED, t->id);
    return 0;
}

/* Whether sub_id is task t's live submission; a warning if not (folded all the same). */
static void check_live(const fold_ctx *c, const task *t, uint32_t sub_id) {
    if (t->status != TASK_SUBMITTED || t->sub_id != sub_id)
        fold_odd(c, "task %" PRIu64 ": submission %u is not the live one (%s, submission %u)", t->id, sub_id,
            task_status_name(t->status), t->sub_id);
}

static int on_submission_rejected(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainSubmissionRejected *m = (const Opml__ChainSubmissionRejected *)msg;
    if (fold_need_len(c, "challenger", m->challenger, 20) || need_wei(c, "share", m->share)) return -1;
    task *t = known_task(c, m->task_id);
    if (t) {
        check_live(c, t, m->sub_id);
        t->status = TASK_OPEN;
        fold_fx *f = fx_push(c->out, FOLD_FX_REJECTED, t->id);
        if (f) f->flag = !memcmp(t->submitter, c->s->me, 20); /* ours lost: submit again, honestly */
        say(c->out, FOLD_INFO, "task %" PRIu64 ": submission rejected, the task is open again", t->id);
    }
    if (is_me(c->s, m->challenger)) credit(c, m->share, "our share of the rejected submitter's bond");
    return 0;
}

/* A game of ours that was open when its submission was rejected ended: our share of that bond
 * (docs/game.md, "Money"). */
static int on_share_credited(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainShareCredited *m = (const Opml__ChainShareCredited *)msg;
    if (fold_need_len(c, "challenger", m->challenger, 20) || need_wei(c, "share", m->share)) return -1;
    if (is_me(c->s, m->challenger))
        credit(c, m->share, "our share of a bond rejected while our game was open");
    return 0;
}

static int on_task_finalized(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainTaskFinalized *m = (const Opml__ChainTaskFinalized *)msg;
    if (fold_need_len(c, "submitter", m->submitter, 20) || need_wei(c, "paid", m->paid)) return -1;
    task *t = known_task(c, m->task_id);
    if (t) {
        check_live(c, t, m->sub_id);
        t->status = TASK_FINALIZED;
        say(c->out, FOLD_INFO, "task %" PRIu64 ": finalized", t->id);
    }
    if (is_me(c->s, m->submitter)) credit(c, m->paid, "bond and fee");
    return 0;
}

static int on_task_cancelled(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainTaskCancelled *m = (const Opml__ChainTaskCancelled *)msg;
    if (need_wei(c, "refund", m->refund)) return -1;
    task *t = known_task(c, m->task_id); /* the refund is the requester's, which only the request names */
    if (!t) return 0;
    t->status = TASK_CANCELLED;
    if (!memcmp(t->requester, c->s->me, 20)) credit(c, m->refund, "a cancelled task's fee");
    return 0;
}

static int on_withdrawn(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainWithdrawn *m = (const Opml__ChainWithdrawn *)msg;
    if (fold_need_len(c, "who", m->who, 20) || need_wei(c, "amount", m->amount) || fold_need_len(c, "address", c->ev->address, 20))
        return -1;
    if (!memcmp(c->ev->address.data, c->s->addr[C_ORACLE], 20) && is_me(c->s, m->who)) {
        payout_withdrawn(&c->s->pay, c->ev->seq);
        say(c->out, FOLD_INFO, "%s: withdrew %s wei", contract_names[C_ORACLE], m->amount);
    }
    return 0;
}

/* ---- the game's events ---- */

static int on_game_started(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainGameStarted *m = (const Opml__ChainGameStarted *)msg;
    if (fold_need_len(c, "submitter", m->submitter, 20) || fold_need_len(c, "challenger", m->challenger, 20) ||
        fold_need_len(c, "state0", m->state0, 32))
        return -1;
    if (m->phase > 1) return fold_refuse(c, "phase %u is not a game's first phase", m->phase);
    if (fold_game(c->s, m->game_id)) {
        fold_odd(c, "game %" PRIu64 " was started before: the first start stands", m->game_id);
        return 0;
    }
    gm *g = calloc(1, sizeof *g);
    if (!g) return fold_refuse(c, "out of memory");
    task *t = fold_task(c->s, m->task_id);
    model_entry *me = t ? fold_model(c->s, t->model_id) : NULL;
    g->id = m->game_id;
    g->task_id = m->task_id;
    g->sub_id = m->sub_id;
    memcpy(g->submitter, m->submitter.data, 20);
    memcpy(g->challenger, m->challenger.data, 20);
    g->role = is_me(c->s, m->submitter) ? GAME_SUBMITTER : is_me(c->s, m->challenger) ? GAME_CHALLENGER : 0;
    /* another identity's game on a model we do not serve is followed without its arity and clocks */
    game_started(&g->v, (uint8_t)m->phase, m->n, me ? me->k : 2, me ? me->clock : 0, m->state0.data, c->now);
    g->next = c->s->games;
    c->s->games = g;
    if (t && g->role == GAME_CHALLENGER && t->sub_id == m->sub_id)
        fx_push(c->out, FOLD_FX_CHALLENGED, t->id); /* our challenge of this submission is on-chain */
    if (!g->role) return 0;
    if (!me)
        fold_odd(c, "game %" PRIu64 " is ours, but task %" PRIu64 " %s: it cannot be played", g->id, m->task_id,
            t ? "is on a model we do not serve" : "was never requested here");
    fx_push(c->out, FOLD_FX_JOINED, g->id);
    say(c->out, FOLD_INFO, "game %" PRIu64 " on task %" PRIu64 ": we are the %s", g->id, g->task_id,
        g->role == GAME_SUBMITTER ? "submitter" : "challenger");
    return 0;
}

/* The line every move of a game we play gets. */
void fold_moved(const fold_ctx *c, const gm *g) {
    if (g->role)
        say(c->out, FOLD_INFO, "game %" PRIu64 ": %s (phase %u, [%" PRIu64 ", %" PRIu64 "], %s to move)", g->id,
            c->ev->event, g->v.phase, g->v.lo, g->v.hi, game_turn_name(g->v.turn));
}

static int on_end_bound(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainEndBound *m = (const Opml__ChainEndBound *)msg;
    if (fold_need_len(c, "end_state", m->end_state, 32)) return -1;
    gm *g = fold_known_game(c, m->game_id);
    if (!g) return 0;
    if (g->v.turn != GAME_TURN_BIND || m->phase != g->v.phase)
        fold_odd(c, "game %" PRIu64 " bound its end at phase %u, the view is at phase %u (%s to move)", g->id, m->phase,
            g->v.phase, game_turn_name(g->v.turn));
    game_end_bound(&g->v, m->end_state.data, c->now);
    fold_moved(c, g);
    return 0;
}

static int on_dissected(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainDissected *m = (const Opml__ChainDissected *)msg;
    for (size_t i = 0; i < m->n_roots; i++)
        if (m->roots[i].len != 32) return fold_refuse(c, "root %zu has %zu bytes, not 32", i, m->roots[i].len);
    gm *g = fold_known_game(c, m->game_id);
    if (!g) return 0;
    if (m->phase != g->v.phase || m->lo != g->v.lo || m->hi != g->v.hi)
        fold_odd(c, "game %" PRIu64 " was dissected at phase %u [%" PRIu64 ", %" PRIu64 "], the view is at phase %u [%" PRIu64
            ", %" PRIu64 "]", g->id, m->phase, m->lo, m->hi, g->v.phase, g->v.lo, g->v.hi);
    uint8_t(*roots)[32] = calloc(m->n_roots ? m->n_roots : 1, 32);
    if (!roots) return fold_refuse(c, "out of memory");
    for (size_t i = 0; i < m->n_roots; i++) memcpy(roots[i], m->roots[i].data, 32);
    free(g->roots);
    g->roots = roots;
    g->nroots = m->n_roots;
    game_dissected(&g->v, c->now);
    fold_moved(c, g);
    return 0;
}

static int on_selected(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainSelected *m = (const Opml__ChainSelected *)msg;
    if (fold_need_len(c, "start_hash", m->start_hash, 32) || fold_need_len(c, "end_hash", m->end_hash, 32)) return -1;
    if (m->lo > m->hi) return fold_refuse(c, "range [%" PRIu64 ", %" PRIu64 "] is reversed", m->lo, m->hi);
    gm *g = fold_known_game(c, m->game_id);
    if (!g) return 0;
    game_selected(&g->v, m->lo, m->hi, m->start_hash.data, m->end_hash.data, c->now);
    fold_moved(c, g);
    return 0;
}

static int on_node_opened(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainNodeOpened *m = (const Opml__ChainNodeOpened *)msg;
    if (fold_need_len(c, "initial_state", m->initial_state, 32) || fold_need_len(c, "final_state", m->final_state, 32)) return -1;
    gm *g = fold_known_game(c, m->game_id);
    if (!g) return 0;
    game_node_opened(&g->v, m->node, m->steps, m->initial_state.data, m->final_state.data, c->now);
    fold_moved(c, g);
    return 0;
}

/* The line a decided game we play gets. */
static void decided(const fold_ctx *c, const gm *g) {
    if (g->role)
        say(c->out, FOLD_INFO, "game %" PRIu64 ": %s: decided for the %s, we %s (resolve pays it out)", g->id, c->ev->event,
            g->v.challenger_won ? "challenger" : "submitter",
            (g->role == GAME_CHALLENGER) == (g->v.challenger_won != 0) ? "won" : "lost");
}

/* The one-step proof decided the game: for the challenger when the proven post-state is not the
 * submitter's claimed end. */
static int on_one_step(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainOneStep *m = (const Opml__ChainOneStep *)msg;
    if (fold_need_len(c, "post_state", m->post_state, 32) || fold_need_len(c, "claimed", m->claimed, 32)) return -1;
    gm *g = fold_known_game(c, m->game_id);
    if (!g) return 0;
    if (g->v.turn != GAME_TURN_STEP || m->step != g->v.lo)
        fold_odd(c, "game %" PRIu64 " stepped at %" PRIu64 ", the view is at [%" PRIu64 ", %" PRIu64 "] (%s to move)", g->id,
            m->step, g->v.lo, g->v.hi, game_turn_name(g->v.turn));
    game_stepped(&g->v, memcmp(m->post_state.data, m->claimed.data, 32) != 0, c->now);
    decided(c, g);
    return 0;
}

/* The side to move ran out of clock: it lost (the loser the event names). */
static int on_timed_out(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainTimedOut *m = (const Opml__ChainTimedOut *)msg;
    if (fold_need_len(c, "loser", m->loser, 20)) return -1;
    gm *g = fold_known_game(c, m->game_id);
    if (!g) return 0;
    game_timed_out(&g->v, !memcmp(m->loser.data, g->submitter, 20));
    decided(c, g);
    return 0;
}

static int on_game_abandoned(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainGameAbandoned *m = (const Opml__ChainGameAbandoned *)msg;
    if (need_wei(c, "refund", m->refund)) return -1;
    gm *g = fold_known_game(c, m->game_id); /* the refund is the challenger's, which only the start names */
    if (!g) return 0;
    game_ended(&g->v);
    if (g->role) {
        say(c->out, FOLD_INFO, "game %" PRIu64 ": %s", g->id, c->ev->event);
        fx_push(c->out, FOLD_FX_ABANDONED, g->id);
    }
    if (g->role == GAME_CHALLENGER) credit(c, m->refund, "our bond of an abandoned game");
    return 0;
}

static int on_game_resolved(const fold_ctx *c, const ProtobufCMessage *msg) {
    const Opml__ChainGameResolved *m = (const Opml__ChainGameResolved *)msg;
    if (fold_need_len(c, "winner", m->winner, 20) || need_wei(c, "payout", m->payout)) return -1;
    int we_won = is_me(c->s, m->winner);
    gm *g = fold_known_game(c, m->game_id); /* the bond is the winner's, whatever we missed */
    if (g) {
        game_ended(&g->v);
        fold_fx *f = g->role ? fx_push(c->out, FOLD_FX_RESOLVED, g->id) : NULL;
        if (f) {
            f->flag = we_won;
            snprintf(f->text, sizeof f->text, "%s", m->payout);
        }
    }
    if (we_won) credit(c, m->payout, "a game's bond");
    return 0;
}

/* ---- the fold ---- */

typedef int (*fold_handler)(const fold_ctx *c, const ProtobufCMessage *msg);

/* The events the view is built from, each with its typed message. The others (CallbackDone,
 * GameBound, other contracts' events) change nothing the bisector keeps. */
static const struct {
    const char *event;
    const ProtobufCMessageDescriptor *type;
    fold_handler fn;
} handlers[] = {
    {"ModelRegistered", &opml__chain_model_registered__descriptor, on_model_registered},
    {"GenerationRegistered", &opml__chain_generation_registered__descriptor, fold_on_generation_registered},
    {"TaskRequested", &opml__chain_task_requested__descriptor, on_task_requested},
    {"GenerationRequested", &opml__chain_generation_requested__descriptor, fold_on_generation_requested},
    {"ResultSubmitted", &opml__chain_result_submitted__descriptor, on_result_submitted},
    {"SubmissionRejected", &opml__chain_submission_rejected__descriptor, on_submission_rejected},
    {"ShareCredited", &opml__chain_share_credited__descriptor, on_share_credited},
    {"TaskFinalized", &opml__chain_task_finalized__descriptor, on_task_finalized},
    {"TaskCancelled", &opml__chain_task_cancelled__descriptor, on_task_cancelled},
    {"Withdrawn", &opml__chain_withdrawn__descriptor, on_withdrawn},
    {"GameStarted", &opml__chain_game_started__descriptor, on_game_started},
    {"EndBound", &opml__chain_end_bound__descriptor, on_end_bound},
    {"StepOpened", &opml__chain_step_opened__descriptor, fold_on_step_opened},
    {"Dissected", &opml__chain_dissected__descriptor, on_dissected},
    {"Selected", &opml__chain_selected__descriptor, on_selected},
    {"NodeOpened", &opml__chain_node_opened__descriptor, on_node_opened},
    {"OneStep", &opml__chain_one_step__descriptor, on_one_step},
    {"TimedOut", &opml__chain_timed_out__descriptor, on_timed_out},
    {"GameAbandoned", &opml__chain_game_abandoned__descriptor, on_game_abandoned},
    {"GameResolved", &opml__chain_game_resolved__descriptor, on_game_resolved},
};

/* Event ev's typed message, unpacked (free with protobuf_c_message_free_unpacked), or NULL with
 * the refusal said. */
static ProtobufCMessage *typed(const fold_ctx *c, const ProtobufCMessageDescriptor *d) {
    const Opml__ChainEvent *ev = c->ev;
    if (!ev->payload_type || !*ev->payload_type) {
        fold_refuse(c, "no typed payload (chainwatch could not type it: %.120s)", ev->args_json ? ev->args_json : "");
        return NULL;
    }
    if (strcmp(ev->payload_type, d->name)) {
        fold_refuse(c, "the payload is %.60s, not %s", ev->payload_type, d->name);
        return NULL;
    }
    const uint8_t *p = ev->payload.data ? ev->payload.data : (const uint8_t *)"";
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, ev->payload.len, p);
    if (!m) fold_refuse(c, "the payload (%zu bytes) does not unpack as %s", ev->payload.len, d->name);
    return m;
}

fold_intake fold_intake_of(const fold_state *s, const uint8_t sender[20], const char *type) {
    if (memcmp(sender, s->me, 20)) return FOLD_INTAKE_FOREIGN;
    if (!strcmp(type, opml__chain_event__descriptor.name)) return FOLD_INTAKE_EVENT;
    if (!strcmp(type, opml__chain_receipt__descriptor.name)) return FOLD_INTAKE_RECEIPT;
    return FOLD_INTAKE_OTHER;
}

int fold_event(fold_state *s, const Opml__ChainEvent *ev, uint64_t now, fold_out *out) {
    memset(out, 0, sizeof *out);
    if (ev->seq <= s->last_seq) {
        say(out, FOLD_DEBUG, "event %" PRIu64 " (%s) skipped: events up to %" PRIu64 " are folded", ev->seq,
            ev->event ? ev->event : "", s->last_seq);
        return 0;
    }
    if (ev->seq > s->last_seq + 1)
        say(out, FOLD_WARN, "events %" PRIu64 " to %" PRIu64 " were never folded here: the view may lack them",
            s->last_seq + 1, ev->seq - 1);
    s->last_seq = ev->seq;
    if (ev->removed) {
        say(out, FOLD_WARN, "event %" PRIu64 " retracted by a re-org: the view is rebuilt from the chain's next events",
            ev->retracts_seq);
        return 1;
    }
    fold_ctx c = {s, ev, ev->block_time ? ev->block_time : now, out}; /* the block's time, as the contract's */
    for (size_t i = 0; ev->event && i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(ev->event, handlers[i].event)) continue;
        ProtobufCMessage *m = typed(&c, handlers[i].type);
        if (m) {
            handlers[i].fn(&c, m);
            protobuf_c_message_free_unpacked(m, NULL);
        }
        break;
    }
    return 1;
}
