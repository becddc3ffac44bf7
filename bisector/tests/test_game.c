/* test_game.c: the game's rules (game.h) played out in memory. The contract's arithmetic is
 * restated here independently (lo + len * part / m, as DisputeGame.select computes it), and whole
 * games are played between a liar and an honest challenger, and between an honest submitter and a
 * dishonest challenger, for every lied step of graphs of 1..40 steps and VM runs of 2^40 steps, at
 * several arities: the game must always end at the first lied step, or end with the submitter's
 * claim right. Then the decision procedure: turns, clocks, the write-ahead move, the resolve of a
 * decided game; and the contract's transitions as the events report them. */
#include "check.h"
#include "game.h"
#include "keccak.h"

#include <string.h>

/* honest hash of step s, and the liar's from step `lie` on */
static void honest_at(uint64_t s, uint8_t out[32]) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(s >> (8 * i));
    keccak256(b, 8, out);
}
static void liar_at(uint64_t s, uint64_t lie, uint8_t out[32]) {
    honest_at(s, out);
    if (s >= lie) out[0] ^= 0xFF;
}

/* Plays a game over [0, n]: the submitter posts liar_at(.., lie) (lie > n: honest), the challenger
 * selects with game_select on its view (honest when cheat == 0; when cheat, it selects the last
 * part it can whatever it agrees with). Returns the step s of the final range [s - 1, s], or 0 if
 * the challenger had nothing to dispute. *rounds counts dissections. */
static uint64_t play(uint64_t n, unsigned k, uint64_t lie, int cheat, unsigned *rounds) {
    uint64_t lo = 0, hi = n;
    uint8_t start[32], end[32];
    honest_at(0, start);
    liar_at(n, lie, end);
    *rounds = 0;
    while (hi - lo > 1) {
        uint64_t pts[65];
        int m = game_dissect_points(lo, hi, k, pts, 65);
        CHECK(m >= 2);
        if (m < 2) return 0;
        uint8_t claimed[65][32], honest[65][32];
        for (int j = 0; j <= m; j++) {
            if (j == 0) memcpy(claimed[j], start, 32);
            else if (j == m) memcpy(claimed[j], end, 32);
            else liar_at(pts[j], lie, claimed[j]);
            honest_at(pts[j], honest[j]);
        }
        unsigned part;
        if (cheat) {
            part = (unsigned)m - 1;
        } else {
            int rc = game_select(claimed, honest, (unsigned)m, &part);
            if (rc == GAME_E_NO_DISPUTE) return 0;
            CHECK_EQ_INT(rc, 0);
            if (rc != 0) return 0;
        }
        uint64_t nlo, nhi;
        game_selected_range(lo, hi, (unsigned)m, part, &nlo, &nhi);
        /* the contract's own formula */
        CHECK_EQ_INT(nlo, lo + (uint64_t)(((unsigned __int128)(hi - lo) * part) / (unsigned)m));
        CHECK_EQ_INT(nhi, lo + (uint64_t)(((unsigned __int128)(hi - lo) * (part + 1)) / (unsigned)m));
        CHECK(nlo < nhi);
        if (part > 0) memcpy(start, claimed[part], 32);
        if (part < (unsigned)m - 1) memcpy(end, claimed[part + 1], 32);
        lo = nlo;
        hi = nhi;
        (*rounds)++;
    }
    CHECK_EQ_INT(hi, lo + 1);
    return hi;
}

static void test_points(void) {
    uint64_t p[70];
    CHECK_EQ_INT(game_parts(0, 10, 4), 4);
    CHECK_EQ_INT(game_parts(3, 5, 4), 2);
    CHECK_EQ_INT(game_parts(5, 5, 4), 0);
    CHECK_EQ_INT(game_parts(6, 5, 4), 0);
    CHECK_EQ_INT(game_parts(0, 10, 1), 0);
    CHECK_EQ_INT(game_dissect_points(0, 10, 4, p, 70), 4);
    CHECK(p[0] == 0 && p[1] == 2 && p[2] == 5 && p[3] == 7 && p[4] == 10);
    CHECK_EQ_INT(game_dissect_points(0, 10, 4, p, 4), -1); /* no room for 5 points */
    CHECK_EQ_INT(game_dissect_points(7, 7, 4, p, 70), -1);
    /* a huge range does not overflow: 2^62 steps, k = 65535 */
    uint64_t hi = 1ull << 62;
    CHECK_EQ_INT(game_point(0, hi, 65535, 65534), (uint64_t)(((unsigned __int128)hi * 65534) / 65535));
    CHECK_EQ_INT(game_point(0, hi, 65535, 65535), hi);
    /* parts hash is keccak of the concatenation */
    uint8_t r[3][32], h1[32], h2[32];
    for (int i = 0; i < 3; i++) honest_at((uint64_t)i, r[i]);
    game_parts_hash(r, 3, h1);
    keccak256(r, sizeof r, h2);
    CHECK_MEM(h1, h2, 32);
}

static void test_select(void) {
    uint8_t c[4][32], h[4][32];
    for (int i = 0; i < 4; i++) {
        honest_at((uint64_t)i, h[i]);
        memcpy(c[i], h[i], 32);
    }
    unsigned part = 99;
    CHECK_EQ_INT(game_select(c, h, 3, &part), GAME_E_NO_DISPUTE);
    c[3][5] ^= 1;
    CHECK_EQ_INT(game_select(c, h, 3, &part), 0);
    CHECK_EQ_INT(part, 2);
    c[2][0] ^= 1;
    CHECK_EQ_INT(game_select(c, h, 3, &part), 0);
    CHECK_EQ_INT(part, 1);
    c[0][0] ^= 1;
    CHECK_EQ_INT(game_select(c, h, 3, &part), GAME_E_START);
    CHECK_EQ_INT(game_select(c, h, 0, &part), GAME_E_ARG);
}

static void test_games(void) {
    static const unsigned ks[] = {2, 3, 4, 7, 16};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        unsigned k = ks[ki];
        for (uint64_t n = 2; n <= 40; n++) {
            for (uint64_t lie = 1; lie <= n; lie++) {
                unsigned rounds;
                CHECK_EQ_INT(play(n, k, lie, 0, &rounds), lie);
                /* rounds bounded by ceil(log_k(n)) + 1 */
                uint64_t cover = 1;
                unsigned bound = 0;
                while (cover < n) cover *= k, bound++;
                CHECK(rounds <= bound + 1);
            }
            unsigned rounds;
            CHECK_EQ_INT(play(n, k, n + 1, 0, &rounds), 0); /* honest submitter: nothing to dispute */
            /* A dishonest challenger against an honest submitter reaches a step whose end the
             * submitter claims honestly: the one-step proof then agrees with the submitter. */
            uint64_t s = play(n, k, n + 1, 1, &rounds);
            uint8_t claimed[32], honest[32];
            liar_at(s, n + 1, claimed);
            honest_at(s, honest);
            CHECK_MEM(claimed, honest, 32);
        }
        /* phase 2: a VM run of 2^40 steps, lies at the first, a middle and the last step */
        uint64_t T = 1ull << 40;
        uint64_t lies[] = {1, 123456789, T / 2 + 1, T - 1, T};
        for (size_t i = 0; i < 5; i++) {
            unsigned rounds;
            CHECK_EQ_INT(play(T, k, lies[i], 0, &rounds), lies[i]);
        }
    }
}

static game_view view(game_turn t, uint64_t last, uint64_t st, uint64_t ct) {
    game_view g;
    memset(&g, 0, sizeof g);
    g.lo = 0;
    g.hi = 10;
    g.phase = 1;
    g.turn = t;
    g.k = 2;
    g.last_move = last;
    g.submitter_time = st;
    g.challenger_time = ct;
    return g;
}

static void test_next(void) {
    uint64_t wake = 0;
    game_view g = view(GAME_TURN_DISSECT, 1000, 60, 60);
    /* our move */
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1010, NULL, &wake), GAME_ACT_DISSECT);
    CHECK_EQ_INT(wake, 1060);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1060, NULL, &wake), GAME_ACT_DISSECT); /* used == left: still ok */
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1061, NULL, &wake), GAME_ACT_LOST);
    /* their move: wait until their clock runs out, then time them out */
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1010, NULL, &wake), GAME_ACT_WAIT);
    CHECK_EQ_INT(wake, 1061);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1060, NULL, &wake), GAME_ACT_WAIT);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1061, NULL, &wake), GAME_ACT_TIMEOUT);
    /* clocks per side */
    g = view(GAME_TURN_SELECT, 1000, 60, 5);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1003, NULL, &wake), GAME_ACT_SELECT);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1006, NULL, &wake), GAME_ACT_TIMEOUT);
    game_role mover;
    CHECK_EQ_INT(game_clock_left(&g, 1003, &mover), 2);
    CHECK_EQ_INT(mover, GAME_CHALLENGER);
    CHECK_EQ_INT(game_clock_left(&g, 900, &mover), 5); /* a clock behind the chain's is not negative */
    g = view(GAME_TURN_OPEN, 1000, 60, 60);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1000, NULL, &wake), GAME_ACT_OPEN);
    g = view(GAME_TURN_BIND, 1000, 60, 60); /* the binding and the token step's opening: the submitter's */
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1000, NULL, &wake), GAME_ACT_BIND);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1061, NULL, &wake), GAME_ACT_TIMEOUT);
    g = view(GAME_TURN_OPEN_STEP, 1000, 60, 60);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1000, NULL, &wake), GAME_ACT_OPEN_STEP);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1000, NULL, &wake), GAME_ACT_WAIT);
    g = view(GAME_TURN_STEP, 1000, 60, 60);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1000, NULL, &wake), GAME_ACT_STEP);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1000, NULL, &wake), GAME_ACT_WAIT);
    g = view(GAME_TURN_DONE, 1000, 60, 60);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 5000, NULL, &wake), GAME_ACT_NONE);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 5000, NULL, &wake), GAME_ACT_NONE);
    g = view(GAME_TURN_NONE, 1000, 60, 60);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 5000, NULL, &wake), GAME_ACT_NONE);

    /* write-ahead: a move sent at this position is not sent again; intended or failed ones are */
    g = view(GAME_TURN_DISSECT, 1000, 60, 60);
    game_move m;
    game_move_for(&g, GAME_ACT_DISSECT, &m);
    CHECK_EQ_INT(m.state, GAME_MOVE_INTENDED);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1001, &m, &wake), GAME_ACT_DISSECT);
    m.state = GAME_MOVE_SENT;
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1001, &m, &wake), GAME_ACT_WAIT);
    m.state = GAME_MOVE_MINED; /* mined but the chain view is older: wait for it */
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1001, &m, &wake), GAME_ACT_WAIT);
    m.state = GAME_MOVE_FAILED;
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1001, &m, &wake), GAME_ACT_DISSECT);
    /* a move at another position does not count */
    m.state = GAME_MOVE_SENT;
    g.lo = 5;
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1001, &m, &wake), GAME_ACT_DISSECT);
    g.lo = 0;
    g.phase = 2;
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1001, &m, &wake), GAME_ACT_DISSECT);
    /* a timeout in flight */
    g = view(GAME_TURN_SELECT, 1000, 60, 5);
    game_move_for(&g, GAME_ACT_TIMEOUT, &m);
    m.state = GAME_MOVE_SENT;
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1010, &m, &wake), GAME_ACT_WAIT);
    m.state = GAME_MOVE_FAILED;
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1010, &m, &wake), GAME_ACT_TIMEOUT);

    CHECK(!strcmp(game_action_name(GAME_ACT_SELECT), "select"));
    CHECK(!strcmp(game_turn_name(GAME_TURN_OPEN), "open"));
    CHECK(!strcmp(game_action_name(GAME_ACT_BIND), "bind") && !strcmp(game_turn_name(GAME_TURN_OPEN_STEP), "open-step"));
}

/* A game whose submission another game rejected: the challenger abandons it (once), the submitter
 * stops; a finished game needs nothing. */
static void test_dead(void) {
    game_view g = view(GAME_TURN_SELECT, 1000, 60, 60);
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, NULL), GAME_ACT_ABANDON);
    CHECK_EQ_INT(game_next_dead(&g, GAME_SUBMITTER, NULL), GAME_ACT_NONE);
    g.turn = GAME_TURN_DISSECT; /* the submitter's turn: still the challenger's abandon */
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, NULL), GAME_ACT_ABANDON);
    game_move m;
    game_move_for(&g, GAME_ACT_ABANDON, &m);
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, &m), GAME_ACT_ABANDON); /* INTENDED: send (again) */
    m.state = GAME_MOVE_SENT;
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, &m), GAME_ACT_WAIT);
    m.state = GAME_MOVE_MINED;
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, &m), GAME_ACT_WAIT);
    m.state = GAME_MOVE_FAILED;
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, &m), GAME_ACT_ABANDON);
    game_move_for(&g, GAME_ACT_SELECT, &m); /* another move in flight is no abandon */
    m.state = GAME_MOVE_SENT;
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, &m), GAME_ACT_ABANDON);
    g.turn = GAME_TURN_DONE;
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, NULL), GAME_ACT_NONE);
    g.turn = GAME_TURN_NONE;
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, NULL), GAME_ACT_NONE);
    CHECK(!strcmp(game_action_name(GAME_ACT_ABANDON), "abandon"));
}

/* A decided game (turn resolve): no clock runs; the side it was decided for sends resolve, once,
 * written ahead like a move; the loser sends nothing; anyone's resolve (GameResolved) ends it. */
static void test_resolve(void) {
    uint8_t s0[32], sn[32], a[32], b[32];
    memset(s0, 1, 32), memset(sn, 2, 32), memset(a, 3, 32), memset(b, 4, 32);
    game_view g;
    uint64_t wake;
    /* after the one-step proof: the challenger's clock charged, the challenger won */
    game_started(&g, 2, 1024, 4, 60, s0, 1000);
    game_end_bound(&g, sn, 1001);
    game_dissected(&g, 1002);
    game_selected(&g, 511, 512, a, b, 1003);
    game_move step;
    game_move_for(&g, GAME_ACT_STEP, &step);
    step.state = GAME_MOVE_MINED; /* the record a restart finds between the decision and resolve */
    game_stepped(&g, 1, 1010);
    CHECK(g.turn == GAME_TURN_RESOLVE && g.challenger_won == 1 && g.challenger_time == 52 && g.last_move == 1010);
    game_role mover;
    CHECK_EQ_INT(game_clock_left(&g, 1011, &mover), 0);
    CHECK_EQ_INT(mover, 0); /* nobody's clock */
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1011, &step, &wake), GAME_ACT_RESOLVE);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 99999, NULL, &wake), GAME_ACT_RESOLVE); /* never lost, never late */
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1011, NULL, &wake), GAME_ACT_NONE);  /* the loser does not send it */
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 99999, NULL, &wake), GAME_ACT_NONE); /* nor times anyone out */
    /* the write-ahead resolve: sent or mined, waited for; intended (a restart) or failed, sent again */
    game_move m;
    game_move_for(&g, GAME_ACT_RESOLVE, &m);
    CHECK(m.turn == GAME_TURN_RESOLVE && m.lo == 511 && m.hi == 512 && m.phase == 2);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1011, &m, &wake), GAME_ACT_RESOLVE);
    m.state = GAME_MOVE_SENT;
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1011, &m, &wake), GAME_ACT_WAIT);
    CHECK_EQ_INT(wake, 1012);
    m.state = GAME_MOVE_MINED;
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1011, &m, &wake), GAME_ACT_WAIT);
    m.state = GAME_MOVE_FAILED;
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1011, &m, &wake), GAME_ACT_RESOLVE);
    /* the submission rejected by another game meanwhile: the challenger abandons instead */
    CHECK_EQ_INT(game_next_dead(&g, GAME_CHALLENGER, NULL), GAME_ACT_ABANDON);
    CHECK_EQ_INT(game_next_dead(&g, GAME_SUBMITTER, NULL), GAME_ACT_NONE);
    /* resolved by a third party (GameResolved): over for both */
    game_ended(&g);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1012, &m, &wake), GAME_ACT_NONE);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1012, NULL, &wake), GAME_ACT_NONE);
    /* a one-step proof that confirms the claimed end: the submitter's to resolve */
    game_started(&g, 2, 2, 4, 60, s0, 1000);
    game_end_bound(&g, sn, 1001);
    game_dissected(&g, 1002);
    game_selected(&g, 0, 1, s0, a, 1003);
    game_stepped(&g, 0, 1004);
    CHECK(g.turn == GAME_TURN_RESOLVE && g.challenger_won == 0);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1005, NULL, &wake), GAME_ACT_RESOLVE);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1005, NULL, &wake), GAME_ACT_NONE);
    /* after a timeout: the side that was to move lost, nothing is charged */
    game_started(&g, 1, 9, 4, 60, s0, 1000);
    game_end_bound(&g, sn, 1001);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1062, NULL, &wake), GAME_ACT_TIMEOUT);
    game_timed_out(&g, 1); /* the submitter (to dissect) ran out */
    CHECK(g.turn == GAME_TURN_RESOLVE && g.challenger_won == 1 && g.submitter_time == 59 && g.last_move == 1001);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1063, NULL, &wake), GAME_ACT_RESOLVE);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1063, NULL, &wake), GAME_ACT_NONE);
    game_dissected(&g, 1002);
    game_timed_out(&g, 0); /* the challenger (to select) ran out */
    CHECK(g.turn == GAME_TURN_RESOLVE && g.challenger_won == 0);
    CHECK_EQ_INT(game_next(&g, GAME_SUBMITTER, 1063, NULL, &wake), GAME_ACT_RESOLVE);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1063, NULL, &wake), GAME_ACT_NONE);
    CHECK(!strcmp(game_action_name(GAME_ACT_RESOLVE), "resolve") && !strcmp(game_turn_name(GAME_TURN_RESOLVE), "resolve"));
}

/* The contract's transitions (DisputeGame.sol: challenge, dissect, select, openNode, and the end),
 * as the fold applies them from the events: the turn each sets, the clock each charges. */
static void test_transitions(void) {
    /* the turn at a range: dissect while longer than one step; at one step, open or step */
    CHECK_EQ_INT(game_turn_at(1, 0, 9), GAME_TURN_DISSECT);
    CHECK_EQ_INT(game_turn_at(1, 4, 6), GAME_TURN_DISSECT);
    CHECK_EQ_INT(game_turn_at(1, 4, 5), GAME_TURN_OPEN);
    CHECK_EQ_INT(game_turn_at(2, 999, 1000), GAME_TURN_STEP);
    CHECK_EQ_INT(game_turn_at(2, 0, 1ull << 40), GAME_TURN_DISSECT);
    CHECK_EQ_INT(game_turn_at(1, 0, 1), GAME_TURN_OPEN); /* a one-node graph: opened after the binding */
    CHECK_EQ_INT(game_turn_at(0, 7, 8), GAME_TURN_OPEN_STEP); /* one token step */
    CHECK_EQ_INT(game_turn_at(0, 0, 80), GAME_TURN_DISSECT);
    uint8_t s0[32], sn[32], a[32], b[32], zero[32] = {0};
    memset(s0, 1, 32), memset(sn, 2, 32), memset(a, 3, 32), memset(b, 4, 32);
    game_view g;
    memset(&g, 0xEE, sizeof g);
    game_started(&g, 1, 9, 4, 60, s0, 1000);
    CHECK(g.phase == 1 && g.lo == 0 && g.hi == 9 && g.k == 4 && g.turn == GAME_TURN_BIND && g.node == 0);
    CHECK(g.last_move == 1000 && g.submitter_time == 60 && g.challenger_time == 60);
    CHECK(!memcmp(g.start_hash, s0, 32) && !memcmp(g.end_hash, zero, 32));
    game_end_bound(&g, sn, 1002); /* the submitter's first move: its clock */
    CHECK(g.turn == GAME_TURN_DISSECT && g.submitter_time == 58 && !memcmp(g.end_hash, sn, 32));
    game_dissected(&g, 1007); /* the submitter's move: its clock */
    CHECK(g.turn == GAME_TURN_SELECT && g.submitter_time == 53 && g.challenger_time == 60 && g.last_move == 1007);
    game_selected(&g, 4, 6, a, b, 1010); /* the challenger's */
    CHECK(g.turn == GAME_TURN_DISSECT && g.lo == 4 && g.hi == 6 && g.challenger_time == 57 && g.submitter_time == 53);
    CHECK(!memcmp(g.start_hash, a, 32) && !memcmp(g.end_hash, b, 32));
    game_dissected(&g, 1010);
    game_selected(&g, 5, 6, b, a, 1100); /* 90 s: more than the challenger had, charged down to 0 */
    CHECK(g.turn == GAME_TURN_OPEN && g.challenger_time == 0);
    game_node_opened(&g, 5, 1024, s0, sn, 1101);
    CHECK(g.phase == 2 && g.node == 5 && g.lo == 0 && g.hi == 1024 && g.turn == GAME_TURN_DISSECT && g.submitter_time == 52);
    CHECK(!memcmp(g.start_hash, s0, 32) && !memcmp(g.end_hash, sn, 32));
    game_dissected(&g, 1102);
    game_selected(&g, 511, 512, a, b, 1103);
    CHECK_EQ_INT(g.turn, GAME_TURN_STEP);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1104, NULL, NULL), GAME_ACT_LOST); /* its clock is spent */
    game_ended(&g);
    CHECK_EQ_INT(g.turn, GAME_TURN_DONE);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1103, NULL, NULL), GAME_ACT_NONE);
    /* a generation game: the token phase over [0, T], one token step opened into phase 1 */
    game_started(&g, 0, 80, 4, 60, s0, 2000);
    CHECK(g.phase == 0 && g.hi == 80 && g.turn == GAME_TURN_BIND);
    game_end_bound(&g, sn, 2001);
    CHECK_EQ_INT(g.turn, GAME_TURN_DISSECT);
    game_dissected(&g, 2002);
    game_selected(&g, 40, 41, a, b, 2003);
    CHECK_EQ_INT(g.turn, GAME_TURN_OPEN_STEP);
    game_step_opened(&g, 61, s0, sn, 2010);
    CHECK(g.phase == 1 && g.lo == 0 && g.hi == 61 && g.turn == GAME_TURN_DISSECT && g.submitter_time == 51);
    CHECK(!memcmp(g.start_hash, s0, 32) && !memcmp(g.end_hash, sn, 32));
    game_step_opened(&g, 1, s0, sn, 2010); /* a one-node step graph: its node is opened next */
    CHECK_EQ_INT(g.turn, GAME_TURN_OPEN);
}

int main(void) {
    test_transitions();
    test_points();
    test_select();
    test_games();
    test_next();
    test_dead();
    test_resolve();
    return check_summary("test_game");
}
