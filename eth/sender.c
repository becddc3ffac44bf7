/* sender.c: see sender.h. The journal is the source of truth for this key's nonces: it is saved
 * before any broadcast, so a crash at any point leaves either no trace of a transaction (it was
 * never sent) or a journaled one that the next open re-broadcasts. */
#include "sender.h"

#include "errmsg.h"
#include "ethjson.h"
#include "hex.h"
#include "tx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_HASHES 16 /* hashes remembered per nonce: the id plus the latest replacements */
/* A nonce used while none of our hashes has a receipt is declared lost only after this long: a node
 * may count the nonce a moment before it serves the receipt. */
#define DROP_AFTER_MS 3000

typedef struct pending_tx {
    uint8_t id[32];
    uint8_t hashes[MAX_HASHES][32]; /* hashes[0] is the id */
    size_t nhashes;
    uint64_t nonce;
    uint8_t *raw;                   /* the latest signed version */
    size_t raw_len;
    uint64_t sent_ms;               /* Unix ms of the latest (re)signing */
    uint64_t gone_ms;               /* when its nonce was first seen used with none of its hashes mined */
} pending_tx;

struct sender {
    ethrpc_client *rpc;
    const identity *id;
    sender_config cfg;
    char *journal;
    uint64_t chain_id;
    uint64_t next_nonce;
    pending_tx *pending;
    size_t npending;
    uint64_t replaced;
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the journal ---- */

static int journal_save(sender *s, char *err, size_t errlen) {
    cJSON *j = cJSON_CreateObject(), *list = cJSON_CreateArray();
    char addr[43];
    hex_encode(s->id->address, 20, addr);
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddItemToObject(j, "chain_id", ej_new_quantity(s->chain_id));
    cJSON_AddStringToObject(j, "address", addr);
    cJSON_AddItemToObject(j, "next_nonce", ej_new_quantity(s->next_nonce));
    for (size_t i = 0; i < s->npending; i++) {
        const pending_tx *p = &s->pending[i];
        cJSON *o = cJSON_CreateObject(), *hs = cJSON_CreateArray();
        cJSON_AddItemToObject(o, "nonce", ej_new_quantity(p->nonce));
        cJSON_AddItemToObject(o, "sent_ms", ej_new_quantity(p->sent_ms));
        cJSON_AddItemToObject(o, "raw", ej_new_data(p->raw, p->raw_len));
        for (size_t h = 0; h < p->nhashes; h++) cJSON_AddItemToArray(hs, ej_new_data(p->hashes[h], 32));
        cJSON_AddItemToObject(o, "hashes", hs);
        cJSON_AddItemToArray(list, o);
    }
    cJSON_AddItemToObject(j, "pending", list);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return opml_errf(err, errlen, "journal: out of memory");

    size_t plen = strlen(s->journal);
    char *tmp = malloc(plen + 5);
    int rc = -1;
    if (tmp) {
        memcpy(tmp, s->journal, plen);
        memcpy(tmp + plen, ".tmp", 5);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        size_t len = strlen(text), off = 0;
        while (fd >= 0 && off < len) {
            ssize_t n = write(fd, text + off, len - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            off += (size_t)n;
        }
        if (fd >= 0 && off == len && fsync(fd) == 0 && close(fd) == 0) {
            fd = -1;
            if (rename(tmp, s->journal) == 0) rc = 0;
        }
        if (fd >= 0) close(fd);
        if (rc) opml_errf(err, errlen, "journal %s: cannot write: %s", s->journal, strerror(errno));
    }
    if (rc == 0) { /* make the rename itself durable */
        char *dir = strdup(s->journal);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash) *slash = 0;
        int dfd = dir ? open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    free(tmp);
    free(text);
    return rc;
}

static void pending_free(pending_tx *p) { free(p->raw); }

static int journal_load(sender *s, char *err, size_t errlen) {
    FILE *f = fopen(s->journal, "rb");
    if (!f) {
        if (errno == ENOENT) return 0;
        return opml_errf(err, errlen, "journal %s: %s", s->journal, strerror(errno));
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 > cap) {
            char *t = realloc(text, cap = cap * 2 + 4096);
            if (!t) break;
            text = t;
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    uint64_t chain, next;
    uint8_t addr[20];
    const cJSON *list = ej_get(j, "pending"), *o;
    if (!j || ej_quantity(ej_get(j, "chain_id"), &chain) || ej_data_fixed(ej_get(j, "address"), addr, 20) ||
        ej_quantity(ej_get(j, "next_nonce"), &next) || !cJSON_IsArray(list)) {
        cJSON_Delete(j);
        return opml_errf(err, errlen, "journal %s is damaged: refusing to guess nonces", s->journal);
    }
    if (chain != s->chain_id || memcmp(addr, s->id->address, 20)) {
        cJSON_Delete(j);
        return opml_errf(err, errlen, "journal %s belongs to another chain (%llu) or key", s->journal,
                         (unsigned long long)chain);
    }
    s->next_nonce = next;
    size_t count = (size_t)cJSON_GetArraySize(list);
    s->pending = calloc(count ? count : 1, sizeof *s->pending);
    if (!s->pending) {
        cJSON_Delete(j);
        return opml_errf(err, errlen, "out of memory");
    }
    cJSON_ArrayForEach(o, list) {
        pending_tx *p = &s->pending[s->npending];
        const cJSON *hs = ej_get(o, "hashes"), *h;
        int ok = !ej_quantity(ej_get(o, "nonce"), &p->nonce) && !ej_quantity(ej_get(o, "sent_ms"), &p->sent_ms) &&
                 !ej_data(ej_get(o, "raw"), &p->raw, &p->raw_len) && cJSON_IsArray(hs);
        cJSON_ArrayForEach(h, hs) {
            if (!ok || p->nhashes == MAX_HASHES || ej_data_fixed(h, p->hashes[p->nhashes++], 32)) ok = 0;
        }
        if (!ok || p->nhashes == 0) {
            pending_free(p);
            cJSON_Delete(j);
            return opml_errf(err, errlen, "journal %s: a pending transaction is damaged", s->journal);
        }
        memcpy(p->id, p->hashes[0], 32);
        s->npending++;
    }
    cJSON_Delete(j);
    return 0;
}

/* ---- node queries ---- */

static int rpc_quantity(sender *s, const char *method, cJSON *params, uint64_t *out, char *err, size_t errlen) {
    cJSON *res;
    ethrpc_status st = ethrpc_call(s->rpc, method, params, &res);
    if (st != ETHRPC_OK) return opml_errf(err, errlen, "%s", ethrpc_errmsg(s->rpc));
    int rc = ej_quantity(res, out);
    cJSON_Delete(res);
    return rc ? opml_errf(err, errlen, "malformed reply: %s result is not a quantity", method) : 0;
}

static int account_nonce(sender *s, const char *tag, uint64_t *out, char *err, size_t errlen) {
    cJSON *params = cJSON_CreateArray();
    cJSON_AddItemToArray(params, ej_new_data(s->id->address, 20));
    cJSON_AddItemToArray(params, cJSON_CreateString(tag));
    return rpc_quantity(s, "eth_getTransactionCount", params, out, err, errlen);
}

/* The tip and max fee to offer now. */
static int current_fees(sender *s, uint64_t *tip, uint64_t *max_fee, char *err, size_t errlen) {
    cJSON *params = cJSON_CreateArray(), *block;
    cJSON_AddItemToArray(params, cJSON_CreateString("latest"));
    cJSON_AddItemToArray(params, cJSON_CreateFalse());
    if (ethrpc_call(s->rpc, "eth_getBlockByNumber", params, &block) != ETHRPC_OK)
        return opml_errf(err, errlen, "%s", ethrpc_errmsg(s->rpc));
    uint64_t base;
    int rc = ej_quantity(ej_get(block, "baseFeePerGas"), &base);
    cJSON_Delete(block);
    if (rc) return opml_errf(err, errlen, "malformed reply: latest block has no baseFeePerGas (not an EIP-1559 chain?)");
    if (rpc_quantity(s, "eth_maxPriorityFeePerGas", NULL, tip, err, errlen)) return -1;
    if (base > (UINT64_MAX - *tip) / 2) return opml_errf(err, errlen, "base fee %llu is absurd", (unsigned long long)base);
    *max_fee = 2 * base + *tip;
    if (s->cfg.max_fee_cap && *max_fee > s->cfg.max_fee_cap) {
        *max_fee = s->cfg.max_fee_cap;
        if (*tip > *max_fee) *tip = *max_fee;
    }
    return 0;
}

/* eth_sendRawTransaction: ETHRPC_OK also when the node already has it. */
static ethrpc_status broadcast(sender *s, const uint8_t *raw, size_t len) {
    cJSON *params = cJSON_CreateArray(), *res;
    cJSON_AddItemToArray(params, ej_new_data(raw, len));
    ethrpc_status st = ethrpc_call(s->rpc, "eth_sendRawTransaction", params, &res);
    cJSON_Delete(res);
    if (st == ETHRPC_E_RPC && strstr(ethrpc_errmsg(s->rpc), "already")) return ETHRPC_OK; /* "already known" */
    return st;
}

static int node_knows(sender *s, const pending_tx *p);

/* ---- open / close ---- */

sender *sender_open(ethrpc_client *rpc, const identity *id, const sender_config *cfg, char *err, size_t errlen) {
    if (!cfg->journal) return opml_errf(err, errlen, "sender: no journal path"), NULL;
    sender *s = calloc(1, sizeof *s);
    if (!s || !(s->journal = strdup(cfg->journal))) {
        free(s);
        return opml_errf(err, errlen, "out of memory"), NULL;
    }
    s->rpc = rpc;
    s->id = id;
    s->cfg = *cfg;
    s->cfg.journal = s->journal;
    if (!s->cfg.stuck_ms) s->cfg.stuck_ms = 30000;
    if (!s->cfg.bump_percent) s->cfg.bump_percent = 15;
    if (!s->cfg.gas_margin_percent) s->cfg.gas_margin_percent = 25;
    uint64_t node_nonce;
    if (rpc_quantity(s, "eth_chainId", NULL, &s->chain_id, err, errlen)) goto fail;
    if (cfg->chain_id && cfg->chain_id != s->chain_id) {
        opml_errf(err, errlen, "the node is on chain %llu, configured for chain %llu", (unsigned long long)s->chain_id,
                  (unsigned long long)cfg->chain_id);
        goto fail;
    }
    if (journal_load(s, err, errlen) || account_nonce(s, "pending", &node_nonce, err, errlen)) goto fail;
    if (node_nonce > s->next_nonce) s->next_nonce = node_nonce;
    if (journal_save(s, err, errlen)) goto fail;
    for (size_t i = 0; i < s->npending; i++) broadcast(s, s->pending[i].raw, s->pending[i].raw_len);
    return s;
fail:
    sender_close(s);
    return NULL;
}

void sender_close(sender *s) {
    if (!s) return;
    for (size_t i = 0; i < s->npending; i++) pending_free(&s->pending[i]);
    free(s->pending);
    free(s->journal);
    free(s);
}

uint64_t sender_next_nonce(const sender *s) { return s->next_nonce; }
size_t sender_pending(const sender *s) { return s->npending; }
uint64_t sender_chain_id(const sender *s) { return s->chain_id; }
uint64_t sender_replaced(const sender *s) { return s->replaced; }

/* ---- sending ---- */

int sender_send(sender *s, const uint8_t *to, const u256 *value, const uint8_t *data, size_t len, uint64_t gas,
                uint8_t id[32], char *err, size_t errlen) {
    u256 zero;
    u256_from_u64(&zero, 0);
    if (!value) value = &zero;
    if (!gas) {
        chain_msg m = {.from = s->id->address, .to = to, .value = value, .data = data, .len = len};
        char why[600];
        int rc = chain_estimate(s->rpc, &m, &s->cfg.known, &gas, why, sizeof why);
        if (rc == CHAIN_REVERTED) return opml_errf(err, errlen, "not sent, it would revert: %s", why + strlen("reverted: "));
        if (rc) return opml_errf(err, errlen, "gas estimate: %s", why);
        gas += gas * s->cfg.gas_margin_percent / 100;
    }
    eth_tx tx = {.chain_id = s->chain_id, .gas = gas, .has_to = to != NULL, .value = *value, .data = data, .data_len = len};
    if (to) memcpy(tx.to, to, 20);
    if (current_fees(s, &tx.max_priority_fee, &tx.max_fee, err, errlen)) return -1;

    pending_tx *grown = realloc(s->pending, (s->npending + 1) * sizeof *grown);
    if (!grown) return opml_errf(err, errlen, "out of memory");
    s->pending = grown;
    pending_tx *p = &s->pending[s->npending];
    memset(p, 0, sizeof *p);
    tx.nonce = p->nonce = s->next_nonce;
    if (tx_sign(&tx, s->id, &p->raw, &p->raw_len, p->id)) return opml_errf(err, errlen, "signing failed");
    memcpy(p->hashes[0], p->id, 32);
    p->nhashes = 1;
    p->sent_ms = now_ms();
    s->npending++;
    s->next_nonce++;
    if (journal_save(s, err, errlen)) { /* not journaled: not sent */
        s->npending--;
        s->next_nonce--;
        pending_free(p);
        return -1;
    }
    ethrpc_status st = broadcast(s, p->raw, p->raw_len);
    /* a refusal after a retry may only mean the first attempt got through ("nonce too low" once
     * it is mined): the node knowing the hash settles it */
    char refusal[512] = "";
    if (st == ETHRPC_E_RPC) snprintf(refusal, sizeof refusal, "%s", ethrpc_errmsg(s->rpc));
    if (st == ETHRPC_E_RPC && node_knows(s, p) == 1) st = ETHRPC_OK;
    if (st == ETHRPC_E_RPC) {
        /* the node refused it outright (funds, gas, nonce): it will never be mined, so give its
         * nonce back if nothing came after it, and say why */
        opml_errf(err, errlen, "node refused the transaction: %s", refusal);
        uint8_t *raw = p->raw;
        s->npending--;
        if (tx.nonce + 1 == s->next_nonce) s->next_nonce--;
        free(raw);
        char ignored[64];
        journal_save(s, ignored, sizeof ignored);
        return -1;
    }
    /* sent, or the node is unreachable: either way it is journaled and sender_poll follows it */
    memcpy(id, p->id, 32);
    return 0;
}

/* ---- following ---- */

static int parse_receipt(const cJSON *r, chain_receipt *out) {
    uint64_t status;
    const cJSON *ca = ej_get(r, "contractAddress");
    if (ej_data_fixed(ej_get(r, "transactionHash"), out->tx_hash, 32) || ej_quantity(ej_get(r, "status"), &status) ||
        ej_quantity(ej_get(r, "blockNumber"), &out->block_number) ||
        ej_data_fixed(ej_get(r, "blockHash"), out->block_hash, 32) || ej_quantity(ej_get(r, "gasUsed"), &out->gas_used))
        return -1;
    if (ej_quantity(ej_get(r, "effectiveGasPrice"), &out->effective_gas_price)) out->effective_gas_price = 0;
    out->success = status == 1;
    out->has_contract = ca && !cJSON_IsNull(ca);
    if (out->has_contract && ej_data_fixed(ca, out->contract_address, 20)) return -1;
    return 0;
}

/* Replays a reverted transaction on its block's parent to learn why it failed. */
static void revert_reason(sender *s, const pending_tx *p, uint64_t block, char *out, size_t outlen) {
    eth_tx tx;
    uint8_t from[20];
    char tag[24], why[256]; /* fits in out after the prefix */
    if (tx_decode(p->raw, p->raw_len, &tx, from, why, sizeof why)) {
        snprintf(out, outlen, "reverted (cannot replay: %s)", why);
        return;
    }
    snprintf(tag, sizeof tag, "0x%llx", (unsigned long long)(block ? block - 1 : 0));
    chain_msg m = {.from = from, .to = tx.has_to ? tx.to : NULL, .value = &tx.value, .data = tx.data, .len = tx.data_len,
                   .gas = tx.gas};
    uint8_t *ret;
    size_t retlen;
    int rc = chain_call_raw(s->rpc, &m, tag, &s->cfg.known, &ret, &retlen, why, sizeof why);
    if (rc == 0) {
        free(ret);
        snprintf(out, outlen, "reverted (out of gas, or state changed within the block: the replay succeeds)");
    } else {
        snprintf(out, outlen, "%s", why);
    }
}

/* Signs p again with the same nonce and higher fees, journals it, broadcasts it. */
static int replace(sender *s, pending_tx *p, char *err, size_t errlen) {
    eth_tx tx;
    uint8_t from[20], *raw, hash[32];
    size_t raw_len;
    if (tx_decode(p->raw, p->raw_len, &tx, from, err, errlen)) return -1;
    uint64_t tip, max_fee;
    if (current_fees(s, &tip, &max_fee, err, errlen)) return -1;
    uint64_t bumped_tip = tx.max_priority_fee + tx.max_priority_fee * s->cfg.bump_percent / 100 + 1;
    uint64_t bumped_max = tx.max_fee + tx.max_fee * s->cfg.bump_percent / 100 + 1;
    tx.max_priority_fee = tip > bumped_tip ? tip : bumped_tip;
    tx.max_fee = max_fee > bumped_max ? max_fee : bumped_max;
    if (tx.max_fee < tx.max_priority_fee) tx.max_fee = tx.max_priority_fee;
    if (s->cfg.max_fee_cap && tx.max_fee > s->cfg.max_fee_cap)
        return opml_errf(err, errlen, "nonce %llu is stuck and its fee is at the cap", (unsigned long long)p->nonce);
    if (tx_sign(&tx, s->id, &raw, &raw_len, hash)) return opml_errf(err, errlen, "signing failed");
    /* tx.data points into the old raw: it is freed only after signing */
    free(p->raw);
    p->raw = raw;
    p->raw_len = raw_len;
    if (p->nhashes == MAX_HASHES) memmove(p->hashes[1], p->hashes[2], (MAX_HASHES - 2) * 32), p->nhashes--;
    memcpy(p->hashes[p->nhashes++], hash, 32);
    p->sent_ms = now_ms();
    s->replaced++;
    if (journal_save(s, err, errlen)) return -1;
    broadcast(s, raw, raw_len);
    return 0;
}

/* 1 and *out when one of p's hashes is mined, 0 when none is, -1 when the node failed. */
static int find_receipt(sender *s, pending_tx *p, chain_receipt *out, char *err, size_t errlen) {
    for (size_t h = p->nhashes; h-- > 0;) {
        cJSON *params = cJSON_CreateArray(), *r;
        cJSON_AddItemToArray(params, ej_new_data(p->hashes[h], 32));
        if (ethrpc_call(s->rpc, "eth_getTransactionReceipt", params, &r) != ETHRPC_OK)
            return opml_errf(err, errlen, "%s", ethrpc_errmsg(s->rpc));
        if (cJSON_IsNull(r)) {
            cJSON_Delete(r);
            continue;
        }
        memset(out, 0, sizeof *out);
        int rc = parse_receipt(r, out);
        cJSON_Delete(r);
        if (rc) return opml_errf(err, errlen, "malformed reply: transaction receipt");
        memcpy(out->id, p->id, 32);
        out->nonce = p->nonce;
        if (!out->success) revert_reason(s, p, out->block_number, out->revert, sizeof out->revert);
        return 1;
    }
    return 0;
}

/* Is the latest version of p known to the node (in its pool or mined)? -1 if the node failed. */
static int node_knows(sender *s, const pending_tx *p) {
    cJSON *params = cJSON_CreateArray(), *r;
    cJSON_AddItemToArray(params, ej_new_data(p->hashes[p->nhashes - 1], 32));
    if (ethrpc_call(s->rpc, "eth_getTransactionByHash", params, &r) != ETHRPC_OK) return -1;
    int known = !cJSON_IsNull(r);
    cJSON_Delete(r);
    return known;
}

int sender_poll(sender *s, sender_receipt_fn cb, void *user, char *err, size_t errlen) {
    uint64_t mined_nonce = 0;
    int have_mined_nonce = 0, rc = 0;
    /* receipts found in this pass: the journal forgets them in one write, then they are reported */
    chain_receipt *done = calloc(s->npending + 1, sizeof *done);
    size_t ndone = 0;
    if (!done) return opml_errf(err, errlen, "out of memory");
    for (size_t i = 0; i < s->npending;) {
        pending_tx *p = &s->pending[i];
        chain_receipt *r = &done[ndone];
        int found = find_receipt(s, p, r, err, errlen);
        if (found < 0) goto fail;
        if (!found) {
            if (!have_mined_nonce && account_nonce(s, "latest", &mined_nonce, err, errlen)) goto fail;
            have_mined_nonce = 1;
            if (mined_nonce > p->nonce) {
                /* the nonce was used, but by none of our hashes (yet): if that lasts, report it as
                 * lost to another transaction of this key */
                uint64_t t = now_ms();
                if (!p->gone_ms) p->gone_ms = t;
                if (t - p->gone_ms >= DROP_AFTER_MS) {
                    memset(r, 0, sizeof *r);
                    memcpy(r->id, p->id, 32);
                    memcpy(r->tx_hash, p->hashes[p->nhashes - 1], 32);
                    r->nonce = p->nonce;
                    snprintf(r->revert, sizeof r->revert, "dropped: nonce %llu was used by another transaction of this key",
                             (unsigned long long)p->nonce);
                    found = 1;
                }
            } else {
                p->gone_ms = 0;
            }
        }
        if (!found && p->gone_ms) { /* its nonce is used: nothing to replace or re-broadcast */
            i++;
            continue;
        }
        if (found) {
            ndone++;
            pending_free(p);
            memmove(p, p + 1, (s->npending - i - 1) * sizeof *p);
            s->npending--;
            continue;
        }
        uint64_t now = now_ms();
        if (now > p->sent_ms && now - p->sent_ms >= s->cfg.stuck_ms) {
            if (replace(s, p, err, errlen)) goto fail;
        } else {
            int known = node_knows(s, p);
            if (known < 0) {
                opml_errf(err, errlen, "%s", ethrpc_errmsg(s->rpc));
                goto fail;
            }
            if (!known) {
                broadcast(s, p->raw, p->raw_len);
            }
        }
        i++;
    }
    rc = (int)s->npending;
    goto out;
fail:
    rc = -1;
out:
    /* a crash before this write only makes the next run report these receipts again */
    if (ndone && journal_save(s, rc < 0 ? NULL : err, rc < 0 ? 0 : errlen)) rc = -1;
    for (size_t k = 0; k < ndone && cb; k++) cb(&done[k], user);
    free(done);
    return rc;
}

struct waiter {
    const uint8_t *id;
    chain_receipt *out;
    int done;
    sender_receipt_fn cb;
    void *user;
};

static void on_receipt(const chain_receipt *r, void *user) {
    struct waiter *w = user;
    if (!memcmp(r->id, w->id, 32)) {
        *w->out = *r;
        w->done = 1;
    } else if (w->cb) {
        w->cb(r, w->user);
    }
}

int sender_wait(sender *s, const uint8_t id[32], uint64_t timeout_ms, chain_receipt *out, sender_receipt_fn cb,
                void *user, char *err, size_t errlen) {
    struct waiter w = {id, out, 0, cb, user};
    uint64_t deadline = now_ms() + timeout_ms;
    int tracked = 0;
    for (size_t i = 0; i < s->npending; i++) tracked |= !memcmp(s->pending[i].id, id, 32);
    if (!tracked) return opml_errf(err, errlen, "no pending transaction has this id");
    long nap_ms = 1;
    for (;;) {
        char why[512];
        if (sender_poll(s, on_receipt, &w, why, sizeof why) < 0 && now_ms() >= deadline)
            return opml_errf(err, errlen, "no receipt: %s", why);
        if (w.done) return 0;
        if (now_ms() >= deadline) return opml_errf(err, errlen, "no receipt within %llu ms", (unsigned long long)timeout_ms);
        struct timespec ts = {0, nap_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (nap_ms < 50) nap_ms *= 2; /* a quick first look: automining nodes answer within a millisecond */
    }
}
