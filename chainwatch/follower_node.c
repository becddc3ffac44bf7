/* follower_node.c: what the follower reads from the node (follower_private.h says how the follower
 * is split): a block's header (hash, parent hash, timestamp), the logs of the watched contracts
 * over a block or a range, and each log made into an opml.ChainEvent: its contract and event
 * named from the ABI, its arguments decoded (args_json) and typed (payload), or the reason they
 * could not be. Malformed replies are errors, never events. */
#include "follower_private.h"

#include "errmsg.h"
#include "ethjson.h"
#include "typed.h"

#include <stdlib.h>
#include <string.h>

/* eth_getBlockByNumber(n), the header only: 1 with its hash, parent hash and timestamp (the
 * newest timestamp read is kept), 0 if the node has no such block, -1. */
int follower_block_at(follower *f, uint64_t n, uint8_t hash[32], uint8_t parent[32], uint64_t *time, char *err,
                      size_t errlen) {
    cJSON *params = cJSON_CreateArray(), *b;
    cJSON_AddItemToArray(params, ej_new_quantity(n));
    cJSON_AddItemToArray(params, cJSON_CreateFalse());
    if (ethrpc_call(f->rpc, "eth_getBlockByNumber", params, &b) != ETHRPC_OK)
        return opml_errf(err, errlen, "%s", ethrpc_errmsg(f->rpc));
    if (cJSON_IsNull(b)) {
        cJSON_Delete(b);
        return 0;
    }
    int bad = ej_data_fixed(ej_get(b, "hash"), hash, 32) || ej_data_fixed(ej_get(b, "parentHash"), parent, 32) ||
              ej_quantity(ej_get(b, "timestamp"), time);
    cJSON_Delete(b);
    if (bad) return opml_errf(err, errlen, "malformed reply: block %llu", (unsigned long long)n);
    if (*time > f->block_time) f->block_time = *time;
    return 1;
}

/* eth_getLogs of the watched contracts over the blocks `filter` selects (the call takes it over).
 * Returns 0 with the array in *logs, or -1 with err set; *node_failed (when not NULL) is set when
 * the node failed the call, rather than answered something that is not an array. */
int follower_get_logs(follower *f, cJSON *filter, cJSON **logs, int *node_failed, char *err, size_t errlen) {
    cJSON *addrs = cJSON_CreateArray(), *params = cJSON_CreateArray();
    for (size_t i = 0; i < f->cfg.ncontracts; i++) cJSON_AddItemToArray(addrs, ej_new_data(f->cfg.contracts[i].address, 20));
    cJSON_AddItemToObject(filter, "address", addrs);
    cJSON_AddItemToArray(params, filter);
    if (ethrpc_call(f->rpc, "eth_getLogs", params, logs) != ETHRPC_OK) {
        if (node_failed) *node_failed = 1;
        return opml_errf(err, errlen, "%s", ethrpc_errmsg(f->rpc));
    }
    if (!cJSON_IsArray(*logs)) {
        cJSON_Delete(*logs);
        return opml_errf(err, errlen, "malformed reply: eth_getLogs result is not an array");
    }
    return 0;
}

/* ---- building events ---- */

/* A heap ChainEvent whose strings and bytes are all malloc'd and owned by it. */
void follower_event_free(Opml__ChainEvent *ev) {
    if (!ev) return;
    free(ev->contract);
    free(ev->event);
    free(ev->signature);
    free(ev->args_json);
    free(ev->payload_type);
    free(ev->payload.data);
    free(ev->address.data);
    free(ev->block_hash.data);
    free(ev->tx_hash.data);
    for (size_t i = 0; i < ev->n_topics; i++) free(ev->topics[i].data);
    free(ev->topics);
    free(ev->data.data);
    free(ev);
}

static ProtobufCBinaryData bytes_dup(const uint8_t *p, size_t n) {
    ProtobufCBinaryData b = {0, NULL};
    b.data = malloc(n ? n : 1);
    if (b.data) {
        if (n) memcpy(b.data, p, n);
        b.len = n;
    }
    return b;
}

/* The event of one log object of eth_getLogs, of block `number` with that hash and timestamp. NULL
 * (reason in err) if the log is malformed or from another block. */
Opml__ChainEvent *follower_event_of_log(follower *f, const cJSON *log, uint64_t number, const uint8_t hash[32],
                                        uint64_t time, char *err, size_t errlen) {
    uint8_t addr[20], txh[32], bh[32], topics[4][32], *data = NULL;
    uint64_t index;
    size_t nt = 0, len = 0;
    const cJSON *tl = ej_get(log, "topics"), *t;
    if (ej_data_fixed(ej_get(log, "address"), addr, 20) || ej_data_fixed(ej_get(log, "transactionHash"), txh, 32) ||
        ej_data_fixed(ej_get(log, "blockHash"), bh, 32) || ej_quantity(ej_get(log, "logIndex"), &index) ||
        !cJSON_IsArray(tl) || cJSON_GetArraySize(tl) > 4 || ej_data(ej_get(log, "data"), &data, &len))
        return opml_errf(err, errlen, "malformed reply: a log of block %llu", (unsigned long long)number), NULL;
    cJSON_ArrayForEach(t, tl) {
        if (ej_data_fixed(t, topics[nt++], 32)) {
            free(data);
            return opml_errf(err, errlen, "malformed reply: a log topic of block %llu", (unsigned long long)number), NULL;
        }
    }
    if (memcmp(bh, hash, 32) || cJSON_IsTrue(ej_get(log, "removed"))) {
        free(data);
        return opml_errf(err, errlen, "a log of block %llu is from another block (re-org in progress)",
                         (unsigned long long)number), NULL;
    }
    const follow_contract *fc = NULL;
    for (size_t i = 0; i < f->cfg.ncontracts && !fc; i++)
        if (!memcmp(f->cfg.contracts[i].address, addr, 20)) fc = &f->cfg.contracts[i];
    Opml__ChainEvent *ev = calloc(1, sizeof *ev);
    if (!ev) {
        free(data);
        return opml_errf(err, errlen, "out of memory"), NULL;
    }
    opml__chain_event__init(ev);
    /* init points the strings at protobuf-c's static "": every string here is malloc'd instead */
    ev->contract = ev->event = ev->signature = ev->args_json = ev->payload_type = NULL;
    ev->chain_id = f->chain_id;
    ev->block_number = number;
    ev->block_time = time;
    ev->log_index = (uint32_t)index;
    ev->address = bytes_dup(addr, 20);
    ev->block_hash = bytes_dup(hash, 32);
    ev->tx_hash = bytes_dup(txh, 32);
    ev->data.data = data;
    ev->data.len = len;
    ev->topics = calloc(nt ? nt : 1, sizeof *ev->topics);
    for (size_t i = 0; ev->topics && i < nt; i++) ev->topics[ev->n_topics++] = bytes_dup(topics[i], 32);
    const abi_event *e = fc && nt ? contract_event_by_topic(fc->abi, topics[0]) : NULL;
    char why[300] = "no event of the contract has this topic";
    cJSON *args = e ? contract_decode_log(e, (const uint8_t(*)[32])topics, nt, data, len, why, sizeof why) : NULL;
    if (fc) ev->contract = strdup(fc->abi->name);
    if (e) {
        ev->event = strdup(e->name);
        ev->signature = strdup(e->signature);
    }
    if (!args) {
        args = cJSON_CreateObject();
        cJSON_AddStringToObject(args, "decode_error", why);
    } else {
        char type[128];
        int t = typed_event(e->name, args, type, &ev->payload.data, &ev->payload.len, why, sizeof why);
        if (t == 1) ev->payload_type = strdup(type);
        if (t < 0) cJSON_AddStringToObject(args, "typed_error", why);
    }
    ev->args_json = cJSON_PrintUnformatted(args);
    cJSON_Delete(args);
    if (!ev->contract) ev->contract = strdup("");
    if (!ev->event) ev->event = strdup("");
    if (!ev->signature) ev->signature = strdup("");
    if (!ev->payload_type) ev->payload_type = strdup("");
    if (!ev->topics || !ev->contract || !ev->event || !ev->signature || !ev->args_json || !ev->payload_type ||
        !ev->address.data || !ev->block_hash.data || !ev->tx_hash.data) {
        follower_event_free(ev);
        return opml_errf(err, errlen, "out of memory"), NULL;
    }
    return ev;
}
