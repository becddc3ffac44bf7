/* game.c: the verification game's arithmetic and decision procedure (game.h). Every number here
 * must be the contract's: DisputeGame.sol computes the dissection points as
 * lo + (len * j) / m in uint256, which the 128-bit product below reproduces for any 64-bit range
 * and any 16-bit k. */
#include "game.h"

#include "keccak.h"

#include <string.h>

const char *game_action_name(game_action a) {
    switch (a) {
    case GAME_ACT_NONE: return "none";
    case GAME_ACT_WAIT: return "wait";
    case GAME_ACT_DISSECT: return "dissect";
    case GAME_ACT_SELECT: return "select";
    case GAME_ACT_OPEN: return "open";
    case GAME_ACT_STEP: return "step";
    case GAME_ACT_TIMEOUT: return "timeout";
    case GAME_ACT_LOST: return "lost";
    case GAME_ACT_ABANDON: return "abandon";
    case GAME_ACT_BIND: return "bind";
    case GAME_ACT_OPEN_STEP: return "open-step";
    case GAME_ACT_RESOLVE: return "resolve";
    }
    return "?";
}

const char *game_turn_name(game_turn t) {
    switch (t) {
    case GAME_TURN_NONE: return "none";
    case GAME_TURN_DISSECT: return "dissect";
    case GAME_TURN_SELECT: return "select";
    case GAME_TURN_OPEN: return "open";
    case GAME_TURN_STEP: return "step";
    case GAME_TURN_DONE: return "done";
    case GAME_TURN_BIND: return "bind";
    case GAME_TURN_OPEN_STEP: return "open-step";
    case GAME_TURN_RESOLVE: return "resolve";
    }
    return "?";
}

unsigned game_parts(uint64_t lo, uint64_t hi, unsigned k) {
    if (hi <= lo || k < 2) return 0;
    uint64_t len = hi - lo;
    return len < k ? (unsigned)len : k;
}

uint64_t game_point(uint64_t lo, uint64_t hi, unsigned m, unsigned j) {
    unsigned __int128 len = hi - lo;
    return lo + (uint64_t)((len * j) / m);
}

int game_dissect_points(uint64_t lo, uint64_t hi, unsigned k, uint64_t *points, size_t cap) {
    unsigned m = game_parts(lo, hi, k);
    if (m == 0 || cap < (size_t)m + 1) return -1;
    for (unsigned j = 0; j <= m; j++) points[j] = game_point(lo, hi, m, j);
    return (int)m;
}

void game_parts_hash(const uint8_t (*roots)[32], size_t n, uint8_t out[32]) {
    keccak256(roots, n * 32, out);
}

int game_select(const uint8_t (*claimed)[32], const uint8_t (*honest)[32], unsigned m, unsigned *part) {
    if (m < 1 || !claimed || !honest || !part) return GAME_E_ARG;
    if (memcmp(claimed[0], honest[0], 32) != 0) return GAME_E_START;
    for (unsigned j = 0; j < m; j++) {
        if (memcmp(claimed[j + 1], honest[j + 1], 32) != 0) {
            *part = j;
            return 0;
        }
    }
    return GAME_E_NO_DISPUTE;
}

void game_selected_range(uint64_t lo, uint64_t hi, unsigned m, unsigned part, uint64_t *new_lo, uint64_t *new_hi) {
    *new_lo = game_point(lo, hi, m, part);
    *new_hi = game_point(lo, hi, m, part + 1);
}

/* The side whose move it is, 0 when none (no clock runs: none, resolve, done). */
static game_role mover_of(game_turn t) {
    if (t == GAME_TURN_DISSECT || t == GAME_TURN_OPEN || t == GAME_TURN_BIND || t == GAME_TURN_OPEN_STEP)
        return GAME_SUBMITTER;
    if (t == GAME_TURN_SELECT || t == GAME_TURN_STEP) return GAME_CHALLENGER;
    return (game_role)0;
}

uint64_t game_clock_left(const game_view *g, uint64_t now, game_role *mover) {
    game_role r = mover_of(g->turn);
    if (mover) *mover = r;
    if (r == 0) return 0;
    uint64_t left = r == GAME_SUBMITTER ? g->submitter_time : g->challenger_time;
    uint64_t used = now > g->last_move ? now - g->last_move : 0;
    return used >= left ? 0 : left - used;
}

void game_charge(game_view *g, game_role mover, uint64_t block_time) {
    uint64_t used = block_time > g->last_move ? block_time - g->last_move : 0;
    uint64_t *clk = mover == GAME_SUBMITTER ? &g->submitter_time : &g->challenger_time;
    *clk = used > *clk ? 0 : *clk - used;
    g->last_move = block_time;
}

static game_action action_of(game_turn t) {
    switch (t) {
    case GAME_TURN_DISSECT: return GAME_ACT_DISSECT;
    case GAME_TURN_SELECT: return GAME_ACT_SELECT;
    case GAME_TURN_OPEN: return GAME_ACT_OPEN;
    case GAME_TURN_STEP: return GAME_ACT_STEP;
    case GAME_TURN_BIND: return GAME_ACT_BIND;
    case GAME_TURN_OPEN_STEP: return GAME_ACT_OPEN_STEP;
    default: return GAME_ACT_NONE;
    }
}

void game_move_for(const game_view *g, game_action a, game_move *m) {
    memset(m, 0, sizeof *m);
    m->action = a;
    m->phase = g->phase;
    m->turn = g->turn;
    m->lo = g->lo;
    m->hi = g->hi;
    m->state = GAME_MOVE_INTENDED;
}

/* 1 if pending is move a at g's position and is known to be on its way or done. */
static int in_flight(const game_view *g, game_action a, const game_move *p) {
    if (!p || p->action != a || p->phase != g->phase || p->turn != g->turn || p->lo != g->lo || p->hi != g->hi) return 0;
    return p->state == GAME_MOVE_SENT || p->state == GAME_MOVE_MINED;
}

game_action game_next(const game_view *g, game_role role, uint64_t now, const game_move *pending, uint64_t *wake_at) {
    game_role mover;
    game_clock_left(g, now, &mover);
    uint64_t budget = mover == GAME_SUBMITTER ? g->submitter_time : g->challenger_time;
    if (wake_at) *wake_at = now;
    if (g->turn == GAME_TURN_RESOLVE) {
        if (role != (g->challenger_won ? GAME_CHALLENGER : GAME_SUBMITTER)) return GAME_ACT_NONE;
        if (!in_flight(g, GAME_ACT_RESOLVE, pending)) return GAME_ACT_RESOLVE;
        if (wake_at) *wake_at = now + 1;
        return GAME_ACT_WAIT;
    }
    if (mover == 0) return GAME_ACT_NONE;
    if (mover == role) {
        uint64_t used = now > g->last_move ? now - g->last_move : 0;
        if (used > budget) return GAME_ACT_LOST;
        if (wake_at) *wake_at = g->last_move + budget;
        game_action a = action_of(g->turn);
        return in_flight(g, a, pending) ? GAME_ACT_WAIT : a;
    }
    /* Their move: the contract times them out when block.timestamp - lastMove > left. */
    uint64_t expiry = g->last_move + budget + 1;
    if (now >= expiry) {
        if (in_flight(g, GAME_ACT_TIMEOUT, pending)) {
            if (wake_at) *wake_at = now + 1;
            return GAME_ACT_WAIT;
        }
        return GAME_ACT_TIMEOUT;
    }
    if (wake_at) *wake_at = expiry;
    return GAME_ACT_WAIT;
}

game_action game_next_dead(const game_view *g, game_role role, const game_move *pending) {
    if (g->turn == GAME_TURN_NONE || g->turn == GAME_TURN_DONE || role != GAME_CHALLENGER) return GAME_ACT_NONE;
    return in_flight(g, GAME_ACT_ABANDON, pending) ? GAME_ACT_WAIT : GAME_ACT_ABANDON;
}

game_turn game_turn_at(uint8_t phase, uint64_t lo, uint64_t hi) {
    if (hi - lo > 1) return GAME_TURN_DISSECT;
    if (phase == 0) return GAME_TURN_OPEN_STEP;
    return phase == 1 ? GAME_TURN_OPEN : GAME_TURN_STEP;
}

void game_started(game_view *g, uint8_t phase, uint64_t n, uint16_t k, uint64_t clock, const uint8_t state0[32],
                  uint64_t block_time) {
    memset(g, 0, sizeof *g);
    g->lo = 0;
    g->hi = n;
    g->phase = phase;
    g->turn = GAME_TURN_BIND;
    g->k = k;
    memcpy(g->start_hash, state0, 32);
    g->last_move = block_time;
    g->submitter_time = g->challenger_time = clock;
}

void game_end_bound(game_view *g, const uint8_t end_state[32], uint64_t block_time) {
    game_charge(g, GAME_SUBMITTER, block_time);
    memcpy(g->end_hash, end_state, 32);
    g->turn = game_turn_at(g->phase, g->lo, g->hi);
}

/* An opening by the submitter at block_time: the next phase over [0, hi] from start to end. */
static void opened(game_view *g, uint8_t phase, uint64_t hi, const uint8_t start[32], const uint8_t end[32],
                   uint64_t block_time) {
    game_charge(g, GAME_SUBMITTER, block_time);
    g->phase = phase;
    g->lo = 0;
    g->hi = hi;
    memcpy(g->start_hash, start, 32);
    memcpy(g->end_hash, end, 32);
}

void game_step_opened(game_view *g, uint32_t n, const uint8_t state0[32], const uint8_t state_n[32], uint64_t block_time) {
    opened(g, 1, n, state0, state_n, block_time);
    g->turn = game_turn_at(1, 0, n);
}

void game_dissected(game_view *g, uint64_t block_time) {
    game_charge(g, GAME_SUBMITTER, block_time);
    g->turn = GAME_TURN_SELECT;
}

void game_selected(game_view *g, uint64_t lo, uint64_t hi, const uint8_t start_hash[32], const uint8_t end_hash[32],
                   uint64_t block_time) {
    game_charge(g, GAME_CHALLENGER, block_time);
    g->lo = lo;
    g->hi = hi;
    memcpy(g->start_hash, start_hash, 32);
    memcpy(g->end_hash, end_hash, 32);
    g->turn = game_turn_at(g->phase, lo, hi);
}

void game_node_opened(game_view *g, uint32_t node, uint64_t steps, const uint8_t initial[32], const uint8_t final_[32],
                      uint64_t block_time) {
    opened(g, 2, steps, initial, final_, block_time);
    g->node = node;
    g->turn = GAME_TURN_DISSECT; /* as the contract sets it, whatever `steps` */
}

void game_stepped(game_view *g, int challenger_won, uint64_t block_time) {
    game_charge(g, GAME_CHALLENGER, block_time);
    g->challenger_won = challenger_won != 0;
    g->turn = GAME_TURN_RESOLVE;
}

void game_timed_out(game_view *g, int challenger_won) {
    g->challenger_won = challenger_won != 0;
    g->turn = GAME_TURN_RESOLVE;
}

void game_ended(game_view *g) { g->turn = GAME_TURN_DONE; }
