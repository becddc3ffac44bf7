/* chainwatch.c: opml-chainwatch, the one actor that talks to Ethereum (docs/chainwatch.md).
 *   - follows the watched contracts' logs (follower.h) and publishes each as an opml.ChainEvent on
 *     "chain.<Contract>.<Event>", with its cursor and every event kept in the storage actor;
 *   - sends transactions for the allow-listed bisector (opml.ChainSendTx, answered with the hash;
 *     the receipt is published on "chain.receipt", kept in storage, and served by ChainGetReceipt);
 *   - serves the stored stream (opml.ChainGetEvents) to subscribers that missed events.
 * The node or the storage actor may be down at any time: work is retried on the next tick. */
#include "actor.h"
#include "chain.pb-c.h"
#include "errmsg.h"
#include "client.h"
#include "contract.h"
#include "ethrpc.h"
#include "follower.h"
#include "hex.h"
#include "sender.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const config_opt options[] = {
    {"rpc_url", "http://127.0.0.1:8545", "the Ethereum node's JSON-RPC endpoint"},
    {"chain_id", "0", "the chain the node must be on (0: accept the node's)"},
    {"rpc_timeout_ms", "5000", "time-out of one JSON-RPC request"},
    {"rpc_retries", "2", "retries of a JSON-RPC request that failed transiently"},
    {"storage", "", "the storage actor, KEYHEX@endpoint: cursor, events, receipts (required)"},
    {"journal", "chainwatch.journal.json", "nonce journal file of this identity's transactions"},
    {"artifacts", "contracts/out", "forge's output directory: <artifacts>/<Name>.sol/<Name>.json"},
    {"watch", "", "contracts to follow: Name@0xADDRESS[,Name@0xADDRESS...] (Name may be an artifact path)"},
    {"from_block", "0", "first block to read when storage has no cursor yet"},
    {"confirmations", "2", "blocks on top of a log's block before it is published"},
    {"window", "256", "blocks remembered for re-org detection"},
    {"poll_ms", "250", "how often to look at the chain"},
    {"start_delay_ms", "1000", "wait before the first publication, so the bus connection is up"},
    {"allow_senders", "", "addresses whose ChainSendTx is accepted (default: this identity's own)"},
    {"stuck_ms", "30000", "replace a transaction with a higher fee after this long unmined"},
    {NULL, NULL, NULL},
};

#define MAX_WATCH 16
#define MAX_ALLOWED 16

struct cw {
    actor *a;
    ethrpc_client *rpc;
    storage_client *st;
    sender *snd;
    follower *fol;
    follow_contract watch[MAX_WATCH];
    contract *abis[MAX_WATCH];
    size_t nwatch;
    uint8_t allowed[MAX_ALLOWED][20];
    size_t nallowed;
    char prefix[64];
    char journal[512];
    long chain_id, confirmations, window, stuck_ms;
    uint64_t from_block;
    uint64_t start_at_ms;
    uint64_t published, receipts;
};

static log_limiter lim_rpc, lim_follow;

/* ---- storage as the follower's store ---- */

static int st_get(void *user, const char *key, int *found, uint8_t **val, size_t *len, char *err, size_t errlen) {
    struct cw *cw = user;
    if (storage_client_kv_get(cw->st, key, strlen(key), found, val, len))
        return opml_errf(err, errlen, "storage: %s", storage_client_error(cw->st));
    return 0;
}

static int st_put(void *user, size_t n, const char *const *keys, const uint8_t *const *vals, const size_t *lens,
                  char *err, size_t errlen) {
    struct cw *cw = user;
    storage_kv_op *ops = calloc(n, sizeof *ops);
    if (!ops) return opml_errf(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) ops[i] = (storage_kv_op){keys[i], strlen(keys[i]), vals[i], lens[i], 0};
    int rc = storage_client_kv_write(cw->st, ops, n);
    free(ops);
    return rc ? opml_errf(err, errlen, "storage: %s", storage_client_error(cw->st)) : 0;
}

static int publish_event(void *user, const char *topic, const Opml__ChainEvent *ev) {
    struct cw *cw = user;
    if (actor_publish(cw->a, topic, &ev->base)) return -1;
    cw->published++;
    return 0;
}

/* ---- receipts ---- */

static void receipt_key(const struct cw *cw, const uint8_t id[32], char *out, size_t outlen) {
    char h[67];
    hex_encode(id, 32, h);
    snprintf(out, outlen, "%sreceipt/%s", cw->prefix, h);
}

static void request_key(const struct cw *cw, const uint8_t id[32], char *out, size_t outlen) {
    char h[67];
    hex_encode(id, 32, h);
    snprintf(out, outlen, "%srequester/%s", cw->prefix, h);
}

static void on_receipt(const chain_receipt *r, void *user) {
    struct cw *cw = user;
    Opml__ChainReceipt m = OPML__CHAIN_RECEIPT__INIT;
    char key[200], rkey[200];
    int found = 0;
    uint8_t *requester = NULL;
    size_t rlen = 0;
    request_key(cw, r->id, rkey, sizeof rkey);
    if (storage_client_kv_get(cw->st, rkey, strlen(rkey), &found, &requester, &rlen) || !found || rlen != 20) {
        free(requester);
        requester = NULL;
        rlen = 0;
    }
    m.id = (ProtobufCBinaryData){32, (uint8_t *)r->id};
    m.tx_hash = (ProtobufCBinaryData){32, (uint8_t *)r->tx_hash};
    m.nonce = r->nonce;
    m.block_number = r->block_number;
    m.block_hash = (ProtobufCBinaryData){32, (uint8_t *)r->block_hash};
    m.gas_used = r->gas_used;
    m.success = r->success;
    if (r->has_contract) m.contract_address = (ProtobufCBinaryData){20, (uint8_t *)r->contract_address};
    m.revert = (char *)r->revert;
    m.requester = (ProtobufCBinaryData){rlen, requester};
    size_t len = opml__chain_receipt__get_packed_size(&m);
    uint8_t *buf = malloc(len + 1);
    if (buf) {
        opml__chain_receipt__pack(&m, buf);
        receipt_key(cw, r->id, key, sizeof key);
        if (storage_client_kv_put(cw->st, key, strlen(key), buf, len))
            log_warn("receipt of nonce %llu not stored: %s", (unsigned long long)r->nonce, storage_client_error(cw->st));
    }
    free(buf);
    char h[67];
    hex_encode(r->tx_hash, 32, h);
    if (r->success) log_info("transaction %s (nonce %llu) mined in block %llu", h, (unsigned long long)r->nonce,
                             (unsigned long long)r->block_number);
    else log_warn("transaction %s (nonce %llu) failed: %s", h, (unsigned long long)r->nonce, r->revert);
    actor_publish(cw->a, "chain.receipt", &m.base);
    cw->receipts++;
    free(requester);
}

/* ---- opening what needs the node ---- */

static void try_open(struct cw *cw) {
    char err[512];
    if (!cw->snd) {
        sender_config sc = {.journal = cw->journal, .chain_id = (uint64_t)cw->chain_id, .stuck_ms = (uint64_t)cw->stuck_ms,
                            .known = {(const contract *const *)cw->abis, cw->nwatch}};
        cw->snd = sender_open(cw->rpc, actor_identity(cw->a), &sc, err, sizeof err);
        if (cw->snd) log_info("sender ready: chain %llu, next nonce %llu, %zu pending", (unsigned long long)sender_chain_id(cw->snd),
                              (unsigned long long)sender_next_nonce(cw->snd), sender_pending(cw->snd));
        else log_limited(&lim_rpc, LOGL_WARN, "sender not ready: %s", err);
    }
    if (!cw->fol && cw->nwatch) {
        follower_config fc = {.contracts = cw->watch, .ncontracts = cw->nwatch, .from_block = cw->from_block,
                              .confirmations = (unsigned)cw->confirmations, .window = (unsigned)cw->window,
                              .key_prefix = cw->prefix};
        follow_store fs = {st_get, st_put, cw};
        cw->fol = follower_open(cw->rpc, &fc, &fs, err, sizeof err);
        if (cw->fol) log_info("following %zu contract(s) from block %llu, last event %llu", cw->nwatch,
                              (unsigned long long)follower_next_block(cw->fol), (unsigned long long)follower_last_seq(cw->fol));
        else log_limited(&lim_rpc, LOGL_WARN, "event stream not ready: %s", err);
    }
}

static void tick(actor *a, void *user) {
    struct cw *cw = user;
    char err[512];
    (void)a;
    if (clock_mono_ms() < cw->start_at_ms) return;
    try_open(cw);
    if (cw->fol) {
        uint64_t until = clock_mono_ms() + 200; /* keep the main loop responsive */
        int rc;
        while ((rc = follower_step(cw->fol, publish_event, cw, err, sizeof err)) == 1 && clock_mono_ms() < until) {}
        if (rc < 0) log_limited(&lim_follow, LOGL_WARN, "event stream: %s (will retry)", err);
    }
    if (cw->snd && sender_pending(cw->snd) && sender_poll(cw->snd, on_receipt, cw, err, sizeof err) < 0)
        log_limited(&lim_rpc, LOGL_WARN, "transactions: %s (will retry)", err);
}

/* ---- requests ---- */

/* The key under which the reply to a sender's call is kept, so that a retried request (same
 * call_id, new envelope) gets the same answer instead of a second transaction. */
static void call_key(const struct cw *cw, const envelope *req, char *out, size_t outlen) {
    char who[43];
    hex_encode(req->sender, 20, who);
    snprintf(out, outlen, "%scall/%s/%016llx", cw->prefix, who, (unsigned long long)(req->call_id ? req->call_id : req->seq));
}

/* Sets the reply to the message of type d stored under key, if there is one: returns 1 with the
 * reply set (that message, or an error: storage is unavailable, or the stored `what` does not
 * parse), 0 when nothing is stored under key (no reply set). */
static int reply_stored(struct cw *cw, const char *key, const ProtobufCMessageDescriptor *d, const char *what,
                        actor_reply *reply) {
    int found;
    uint8_t *val;
    size_t len;
    if (storage_client_kv_get(cw->st, key, strlen(key), &found, &val, &len)) {
        actor_reply_error(reply, OPML_E_UNAVAILABLE, "storage: %s", storage_client_error(cw->st));
        return 1;
    }
    if (!found) return 0;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, val);
    free(val);
    if (!m) {
        actor_reply_error(reply, OPML_E_INTERNAL, "stored %s does not parse", what);
        return 1;
    }
    actor_reply_msg(reply, m);
    protobuf_c_message_free_unpacked(m, NULL);
    return 1;
}

static int on_send(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    struct cw *cw = user;
    const Opml__ChainSendTx *m = (const Opml__ChainSendTx *)msg;
    char who[43], err[600], ckey[200];
    (void)a;
    int ok = 0;
    for (size_t i = 0; i < cw->nallowed; i++) ok |= !memcmp(cw->allowed[i], req->sender, 20);
    identity_address_text(req->sender, who);
    if (!ok) {
        log_limited(&lim_rpc, LOGL_WARN, "ChainSendTx refused: %s is not an allowed sender", who);
        return actor_reply_error(reply, OPML_E_UNAUTHORIZED, "%s may not send transactions through this chainwatch", who);
    }
    if ((m->to.len != 0 && m->to.len != 20) || m->value.len > 32)
        return actor_reply_error(reply, OPML_E_BAD_REQUEST, "`to` must be 0 or 20 bytes and `value` at most 32");
    /* a retry of a call already served: the same answer */
    call_key(cw, req, ckey, sizeof ckey);
    if (reply_stored(cw, ckey, &opml__chain_send_tx_reply__descriptor, "reply", reply)) return 0;
    if (!cw->snd) try_open(cw);
    if (!cw->snd) return actor_reply_error(reply, OPML_E_UNAVAILABLE, "the Ethereum node is not reachable yet");
    u256 value;
    memset(value.b, 0, 32);
    if (m->value.len) memcpy(value.b + 32 - m->value.len, m->value.data, m->value.len);
    uint8_t id[32];
    uint64_t nonce = sender_next_nonce(cw->snd);
    if (sender_send(cw->snd, m->to.len ? m->to.data : NULL, &value, m->data.data, m->data.len, m->gas, id, err, sizeof err))
        return actor_reply_error(reply, strstr(err, "node down") || strstr(err, "timeout") ? OPML_E_UNAVAILABLE : OPML_E_BAD_REQUEST,
                                 "%s", err);
    Opml__ChainSendTxReply out = OPML__CHAIN_SEND_TX_REPLY__INIT;
    out.tx_hash = (ProtobufCBinaryData){32, id};
    out.nonce = nonce;
    uint8_t packed[64];
    size_t packed_len = opml__chain_send_tx_reply__pack(&out, packed);
    char rkey[200];
    request_key(cw, id, rkey, sizeof rkey);
    storage_kv_op ops[2] = {{rkey, strlen(rkey), req->sender, 20, 0}, {ckey, strlen(ckey), packed, packed_len, 0}};
    if (storage_client_kv_write(cw->st, ops, 2))
        log_warn("requester and reply of nonce %llu not stored: %s", (unsigned long long)nonce, storage_client_error(cw->st));
    char h[67];
    hex_encode(id, 32, h);
    log_info("sent %s (nonce %llu) for %s", h, (unsigned long long)nonce, who);
    return actor_reply_msg(reply, &out.base);
}

static int on_get_receipt(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    struct cw *cw = user;
    const Opml__ChainGetReceipt *m = (const Opml__ChainGetReceipt *)msg;
    (void)a, (void)req;
    if (m->id.len != 32) return actor_reply_error(reply, OPML_E_BAD_REQUEST, "id must be 32 bytes");
    char key[200];
    receipt_key(cw, m->id.data, key, sizeof key);
    if (reply_stored(cw, key, &opml__chain_receipt__descriptor, "receipt", reply)) return 0;
    return actor_reply_error(reply, OPML_E_NOT_FOUND, "no receipt (yet) for this transaction");
}

static int on_get_events(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    struct cw *cw = user;
    const Opml__ChainGetEvents *m = (const Opml__ChainGetEvents *)msg;
    (void)a, (void)req;
    if (!cw->fol) return actor_reply_error(reply, OPML_E_UNAVAILABLE, "the event stream is not open yet");
    uint64_t last = follower_last_seq(cw->fol);
    size_t limit = m->limit == 0 || m->limit > 1000 ? 1000 : m->limit;
    uint64_t from = m->from_seq ? m->from_seq : 1;
    size_t n = from > last ? 0 : (size_t)(last - from + 1 < limit ? last - from + 1 : limit);
    Opml__ChainEvent **evs = calloc(n + 1, sizeof *evs);
    Opml__ChainGetEventsReply out = OPML__CHAIN_GET_EVENTS_REPLY__INIT;
    char err[300];
    int rc;
    size_t got = 0;
    if (!evs) return actor_reply_error(reply, OPML_E_INTERNAL, "out of memory");
    for (; got < n; got++)
        if (!(evs[got] = follower_get_event(cw->fol, from + got, err, sizeof err))) break;
    if (got < n) {
        rc = actor_reply_error(reply, OPML_E_UNAVAILABLE, "%s", err);
    } else {
        out.events = evs;
        out.n_events = n;
        out.last_seq = last;
        out.block_time = follower_block_time(cw->fol);
        rc = actor_reply_msg(reply, &out.base);
    }
    for (size_t i = 0; i < got; i++) opml__chain_event__free_unpacked(evs[i], NULL);
    free(evs);
    return rc;
}

static void stats(actor *a, void *user) {
    struct cw *cw = user;
    actor_health_stat(a, "events_published", (int64_t)cw->published);
    actor_health_stat(a, "receipts", (int64_t)cw->receipts);
    actor_health_stat(a, "rpc_retries", (int64_t)ethrpc_retries(cw->rpc));
    if (cw->fol) {
        actor_health_stat(a, "last_seq", (int64_t)follower_last_seq(cw->fol));
        actor_health_stat(a, "next_block", (int64_t)follower_next_block(cw->fol));
        actor_health_stat(a, "retracted", (int64_t)follower_retracted(cw->fol));
    }
    if (cw->snd) {
        actor_health_stat(a, "pending_txs", (int64_t)sender_pending(cw->snd));
        actor_health_stat(a, "next_nonce", (int64_t)sender_next_nonce(cw->snd));
        actor_health_stat(a, "replaced", (int64_t)sender_replaced(cw->snd));
    }
}

/* ---- configuration ---- */

static int parse_watch(struct cw *cw, const char *spec, const char *artifacts) {
    char *copy = strdup(spec), *save = NULL, err[512];
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        char *at = strrchr(item, '@'), path[1024];
        if (!at || cw->nwatch == MAX_WATCH) {
            log_error("watch: \"%s\" is not Name@0xADDRESS (or too many contracts)", item);
            rc = -1;
            break;
        }
        *at = 0;
        if (strchr(item, '/')) snprintf(path, sizeof path, "%s", item);
        else snprintf(path, sizeof path, "%s/%s.sol/%s.json", artifacts, item, item);
        follow_contract *w = &cw->watch[cw->nwatch];
        if (hex_decode(at + 1, w->address, 20) || strncmp(at + 1, "0x", 2)) {
            log_error("watch: \"%s\" is not a 0x address", at + 1);
            rc = -1;
        } else if (!(cw->abis[cw->nwatch] = contract_load(path, err, sizeof err))) {
            log_error("watch: %s", err);
            rc = -1;
        } else {
            w->abi = cw->abis[cw->nwatch++];
        }
    }
    free(copy);
    return rc;
}

static int parse_allowed(struct cw *cw, const char *spec) {
    char *copy = strdup(spec), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (cw->nallowed == MAX_ALLOWED || strncmp(item, "0x", 2) || hex_decode(item, cw->allowed[cw->nallowed], 20)) {
            log_error("allow_senders: \"%s\" is not a 0x address (or too many)", item);
            rc = -1;
            break;
        }
        cw->nallowed++;
    }
    free(copy);
    return rc;
}

int main(int argc, char **argv) {
    actor *a = actor_new("chainwatch", options, argc, argv);
    if (!a) return 2;
    const config *c = actor_config(a);
    struct cw cw = {.a = a};
    char err[512];
    long from, rto, rretries, poll, delay;
    int rc = 2;
    if (config_get_long(c, "chain_id", 0, 1L << 53, &cw.chain_id, err, sizeof err) ||
        config_get_long(c, "confirmations", 0, 10000, &cw.confirmations, err, sizeof err) ||
        config_get_long(c, "window", 1, 100000, &cw.window, err, sizeof err) ||
        config_get_long(c, "from_block", 0, 1L << 53, &from, err, sizeof err) ||
        config_get_long(c, "rpc_timeout_ms", 100, 600000, &rto, err, sizeof err) ||
        config_get_long(c, "rpc_retries", 0, 100, &rretries, err, sizeof err) ||
        config_get_long(c, "poll_ms", 10, 600000, &poll, err, sizeof err) ||
        config_get_long(c, "start_delay_ms", 0, 600000, &delay, err, sizeof err) ||
        config_get_long(c, "stuck_ms", 100, 86400000L, &cw.stuck_ms, err, sizeof err)) {
        log_error("%s", err);
        goto out;
    }
    cw.from_block = (uint64_t)from;
    if (!config_get(c, "storage")[0]) {
        log_error("storage is required (KEYHEX@endpoint of the storage actor)");
        goto out;
    }
    if (parse_watch(&cw, config_get(c, "watch"), config_get(c, "artifacts")) || parse_allowed(&cw, config_get(c, "allow_senders")))
        goto out;
    if (!cw.nallowed) memcpy(cw.allowed[cw.nallowed++], actor_identity(a)->address, 20);
    snprintf(cw.journal, sizeof cw.journal, "%s", config_get(c, "journal"));
    char addr[43];
    identity_address_text(actor_identity(a)->address, addr);
    snprintf(cw.prefix, sizeof cw.prefix, "chainwatch/%s/", addr);
    ethrpc_options ro = {.timeout_ms = rto, .connect_timeout_ms = rto < 2000 ? rto : 2000, .retries = (int)rretries,
                         .backoff_ms = 100, .backoff_max_ms = 1000};
    cw.rpc = ethrpc_open(config_get(c, "rpc_url"), &ro);
    cw.st = storage_client_new(actor_net(a), actor_signer(a), config_get(c, "storage"), 2000, 2, err, sizeof err);
    if (!cw.rpc || !cw.st) {
        log_error("cannot start: %s", cw.st ? "libcurl failed" : err);
        goto out;
    }
    cw.start_at_ms = clock_mono_ms() + (uint64_t)delay;
    actor_on_max(a, &opml__chain_send_tx__descriptor, ENVELOPE_MAX_BYTES, on_send, &cw); /* calldata: gas-bound */
    actor_on(a, &opml__chain_get_receipt__descriptor, on_get_receipt, &cw);
    actor_on(a, &opml__chain_get_events__descriptor, on_get_events, &cw);
    actor_on_health(a, stats, &cw);
    actor_every(a, (unsigned)poll, tick, &cw);
    rc = actor_run(a);
    if (cw.fol && follower_flush(cw.fol, err, sizeof err)) log_warn("cursor not flushed: %s", err);
out:
    follower_close(cw.fol);
    sender_close(cw.snd);
    if (cw.st) storage_client_free(cw.st);
    ethrpc_close(cw.rpc);
    for (size_t i = 0; i < cw.nwatch; i++) contract_free(cw.abis[i]);
    actor_free(a);
    return rc;
}
