/* game.h: the rules of the verification game (docs/game.md, contracts/src/DisputeGame.sol)
 * as pure functions, so that the bisector's every decision can be tested without a chain.
 *
 * A game is a range [lo, hi] of steps (a generation's token steps in phase 0, graph steps in phase
 * 1, VM steps in phase 2) whose start hash both sides agree on and whose end hash the challenger
 * disputes. The submitter's first move binds the end hash (bindEnd, or bindTokens for a generation:
 * nothing but the output was committed at submission). Then the submitter dissects it
 * into m = min(k, hi - lo) parts by posting the m - 1 inner hashes, the hash at point j being the
 * one at lo + (hi - lo) * j / m (integer division, exactly as the contract computes it); the
 * challenger selects the part whose start it agrees with and whose end it disputes. At one step
 * the submitter opens the token step (phase 0) or the node (phase 1), or the challenger sends the
 * one-step proof (phase 2).
 * Each side has a chess clock; the side to move that has used it up loses by `timeout`.
 * The one-step proof (`step`) or `timeout` only decides the game (turn RESOLVE, no clock runs);
 * a separate `resolve`, anyone's, pays it out (the oracle credits the bonds). The winner sends it:
 * the honest side always wins, and it is the one paid.
 *
 * game_next() is the whole decision procedure: from the game as the chain holds it, our role, the
 * time and the move we last recorded (the write-ahead record, record.h), what to do now. */
#ifndef OPML_GAME_H
#define OPML_GAME_H

#include <stddef.h>
#include <stdint.h>

/* DisputeGame.Turn, same numbers. */
typedef enum game_turn {
    GAME_TURN_NONE = 0,
    GAME_TURN_DISSECT = 1, /* the submitter's */
    GAME_TURN_SELECT = 2,  /* the challenger's */
    GAME_TURN_OPEN = 3,    /* the submitter's: phase 1 at one step */
    GAME_TURN_STEP = 4,    /* the challenger's (anyone's): phase 2 at one step */
    GAME_TURN_DONE = 5,
    GAME_TURN_BIND = 6,      /* the submitter's: the game's first move, binding the end state */
    GAME_TURN_OPEN_STEP = 7, /* the submitter's: phase 0 at one token step */
    GAME_TURN_RESOLVE = 8,   /* decided (step or timeout), no clock runs: anyone's resolve pays it out */
} game_turn;

typedef enum game_role {
    GAME_SUBMITTER = 1,
    GAME_CHALLENGER = 2,
} game_role;

/* A game as DisputeGame.game(gameId) returns it (the fields a player needs). Times in seconds. */
typedef struct game_view {
    uint64_t lo, hi;
    uint8_t phase;         /* 0 token steps (generation), 1 graph steps, 2 VM steps */
    game_turn turn;
    uint16_t k;
    uint8_t start_hash[32]; /* agreed at lo */
    uint8_t end_hash[32];   /* the submitter's at hi (zero until the binding) */
    uint8_t parts_hash[32]; /* keccak256 of the pending dissection's roots */
    uint64_t last_move;     /* block time of the last move (block.timestamp, the chain's time) */
    uint64_t submitter_time, challenger_time; /* clock left at last_move */
    uint32_t node;          /* phase 2: the graph step being run */
    uint8_t challenger_won; /* turn resolve (and done after it): the decision was the challenger's */
} game_view;

/* What a player does next. */
typedef enum game_action {
    GAME_ACT_NONE = 0,   /* the game is over (or not a game) */
    GAME_ACT_WAIT,       /* the other side's move, or ours is in flight: look again at *wake_at */
    GAME_ACT_DISSECT,
    GAME_ACT_SELECT,
    GAME_ACT_OPEN,
    GAME_ACT_STEP,
    GAME_ACT_TIMEOUT,    /* the other side's clock has run out: end the game */
    GAME_ACT_LOST,       /* our own clock has run out: nothing we send can land */
    GAME_ACT_ABANDON,    /* the submission is no longer live: end the game, the challenger's bond back */
    GAME_ACT_BIND,       /* the submitter's first move: bind the end state to the output */
    GAME_ACT_OPEN_STEP,  /* phase 0 at one token step: open it (openStep) */
    GAME_ACT_RESOLVE,    /* the game is decided for us: pay it out (resolve) */
} game_action;

const char *game_action_name(game_action a);
const char *game_turn_name(game_turn t);

/* The state of a move we decided on, for write-ahead and idempotent resubmission. */
typedef enum game_move_state {
    GAME_MOVE_NONE = 0,
    GAME_MOVE_INTENDED = 1, /* recorded before sending: it may or may not have been sent */
    GAME_MOVE_SENT = 2,     /* chainwatch accepted it (tx id known); waiting for the receipt */
    GAME_MOVE_MINED = 3,    /* mined and succeeded */
    GAME_MOVE_FAILED = 4,   /* refused or reverted: decide again from the chain */
} game_move_state;

/* One move, named by the position it answers: (phase, lo, hi, turn). Ranges shrink strictly within
 * a phase and the turn alternates, so no two moves of a game share a position. */
typedef struct game_move {
    game_action action;
    uint8_t phase;
    game_turn turn;
    uint64_t lo, hi;
    game_move_state state;
    uint64_t sent_at;      /* the chain's time when sent (seconds, as estimated: chaintime.h) */
    uint8_t tx_id[32];     /* ChainSendTxReply.tx_hash when SENT or later */
} game_move;

/* The number of parts of [lo, hi] with arity k: min(k, hi - lo). 0 when hi <= lo or k < 2. */
unsigned game_parts(uint64_t lo, uint64_t hi, unsigned k);

/* Point j (0..m) of the dissection of [lo, hi] into m parts: lo + (hi - lo) * j / m.
 * Precondition: lo <= hi, 1 <= m, j <= m. */
uint64_t game_point(uint64_t lo, uint64_t hi, unsigned m, unsigned j);

/* The m + 1 points of the dissection of [lo, hi] with arity k, points[0] = lo, points[m] = hi,
 * written to points (room for cap). Returns m, or -1 if hi <= lo, k < 2 or cap < m + 1. The
 * submitter posts its hashes at points[1 .. m-1]. */
int game_dissect_points(uint64_t lo, uint64_t hi, unsigned k, uint64_t *points, size_t cap);

/* keccak256 of the roots, concatenated: what the contract keeps of a dissection (partsHash). */
void game_parts_hash(const uint8_t (*roots)[32], size_t n, uint8_t out[32]);

#define GAME_E_ARG (-1)        /* bad arguments */
#define GAME_E_START (-2)      /* we disagree with the agreed start: our computation is not this game's */
#define GAME_E_NO_DISPUTE (-3) /* we agree with every claimed hash, the end included */

/* The challenger's selection. claimed[0..m] are the hashes the game holds at the m + 1 points
 * (the agreed start, the m - 1 posted roots, the submitter's end); honest[0..m] ours at the same
 * points. The part is the first j with claimed[j + 1] != honest[j + 1]: we agree with its start
 * (claimed[j] == honest[j], by induction from the agreed start) and dispute its end. Returns 0
 * with *part set, GAME_E_START when claimed[0] != honest[0], GAME_E_NO_DISPUTE when all agree,
 * GAME_E_ARG when m < 1. */
int game_select(const uint8_t (*claimed)[32], const uint8_t (*honest)[32], unsigned m, unsigned *part);

/* The range the contract moves to after part `part` of m is selected. */
void game_selected_range(uint64_t lo, uint64_t hi, unsigned m, unsigned part, uint64_t *new_lo, uint64_t *new_hi);

/* Seconds of clock the side to move has left at time now (0 when used up); *mover set to the
 * side whose move it is (0 when the game has no mover: none, resolve or done). */
uint64_t game_clock_left(const game_view *g, uint64_t now, game_role *mover);

/* A move by `mover` mined in a block with timestamp block_time, as the contract charges it: the
 * mover's clock loses the time since last_move (down to 0), and last_move becomes block_time. A
 * block_time before last_move charges nothing. */
void game_charge(game_view *g, game_role mover, uint64_t block_time);

/* The decision at `now`, the chain's time (chaintime.h), never the local clock: the contract decides
 * time-outs by block.timestamp. `pending` (may be NULL) is the last move recorded for this game.
 * Rules:
 *  - turn none or done: NONE.
 *  - turn resolve: RESOLVE for the side the game was decided for (challenger_won), with the same
 *    pending rule (WAIT while that resolve is SENT or MINED, *wake_at = now + 1); NONE for the
 *    loser (resolve pays the winner: the loser has no reason to spend gas on it). No clock runs.
 *  - our move: LOST if our clock is used up at `now`; otherwise the turn's action, unless pending is
 *    that very move (same action and position) and is SENT or MINED, then WAIT (for the receipt or
 *    for the chain to show it); an INTENDED or FAILED pending move is decided again (sending it
 *    twice is harmless: the contract refuses a move at a position that has passed, and chainwatch
 *    refuses a transaction that would revert). *wake_at = the time our clock runs out.
 *  - their move: TIMEOUT once now - last_move exceeds their clock (the contract's condition is
 *    used > left), with the same pending rule; else WAIT with *wake_at = the first second at which
 *    it will have. */
game_action game_next(const game_view *g, game_role role, uint64_t now, const game_move *pending, uint64_t *wake_at);

/* The decision in a game whose submission is no longer live (another game rejected it, or the
 * task has a newer submission): no move can change who is paid any more (DisputeGame credits the
 * challenger its bond whoever wins), so the submitter stops (NONE: a move would only cost gas) and
 * the challenger ends the game with abandon (ABANDON), which credits its bond at once instead of
 * after the rest of the game or the submitter's clock (in turn resolve too: abandon is allowed
 * there once the submission is dead); WAIT while that abandon is SENT or MINED.
 * Turn none or done: NONE. */
game_action game_next_dead(const game_view *g, game_role role, const game_move *pending);

/* Fills m with the move for action a at g's current position, state INTENDED. */
void game_move_for(const game_view *g, game_action a, game_move *m);

/* ---- the contract's transitions, applied to a view as the chain's events report them ----
 * These are DisputeGame's turn rules, and the only place on the C side that states them: each
 * move charges its mover's clock up to the block's time (game_charge: dissect and openNode the
 * submitter's, select the challenger's) and sets the turn the contract sets. */

/* The turn once the range [lo, hi] of phase `phase` is reached (binding, select): dissect while
 * it is longer than one step; at one step, openStep in phase 0, openNode in phase 1, the one-step
 * proof in phase 2. Precondition: lo <= hi. */
game_turn game_turn_at(uint8_t phase, uint64_t lo, uint64_t hi);

/* GameStarted at block_time: phase `phase` (0: a generation's token steps, 1: graph steps) over
 * [0, n], the start (State_0 or G_0) agreed, each side's clock `clock` seconds, arity k; the
 * submitter binds the end first. The rest of g (end hash, node, parts_hash) is zeroed. */
void game_started(game_view *g, uint8_t phase, uint64_t n, uint16_t k, uint64_t clock, const uint8_t state0[32],
                  uint64_t block_time);

/* EndBound at block_time: the submitter's end state; the turn is the range's (game_turn_at). */
void game_end_bound(game_view *g, const uint8_t end_state[32], uint64_t block_time);

/* StepOpened at block_time: phase 1 over the step graph's [0, n], from the State_0 the contract
 * built to the submitter's claimed State_n. */
void game_step_opened(game_view *g, uint32_t n, const uint8_t state0[32], const uint8_t state_n[32], uint64_t block_time);

/* Dissected at block_time: the submitter posted its roots; the challenger selects. */
void game_dissected(game_view *g, uint64_t block_time);

/* Selected at block_time: the range is [lo, hi] with the hashes the event names. Precondition:
 * lo <= hi. */
void game_selected(game_view *g, uint64_t lo, uint64_t hi, const uint8_t start_hash[32], const uint8_t end_hash[32],
                   uint64_t block_time);

/* NodeOpened at block_time: phase 2 over [0, steps] of node `node`'s VM run (0-based, as the event
 * names it), from its initial state to the claimed final one; the submitter dissects it. */
void game_node_opened(game_view *g, uint32_t node, uint64_t steps, const uint8_t initial[32], const uint8_t final_[32],
                      uint64_t block_time);

/* OneStep at block_time: the challenger's one-step proof (its clock charged) decided the game,
 * for the challenger when the proven post-state is not the submitter's claimed end
 * (challenger_won != 0). Turn resolve. */
void game_stepped(game_view *g, int challenger_won, uint64_t block_time);

/* TimedOut: the side to move had used up its clock and lost (challenger_won: it was the
 * submitter). Nothing is charged (the contract charges no one). Turn resolve. */
void game_timed_out(game_view *g, int challenger_won);

/* GameResolved or GameAbandoned: the game is over (paid out). */
void game_ended(game_view *g);

#endif
