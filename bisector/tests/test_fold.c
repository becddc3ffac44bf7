/* test_fold.c: the chain's events folded into the bisector's view (fold.h), from typed events built
 * here as chainwatch builds them (a ChainEvent with its "opml.Chain<Event>" payload). A task's and a
 * game's whole lives, then everything the fold must refuse with an error (no typed payload, a
 * payload of another type or that does not unpack, an address or hash of the wrong length, a
 * reversed range, an amount that is not decimal wei, a model spec out of range) and everything
 * that does not fit the view (unknown tasks and games, a resolution before a start, a second
 * start, a repeated or skipped seq, a retraction, a submission that is not the live one): each
 * leaves a line that names it, never a silent zero, and a refused event changes nothing. The
 * intake: only our own chainwatch's envelopes are folded, so another identity's chainwatch
 * publishing a stream numbered its own way changes nothing. Last, damaged payloads of every event
 * are folded (under ASan in the unit build). */
#include "check.h"
#include "fold.h"

#include <stdlib.h>
#include <string.h>

static uint8_t ME[20], OTHER[20], THIRD[20], ORACLE[20], GAME[20], ROOT[32], H1[32], H2[32], LONG[40];

typedef struct evbuf {
    Opml__ChainEvent ev;
    uint8_t payload[4096];
} evbuf;

static fold_out out;

static ProtobufCBinaryData B(const void *p, size_t n) {
    ProtobufCBinaryData d = {n, (uint8_t *)p};
    return d;
}

/* Event `name` number seq at block_time, with m as its typed payload (NULL: none). */
static evbuf *mk(uint64_t seq, const char *name, const ProtobufCMessage *m, uint64_t block_time) {
    static evbuf e;
    opml__chain_event__init(&e.ev);
    e.ev.seq = seq;
    e.ev.event = (char *)name;
    e.ev.block_time = block_time;
    e.ev.address = B(ORACLE, 20); /* Withdrawn sets its own */
    e.ev.args_json = (char *)"{\"typed_error\":\"x: not 0x hex\"}";
    if (m) {
        e.ev.payload.len = protobuf_c_message_pack(m, e.payload);
        e.ev.payload.data = e.payload;
        e.ev.payload_type = (char *)m->descriptor->name;
    }
    return &e;
}

static int fold(fold_state *s, evbuf *e) { return fold_event(s, &e->ev, 7777, &out); }

static size_t count(fold_fx_kind kind, uint64_t id) {
    size_t n = 0;
    for (size_t i = 0; i < out.n; i++) n += out.fx[i].kind == kind && (kind == FOLD_FX_LOG || out.fx[i].id == id);
    return n;
}

static const fold_fx *find(fold_fx_kind kind) {
    for (size_t i = 0; i < out.n; i++)
        if (out.fx[i].kind == kind) return &out.fx[i];
    return NULL;
}

/* Whether a line of `level` containing `text` was said. */
static int said(fold_level level, const char *text) {
    for (size_t i = 0; i < out.n; i++)
        if (out.fx[i].kind == FOLD_FX_LOG && out.fx[i].level == level && strstr(out.fx[i].text, text)) return 1;
    return 0;
}

static void state_init(fold_state *s) {
    memset(s, 0, sizeof *s);
    memcpy(s->me, ME, 20);
    memcpy(s->addr[C_ORACLE], ORACLE, 20);
    memcpy(s->addr[C_GAME], GAME, 20);
    s->nmodels = 1;
    memcpy(s->models[0].m.root, ROOT, 32);
    s->models[0].m.n = 9;
}

/* ---- the events, typed ---- */

static evbuf *model_registered(uint64_t seq, uint64_t id, const uint8_t root[32], uint32_t k) {
    static Opml__ChainModelRegistered m;
    static Opml__ChainModelSpec sp;
    opml__chain_model_registered__init(&m);
    opml__chain_model_spec__init(&sp);
    m.model_id = id;
    m.model_root = B(root, 32);
    m.owner = B(OTHER, 20);
    sp.k = k;
    sp.steps_log2 = 10;
    sp.clock = 60;
    sp.submitter_bond = (char *)"1000000000000000000";
    sp.challenger_bond = (char *)"500";
    m.spec = &sp;
    return mk(seq, "ModelRegistered", &m.base, 100);
}

static evbuf *task_requested(uint64_t seq, uint64_t task_id, const uint8_t *requester, size_t ninputs) {
    static Opml__ChainTaskRequested m;
    static ProtobufCBinaryData in[2];
    static const uint8_t input[5] = {1, 2, 3, 4, 5};
    opml__chain_task_requested__init(&m);
    m.task_id = task_id;
    m.model_id = 1;
    m.requester = B(requester, 20);
    m.fee = (char *)"1000";
    m.state0 = B(H1, 32);
    in[0] = in[1] = B(input, 5);
    m.n_inputs = ninputs;
    m.inputs = in;
    return mk(seq, "TaskRequested", &m.base, 110);
}

static evbuf *result_submitted(uint64_t seq, uint64_t task_id, uint32_t sub_id, const uint8_t *submitter) {
    static Opml__ChainResultSubmitted m;
    static const uint8_t output[3] = {9, 8, 7};
    opml__chain_result_submitted__init(&m);
    m.task_id = task_id;
    m.sub_id = sub_id;
    m.submitter = B(submitter, 20);
    m.deadline = 500;
    m.output = B(output, 3);
    return mk(seq, "ResultSubmitted", &m.base, 120);
}

static evbuf *submission_rejected(uint64_t seq, uint64_t task_id, uint32_t sub_id, const uint8_t *challenger) {
    static Opml__ChainSubmissionRejected m;
    opml__chain_submission_rejected__init(&m);
    m.task_id = task_id;
    m.sub_id = sub_id;
    m.challenger = B(challenger, 20);
    m.bond = (char *)"1000000000000000000";
    m.burned = (char *)"500000000000000000";
    m.share = (char *)"250000000000000000";
    m.games = 2;
    return mk(seq, "SubmissionRejected", &m.base, 130);
}

static evbuf *share_credited(uint64_t seq, uint64_t task_id, uint32_t sub_id, const uint8_t *challenger) {
    static Opml__ChainShareCredited m;
    opml__chain_share_credited__init(&m);
    m.task_id = task_id;
    m.sub_id = sub_id;
    m.challenger = B(challenger, 20);
    m.share = (char *)"250000000000000000";
    return mk(seq, "ShareCredited", &m.base, 131);
}

static evbuf *task_finalized(uint64_t seq, uint64_t task_id, uint32_t sub_id, const uint8_t *submitter) {
    static Opml__ChainTaskFinalized m;
    opml__chain_task_finalized__init(&m);
    m.task_id = task_id;
    m.sub_id = sub_id;
    m.submitter = B(submitter, 20);
    m.paid = (char *)"1000000000000001000";
    return mk(seq, "TaskFinalized", &m.base, 140);
}

static evbuf *task_cancelled(uint64_t seq, uint64_t task_id) {
    static Opml__ChainTaskCancelled m;
    opml__chain_task_cancelled__init(&m);
    m.task_id = task_id;
    m.refund = (char *)"1000";
    return mk(seq, "TaskCancelled", &m.base, 145);
}

static evbuf *withdrawn(uint64_t seq, const uint8_t *contract, const uint8_t *who) {
    static Opml__ChainWithdrawn m;
    opml__chain_withdrawn__init(&m);
    m.who = B(who, 20);
    m.amount = (char *)"1000000000000001000";
    evbuf *e = mk(seq, "Withdrawn", &m.base, 150);
    e->ev.address = B(contract, 20);
    return e;
}

static evbuf *game_started_ev(uint64_t seq, uint64_t game_id, uint64_t task_id, uint32_t sub_id, const uint8_t *submitter,
                              const uint8_t *challenger, uint64_t n) {
    static Opml__ChainGameStarted m;
    opml__chain_game_started__init(&m);
    m.game_id = game_id;
    m.task_id = task_id;
    m.sub_id = sub_id;
    m.submitter = B(submitter, 20);
    m.challenger = B(challenger, 20);
    m.state0 = B(H1, 32);
    m.n = n;
    m.phase = 1;
    return mk(seq, "GameStarted", &m.base, 200);
}

/* A GameStarted of another phase (0: a generation's token phase). */
static evbuf *with_phase(evbuf *e, uint32_t phase) {
    Opml__ChainGameStarted *m = opml__chain_game_started__unpack(NULL, e->ev.payload.len, e->payload);
    m->phase = phase;
    e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
    opml__chain_game_started__free_unpacked(m, NULL);
    return e;
}

static evbuf *end_bound(uint64_t seq, uint64_t game_id, uint32_t phase, uint64_t t) {
    static Opml__ChainEndBound m;
    opml__chain_end_bound__init(&m);
    m.game_id = game_id;
    m.phase = phase;
    m.end_state = B(H2, 32);
    return mk(seq, "EndBound", &m.base, t);
}

static evbuf *step_opened(uint64_t seq, uint64_t game_id, uint64_t step, uint32_t n, uint64_t t) {
    static Opml__ChainStepOpened m;
    opml__chain_step_opened__init(&m);
    m.game_id = game_id;
    m.step = step;
    m.token = 7;
    m.next = 8;
    m.state0 = B(H2, 32);
    m.state_n = B(H1, 32);
    m.n = n;
    return mk(seq, "StepOpened", &m.base, t);
}

static evbuf *dissected(uint64_t seq, uint64_t game_id, uint32_t phase, uint64_t lo, uint64_t hi, size_t nroots,
                        uint64_t t) {
    static Opml__ChainDissected m;
    static ProtobufCBinaryData roots[3];
    opml__chain_dissected__init(&m);
    m.game_id = game_id;
    m.phase = phase;
    m.lo = lo;
    m.hi = hi;
    roots[0] = roots[1] = roots[2] = B(H1, 32);
    m.n_roots = nroots;
    m.roots = roots;
    return mk(seq, "Dissected", &m.base, t);
}

static evbuf *selected(uint64_t seq, uint64_t game_id, uint64_t lo, uint64_t hi, uint64_t t) {
    static Opml__ChainSelected m;
    opml__chain_selected__init(&m);
    m.game_id = game_id;
    m.phase = 1;
    m.lo = lo;
    m.hi = hi;
    m.start_hash = B(H2, 32);
    m.end_hash = B(H1, 32);
    return mk(seq, "Selected", &m.base, t);
}

static evbuf *node_opened(uint64_t seq, uint64_t game_id, uint32_t node, uint64_t steps, uint64_t t) {
    static Opml__ChainNodeOpened m;
    static const uint8_t fin[173];
    opml__chain_node_opened__init(&m);
    m.game_id = game_id;
    m.node = node;
    m.output = B(H1, 32);
    m.initial_state = B(H1, 32);
    m.final_state = B(H2, 32);
    m.steps = steps;
    m.final_packed = B(fin, sizeof fin);
    return mk(seq, "NodeOpened", &m.base, t);
}

/* The one-step proof at step `step`: the proven post-state `post` against the claimed end H1. */
static evbuf *one_step(uint64_t seq, uint64_t game_id, uint64_t step, const uint8_t *post, uint64_t t) {
    static Opml__ChainOneStep m;
    opml__chain_one_step__init(&m);
    m.game_id = game_id;
    m.step = step;
    m.pre_state = B(H2, 32);
    m.post_state = B(post, 32);
    m.claimed = B(H1, 32);
    return mk(seq, "OneStep", &m.base, t);
}

static evbuf *game_resolved_ev(uint64_t seq, uint64_t game_id, const uint8_t *winner) {
    static Opml__ChainGameResolved m;
    opml__chain_game_resolved__init(&m);
    m.game_id = game_id;
    m.winner = B(winner, 20);
    m.challenger_won = 1;
    m.payout = (char *)"500";
    return mk(seq, "GameResolved", &m.base, 300);
}

static evbuf *game_abandoned_ev(uint64_t seq, uint64_t game_id) {
    static Opml__ChainGameAbandoned m;
    opml__chain_game_abandoned__init(&m);
    m.game_id = game_id;
    m.refund = (char *)"500";
    return mk(seq, "GameAbandoned", &m.base, 310);
}

static evbuf *timed_out(uint64_t seq, uint64_t game_id, game_turn turn, const uint8_t *loser) {
    static Opml__ChainTimedOut m;
    opml__chain_timed_out__init(&m);
    m.game_id = game_id;
    m.turn = turn;
    m.loser = B(loser, 20);
    return mk(seq, "TimedOut", &m.base, 320);
}

/* ---- lives ---- */

static void test_tasks(void) {
    fold_state s;
    state_init(&s);
    /* a model we serve learns its id and game parameters; another model is nobody's business here */
    CHECK_EQ_INT(fold(&s, model_registered(1, 1, ROOT, 4)), 1);
    CHECK_EQ_INT(s.models[0].id, 1);
    CHECK_EQ_INT(s.models[0].k, 4);
    CHECK_EQ_INT(s.models[0].steps_log2, 10);
    CHECK_EQ_INT(s.models[0].clock, 60);
    CHECK(!strcmp(s.models[0].sbond, "1000000000000000000") && !strcmp(s.models[0].cbond, "500"));
    CHECK(said(FOLD_INFO, "model 1 is ours to serve (9 nodes, k 4)"));
    CHECK(fold_model(&s, 1) == &s.models[0] && fold_model(&s, 0) == NULL);
    fold(&s, model_registered(2, 2, H1, 4));
    CHECK_EQ_INT(out.n, 0);
    CHECK_EQ_INT(s.models[0].id, 1);
    /* a task: requested, submitted by another identity, finalized */
    fold(&s, task_requested(3, 10, OTHER, 1));
    task *t = fold_task(&s, 10);
    CHECK(t && t->status == TASK_OPEN && t->model_id == 1 && t->input_len == 5 && t->input[4] == 5);
    CHECK(t && !memcmp(t->requester, OTHER, 20));
    fold(&s, result_submitted(4, 10, 1, OTHER));
    CHECK(t->status == TASK_SUBMITTED && t->sub_id == 1 && t->deadline == 500 && t->output_len == 3 && t->output[0] == 9);
    CHECK(!memcmp(t->submitter, OTHER, 20));
    CHECK_EQ_INT(count(FOLD_FX_SUBMITTED, 10), 1);
    fold(&s, task_finalized(5, 10, 1, OTHER));
    CHECK_EQ_INT(t->status, TASK_FINALIZED);
    CHECK(said(FOLD_INFO, "task 10: finalized"));
    CHECK_EQ_INT(count(FOLD_FX_CREDITED, 0), 0);
    CHECK_EQ_INT(s.pay.owed, 0);
    /* ours, rejected (our run is dropped: the REJECTED flag), then ours again and finalized */
    fold(&s, task_requested(6, 11, OTHER, 1));
    fold(&s, result_submitted(7, 11, 1, ME));
    fold(&s, submission_rejected(8, 11, 1, OTHER));
    t = fold_task(&s, 11);
    CHECK_EQ_INT(t->status, TASK_OPEN);
    CHECK(find(FOLD_FX_REJECTED) && find(FOLD_FX_REJECTED)->id == 11 && find(FOLD_FX_REJECTED)->flag == 1);
    CHECK(said(FOLD_INFO, "task 11: submission rejected, the task is open again"));
    CHECK_EQ_INT(s.pay.owed, 0); /* the bond went to the challenger */
    fold(&s, result_submitted(9, 11, 2, ME));
    CHECK(out.n == 1 && count(FOLD_FX_SUBMITTED, 11) == 1); /* no warning: the task was open */
    fold(&s, task_finalized(10, 11, 2, ME));
    const fold_fx *c = find(FOLD_FX_CREDITED);
    CHECK(c && !strcmp(c->text, "1000000000000001000") && !strcmp(c->why, "bond and fee"));
    CHECK_EQ_INT(s.pay.owed, 1);
    /* withdrawn from the oracle by us: nothing owed; another's withdrawal, or a Withdrawn of any
     * other contract (the game is no bank: it holds no money), changes nothing */
    fold(&s, withdrawn(11, ORACLE, OTHER));
    CHECK_EQ_INT(s.pay.owed, 1);
    fold(&s, withdrawn(12, GAME, ME));
    CHECK_EQ_INT(s.pay.owed, 1);
    CHECK(out.n == 0);
    fold(&s, withdrawn(13, ORACLE, ME));
    CHECK_EQ_INT(s.pay.owed, 0);
    CHECK(said(FOLD_INFO, "InferenceOracle: withdrew 1000000000000001000 wei"));
    /* someone else's submission rejected by our challenge: our share of its bond (not the bond) */
    fold(&s, task_requested(14, 12, ME, 1));
    fold(&s, result_submitted(15, 12, 1, OTHER));
    fold(&s, submission_rejected(16, 12, 1, ME));
    CHECK(find(FOLD_FX_REJECTED) && find(FOLD_FX_REJECTED)->flag == 0);
    c = find(FOLD_FX_CREDITED);
    CHECK(c && !strcmp(c->why, "our share of the rejected submitter's bond") &&
          !strcmp(c->text, "250000000000000000"));
    /* a cancelled task we requested: the fee back */
    fold(&s, task_cancelled(17, 12));
    CHECK_EQ_INT(fold_task(&s, 12)->status, TASK_CANCELLED);
    c = find(FOLD_FX_CREDITED);
    CHECK(c && !strcmp(c->why, "a cancelled task's fee") && !strcmp(c->text, "1000"));
    CHECK_EQ_INT(s.last_seq, 17);
    /* a share for another game open at that rejection: ours when it names us, nothing otherwise */
    fold(&s, share_credited(18, 12, 1, OTHER));
    CHECK(!find(FOLD_FX_CREDITED));
    fold(&s, share_credited(19, 12, 1, ME));
    c = find(FOLD_FX_CREDITED);
    CHECK(c && !strcmp(c->why, "our share of a bond rejected while our game was open") &&
          !strcmp(c->text, "250000000000000000"));
    CHECK_EQ_INT(s.last_seq, 19);
    fold_free(&s);
}

static void test_games(void) {
    fold_state s;
    state_init(&s);
    fold(&s, model_registered(1, 1, ROOT, 4));
    fold(&s, task_requested(2, 10, OTHER, 1));
    fold(&s, result_submitted(3, 10, 1, OTHER));
    /* our challenge: the game starts, phase 1 over [0, 9] */
    fold(&s, game_started_ev(4, 1, 10, 1, OTHER, ME, 9));
    gm *g = fold_game(&s, 1);
    CHECK(g && g->role == GAME_CHALLENGER && g->task_id == 10 && g->sub_id == 1);
    CHECK_EQ_INT(count(FOLD_FX_CHALLENGED, 10), 1);
    CHECK_EQ_INT(count(FOLD_FX_JOINED, 1), 1);
    CHECK(said(FOLD_INFO, "game 1 on task 10: we are the challenger"));
    CHECK(g->v.phase == 1 && g->v.lo == 0 && g->v.hi == 9 && g->v.turn == GAME_TURN_BIND && g->v.k == 4);
    CHECK(g->v.last_move == 200 && g->v.submitter_time == 60 && g->v.challenger_time == 60);
    static const uint8_t zero[32];
    CHECK(!memcmp(g->v.start_hash, H1, 32) && !memcmp(g->v.end_hash, zero, 32));
    /* the submitter binds its State_n 1 s later, then dissects 4 s after: its clock is charged */
    fold(&s, end_bound(5, 1, 1, 201));
    CHECK(g->v.turn == GAME_TURN_DISSECT && !memcmp(g->v.end_hash, H2, 32) && g->v.submitter_time == 59);
    CHECK(said(FOLD_INFO, "game 1: EndBound (phase 1, [0, 9], dissect to move)"));
    fold(&s, dissected(6, 1, 1, 0, 9, 3, 205));
    CHECK(g->v.turn == GAME_TURN_SELECT && g->nroots == 3 && g->v.submitter_time == 55 && g->v.last_move == 205);
    CHECK(said(FOLD_INFO, "game 1: Dissected (phase 1, [0, 9], select to move)"));
    fold(&s, selected(7, 1, 4, 5, 215));
    CHECK(g->v.lo == 4 && g->v.hi == 5 && g->v.turn == GAME_TURN_OPEN && g->v.challenger_time == 50);
    CHECK(!memcmp(g->v.start_hash, H2, 32) && !memcmp(g->v.end_hash, H1, 32));
    CHECK(said(FOLD_INFO, "game 1: Selected (phase 1, [4, 5], open to move)"));
    fold(&s, node_opened(8, 1, 4, 1024, 216));
    CHECK(g->v.phase == 2 && g->v.node == 4 && g->v.lo == 0 && g->v.hi == 1024 && g->v.turn == GAME_TURN_DISSECT);
    CHECK(!memcmp(g->v.start_hash, H1, 32) && !memcmp(g->v.end_hash, H2, 32) && g->v.submitter_time == 54);
    fold(&s, dissected(9, 1, 2, 0, 1024, 3, 217));
    fold(&s, selected(10, 1, 999, 1000, 218));
    CHECK_EQ_INT(g->v.turn, GAME_TURN_STEP);
    CHECK(said(FOLD_INFO, "game 1: Selected (phase 2, [999, 1000], step to move)"));
    /* our one-step proof 2 s later: its post-state is not the claimed end, the challenger won; the
     * game is decided (our clock charged), not paid: no credit until resolve's GameResolved */
    fold(&s, one_step(11, 1, 999, H2, 220));
    CHECK(g->v.turn == GAME_TURN_RESOLVE && g->v.challenger_won == 1 && g->v.challenger_time == 47 && g->v.last_move == 220);
    CHECK(said(FOLD_INFO, "game 1: OneStep: decided for the challenger, we won (resolve pays it out)"));
    CHECK(!find(FOLD_FX_RESOLVED) && !find(FOLD_FX_CREDITED) && s.pay.owed == 0);
    fold(&s, game_resolved_ev(12, 1, ME));
    CHECK_EQ_INT(g->v.turn, GAME_TURN_DONE);
    const fold_fx *r = find(FOLD_FX_RESOLVED);
    CHECK(r && r->id == 1 && r->flag == 1 && !strcmp(r->text, "500"));
    CHECK(find(FOLD_FX_CREDITED) && !strcmp(find(FOLD_FX_CREDITED)->why, "a game's bond"));
    CHECK_EQ_INT(s.pay.owed, 1); /* at the oracle: the one bank */
    /* another identity's game: followed, nothing said, nothing joined */
    fold(&s, game_started_ev(13, 2, 10, 1, OTHER, THIRD, 9));
    CHECK(fold_game(&s, 2) && fold_game(&s, 2)->role == 0 && out.n == 0);
    fold(&s, dissected(14, 2, 1, 0, 9, 3, 230));
    CHECK(out.n == 0 && fold_game(&s, 2)->v.turn == GAME_TURN_SELECT);
    /* a game we submitted on, lost by time-out, and one we challenged, abandoned: our bond back */
    fold(&s, task_requested(15, 11, OTHER, 1));
    fold(&s, result_submitted(16, 11, 1, ME));
    fold(&s, game_started_ev(17, 3, 11, 1, ME, OTHER, 9));
    CHECK(fold_game(&s, 3)->role == GAME_SUBMITTER && count(FOLD_FX_CHALLENGED, 11) == 0);
    CHECK(said(FOLD_INFO, "we are the submitter"));
    fold(&s, timed_out(18, 3, GAME_TURN_DISSECT, ME));
    CHECK(fold_game(&s, 3)->v.turn == GAME_TURN_RESOLVE && fold_game(&s, 3)->v.challenger_won == 1);
    CHECK(said(FOLD_INFO, "game 3: TimedOut: decided for the challenger, we lost (resolve pays it out)"));
    CHECK(!find(FOLD_FX_RESOLVED) && !find(FOLD_FX_CREDITED)); /* decided, not paid */
    fold(&s, game_resolved_ev(19, 3, OTHER));
    CHECK_EQ_INT(fold_game(&s, 3)->v.turn, GAME_TURN_DONE);
    CHECK(find(FOLD_FX_RESOLVED) && find(FOLD_FX_RESOLVED)->flag == 0 && !find(FOLD_FX_CREDITED));
    fold(&s, game_started_ev(20, 4, 10, 1, OTHER, ME, 9));
    fold(&s, game_abandoned_ev(21, 4));
    CHECK(count(FOLD_FX_ABANDONED, 4) == 1 && said(FOLD_INFO, "game 4: GameAbandoned"));
    CHECK(find(FOLD_FX_CREDITED) && !strcmp(find(FOLD_FX_CREDITED)->why, "our bond of an abandoned game"));
    /* ours on a model we do not serve: joined (its record is ours), and said it cannot be played */
    fold(&s, game_started_ev(22, 5, 99, 1, OTHER, ME, 9));
    CHECK(count(FOLD_FX_JOINED, 5) == 1 && said(FOLD_WARN, "game 5 is ours, but task 99 was never requested here"));
    CHECK(fold_game(&s, 5)->v.k == 2 && fold_game(&s, 5)->v.submitter_time == 0);
    /* a generation game (followed, not played here): the token phase, a binding, a token step
     * opened into phase 1 over the step graph */
    fold(&s, with_phase(game_started_ev(23, 6, 10, 1, OTHER, THIRD, 40), 0));
    gm *gg = fold_game(&s, 6);
    CHECK(gg && gg->v.phase == 0 && gg->v.turn == GAME_TURN_BIND);
    fold(&s, end_bound(24, 6, 0, 240));
    CHECK(gg->v.turn == GAME_TURN_DISSECT && gg->v.hi == 40);
    fold(&s, dissected(25, 6, 0, 0, 40, 3, 241));
    fold(&s, selected(26, 6, 12, 13, 242));
    CHECK_EQ_INT(gg->v.turn, GAME_TURN_OPEN_STEP);
    fold(&s, step_opened(27, 6, 12, 9, 243));
    CHECK(gg->v.phase == 1 && gg->v.lo == 0 && gg->v.hi == 9 && gg->v.turn == GAME_TURN_DISSECT);
    CHECK(!memcmp(gg->v.start_hash, H2, 32) && !memcmp(gg->v.end_hash, H1, 32));
    /* a one-step proof whose post-state is the claimed end decides for the submitter; one the
     * view did not expect (game 2 is at select) is warned about and decided all the same */
    fold(&s, one_step(28, 2, 5, H1, 250));
    CHECK(said(FOLD_WARN, "event 28 OneStep: game 2 stepped at 5, the view is at [0, 9] (select to move)"));
    CHECK(fold_game(&s, 2)->v.turn == GAME_TURN_RESOLVE && fold_game(&s, 2)->v.challenger_won == 0);
    fold_free(&s);
}

/* ---- generation tasks ---- */

static evbuf *generation_registered(uint64_t seq, uint64_t id, const uint8_t step_root[32], const opml_gen_facts *f) {
    static Opml__ChainGenerationRegistered m;
    opml__chain_generation_registered__init(&m);
    m.model_id = id;
    m.step_root = B(step_root, 32);
    m.vocab = f->vocab, m.ctx = f->ctx, m.layers = f->layers, m.kv_value = f->kv_value;
    return mk(seq, "GenerationRegistered", &m.base, 101);
}

static evbuf *generation_requested(uint64_t seq, uint64_t task_id, const uint8_t *prompt, size_t len) {
    static Opml__ChainGenerationRequested m;
    opml__chain_generation_requested__init(&m);
    m.task_id = task_id;
    m.model_id = 2;
    m.requester = B(OTHER, 20);
    m.fee = (char *)"1000";
    m.g0 = B(H1, 32);
    m.prompt = B(prompt, len);
    m.max_new = 64, m.stop_token = OPML_GEN_NO_STOP, m.temperature = 0x3f800000, m.top_k = 40, m.top_p = 0x3f733333, m.seed = 9;
    return mk(seq, "GenerationRequested", &m.base, 110);
}

/* A generation model: served by its step graph's root, with the game parameters of the
 * ModelRegistered (whose root is the generation root) before its GenerationRegistered; a generation
 * task's request; a game through the token phase to the opened step. */
static void test_generation(void) {
    fold_state s;
    state_init(&s);
    opml_gen_facts f = {1000, 256, 4, 96}, other = {1000, 256, 4, 104};
    uint8_t groot[32];
    opml_gen_root(ROOT, &f, groot);
    fold(&s, model_registered(1, 2, groot, 16));
    CHECK(fold_model(&s, 2) == NULL); /* the generation root is no step graph's root */
    fold(&s, generation_registered(2, 2, ROOT, &f));
    model_entry *me = fold_model(&s, 2);
    CHECK(me && me->is_gen && me->k == 16 && me->clock == 60 && me->gen.kv_value == 96 && me->gen.vocab == 1000);
    CHECK(said(FOLD_INFO, "model 2 is ours to serve (a generation model"));
    /* a GenerationRegistered whose facts do not make the registered root: refused */
    fold(&s, model_registered(3, 3, groot, 16));
    fold(&s, generation_registered(4, 3, ROOT, &other));
    CHECK(said(FOLD_ERROR, "no ModelRegistered with its generation root before it") && fold_model(&s, 3) == NULL);
    /* a request: the prompt's ids (int32 little-endian) and the request's numbers */
    static const uint8_t prompt[12] = {1, 0, 0, 0, 0x56, 1, 0, 0, 0xe7, 3, 0, 0};
    fold(&s, generation_requested(5, 10, prompt, 12));
    task *t = fold_task(&s, 10);
    CHECK(t && t->gen && t->gen->P == 3 && t->gen->prompt[0] == 1 && t->gen->prompt[1] == 342 && t->gen->prompt[2] == 999);
    CHECK(t && t->gen->max_new == 64 && t->gen->stop == OPML_GEN_NO_STOP && t->gen->sampler.seed == 9 &&
          t->gen->sampler.top_k == 40 && t->status == TASK_OPEN && t->model_id == 2);
    fold(&s, generation_requested(6, 11, prompt, 7)); /* not a whole number of ids */
    CHECK(said(FOLD_ERROR, "a prompt of 7 bytes is no list of ids") && fold_task(&s, 11) == NULL);
    fold(&s, generation_requested(7, 12, prompt, 0));
    CHECK(fold_task(&s, 12) == NULL);
    fold(&s, generation_requested(8, 10, prompt, 8)); /* the first request stands */
    CHECK(fold_task(&s, 10)->gen->P == 3 && said(FOLD_WARN, "task 10 was requested before"));
    /* our challenge of a submission: phase 0 down to token step 20, opened */
    fold(&s, result_submitted(9, 10, 1, OTHER));
    fold(&s, with_phase(game_started_ev(10, 1, 10, 1, OTHER, ME, 40), 0));
    gm *g = fold_game(&s, 1);
    CHECK(g && g->role == GAME_CHALLENGER && g->v.phase == 0 && g->v.k == 16);
    fold(&s, end_bound(11, 1, 0, 201));
    fold(&s, dissected(12, 1, 0, 0, 40, 3, 202));
    fold(&s, selected(13, 1, 20, 21, 203));
    CHECK(g->v.turn == GAME_TURN_OPEN_STEP && said(FOLD_INFO, "game 1: Selected (phase 0, [20, 21], open-step to move)"));
    fold(&s, step_opened(14, 1, 20, 93, 204));
    CHECK(g->token_step == 20 && g->v.phase == 1 && g->v.hi == 93 && g->v.turn == GAME_TURN_DISSECT);
    CHECK(said(FOLD_INFO, "game 1: StepOpened (phase 1, [0, 93], dissect to move)"));
    /* a StepOpened that does not fit the view: a warning, folded all the same */
    fold(&s, step_opened(15, 1, 7, 93, 205));
    CHECK(said(FOLD_WARN, "game 1 opened token step 7, the view is at phase 1") && g->token_step == 7);
    fold_free(&s);
}

/* ---- refused ---- */

/* Folds e into s: it must be refused with an error line containing `why`, and change nothing but
 * last_seq. */
static void refused(fold_state *s, evbuf *e, const char *why, int line) {
    task *t1 = fold_task(s, 10), before;
    gm *g1 = fold_game(s, 1), gbefore;
    model_entry mbefore;
    memcpy(&before, t1, sizeof before);
    memcpy(&gbefore, g1, sizeof gbefore);
    memcpy(&mbefore, &s->models[0], sizeof mbefore);
    payout pbefore = s->pay;
    size_t ntasks = 0, ngames = 0;
    for (task *t = s->tasks; t; t = t->next) ntasks++;
    for (gm *g = s->games; g; g = g->next) ngames++;
    CHECK_EQ_INT(fold(s, e), 1);
    CHECK_EQ_INT(s->last_seq, e->ev.seq);
    int ok = out.n == 1 && said(FOLD_ERROR, why) && said(FOLD_ERROR, "not folded");
    if (!ok) fprintf(stderr, "line %d: expected one error with \"%s\", got %zu effects: %s\n", line, why, out.n,
                     out.n ? out.fx[0].text : "");
    CHECK(ok);
    size_t n2 = 0, g2 = 0;
    for (task *t = s->tasks; t; t = t->next) n2++;
    for (gm *g = s->games; g; g = g->next) g2++;
    CHECK(n2 == ntasks && g2 == ngames);
    CHECK(!memcmp(&before, t1, sizeof before) && !memcmp(&gbefore, g1, sizeof gbefore));
    CHECK(!memcmp(&mbefore, &s->models[0], sizeof mbefore) && !memcmp(&pbefore, &s->pay, sizeof pbefore));
}
#define REFUSED(s, e, why) refused(s, e, why, __LINE__)

static void test_refused(void) {
    fold_state s;
    state_init(&s);
    fold(&s, model_registered(1, 1, ROOT, 4));
    fold(&s, task_requested(2, 10, OTHER, 1));
    fold(&s, result_submitted(3, 10, 1, OTHER));
    fold(&s, game_started_ev(4, 1, 10, 1, OTHER, ME, 9));
    uint64_t seq = 5;
    /* no typed payload (chainwatch could not type it): its reason is quoted */
    evbuf *e = task_requested(seq++, 20, OTHER, 1);
    e->ev.payload_type = (char *)"";
    REFUSED(&s, e, "no typed payload (chainwatch could not type it: {\"typed_error\"");
    /* a payload of another type, or that does not unpack */
    e = task_requested(seq++, 20, OTHER, 1);
    e->ev.payload_type = (char *)"opml.ChainTaskCancelled";
    REFUSED(&s, e, "the payload is opml.ChainTaskCancelled, not opml.ChainTaskRequested");
    e = task_requested(seq++, 20, OTHER, 1);
    memset(e->payload, 0xff, 8);
    e->ev.payload.len = 8;
    REFUSED(&s, e, "the payload (8 bytes) does not unpack as opml.ChainTaskRequested");
    /* wrong lengths of addresses and hashes */
    e = task_requested(seq++, 20, OTHER, 1);
    {
        Opml__ChainTaskRequested *m = opml__chain_task_requested__unpack(NULL, e->ev.payload.len, e->payload);
        m->requester.len = 19;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_task_requested__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "requester has 19 bytes, not 20");
    e = result_submitted(seq++, 10, 2, OTHER);
    {
        Opml__ChainResultSubmitted *m = opml__chain_result_submitted__unpack(NULL, e->ev.payload.len, e->payload);
        m->submitter.len = 19;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_result_submitted__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "submitter has 19 bytes, not 20");
    e = game_started_ev(seq++, 2, 10, 1, OTHER, ME, 9);
    {
        Opml__ChainGameStarted *m = opml__chain_game_started__unpack(NULL, e->ev.payload.len, e->payload);
        m->phase = 2;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_game_started__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "phase 2 is not a game's first phase");
    e = end_bound(seq++, 1, 1, 201);
    {
        Opml__ChainEndBound *m = opml__chain_end_bound__unpack(NULL, e->ev.payload.len, e->payload);
        m->end_state.len = 31;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_end_bound__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "end_state has 31 bytes, not 32");
    e = step_opened(seq++, 1, 3, 9, 201);
    {
        Opml__ChainStepOpened *m = opml__chain_step_opened__unpack(NULL, e->ev.payload.len, e->payload);
        m->state_n.len = 0;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_step_opened__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "state_n has 0 bytes, not 32");
    e = game_started_ev(seq++, 2, 10, 1, OTHER, ME, 9);
    {
        Opml__ChainGameStarted *m = opml__chain_game_started__unpack(NULL, e->ev.payload.len, e->payload);
        m->challenger.len = 0;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_game_started__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "challenger has 0 bytes, not 20");
    e = dissected(seq++, 1, 1, 0, 9, 3, 205);
    {
        Opml__ChainDissected *m = opml__chain_dissected__unpack(NULL, e->ev.payload.len, e->payload);
        m->roots[1].len = 31;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_dissected__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "root 1 has 31 bytes, not 32");
    REFUSED(&s, selected(seq++, 1, 6, 5, 215), "range [6, 5] is reversed");
    e = node_opened(seq++, 1, 4, 1024, 216);
    {
        Opml__ChainNodeOpened *m = opml__chain_node_opened__unpack(NULL, e->ev.payload.len, e->payload);
        ProtobufCBinaryData was = m->final_state;
        m->final_state = B(LONG, 33);
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        m->final_state = was; /* the unpacked message frees its own */
        opml__chain_node_opened__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "final_state has 33 bytes, not 32");
    e = game_resolved_ev(seq++, 1, ME);
    {
        Opml__ChainGameResolved *m = opml__chain_game_resolved__unpack(NULL, e->ev.payload.len, e->payload);
        ProtobufCBinaryData was = m->winner;
        m->winner = B(LONG, 32); /* a hash where the address belongs */
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        m->winner = was;
        opml__chain_game_resolved__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "winner has 32 bytes, not 20");
    e = one_step(seq++, 1, 999, H2, 220);
    {
        Opml__ChainOneStep *m = opml__chain_one_step__unpack(NULL, e->ev.payload.len, e->payload);
        m->post_state.len = 31; /* short: packed cut, freed whole */
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_one_step__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "post_state has 31 bytes, not 32");
    e = timed_out(seq++, 1, GAME_TURN_STEP, OTHER);
    {
        Opml__ChainTimedOut *m = opml__chain_timed_out__unpack(NULL, e->ev.payload.len, e->payload);
        m->loser.len = 19; /* short: packed cut, freed whole */
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_timed_out__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "loser has 19 bytes, not 20");
    /* amounts that are not decimal wei: never a credit of "" or of text */
    e = task_finalized(seq++, 10, 1, ME);
    {
        Opml__ChainTaskFinalized *m = opml__chain_task_finalized__unpack(NULL, e->ev.payload.len, e->payload);
        free(m->paid);
        m->paid = strdup("");
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_task_finalized__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "paid \"\" is not decimal wei");
    e = game_abandoned_ev(seq++, 1);
    {
        Opml__ChainGameAbandoned *m = opml__chain_game_abandoned__unpack(NULL, e->ev.payload.len, e->payload);
        free(m->refund);
        m->refund = strdup("0x1f4");
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_game_abandoned__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "refund \"0x1f4\" is not decimal wei");
    /* a served model's spec: missing, or out of range */
    e = model_registered(seq++, 1, ROOT, 1);
    REFUSED(&s, e, "k 1 or steps_log2 10 out of range");
    e = model_registered(seq++, 1, ROOT, 4);
    {
        Opml__ChainModelRegistered *m = opml__chain_model_registered__unpack(NULL, e->ev.payload.len, e->payload);
        opml__chain_model_spec__free_unpacked(m->spec, NULL);
        m->spec = NULL;
        e->ev.payload.len = protobuf_c_message_pack(&m->base, e->payload);
        opml__chain_model_registered__free_unpacked(m, NULL);
    }
    REFUSED(&s, e, "model 1 has no spec");
    /* the same events, whole, still fold */
    fold(&s, game_resolved_ev(seq++, 1, ME));
    CHECK(count(FOLD_FX_RESOLVED, 1) == 1 && s.pay.owed == 1);
    fold_free(&s);
}

/* ---- out of order ---- */

static void test_out_of_order(void) {
    fold_state s;
    state_init(&s);
    fold(&s, model_registered(1, 1, ROOT, 4));
    /* a submission, a move, a time-out for what was never seen: warned, nothing made up */
    CHECK_EQ_INT(fold(&s, result_submitted(2, 10, 1, OTHER)), 1);
    CHECK(said(FOLD_WARN, "event 2 ResultSubmitted: task 10 was never requested here (missed or out of order)"));
    CHECK(fold_task(&s, 10) == NULL && count(FOLD_FX_SUBMITTED, 10) == 0);
    fold(&s, dissected(3, 7, 1, 0, 9, 3, 205));
    CHECK(said(FOLD_WARN, "event 3 Dissected: game 7 was never started here (missed or out of order)"));
    CHECK(fold_game(&s, 7) == NULL);
    fold(&s, timed_out(4, 7, GAME_TURN_SELECT, OTHER));
    CHECK(said(FOLD_WARN, "game 7 was never started here") && fold_game(&s, 7) == NULL);
    /* a resolution before the start: the bond the chain says is ours is still ours */
    fold(&s, game_resolved_ev(5, 7, ME));
    CHECK(said(FOLD_WARN, "event 5 GameResolved: game 7 was never started here"));
    CHECK(find(FOLD_FX_CREDITED) && s.pay.owed == 1 && !find(FOLD_FX_RESOLVED));
    /* a rejection and a finalization of an unknown task: the credits that name us stand */
    fold(&s, task_finalized(6, 11, 1, ME));
    CHECK(said(FOLD_WARN, "task 11 was never requested here") && s.pay.owed == 1);
    fold(&s, task_cancelled(7, 11));
    CHECK(said(FOLD_WARN, "task 11 was never requested here") && !find(FOLD_FX_CREDITED));
    /* a task with two inputs is not followed, and said so */
    fold(&s, task_requested(8, 12, OTHER, 2));
    CHECK(said(FOLD_WARN, "task 12 has 2 inputs; models here take one: not followed") && fold_task(&s, 12) == NULL);
    /* a task requested twice, a game started twice: the first stands */
    fold(&s, task_requested(9, 10, OTHER, 1));
    fold(&s, result_submitted(10, 10, 1, OTHER));
    fold(&s, task_requested(11, 10, ME, 1));
    CHECK(said(FOLD_WARN, "task 10 was requested before: the first request stands"));
    CHECK(fold_task(&s, 10)->status == TASK_SUBMITTED && !memcmp(fold_task(&s, 10)->requester, OTHER, 20));
    fold(&s, game_started_ev(12, 1, 10, 1, OTHER, ME, 9));
    fold(&s, dissected(13, 1, 1, 0, 9, 3, 205));
    fold(&s, game_started_ev(14, 1, 10, 1, OTHER, ME, 9));
    CHECK(said(FOLD_WARN, "game 1 was started before: the first start stands"));
    CHECK(fold_game(&s, 1)->v.turn == GAME_TURN_SELECT && count(FOLD_FX_JOINED, 1) == 0);
    /* a dissection at another range than the view's is said (and folded: the chain's word) */
    fold(&s, dissected(15, 1, 1, 2, 9, 3, 206));
    CHECK(said(FOLD_WARN, "game 1 was dissected at phase 1 [2, 9], the view is at phase 1 [0, 9]"));
    /* a finalization of a submission that is not the live one */
    fold(&s, task_finalized(16, 10, 3, OTHER));
    CHECK(said(FOLD_WARN, "task 10: submission 3 is not the live one (submitted, submission 1)"));
    CHECK_EQ_INT(fold_task(&s, 10)->status, TASK_FINALIZED);
    /* a repeated seq: skipped, said, nothing folded twice */
    CHECK_EQ_INT(fold(&s, result_submitted(16, 10, 4, OTHER)), 0);
    CHECK(out.n == 1 && said(FOLD_DEBUG, "event 16 (ResultSubmitted) skipped: events up to 16 are folded"));
    CHECK(fold_task(&s, 10)->sub_id == 1 && fold_task(&s, 10)->status == TASK_FINALIZED);
    CHECK_EQ_INT(fold(&s, result_submitted(3, 10, 4, OTHER)), 0);
    CHECK_EQ_INT(s.last_seq, 16);
    /* a gap: said, and the event folded */
    fold(&s, task_requested(20, 13, OTHER, 1));
    CHECK(said(FOLD_WARN, "events 17 to 19 were never folded here: the view may lack them") && fold_task(&s, 13));
    /* a retraction: counted, not folded */
    evbuf *e = task_cancelled(21, 13);
    e->ev.removed = 1;
    e->ev.retracts_seq = 20;
    CHECK_EQ_INT(fold(&s, e), 1);
    CHECK(said(FOLD_WARN, "event 20 retracted by a re-org") && fold_task(&s, 13)->status == TASK_OPEN);
    CHECK_EQ_INT(s.last_seq, 21);
    /* an event the view is not built from: counted, nothing said */
    e = mk(22, "CallbackDone", NULL, 400);
    CHECK_EQ_INT(fold(&s, e), 1);
    CHECK(out.n == 0 && s.last_seq == 22);
    fold_free(&s);
}

/* ---- damaged payloads ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

static void test_damaged(void) {
    fold_state s;
    state_init(&s);
    fold(&s, model_registered(1, 1, ROOT, 4));
    fold(&s, task_requested(2, 10, OTHER, 1));
    fold(&s, result_submitted(3, 10, 1, OTHER));
    fold(&s, game_started_ev(4, 1, 10, 1, OTHER, ME, 9));
    uint64_t seq = 5;
    size_t refusals = 0;
    for (int round = 0; round < 2600; round++) {
        evbuf *e;
        switch (round % 13) {
        case 0: e = model_registered(seq, 1, ROOT, 4); break;
        case 1: e = task_requested(seq, 10 + (uint64_t)round, OTHER, 1); break;
        case 2: e = result_submitted(seq, 10, 1, OTHER); break;
        case 3: e = submission_rejected(seq, 10, 1, ME); break;
        case 4: e = task_finalized(seq, 10, 1, ME); break;
        case 5: e = task_cancelled(seq, 10); break;
        case 6: e = withdrawn(seq, GAME, ME); break;
        case 7: e = game_started_ev(seq, 2 + (uint64_t)round, 10, 1, OTHER, ME, 9); break;
        case 8: e = dissected(seq, 1, 1, 0, 9, 3, 205); break;
        case 9: e = selected(seq, 1, 4, 5, 215); break;
        case 10: e = node_opened(seq, 1, 4, 1024, 216); break;
        case 11: e = game_abandoned_ev(seq, 1); break;
        default: e = game_resolved_ev(seq, 1, ME); break;
        }
        size_t len = e->ev.payload.len;
        int flips = 1 + (int)(next_rand() % 4);
        for (int i = 0; i < flips && len; i++) e->payload[next_rand() % len] ^= (uint8_t)(1u << (next_rand() % 8));
        if (next_rand() % 3 == 0 && len) e->ev.payload.len = next_rand() % len;
        CHECK_EQ_INT(fold(&s, e), 1);
        CHECK_EQ_INT(s.last_seq, seq);
        CHECK_EQ_INT(out.lost, 0);
        for (size_t i = 0; i < out.n; i++) {
            CHECK(out.fx[i].kind >= FOLD_FX_LOG && out.fx[i].kind <= FOLD_FX_CREDITED);
            if (out.fx[i].kind == FOLD_FX_LOG) CHECK(out.fx[i].level >= FOLD_DEBUG && out.fx[i].level <= FOLD_ERROR);
        }
        refusals += said(FOLD_ERROR, "not folded");
        seq++;
    }
    CHECK(refusals > 0);
    fold_free(&s);
}

/* One event from `sender`'s chainwatch: through the bisector's intake (fold_intake_of) when gated,
 * folded whatever its sender when not. */
static void deliver(fold_state *s, const uint8_t *sender, evbuf *e, int gated) {
    if (!gated || fold_intake_of(s, sender, opml__chain_event__descriptor.name) == FOLD_INTAKE_EVENT) fold(s, e);
}

/* Our chainwatch's stream (ME) and another identity's (THIRD), which numbers the same events its
 * own way: it also counts a contract we do not watch, so its seqs run four ahead of ours. Each of
 * its events arrives on the bus just before ours. */
static void two_streams(fold_state *s, int gated) {
    state_init(s);
    deliver(s, ME, model_registered(1, 1, ROOT, 4), gated);
    deliver(s, THIRD, task_requested(6, 10, OTHER, 1), gated);
    deliver(s, ME, task_requested(2, 10, OTHER, 1), gated);
    deliver(s, THIRD, result_submitted(7, 10, 1, OTHER), gated);
    deliver(s, ME, result_submitted(3, 10, 1, OTHER), gated);
    deliver(s, ME, game_started_ev(4, 1, 10, 1, OTHER, ME, 9), gated); /* our challenge */
}

static void test_intake(void) {
    fold_state s, ours;
    const char *event = opml__chain_event__descriptor.name, *receipt = opml__chain_receipt__descriptor.name;
    uint8_t near[20];
    memcpy(near, ME, 20);
    near[19] ^= 1;
    state_init(&s);
    CHECK_EQ_INT(fold_intake_of(&s, ME, event), FOLD_INTAKE_EVENT);
    CHECK_EQ_INT(fold_intake_of(&s, ME, receipt), FOLD_INTAKE_RECEIPT);
    CHECK_EQ_INT(fold_intake_of(&s, ME, "opml.ActorStarted"), FOLD_INTAKE_OTHER);
    CHECK_EQ_INT(fold_intake_of(&s, THIRD, event), FOLD_INTAKE_FOREIGN);
    CHECK_EQ_INT(fold_intake_of(&s, OTHER, receipt), FOLD_INTAKE_FOREIGN); /* not a receipt of ours */
    CHECK_EQ_INT(fold_intake_of(&s, OTHER, "opml.ActorStarted"), FOLD_INTAKE_FOREIGN);
    CHECK_EQ_INT(fold_intake_of(&s, near, event), FOLD_INTAKE_FOREIGN); /* one bit off */

    /* our stream alone, then with the other interleaved through the intake: the same view */
    state_init(&ours);
    fold(&ours, model_registered(1, 1, ROOT, 4));
    fold(&ours, task_requested(2, 10, OTHER, 1));
    fold(&ours, result_submitted(3, 10, 1, OTHER));
    fold(&ours, game_started_ev(4, 1, 10, 1, OTHER, ME, 9));
    two_streams(&s, 1);
    CHECK_EQ_INT(s.last_seq, ours.last_seq);
    CHECK_EQ_INT(s.last_seq, 4);
    task *t = fold_task(&s, 10), *t0 = fold_task(&ours, 10);
    CHECK(t && t0 && t->status == t0->status && t->status == TASK_SUBMITTED && t->sub_id == t0->sub_id &&
          !memcmp(t->submitter, t0->submitter, 20) && t->checked == 0);
    gm *g = fold_game(&s, 1);
    CHECK(g && g->role == GAME_CHALLENGER && g->task_id == 10);
    CHECK(s.tasks && !s.tasks->next && s.games && !s.games->next);
    fold_free(&s);
    fold_free(&ours);

    /* what the intake prevents: folded whatever its sender, the other stream's seqs pass ours, our
     * own events are skipped as repeats, and the game we play is never seen */
    two_streams(&s, 0);
    CHECK_EQ_INT(s.last_seq, 7);
    CHECK(said(FOLD_DEBUG, "event 4 (GameStarted) skipped: events up to 7 are folded"));
    CHECK(fold_game(&s, 1) == NULL);
    fold_free(&s);
}

int main(void) {
    for (int i = 0; i < 20; i++) ME[i] = 0xA0 ^ (uint8_t)i, OTHER[i] = 0xB0 ^ (uint8_t)i, THIRD[i] = 0xC0 ^ (uint8_t)i;
    for (int i = 0; i < 20; i++) ORACLE[i] = 0x01 ^ (uint8_t)i, GAME[i] = 0x02 ^ (uint8_t)i;
    for (int i = 0; i < 32; i++) ROOT[i] = (uint8_t)i, H1[i] = 0x11, H2[i] = 0x22;
    test_tasks();
    test_games();
    test_generation();
    test_refused();
    test_out_of_order();
    test_intake();
    test_damaged();
    return check_summary("test_fold");
}
