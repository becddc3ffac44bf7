/* test_chaintime.c: the chain's time (chaintime.h) and the clock decisions taken by it. The chain
 * here runs days ahead of the wall clock (as anvil's does after evm_increaseTime) and jumps while a
 * game waits: the time-out follows the chain's time, never the local wall clock. The local
 * monotonic time is given explicitly, so nothing here sleeps. */
#include "chaintime.h"
#include "check.h"
#include "game.h"

#include <time.h>

#define AHEAD 1000000 /* seconds the chain's time runs ahead of the wall clock */

static void test_estimate(void) {
    chain_time c = {0, 0};
    /* nothing seen: the wall clock */
    CHECK_EQ_INT(chain_time_now(&c, 5000, 1234), 1234);
    chain_time_saw(&c, 0, 5000); /* no timestamp: ignored */
    CHECK_EQ_INT(chain_time_now(&c, 5000, 1234), 1234);
    /* a timestamp, then local seconds elapsed (whole ones) */
    chain_time_saw(&c, 9000, 5000);
    CHECK_EQ_INT(chain_time_now(&c, 5000, 1234), 9000);
    CHECK_EQ_INT(chain_time_now(&c, 5999, 1234), 9000);
    CHECK_EQ_INT(chain_time_now(&c, 6000, 1234), 9001);
    CHECK_EQ_INT(chain_time_now(&c, 65000, 1234), 9060);
    /* an older timestamp (an event that waited for its confirmations) does not move it back */
    chain_time_saw(&c, 9003, 10000); /* the estimate is 9005 */
    CHECK_EQ_INT(chain_time_now(&c, 10000, 0), 9005);
    chain_time_saw(&c, 9005, 10000); /* equal: nothing new */
    CHECK_EQ_INT(c.seen_ms, 5000);
    /* a newer one is adopted at once: the chain jumped */
    chain_time_saw(&c, 9500, 10500);
    CHECK_EQ_INT(chain_time_now(&c, 10500, 0), 9500);
    CHECK_EQ_INT(chain_time_now(&c, 12499, 0), 9501);
    /* a local time before the adoption (precondition broken) counts as no time elapsed */
    CHECK_EQ_INT(chain_time_now(&c, 100, 0), 9500);
}

/* The challenger waits for a silent submitter whose clock is 60 s: it calls time-out when the
 * chain's time says the clock has run out, whatever the wall clock says. */
static void test_timeout_follows_chain(void) {
    uint64_t wall = (uint64_t)time(NULL), start = wall + AHEAD, wake = 0;
    chain_time c = {0, 0};
    chain_time_saw(&c, start, 0); /* GameStarted, in a block at `start` */
    game_view g = {.lo = 0, .hi = 10, .phase = 1, .turn = GAME_TURN_DISSECT, .k = 2, .last_move = start,
                   .submitter_time = 60, .challenger_time = 60};
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, chain_time_now(&c, 30000, wall + 30), NULL, &wake), GAME_ACT_WAIT);
    CHECK_EQ_INT(wake, start + 61); /* in the chain's time */
    /* local time alone: the clock runs out 61 s after the block, not by the wall clock */
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, chain_time_now(&c, 60999, wall + 60), NULL, &wake), GAME_ACT_WAIT);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, chain_time_now(&c, 61000, wall + 61), NULL, &wake), GAME_ACT_TIMEOUT);
    /* by the wall clock, 61 s after the start the game would still be a million seconds away */
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, wall + 61, NULL, &wake), GAME_ACT_WAIT);

    /* the chain jumps 40 s (evm_increaseTime) while 5 local seconds pass: an event from a block at
     * start + 45 moves the estimate, and 16 local seconds later the clock has run out */
    chain_time j = {0, 0};
    chain_time_saw(&j, start, 0);
    chain_time_saw(&j, start + 45, 5000);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, chain_time_now(&j, 20999, wall + 21), NULL, &wake), GAME_ACT_WAIT);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, chain_time_now(&j, 21000, wall + 21), NULL, &wake), GAME_ACT_TIMEOUT);
    /* and our own clock is counted the same way: the submitter knows it has lost */
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, chain_time_now(&j, 21000, wall + 21), NULL, &wake), GAME_ACT_LOST);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, chain_time_now(&j, 15000, wall + 15), NULL, &wake), GAME_ACT_DISSECT);
    CHECK_EQ_INT(wake, start + 60);
}

/* A bisector restarted long after the last move replays the game's events (old timestamps) and
 * then learns the newest block's time from chainwatch's reply: the clocks are charged by the
 * blocks' times exactly as the contract charges them, and a clock that ran out while it was away
 * is timed out at once. */
static void test_replay(void) {
    uint64_t start = (uint64_t)time(NULL) + AHEAD, wake = 0;
    game_view g = {.lo = 0, .hi = 10, .phase = 1, .turn = GAME_TURN_DISSECT, .k = 2, .last_move = start,
                   .submitter_time = 60, .challenger_time = 60};
    chain_time c = {0, 0};
    chain_time_saw(&c, start, 0);
    game_charge(&g, GAME_SUBMITTER, start + 20); /* Dissected at start + 20 */
    chain_time_saw(&c, start + 20, 1);
    g.turn = GAME_TURN_SELECT;
    CHECK_EQ_INT(g.submitter_time, 40);
    CHECK_EQ_INT(g.last_move, start + 20);
    game_charge(&g, GAME_CHALLENGER, start + 25); /* Selected at start + 25 */
    chain_time_saw(&c, start + 25, 2);
    g.turn = GAME_TURN_DISSECT;
    CHECK_EQ_INT(g.challenger_time, 55);
    CHECK_EQ_INT(g.submitter_time, 40);
    /* replayed in a few local milliseconds, the game looks young; the newest block says otherwise */
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, chain_time_now(&c, 3, 0), NULL, &wake), GAME_ACT_WAIT);
    chain_time_saw(&c, start + 300, 3);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, chain_time_now(&c, 3, 0), NULL, &wake), GAME_ACT_TIMEOUT);
    /* a clock used beyond its budget stops at 0, and a move stamped before the last charges nothing */
    game_charge(&g, GAME_SUBMITTER, start + 500);
    CHECK_EQ_INT(g.submitter_time, 0);
    game_charge(&g, GAME_CHALLENGER, start + 400);
    CHECK_EQ_INT(g.challenger_time, 55);
}

int main(void) {
    test_estimate();
    test_timeout_follows_chain();
    test_replay();
    return check_summary("test_chaintime");
}
