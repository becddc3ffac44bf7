/* follower_range.c: catching up (follower_private.h says how the follower is split). Blocks more
 * than `window` below the confirmed head are past any re-org the follower tracks; follower_step
 * hands them here a range at a time rather than block by block. */
#include "follower_private.h"

#include "errmsg.h"
#include "ethjson.h"

#include <stdlib.h>
#include <string.h>

/* Catching up: blocks more than `window` below the confirmed head are past any re-org the
 * follower tracks, so their logs are read with one eth_getLogs over [next, to] instead of block by
 * block. Each log still names its block (number and hash) and must come in chain order. A log
 * carries no timestamp: each block with logs is read once (eth_getBlockByNumber, the header), and
 * must be the block the log names, or the reply is stale (a re-org) and the range is read again. */
int follower_process_range(follower *f, uint64_t to, follow_publish_fn publish, void *user, char *err, size_t errlen) {
    cJSON *filter = cJSON_CreateObject(), *logs;
    cJSON_AddItemToObject(filter, "fromBlock", ej_new_quantity(f->next));
    cJSON_AddItemToObject(filter, "toBlock", ej_new_quantity(to));
    int node_failed = 0;
    if (follower_get_logs(f, filter, &logs, &node_failed, err, errlen)) {
        if (node_failed && f->range > 1) f->range /= 2; /* too many logs for the node, perhaps: ask for less */
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(logs), k = 0;
    Opml__ChainEvent **evs = calloc(n + 1, sizeof *evs);
    int rc = -1;
    const cJSON *log;
    uint64_t last_block = 0, time = 0;
    uint8_t last_hash[32] = {0};
    if (!evs) {
        opml_errf(err, errlen, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(log, logs) {
        uint64_t number;
        uint8_t hash[32];
        if (ej_quantity(ej_get(log, "blockNumber"), &number) || ej_data_fixed(ej_get(log, "blockHash"), hash, 32) ||
            number < f->next || number > to || number < last_block) {
            opml_errf(err, errlen, "malformed reply: a log outside blocks %llu..%llu or out of order",
                      (unsigned long long)f->next, (unsigned long long)to);
            goto out;
        }
        if (!k || number != last_block) { /* the first log of its block: the block's header */
            uint8_t parent[32];
            int got = follower_block_at(f, number, last_hash, parent, &time, err, errlen);
            if (got <= 0) {
                if (got == 0) opml_errf(err, errlen, "block %llu vanished", (unsigned long long)number);
                goto out;
            }
        }
        if (memcmp(hash, last_hash, 32)) {
            opml_errf(err, errlen, "a log of block %llu is from another block (re-org in progress)", (unsigned long long)number);
            goto out;
        }
        evs[k] = follower_event_of_log(f, log, number, hash, time, err, errlen);
        if (!evs[k]) goto out;
        if (k && number == last_block && evs[k]->log_index <= evs[k - 1]->log_index) {
            opml_errf(err, errlen, "malformed reply: logs of block %llu out of order", (unsigned long long)number);
            k++;
            goto out;
        }
        last_block = number;
        evs[k]->seq = f->seq + 1 + k;
        k++;
    }
    f->seq += n;
    f->next = to + 1;
    f->dirty = 1;
    if (follower_commit(f, evs, n, err, errlen)) goto out;
    rc = follower_publish_new(f, evs, n, publish, user, err, errlen);
out:
    for (size_t i = 0; i < k; i++) follower_event_free(evs[i]);
    free(evs);
    cJSON_Delete(logs);
    return rc;
}
