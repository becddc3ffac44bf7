/* withdraw.c: the withdrawal of this identity's credits (`auto_withdraw` = 1). Every payout of the
 * oracle and the game is a credit to pull (docs/game.md "Money"); whether we are owed one is read
 * from the chain's events (fold.c, payout.h), and each credit is withdrawn once the chain shows it,
 * written ahead like a move: the withdrawal record (record.h) is stored INTENDED before withdraw()
 * is sent, SENT with its transaction id, MINED or FAILED from its receipt, and our Withdrawn event
 * after the decision ends it. So a restart sends nothing already withdrawn or on its way: the
 * record is read before the history is replayed, and a SENT one asks chainwatch for its receipt. */
#include "bisector.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static int payout_save(bisector *b, int i) {
    char key[200];
    uint8_t buf[PAYOUT_RECORD_BYTES];
    payout_record_key(b->s.me, b->s.payer_addr[i], key, sizeof key);
    payout_record_encode(&b->s.pay[i], buf);
    int rc = storage_client_kv_put(b->st, key, strlen(key), buf, sizeof buf);
    if (rc) log_warn("%s: withdrawal record not stored: %s", payers[i], storage_client_error(b->st));
    return rc;
}

/* The withdrawal recorded before a restart (read before the history is replayed: the Withdrawn
 * events after its decision end it). */
void payout_load(bisector *b, int i) {
    char key[200], err[200];
    int found = 0;
    uint8_t *val = NULL;
    size_t len = 0;
    payout_record_key(b->s.me, b->s.payer_addr[i], key, sizeof key);
    if (storage_client_kv_get(b->st, key, strlen(key), &found, &val, &len) == 0 && found &&
        payout_record_decode(val, len, &b->s.pay[i], err, sizeof err))
        log_error("%s: %s: withdrawing from the chain's view alone", payers[i], err);
    free(val);
}

/* After the replay, a withdrawal still SENT asks chainwatch for its receipt, which may have been
 * published while we were away (none yet: it is pending, and its receipt will come on the bus). */
void payout_resume(bisector *b, int i) {
    char err[600];
    if (b->s.pay[i].state != GAME_MOVE_SENT) return;
    Opml__ChainGetReceipt req = OPML__CHAIN_GET_RECEIPT__INIT;
    req.id.data = b->s.pay[i].tx_id;
    req.id.len = 32;
    ProtobufCMessage *rep = NULL;
    if (rpc_call(b->cw, &req.base, &opml__chain_receipt__descriptor, &rep, 10000, 1, err, sizeof err)) return; /* pending */
    const Opml__ChainReceipt *r = (const Opml__ChainReceipt *)rep;
    payout_receipt(&b->s.pay[i], b->s.pay[i].tx_id, r->success);
    protobuf_c_message_free_unpacked(rep, NULL);
    payout_save(b, i);
}

/* Withdraws our credit from contract i if the chain shows one and no withdrawal is on its way. */
void try_withdraw(bisector *b, int i) {
    payout *p = &b->s.pay[i];
    uint64_t now = now_s(b);
    if (payout_next(p, now) != PAYOUT_SEND) return;
    payout_decide(p, b->s.last_seq, now);
    if (payout_save(b, i)) { /* write-ahead, or not at all: look again in PAYOUT_RETRY_S */
        p->state = GAME_MOVE_FAILED;
        return;
    }
    cJSON *args = cJSON_CreateArray();
    uint8_t tx[32];
    if (send_tx(b, i, "withdraw", args, NULL, tx) == 0) {
        p->state = GAME_MOVE_SENT;
        memcpy(p->tx_id, tx, 32);
        log_info("%s: withdraw sent", payers[i]);
    } else {
        p->state = GAME_MOVE_FAILED;
    }
    payout_save(b, i);
    cJSON_Delete(args);
}

/* Contract i (payers[]) credited us `amount` wei, decimal, for reason `why` (fold.c has marked it
 * owed). */
void credited(const bisector *b, int i, const char *amount, const char *why) {
    log_info("%s: credited %s wei (%s)%s", payers[i], amount, why, b->auto_withdraw ? "" : "; auto_withdraw is off");
}

/* The receipt of transaction id: a withdrawal of ours becomes MINED or FAILED. */
void on_payout_receipt(bisector *b, const uint8_t id[32], int success, const char *revert) {
    for (int i = 0; i < PAYERS; i++)
        if (payout_receipt(&b->s.pay[i], id, success)) {
            if (!success) log_warn("%s: our withdraw failed on-chain: %s", payers[i], revert);
            payout_save(b, i);
        }
}
