/* test_record.c: the game record (record.h) survives a round trip bit for bit, and a stored
 * record that is cut, extended, of another version or damaged in any single byte is refused with a
 * reason. Also: resuming from the record after a crash at each point of a move (before the write,
 * after INTENDED, after SENT, after MINED) leads game_next to the right action. */
#include "check.h"
#include "record.h"

#include <string.h>

static game_record sample(void) {
    game_record r;
    memset(&r, 0, sizeof r);
    r.game_id = 0x0102030405060708ull;
    r.task_id = 42;
    r.sub_id = 3;
    r.role = GAME_SUBMITTER;
    r.model_id_set = 1;
    r.model_id = 7;
    for (int i = 0; i < 32; i++) {
        r.model_root[i] = (uint8_t)i;
        r.input_state[i] = (uint8_t)(100 + i);
        r.desc_root[i] = (uint8_t)(200 + i);
    }
    for (int j = 0; j < 12; j++)
        for (int i = 0; i < 32; i++) r.operand_roots[j][i] = (uint8_t)(j * 13 + i);
    r.node = 11;
    r.vm_run_set = 1;
    r.lie.active = 1;
    r.lie.node = 11;
    r.lie.output_bytes = 0;
    r.lie.in_vm = 1;
    r.lie.vm_step = 123456789;
    r.pending.action = GAME_ACT_DISSECT;
    r.pending.phase = 2;
    r.pending.turn = GAME_TURN_DISSECT;
    r.pending.lo = 1ull << 40;
    r.pending.hi = (1ull << 40) + 4096;
    r.pending.state = GAME_MOVE_SENT;
    r.pending.sent_at = 1700000000;
    memset(r.pending.tx_id, 0xAB, 32);
    r.last_seq = 991;
    r.finished = 0;
    r.won = 0;
    return r;
}

static void test_roundtrip(void) {
    game_record r = sample(), back;
    uint8_t buf[GAME_RECORD_BYTES], buf2[GAME_RECORD_BYTES];
    char err[128];
    game_record_encode(&r, buf);
    CHECK_EQ_INT(game_record_decode(buf, sizeof buf, &back, err, sizeof err), 0);
    game_record_encode(&back, buf2);
    CHECK_MEM(buf, buf2, sizeof buf);
    CHECK(back.game_id == r.game_id && back.task_id == 42 && back.sub_id == 3 && back.role == GAME_SUBMITTER);
    CHECK(back.model_id == 7 && back.node == 11 && back.lie.vm_step == 123456789 && back.lie.in_vm == 1);
    CHECK(back.pending.lo == (1ull << 40) && back.pending.state == GAME_MOVE_SENT && back.last_seq == 991);
    CHECK_MEM(back.operand_roots, r.operand_roots, sizeof r.operand_roots);
    CHECK_MEM(back.pending.tx_id, r.pending.tx_id, 32);

    /* every single-byte damage is caught */
    for (size_t i = 0; i < sizeof buf; i++) {
        memcpy(buf2, buf, sizeof buf);
        buf2[i] ^= 0x10;
        err[0] = 0;
        CHECK_EQ_INT(game_record_decode(buf2, sizeof buf2, &back, err, sizeof err), -1);
        CHECK(strstr(err, "game record") != NULL);
    }
    CHECK_EQ_INT(game_record_decode(buf, sizeof buf - 1, &back, err, sizeof err), -1);
    CHECK_EQ_INT(game_record_decode(NULL, 0, &back, err, sizeof err), -1);
    uint8_t longer[GAME_RECORD_BYTES + 1];
    memcpy(longer, buf, sizeof buf);
    longer[GAME_RECORD_BYTES] = 0;
    CHECK_EQ_INT(game_record_decode(longer, sizeof longer, &back, err, sizeof err), -1);

    /* a well-formed checksum over a bad enum is still refused */
    r.role = (game_role)9;
    game_record_encode(&r, buf);
    CHECK_EQ_INT(game_record_decode(buf, sizeof buf, &back, err, sizeof err), -1);
    CHECK(strstr(err, "role") != NULL);
    r = sample();
    r.pending.state = (game_move_state)7;
    game_record_encode(&r, buf);
    CHECK_EQ_INT(game_record_decode(buf, sizeof buf, &back, err, sizeof err), -1);
}

static void test_key(void) {
    uint8_t addr[20];
    for (int i = 0; i < 20; i++) addr[i] = (uint8_t)(0xA0 + i);
    char key[128];
    int n = game_record_key(addr, 0x2a, key, sizeof key);
    CHECK(n > 0);
    CHECK(!strcmp(key, "bisector/0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3/game/000000000000002a"));
    CHECK_EQ_INT(game_record_key(addr, 1, key, 20), -1);
}

/* A crash at each point of a move, then a restart that reads the record and the chain again. */
static void test_resume(void) {
    game_view g;
    memset(&g, 0, sizeof g);
    g.lo = 0;
    g.hi = 64;
    g.phase = 1;
    g.turn = GAME_TURN_SELECT;
    g.k = 4;
    g.last_move = 1000;
    g.submitter_time = g.challenger_time = 300;
    game_record r = sample();
    r.role = GAME_CHALLENGER;
    uint8_t buf[GAME_RECORD_BYTES];
    char err[128];
    game_record back;
    /* crashed before anything was written: the old pending move is for another position */
    r.pending.state = GAME_MOVE_MINED;
    game_record_encode(&r, buf);
    game_record_decode(buf, sizeof buf, &back, err, sizeof err);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1010, &back.pending, NULL), GAME_ACT_SELECT);
    /* crashed after INTENDED was written: send (again, harmlessly if it went out) */
    game_move_for(&g, GAME_ACT_SELECT, &r.pending);
    game_record_encode(&r, buf);
    game_record_decode(buf, sizeof buf, &back, err, sizeof err);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1010, &back.pending, NULL), GAME_ACT_SELECT);
    /* crashed after SENT: wait for the receipt, do not send twice */
    r.pending.state = GAME_MOVE_SENT;
    game_record_encode(&r, buf);
    game_record_decode(buf, sizeof buf, &back, err, sizeof err);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1010, &back.pending, NULL), GAME_ACT_WAIT);
    /* the chain moved on (the select landed; now the submitter dissects [16, 32]) */
    g.turn = GAME_TURN_DISSECT;
    g.lo = 16;
    g.hi = 32;
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1010, &back.pending, NULL), GAME_ACT_WAIT);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1400, &back.pending, NULL), GAME_ACT_TIMEOUT);
    /* decided for us (the challenger) while we were down: the resolve is decided and sent once */
    game_timed_out(&g, 1);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1400, &back.pending, NULL), GAME_ACT_RESOLVE);
    game_move_for(&g, GAME_ACT_RESOLVE, &r.pending);
    r.pending.state = GAME_MOVE_SENT;
    game_record_encode(&r, buf);
    CHECK_EQ_INT(game_record_decode(buf, sizeof buf, &back, err, sizeof err), 0);
    CHECK(back.pending.action == GAME_ACT_RESOLVE && back.pending.turn == GAME_TURN_RESOLVE);
    CHECK_EQ_INT(game_next(&g, GAME_CHALLENGER, 1401, &back.pending, NULL), GAME_ACT_WAIT);
    /* an action or a turn past the last is refused */
    r.pending.action = (game_action)(GAME_ACT_RESOLVE + 1);
    game_record_encode(&r, buf);
    CHECK_EQ_INT(game_record_decode(buf, sizeof buf, &back, err, sizeof err), -1);
    CHECK(strstr(err, "bad pending action") != NULL);
    r.pending.action = GAME_ACT_RESOLVE;
    r.pending.turn = (game_turn)(GAME_TURN_RESOLVE + 1);
    game_record_encode(&r, buf);
    CHECK_EQ_INT(game_record_decode(buf, sizeof buf, &back, err, sizeof err), -1);
    CHECK(strstr(err, "bad pending turn") != NULL);
}

int main(void) {
    CHECK_EQ_INT(sizeof(((game_record *)0)->operand_roots), 384);
    test_roundtrip();
    test_key();
    test_resume();
    return check_summary("test_record");
}
