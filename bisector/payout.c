/* payout.c: the withdrawal of our credits, decided from the chain's events and the write-ahead
 * record (payout.h). */
#include "payout.h"

#include <string.h>

void payout_credited(payout *p) { p->owed = 1; }

void payout_withdrawn(payout *p, uint64_t seq) {
    p->owed = 0;
    if (p->state != GAME_MOVE_NONE && seq > p->seq) p->state = GAME_MOVE_NONE;
}

payout_action payout_next(const payout *p, uint64_t now) {
    if (!p->owed) return PAYOUT_IDLE;
    switch (p->state) {
    case GAME_MOVE_NONE:
    case GAME_MOVE_INTENDED: return PAYOUT_SEND;
    case GAME_MOVE_FAILED: return now >= p->sent_at + PAYOUT_RETRY_S ? PAYOUT_SEND : PAYOUT_WAIT;
    case GAME_MOVE_SENT:
    case GAME_MOVE_MINED: return PAYOUT_WAIT;
    }
    return PAYOUT_WAIT;
}

void payout_decide(payout *p, uint64_t seq, uint64_t now) {
    p->state = GAME_MOVE_INTENDED;
    p->seq = seq;
    p->sent_at = now;
    memset(p->tx_id, 0, 32);
}

int payout_receipt(payout *p, const uint8_t id[32], int success) {
    if (p->state != GAME_MOVE_SENT || memcmp(p->tx_id, id, 32)) return 0;
    p->state = success ? GAME_MOVE_MINED : GAME_MOVE_FAILED;
    return 1;
}
