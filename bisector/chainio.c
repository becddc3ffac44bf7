/* chainio.c: the bisector's conversation with its identity's chainwatch. Out: transactions
 * (ChainSendTx; chainwatch signs them, and refuses one that would revert). In: the chain's events
 * and the receipts of our transactions, published on the bus (topic "chain."; what another
 * identity's chainwatch publishes there is dropped: fold.h, fold_intake_of), and the stored
 * events from seq last_seq + 1 on (ChainGetEvents), read at start and whenever the bus's stream
 * skips a seq. Each event is folded once, in seq order, from its typed message (fold.h: a pure
 * function), and what the fold decided is carried out here (carry_out: the log, the work of the
 * submitter and the validator, the game records, the credits); each receipt is handed to the
 * withdrawal and the game whose transaction it is.
 *
 * Time: "now" is the chain's (chaintime.h), from the block timestamps of the events and of
 * chainwatch's ChainGetEvents replies, never the local wall clock. */
#include "bisector.h"
#include "log.h"
#include "u256.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* The chain's time now (chaintime.h): every deadline and clock is decided by it. */
uint64_t now_s(const bisector *b) { return chain_time_now(&b->ct, clock_mono_ms(), (uint64_t)time(NULL)); }

/* Sends fn(args) to contract `to` (C_ORACLE or C_GAME) with value (decimal wei, NULL: 0).
 * Returns 0 with the id, or -1. */
int send_tx(bisector *b, int to, const char *fn, const cJSON *args, const char *value, uint8_t id[32]) {
    char err[600];
    const abi_function *f = contract_function(b->abi[to], fn);
    uint8_t *data = NULL;
    size_t len = 0;
    if (!f || contract_encode_call(f, args, &data, &len, err, sizeof err)) {
        log_error("%s: cannot encode: %s", fn, f ? err : "no such function");
        return -1;
    }
    u256 v;
    u256_from_u64(&v, 0);
    if (value && u256_parse(&v, value, 0)) {
        free(data);
        return -1;
    }
    Opml__ChainSendTx req = OPML__CHAIN_SEND_TX__INIT;
    req.to.data = b->s.addr[to];
    req.to.len = 20;
    req.value.data = v.b;
    req.value.len = 32;
    req.data.data = data;
    req.data.len = len;
    ProtobufCMessage *rep = NULL;
    int rc = rpc_call(b->cw, &req.base, &opml__chain_send_tx_reply__descriptor, &rep, 20000, 1, err, sizeof err);
    free(data);
    if (rc) {
        b->txs_refused++;
        log_info("%s not sent: %s", fn, err);
        return -1;
    }
    Opml__ChainSendTxReply *r = (Opml__ChainSendTxReply *)rep;
    if (r->tx_hash.len == 32) memcpy(id, r->tx_hash.data, 32);
    protobuf_c_message_free_unpacked(rep, NULL);
    b->moves++;
    return 0;
}

/* The receipt of one of our transactions: a failed move or withdrawal is decided again. */
static void on_receipt(bisector *b, const Opml__ChainReceipt *r) {
    if (r->id.len != 32) return;
    on_payout_receipt(b, r->id.data, r->success, r->revert);
    on_move_receipt(b, r->id.data, r->success, r->revert);
}

/* What the fold of one event decided (fold.h), carried out in order. The fold names only tasks and
 * games it holds; a name it does not hold would be a bug of the fold, and is skipped. */
static void carry_out(bisector *b, const fold_out *o) {
    static const enum log_level levels[] = {
        [FOLD_DEBUG] = LOGL_DEBUG, [FOLD_INFO] = LOGL_INFO, [FOLD_WARN] = LOGL_WARN, [FOLD_ERROR] = LOGL_ERROR};
    for (size_t i = 0; i < o->n; i++) {
        const fold_fx *f = &o->fx[i];
        task *t = fold_task(&b->s, f->id);
        gm *g = fold_game(&b->s, f->id);
        switch (f->kind) {
        case FOLD_FX_LOG: log_msg(levels[f->level], "%s", f->text); break;
        case FOLD_FX_SUBMITTED:
            if (t) t->checked = 0, t->busy = 0;
            break;
        case FOLD_FX_REJECTED:
            if (t) t->busy = 0;
            if (t && f->flag) fold_task_forget_run(t);
            break;
        case FOLD_FX_CHALLENGED:
            if (t) t->checked = 1;
            break;
        case FOLD_FX_JOINED:
            if (g) game_join(b, g);
            break;
        case FOLD_FX_ABANDONED:
            if (g) game_abandoned(b, g);
            break;
        case FOLD_FX_RESOLVED:
            if (g) game_resolved(b, g, f->flag, f->text);
            break;
        case FOLD_FX_CREDITED: credited(b, f->text, f->why); break;
        }
    }
    if (o->lost) log_error("fold: %zu effects of one event lost (FOLD_MAX_FX is too small)", o->lost);
}

static void apply(bisector *b, const Opml__ChainEvent *ev) {
    fold_out o;
    if (fold_event(&b->s, ev, now_s(b), &o) && !ev->removed) chain_time_saw(&b->ct, ev->block_time, clock_mono_ms());
    carry_out(b, &o);
}

/* Fetches events after last_seq from chainwatch's store until caught up (or up to `until`). */
int catch_up(bisector *b, uint64_t until) {
    char err[400];
    for (;;) {
        Opml__ChainGetEvents req = OPML__CHAIN_GET_EVENTS__INIT;
        req.from_seq = b->s.last_seq + 1;
        req.limit = 1000;
        ProtobufCMessage *rep = NULL;
        if (rpc_call_max(b->cw, &req.base, &opml__chain_get_events_reply__descriptor, ENVELOPE_MAX_BYTES, &rep, 10000, 1,
                         err, sizeof err)) {
            log_warn("chainwatch: events not fetched: %s", err);
            return -1;
        }
        Opml__ChainGetEventsReply *r = (Opml__ChainGetEventsReply *)rep;
        for (size_t i = 0; i < r->n_events; i++) apply(b, r->events[i]);
        chain_time_saw(&b->ct, r->block_time, clock_mono_ms()); /* the newest block chainwatch read */
        int done = r->n_events == 0 || b->s.last_seq >= r->last_seq || (until && b->s.last_seq >= until);
        protobuf_c_message_free_unpacked(rep, NULL);
        if (done) return 0;
    }
}

/* The intake of the bus's "chain." topics: only what our identity's chainwatch signed (fold.h,
 * fold_intake_of); another identity's is counted and dropped with a debug line. */
void on_sub(actor *a, void *sock, void *user) {
    (void)a;
    bisector *b = user;
    static log_limiter foreign_lim;
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    while (net_recv(sock, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) == 0) {
        envelope e;
        char err[200], who[43];
        if (n == 2 && envelope_open(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 0, 0, &e, err, sizeof err) == 0) {
            switch (fold_intake_of(&b->s, e.sender, e.type)) {
            case FOLD_INTAKE_EVENT: {
                Opml__ChainEvent *ev = (Opml__ChainEvent *)envelope_payload(&e, &opml__chain_event__descriptor);
                if (ev) {
                    if (ev->seq > b->s.last_seq + 1) catch_up(b, ev->seq - 1); /* a gap: fetch what was missed */
                    apply(b, ev);
                    protobuf_c_message_free_unpacked(&ev->base, NULL);
                }
                break;
            }
            case FOLD_INTAKE_RECEIPT: {
                Opml__ChainReceipt *r = (Opml__ChainReceipt *)envelope_payload(&e, &opml__chain_receipt__descriptor);
                if (r) {
                    on_receipt(b, r);
                    protobuf_c_message_free_unpacked(&r->base, NULL);
                }
                break;
            }
            case FOLD_INTAKE_FOREIGN:
                b->foreign_dropped++;
                identity_address_text(e.sender, who);
                log_limited(&foreign_lim, LOGL_DEBUG, "dropped %s on %.*s from %s: not our chainwatch", e.type,
                            (int)zmq_msg_size(&f[0]), (const char *)zmq_msg_data(&f[0]), who);
                break;
            case FOLD_INTAKE_OTHER: break;
            }
            envelope_free(&e);
        }
        net_msgs_close(f, n);
    }
}
