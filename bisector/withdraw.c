/* withdraw.c: the withdrawal of this identity's credit (`auto_withdraw` = 1). Every payout is a
 * credit to pull from the oracle, the one bank (docs/game.md "Money": the game's GameResolved and
 * GameAbandoned name credits there too); whether we are owed one is read from the chain's events
 * (fold.c, payout.h), and the credit is withdrawn once the chain shows it,
 * written ahead like a move: the withdrawal record (record.h) is stored INTENDED before withdraw()
 * is sent, SENT with its transaction id, MINED or FAILED from its receipt, and our Withdrawn event
 * after the decision ends it. So a restart sends nothing already withdrawn or on its way: the
 * record is read before the history is replayed, and a SENT one asks chainwatch for its receipt. */
#include "bisector.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define BANK contract_names[C_ORACLE] /* the contract that pays: the oracle */

static int payout_save(bisector *b) {
    char key[200];
    uint8_t buf[PAYOUT_RECORD_BYTES];
    payout_record_key(b->s.me, b->s.addr[C_ORACLE], key, sizeof key);
    payout_record_encode(&b->s.pay, buf);
    int rc = storage_client_kv_put(b->st, key, strlen(key), buf, sizeof buf);
    if (rc) log_warn("%s: withdrawal record not stored: %s", BANK, storage_client_error(b->st));
    return rc;
}

/* The withdrawal recorded before a restart (read before the history is replayed: the Withdrawn
 * events after its decision end it). */
void payout_load(bisector *b) {
    char key[200], err[200];
    int found = 0;
    uint8_t *val = NULL;
    size_t len = 0;
    payout_record_key(b->s.me, b->s.addr[C_ORACLE], key, sizeof key);
    if (storage_client_kv_get(b->st, key, strlen(key), &found, &val, &len) == 0 && found &&
        payout_record_decode(val, len, &b->s.pay, err, sizeof err))
        log_error("%s: %s: withdrawing from the chain's view alone", BANK, err);
    free(val);
}

/* After the replay, a withdrawal still SENT asks chainwatch for its receipt, which may have been
 * published while we were away (none yet: it is pending, and its receipt will come on the bus). */
void payout_resume(bisector *b) {
    char err[600];
    if (b->s.pay.state != GAME_MOVE_SENT) return;
    Opml__ChainGetReceipt req = OPML__CHAIN_GET_RECEIPT__INIT;
    req.id.data = b->s.pay.tx_id;
    req.id.len = 32;
    ProtobufCMessage *rep = NULL;
    if (rpc_call(b->cw, &req.base, &opml__chain_receipt__descriptor, &rep, 10000, 1, err, sizeof err)) return; /* pending */
    const Opml__ChainReceipt *r = (const Opml__ChainReceipt *)rep;
    payout_receipt(&b->s.pay, b->s.pay.tx_id, r->success);
    protobuf_c_message_free_unpacked(rep, NULL);
    payout_save(b);
}

/* Withdraws our credit from the oracle if the chain shows one and no withdrawal is on its way. */
void try_withdraw(bisector *b) {
    payout *p = &b->s.pay;
    uint64_t now = now_s(b);
    if (payout_next(p, now) != PAYOUT_SEND) return;
    payout_decide(p, b->s.last_seq, now);
    if (payout_save(b)) { /* write-ahead, or not at all: look again in PAYOUT_RETRY_S */
        p->state = GAME_MOVE_FAILED;
        return;
    }
    cJSON *args = cJSON_CreateArray();
    uint8_t tx[32];
    if (send_tx(b, C_ORACLE, "withdraw", args, NULL, tx) == 0) {
        p->state = GAME_MOVE_SENT;
        memcpy(p->tx_id, tx, 32);
        log_info("%s: withdraw sent", BANK);
    } else {
        p->state = GAME_MOVE_FAILED;
    }
    payout_save(b);
    cJSON_Delete(args);
}

/* The oracle credited us `amount` wei, decimal, for reason `why` (fold.c has marked it owed). */
void credited(const bisector *b, const char *amount, const char *why) {
    log_info("%s: credited %s wei (%s)%s", BANK, amount, why, b->auto_withdraw ? "" : "; auto_withdraw is off");
}

/* The receipt of transaction id: a withdrawal of ours becomes MINED or FAILED. */
void on_payout_receipt(bisector *b, const uint8_t id[32], int success, const char *revert) {
    if (payout_receipt(&b->s.pay, id, success)) {
        if (!success) log_warn("%s: our withdraw failed on-chain: %s", BANK, revert);
        payout_save(b);
    }
}
