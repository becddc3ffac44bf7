/* test_payout.c: our credits and their withdrawal (payout.h) and the withdrawal's stored record
 * (record.h). The decision: nothing owed sends nothing; a credit is withdrawn once; a withdrawal on
 * its way is not sent again, one refused or failed is after PAYOUT_RETRY_S; a credit after a
 * withdrawal is withdrawn again. The record survives a round trip and any damage is refused. A
 * crash at each point of a withdrawal, then a restart that replays the chain's whole history from
 * the record, sends nothing the chain already shows withdrawn or on its way. */
#include "check.h"
#include "payout.h"
#include "record.h"

#include <string.h>

static void test_next(void) {
    payout p;
    memset(&p, 0, sizeof p);
    uint8_t id[32], other[32];
    memset(id, 0x11, 32);
    memset(other, 0x22, 32);
    CHECK_EQ_INT(payout_next(&p, 100), PAYOUT_IDLE);
    payout_credited(&p);
    CHECK_EQ_INT(payout_next(&p, 100), PAYOUT_SEND);
    payout_decide(&p, 7, 100);
    CHECK_EQ_INT(p.state, GAME_MOVE_INTENDED);
    CHECK_EQ_INT(payout_next(&p, 100), PAYOUT_SEND); /* INTENDED may not have gone out */
    p.state = GAME_MOVE_SENT;
    memcpy(p.tx_id, id, 32);
    CHECK_EQ_INT(payout_next(&p, 100), PAYOUT_WAIT);
    CHECK_EQ_INT(payout_next(&p, 100000), PAYOUT_WAIT); /* a SENT one waits for its receipt, however long */
    CHECK_EQ_INT(payout_receipt(&p, other, 1), 0);       /* another transaction's receipt */
    CHECK_EQ_INT(p.state, GAME_MOVE_SENT);
    CHECK_EQ_INT(payout_receipt(&p, id, 1), 1);
    CHECK_EQ_INT(p.state, GAME_MOVE_MINED);
    CHECK_EQ_INT(payout_receipt(&p, id, 0), 0); /* only a SENT one takes a receipt */
    CHECK_EQ_INT(payout_next(&p, 101), PAYOUT_WAIT); /* mined: its Withdrawn will come */
    payout_withdrawn(&p, 7);                         /* a Withdrawn from before the decision */
    CHECK_EQ_INT(p.state, GAME_MOVE_MINED);
    CHECK_EQ_INT(payout_next(&p, 101), PAYOUT_IDLE);
    payout_credited(&p);
    CHECK_EQ_INT(payout_next(&p, 101), PAYOUT_WAIT);
    payout_withdrawn(&p, 9); /* ours, after the decision: over */
    CHECK_EQ_INT(p.state, GAME_MOVE_NONE);
    CHECK_EQ_INT(payout_next(&p, 102), PAYOUT_IDLE);
    /* a credit after the withdrawal: withdrawn again */
    payout_credited(&p);
    CHECK_EQ_INT(payout_next(&p, 102), PAYOUT_SEND);
    /* refused or failed: again after PAYOUT_RETRY_S, not at every tick */
    payout_decide(&p, 12, 200);
    p.state = GAME_MOVE_SENT;
    memcpy(p.tx_id, id, 32);
    CHECK_EQ_INT(payout_receipt(&p, id, 0), 1);
    CHECK_EQ_INT(p.state, GAME_MOVE_FAILED);
    CHECK_EQ_INT(payout_next(&p, 200 + PAYOUT_RETRY_S - 1), PAYOUT_WAIT);
    CHECK_EQ_INT(payout_next(&p, 200 + PAYOUT_RETRY_S), PAYOUT_SEND);
    /* a failed one with nothing owed any more (withdrawn by hand): nothing */
    payout_withdrawn(&p, 13);
    CHECK_EQ_INT(payout_next(&p, 1000), PAYOUT_IDLE);
}

static payout sample(void) {
    payout p;
    memset(&p, 0, sizeof p);
    p.state = GAME_MOVE_SENT;
    p.seq = 0x0102030405060708ull;
    p.sent_at = 1700000000;
    for (int i = 0; i < 32; i++) p.tx_id[i] = (uint8_t)(0xC0 + i);
    return p;
}

static void test_record(void) {
    payout p = sample(), back;
    uint8_t buf[PAYOUT_RECORD_BYTES], buf2[PAYOUT_RECORD_BYTES + 1];
    char err[128];
    payout_record_encode(&p, buf);
    memset(&back, 0, sizeof back);
    back.owed = 1;
    CHECK_EQ_INT(payout_record_decode(buf, sizeof buf, &back, err, sizeof err), 0);
    CHECK(back.state == GAME_MOVE_SENT && back.seq == p.seq && back.sent_at == p.sent_at);
    CHECK_MEM(back.tx_id, p.tx_id, 32);
    CHECK_EQ_INT(back.owed, 1); /* not stored: the events say it */
    for (size_t i = 0; i < sizeof buf; i++) {
        memcpy(buf2, buf, sizeof buf);
        buf2[i] ^= 0x04;
        err[0] = 0;
        back = sample();
        back.seq = 5;
        CHECK_EQ_INT(payout_record_decode(buf2, sizeof buf, &back, err, sizeof err), -1);
        CHECK(strstr(err, "withdrawal record") != NULL);
        CHECK_EQ_INT(back.seq, 5); /* refused: unchanged */
    }
    CHECK_EQ_INT(payout_record_decode(buf, sizeof buf - 1, &back, err, sizeof err), -1);
    CHECK(strstr(err, "size") != NULL);
    memcpy(buf2, buf, sizeof buf);
    buf2[PAYOUT_RECORD_BYTES] = 0;
    CHECK_EQ_INT(payout_record_decode(buf2, sizeof buf2, &back, err, sizeof err), -1);
    CHECK_EQ_INT(payout_record_decode(NULL, 0, &back, err, sizeof err), -1);
    /* a well-formed checksum over a bad state or version is still refused */
    p.state = (game_move_state)5;
    payout_record_encode(&p, buf);
    CHECK_EQ_INT(payout_record_decode(buf, sizeof buf, &back, err, sizeof err), -1);
    CHECK(strstr(err, "state") != NULL);

    uint8_t me[20], k[20];
    for (int i = 0; i < 20; i++) me[i] = (uint8_t)(0xA0 + i), k[i] = (uint8_t)i;
    char key[128];
    CHECK(payout_record_key(me, k, key, sizeof key) > 0);
    CHECK(!strcmp(key, "bisector/0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3/withdraw/0x000102030405060708090a0b0c0d0e0f10111213"));
    CHECK_EQ_INT(payout_record_key(me, k, key, 40), -1);
}

/* The chain's history as the bisector replays it: credits and our Withdrawn events, by seq. */
typedef struct ev {
    uint64_t seq;
    int withdrawn; /* 0: a credit to us, 1: our Withdrawn */
} ev;

/* A restart: the stored record (or none), then the history up to `upto`; what is decided then. */
static payout_action restart(const uint8_t *stored, const ev *h, size_t n, uint64_t upto, uint64_t now) {
    payout p;
    char err[128];
    memset(&p, 0, sizeof p);
    if (stored) CHECK_EQ_INT(payout_record_decode(stored, PAYOUT_RECORD_BYTES, &p, err, sizeof err), 0);
    for (size_t i = 0; i < n && h[i].seq <= upto; i++) {
        if (h[i].withdrawn) payout_withdrawn(&p, h[i].seq);
        else payout_credited(&p);
    }
    return payout_next(&p, now);
}

static void test_resume(void) {
    /* credit 10, withdrawn 20 (an earlier withdrawal), credit 30; we decide at seq 30 and our
     * withdrawal lands as Withdrawn 40 */
    const ev h[] = {{10, 0}, {20, 1}, {30, 0}, {40, 1}};
    payout p;
    uint8_t rec[PAYOUT_RECORD_BYTES];
    memset(&p, 0, sizeof p);
    /* killed before anything was stored: the history shows the credit, send */
    CHECK_EQ_INT(restart(NULL, h, 4, 30, 500), PAYOUT_SEND);
    /* killed after INTENDED: it may have gone out; send (chainwatch refuses a repeat that would revert) */
    payout_decide(&p, 30, 500);
    payout_record_encode(&p, rec);
    CHECK_EQ_INT(restart(rec, h, 4, 30, 500), PAYOUT_SEND);
    /* killed after SENT, not yet mined: the replayed Withdrawn 20 is older and does not end it */
    p.state = GAME_MOVE_SENT;
    memset(p.tx_id, 0x33, 32);
    payout_record_encode(&p, rec);
    CHECK_EQ_INT(restart(rec, h, 4, 30, 500), PAYOUT_WAIT);
    /* ... and mined while we were away: its Withdrawn is in the history, nothing is sent */
    CHECK_EQ_INT(restart(rec, h, 4, 40, 500), PAYOUT_IDLE);
    /* killed after MINED, before the Withdrawn was seen (confirmations): wait, never a second send */
    p.state = GAME_MOVE_MINED;
    payout_record_encode(&p, rec);
    CHECK_EQ_INT(restart(rec, h, 4, 30, 500), PAYOUT_WAIT);
    CHECK_EQ_INT(restart(rec, h, 4, 40, 500), PAYOUT_IDLE);
    /* killed after FAILED: after PAYOUT_RETRY_S, again */
    p.state = GAME_MOVE_FAILED;
    payout_record_encode(&p, rec);
    CHECK_EQ_INT(restart(rec, h, 4, 30, 501), PAYOUT_WAIT);
    CHECK_EQ_INT(restart(rec, h, 4, 30, 500 + PAYOUT_RETRY_S), PAYOUT_SEND);
    /* nothing owed in the history (all withdrawn): no record needed, nothing sent */
    CHECK_EQ_INT(restart(NULL, h, 4, 40, 500), PAYOUT_IDLE);
    CHECK_EQ_INT(restart(NULL, h, 2, 20, 500), PAYOUT_IDLE);
}

int main(void) {
    test_next();
    test_record();
    test_resume();
    return check_summary("test_payout");
}
