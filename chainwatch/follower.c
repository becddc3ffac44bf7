/* follower.c: see follower.h; follower_private.h says how the follower is split. Here: the
 * journal (the cursor and every event in the store, written together), block-by-block processing
 * above the re-org window, the retraction of a re-orged block, publishing, and follower_step, which
 * picks the next unit of work. */
#include "follower_private.h"

#include "errmsg.h"
#include "ethjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMIT_EVERY 64 /* blocks without events between cursor writes */
#define RANGE_MAX 1000  /* blocks per eth_getLogs when catching up below the re-org window */

static void blocks_clear(follower *f) {
    for (size_t i = 0; i < f->nblocks; i++) free(f->blocks[i].seqs);
    free(f->blocks);
    f->blocks = NULL;
    f->nblocks = 0;
}

void follower_close(follower *f) {
    if (!f) return;
    blocks_clear(f);
    free(f->prefix);
    free(f);
}

static void event_key(const follower *f, uint64_t seq, char *out, size_t outlen) {
    snprintf(out, outlen, "%sev/%016llx", f->prefix, (unsigned long long)seq);
}

static void cursor_key(const follower *f, char *out, size_t outlen) { snprintf(out, outlen, "%scursor", f->prefix); }

/* ---- the cursor ---- */

static char *cursor_text(const follower *f) {
    cJSON *j = cJSON_CreateObject(), *bl = cJSON_CreateArray();
    cJSON_AddItemToObject(j, "next", ej_new_quantity(f->next));
    cJSON_AddItemToObject(j, "seq", ej_new_quantity(f->seq));
    cJSON_AddItemToObject(j, "published", ej_new_quantity(f->published));
    for (size_t i = 0; i < f->nblocks; i++) {
        cJSON *b = cJSON_CreateObject(), *ev = cJSON_CreateArray();
        cJSON_AddItemToObject(b, "n", ej_new_quantity(f->blocks[i].number));
        cJSON_AddItemToObject(b, "h", ej_new_data(f->blocks[i].hash, 32));
        for (size_t k = 0; k < f->blocks[i].nseqs; k++) cJSON_AddItemToArray(ev, ej_new_quantity(f->blocks[i].seqs[k]));
        cJSON_AddItemToObject(b, "ev", ev);
        cJSON_AddItemToArray(bl, b);
    }
    cJSON_AddItemToObject(j, "blocks", bl);
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return t;
}

static int cursor_load(follower *f, char *err, size_t errlen) {
    char key[300];
    int found;
    uint8_t *val;
    size_t len;
    cursor_key(f, key, sizeof key);
    blocks_clear(f);
    f->next = f->cfg.from_block;
    f->seq = f->published = 0;
    f->dirty = f->reload = 0;
    f->since_commit = 0;
    if (f->store.get(f->store.user, key, &found, &val, &len, err, errlen)) return -1;
    if (!found) return 0;
    cJSON *j = cJSON_ParseWithLength((const char *)val, len);
    free(val);
    const cJSON *bl = ej_get(j, "blocks"), *b;
    if (!j || ej_quantity(ej_get(j, "next"), &f->next) || ej_quantity(ej_get(j, "seq"), &f->seq) ||
        ej_quantity(ej_get(j, "published"), &f->published) || !cJSON_IsArray(bl) || f->published > f->seq) {
        cJSON_Delete(j);
        return opml_errf(err, errlen, "stored cursor %s is damaged", key);
    }
    f->blocks = calloc((size_t)cJSON_GetArraySize(bl) + 1, sizeof *f->blocks);
    cJSON_ArrayForEach(b, bl) {
        rec_block *r = &f->blocks[f->nblocks];
        const cJSON *ev = ej_get(b, "ev"), *s;
        int ok = f->blocks && !ej_quantity(ej_get(b, "n"), &r->number) && !ej_data_fixed(ej_get(b, "h"), r->hash, 32) &&
                 cJSON_IsArray(ev);
        r->seqs = ok ? calloc((size_t)cJSON_GetArraySize(ev) + 1, sizeof *r->seqs) : NULL;
        cJSON_ArrayForEach(s, ev) if (ok && ej_quantity(s, &r->seqs[r->nseqs++])) ok = 0;
        if (!ok || !r->seqs) {
            free(r->seqs);
            cJSON_Delete(j);
            return opml_errf(err, errlen, "stored cursor %s is damaged", key);
        }
        f->nblocks++;
    }
    cJSON_Delete(j);
    return 0;
}

/* Writes the cursor together with events (packed, keyed by their seq) in one atomic put. */
int follower_commit(follower *f, Opml__ChainEvent *const *evs, size_t n, char *err, size_t errlen) {
    char **keys = calloc(n + 1, sizeof *keys);
    uint8_t **vals = calloc(n + 1, sizeof *vals);
    size_t *lens = calloc(n + 1, sizeof *lens);
    int rc = -1;
    if (!keys || !vals || !lens) goto out;
    for (size_t i = 0; i < n; i++) {
        keys[i] = malloc(300);
        lens[i] = opml__chain_event__get_packed_size(evs[i]);
        vals[i] = malloc(lens[i] + 1);
        if (!keys[i] || !vals[i]) goto out;
        event_key(f, evs[i]->seq, keys[i], 300);
        opml__chain_event__pack(evs[i], vals[i]);
    }
    keys[n] = malloc(300);
    vals[n] = (uint8_t *)cursor_text(f);
    if (!keys[n] || !vals[n]) goto out;
    cursor_key(f, keys[n], 300);
    lens[n] = strlen((char *)vals[n]);
    rc = f->store.put(f->store.user, n + 1, (const char *const *)keys, (const uint8_t *const *)vals, lens, err, errlen);
    if (rc == 0) {
        f->dirty = 0;
        f->since_commit = 0;
    }
out:
    if (rc && keys && vals && lens && !(err && err[0])) opml_errf(err, errlen, "out of memory");
    for (size_t i = 0; keys && vals && i <= n; i++) {
        free(keys[i]);
        free(vals[i]);
    }
    free(keys);
    free(vals);
    free(lens);
    if (rc) f->reload = 1;
    return rc;
}

follower *follower_open(ethrpc_client *rpc, const follower_config *cfg, const follow_store *store, char *err,
                        size_t errlen) {
    if (!cfg->ncontracts || !cfg->key_prefix) return opml_errf(err, errlen, "follower: no contracts or key prefix"), NULL;
    follower *f = calloc(1, sizeof *f);
    if (!f || !(f->prefix = strdup(cfg->key_prefix))) {
        free(f);
        return opml_errf(err, errlen, "out of memory"), NULL;
    }
    f->rpc = rpc;
    f->cfg = *cfg;
    f->cfg.key_prefix = f->prefix;
    if (!f->cfg.window) f->cfg.window = 256;
    f->range = RANGE_MAX;
    f->store = *store;
    cJSON *res;
    if (ethrpc_call(rpc, "eth_chainId", NULL, &res) != ETHRPC_OK) {
        opml_errf(err, errlen, "%s", ethrpc_errmsg(rpc));
        follower_close(f);
        return NULL;
    }
    int bad = ej_quantity(res, &f->chain_id);
    cJSON_Delete(res);
    if (bad) {
        opml_errf(err, errlen, "malformed reply: eth_chainId");
        follower_close(f);
        return NULL;
    }
    if (cursor_load(f, err, errlen)) {
        follower_close(f);
        return NULL;
    }
    return f;
}

uint64_t follower_last_seq(const follower *f) { return f->seq; }
uint64_t follower_next_block(const follower *f) { return f->next; }
uint64_t follower_retracted(const follower *f) { return f->retracted; }
uint64_t follower_block_time(const follower *f) { return f->block_time; }

void follower_topic(const Opml__ChainEvent *ev, char *out, size_t outlen) {
    snprintf(out, outlen, "chain.%s.%s", ev->contract[0] ? ev->contract : "unknown", ev->event[0] ? ev->event : "unknown");
}

Opml__ChainEvent *follower_get_event(follower *f, uint64_t seq, char *err, size_t errlen) {
    char key[300];
    int found;
    uint8_t *val;
    size_t len;
    event_key(f, seq, key, sizeof key);
    if (seq == 0 || seq > f->seq) return opml_errf(err, errlen, "no event %llu (last is %llu)", (unsigned long long)seq,
                                                   (unsigned long long)f->seq), NULL;
    if (f->store.get(f->store.user, key, &found, &val, &len, err, errlen)) return NULL;
    if (!found) return opml_errf(err, errlen, "event %llu is missing from the store", (unsigned long long)seq), NULL;
    Opml__ChainEvent *ev = opml__chain_event__unpack(NULL, len, val);
    free(val);
    if (!ev) opml_errf(err, errlen, "stored event %llu does not parse", (unsigned long long)seq);
    return ev;
}

/* Publishes stored events published+1 .. upto. */
static int publish_range(follower *f, uint64_t upto, follow_publish_fn publish, void *user, char *err, size_t errlen) {
    while (f->published < upto) {
        Opml__ChainEvent *ev = follower_get_event(f, f->published + 1, err, errlen);
        if (!ev) return -1;
        char topic[256];
        follower_topic(ev, topic, sizeof topic);
        int rc = publish(user, topic, ev);
        opml__chain_event__free_unpacked(ev, NULL);
        if (rc) return opml_errf(err, errlen, "could not publish event %llu", (unsigned long long)(f->published + 1));
        f->published++;
        f->dirty = 1;
    }
    return 0;
}

/* Publishes freshly built events (already durable) in order. */
int follower_publish_new(follower *f, Opml__ChainEvent *const *evs, size_t n, follow_publish_fn publish, void *user,
                         char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        char topic[256];
        follower_topic(evs[i], topic, sizeof topic);
        if (publish(user, topic, evs[i])) {
            f->reload = 1;
            return opml_errf(err, errlen, "could not publish event %llu", (unsigned long long)evs[i]->seq);
        }
        f->published = evs[i]->seq;
        f->dirty = 1;
    }
    return 0;
}

/* Retracts the newest recorded block: a removed = true copy of each of its events, newest first. */
static int retract_top(follower *f, follow_publish_fn publish, void *user, char *err, size_t errlen) {
    rec_block top = f->blocks[f->nblocks - 1];
    Opml__ChainEvent **evs = calloc(top.nseqs + 1, sizeof *evs);
    int rc = -1;
    size_t n = 0;
    if (!evs) return opml_errf(err, errlen, "out of memory");
    for (size_t k = top.nseqs; k-- > 0;) {
        Opml__ChainEvent *old = follower_get_event(f, top.seqs[k], err, errlen);
        if (!old) goto out;
        /* re-pack the stored bytes into an owned copy with the new seq */
        size_t len = opml__chain_event__get_packed_size(old);
        uint8_t *buf = malloc(len + 1);
        if (!buf) {
            opml__chain_event__free_unpacked(old, NULL);
            goto out;
        }
        opml__chain_event__pack(old, buf);
        opml__chain_event__free_unpacked(old, NULL);
        Opml__ChainEvent *r = opml__chain_event__unpack(NULL, len, buf);
        free(buf);
        if (!r) goto out;
        r->seq = f->seq + 1 + n;
        r->removed = 1;
        r->retracts_seq = top.seqs[k];
        evs[n++] = r;
    }
    f->seq += n;
    f->nblocks--;
    f->next = top.number;
    rc = follower_commit(f, evs, n, err, errlen);
    if (rc == 0) {
        free(top.seqs);
        f->retracted += n;
        rc = follower_publish_new(f, evs, n, publish, user, err, errlen);
    } else {
        f->nblocks++; /* reload restores the rest */
    }
out:
    for (size_t i = 0; i < n; i++) opml__chain_event__free_unpacked(evs[i], NULL);
    free(evs);
    return rc;
}

/* Processes block f->next (known to exist and be confirmed). */
static int process_block(follower *f, follow_publish_fn publish, void *user, char *err, size_t errlen) {
    uint8_t hash[32], parent[32];
    uint64_t time;
    int got = follower_block_at(f, f->next, hash, parent, &time, err, errlen);
    if (got <= 0) return got < 0 ? -1 : opml_errf(err, errlen, "block %llu vanished", (unsigned long long)f->next);
    if (f->nblocks && f->blocks[f->nblocks - 1].number + 1 == f->next &&
        memcmp(parent, f->blocks[f->nblocks - 1].hash, 32) != 0)
        return retract_top(f, publish, user, err, errlen); /* re-org below us: step back */

    cJSON *filter = cJSON_CreateObject(), *logs;
    cJSON_AddItemToObject(filter, "blockHash", ej_new_data(hash, 32));
    if (follower_get_logs(f, filter, &logs, NULL, err, errlen)) return -1;
    size_t n = (size_t)cJSON_GetArraySize(logs), k = 0;
    Opml__ChainEvent **evs = calloc(n + 1, sizeof *evs);
    rec_block rb = {f->next, {0}, calloc(n + 1, sizeof(uint64_t)), 0};
    memcpy(rb.hash, hash, 32);
    int rc = -1;
    const cJSON *log;
    if (!evs || !rb.seqs) {
        opml_errf(err, errlen, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(log, logs) {
        evs[k] = follower_event_of_log(f, log, f->next, hash, time, err, errlen);
        if (!evs[k]) goto out;
        if (k && evs[k]->log_index <= evs[k - 1]->log_index) {
            opml_errf(err, errlen, "malformed reply: logs of block %llu out of order", (unsigned long long)f->next);
            k++;
            goto out;
        }
        evs[k]->seq = f->seq + 1 + k;
        rb.seqs[rb.nseqs++] = evs[k]->seq;
        k++;
    }
    /* record the block, dropping the oldest beyond the window */
    rec_block *grown = realloc(f->blocks, (f->nblocks + 1) * sizeof *grown);
    if (!grown) {
        opml_errf(err, errlen, "out of memory");
        goto out;
    }
    f->blocks = grown;
    f->blocks[f->nblocks++] = rb;
    rb.seqs = NULL;
    if (f->nblocks > f->cfg.window) {
        free(f->blocks[0].seqs);
        memmove(f->blocks, f->blocks + 1, (f->nblocks - 1) * sizeof *f->blocks);
        f->nblocks--;
    }
    f->seq += n;
    f->next++;
    f->dirty = 1;
    if (n || ++f->since_commit >= COMMIT_EVERY) {
        if (follower_commit(f, evs, n, err, errlen)) goto out;
    }
    rc = follower_publish_new(f, evs, n, publish, user, err, errlen);
out:
    for (size_t i = 0; i < k; i++) follower_event_free(evs[i]);
    free(evs);
    free(rb.seqs);
    cJSON_Delete(logs);
    return rc;
}

int follower_step(follower *f, follow_publish_fn publish, void *user, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (f->reload && cursor_load(f, err, errlen)) return -1;
    if (f->published < f->seq) /* stored by a previous run (or step) but not published */
        return publish_range(f, f->seq, publish, user, err, errlen) ? -1 : 1;

    uint64_t head;
    cJSON *res;
    if (ethrpc_call(f->rpc, "eth_blockNumber", NULL, &res) != ETHRPC_OK) return opml_errf(err, errlen, "%s", ethrpc_errmsg(f->rpc));
    int bad = ej_quantity(res, &head);
    cJSON_Delete(res);
    if (bad) return opml_errf(err, errlen, "malformed reply: eth_blockNumber");

    if (head >= f->cfg.confirmations && f->next <= head - f->cfg.confirmations) {
        uint64_t safe = head - f->cfg.confirmations;
        if (safe >= f->cfg.window && f->next + f->cfg.window <= safe) { /* far behind: whole ranges */
            uint64_t to = safe - f->cfg.window;
            if (to - f->next + 1 > f->range) to = f->next + f->range - 1;
            return follower_process_range(f, to, publish, user, err, errlen) ? -1 : 1;
        }
        return process_block(f, publish, user, err, errlen) ? -1 : 1;
    }

    /* caught up: is the newest recorded block still in the chain? */
    if (f->nblocks) {
        uint8_t hash[32], parent[32];
        uint64_t time;
        int got = follower_block_at(f, f->blocks[f->nblocks - 1].number, hash, parent, &time, err, errlen);
        if (got < 0) return -1;
        if (got == 0 || memcmp(hash, f->blocks[f->nblocks - 1].hash, 32))
            return retract_top(f, publish, user, err, errlen) ? -1 : 1;
    }
    return follower_flush(f, err, errlen);
}

int follower_flush(follower *f, char *err, size_t errlen) {
    if (f->reload || !f->dirty) return 0; /* nothing the store lacks, or state not to be trusted */
    return follower_commit(f, NULL, 0, err, errlen);
}
