/* client.c: the storage actor's client (see client.h): one rpc, one request type per call, and
 * the checks that make a reply trustworthy (tensor bytes against their root, proofs). */
#include "client.h"

#include "errmsg.h"
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(STORAGE_MAX_PUT + 4096 <= ENVELOPE_MAX_BYTES, "a maximal put must fit in one envelope");
_Static_assert(STORAGE_MAX_READ + 4096 <= ENVELOPE_MAX_BYTES, "a maximal read must fit in one envelope");
_Static_assert(STORAGE_PART_BYTES + 4096 <= ENVELOPE_MAX_BYTES, "a part must fit in one envelope");

struct storage_client {
    rpc *r;
    int timeout_ms, retries;
    char err[512];
};

/* A failed call: the reason in the client's buffer (storage_client_error), code returned. */
static int fail(storage_client *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(storage_client *c, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    opml_verrc(c->err, sizeof c->err, code, fmt, ap);
    va_end(ap);
    return code;
}

storage_client *storage_client_new(net *n, signer *s, const char *peer, int timeout_ms, int retries, char *err,
                                   size_t errlen) {
    storage_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* replies are bounded in time like requests: the runtime's default skew */
    c->r = rpc_connect(n, s, peer, 300000, err, errlen);
    if (!c->r) {
        free(c);
        return NULL;
    }
    c->timeout_ms = timeout_ms;
    c->retries = retries;
    return c;
}

void storage_client_free(storage_client *c) {
    if (!c) return;
    rpc_close(c->r);
    free(c);
}

const char *storage_client_error(const storage_client *c) {
    return c->err;
}

/* One call; on 0 *reply is the unpacked reply of type desc. */
static int call(storage_client *c, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                ProtobufCMessage **reply) {
    c->err[0] = 0;
    return rpc_call_max(c->r, req, desc, ENVELOPE_MAX_BYTES, reply, c->timeout_ms, c->retries, c->err, sizeof c->err);
}

/* Sends one StoragePutTensor; on 0 *length and *complete are the reply's. */
static int put_request(storage_client *c, Opml__StoragePutTensor *req, uint8_t root_out[32], uint64_t *length,
                       int *complete) {
    ProtobufCMessage *m;
    int rc = call(c, &req->base, &opml__storage_put_tensor_reply__descriptor, &m);
    if (rc) return rc;
    Opml__StoragePutTensorReply *rep = (Opml__StoragePutTensorReply *)m;
    if (rep->root.len == 32) memcpy(root_out, rep->root.data, 32);
    else rc = fail(c, OPML_E_BAD_REQUEST, "the reply's root has %zu bytes", rep->root.len);
    *length = rep->length;
    *complete = rep->complete;
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int storage_client_put_tensor(storage_client *c, const void *data, size_t len, const uint8_t *claimed_root,
                              uint8_t root_out[32]) {
    if (len > MERKLE_SLOT_BYTES)
        return fail(c, OPML_E_BAD_REQUEST, "a tensor holds at most %llu bytes, not %zu",
                    (unsigned long long)MERKLE_SLOT_BYTES, len);
    Opml__StoragePutTensor req = OPML__STORAGE_PUT_TENSOR__INIT;
    uint64_t length;
    int complete;
    if (len <= STORAGE_MAX_PUT) {
        req.data = (ProtobufCBinaryData){len, (uint8_t *)data};
        if (claimed_root) req.root = (ProtobufCBinaryData){32, (uint8_t *)claimed_root};
        return put_request(c, &req, root_out, &length, &complete);
    }
    /* in parts: the root names the put, so it is computed here when not given */
    uint8_t root[32];
    if (claimed_root) memcpy(root, claimed_root, 32);
    else merkle_tensor_root(data, len, root);
    req.root = (ProtobufCBinaryData){32, root};
    req.total_length = len;
    uint64_t off = 0;
    for (;;) { /* the server says how far it got: a put resumed after a lost reply continues there */
        size_t n = len - off < STORAGE_PART_BYTES ? len - off : STORAGE_PART_BYTES;
        req.offset = off;
        req.data = (ProtobufCBinaryData){n, (uint8_t *)data + off};
        int rc = put_request(c, &req, root_out, &length, &complete);
        if (rc || complete) return rc;
        if (length <= off || length >= len)
            return fail(c, OPML_E_BAD_REQUEST, "the server acknowledged %llu bytes after a part at %llu",
                        (unsigned long long)length, (unsigned long long)off);
        off = length;
    }
}

int storage_client_get_tensor(storage_client *c, const uint8_t root[32], uint8_t **data, size_t *len) {
    Opml__StorageGetTensor req = OPML__STORAGE_GET_TENSOR__INIT;
    req.root = (ProtobufCBinaryData){32, (uint8_t *)root};
    uint8_t *buf = NULL;
    uint64_t total = 0, have = 0;
    int rc = 0;
    do { /* the first reply says the total; later reads continue at `have` */
        req.offset = have;
        ProtobufCMessage *m;
        if ((rc = call(c, &req.base, &opml__storage_get_tensor_reply__descriptor, &m))) break;
        Opml__StorageGetTensorReply *rep = (Opml__StorageGetTensorReply *)m;
        if (!buf) {
            total = rep->total_length;
            buf = total <= MERKLE_SLOT_BYTES ? malloc(total ? total : 1) : NULL;
            if (!buf) rc = fail(c, OPML_E_UNAVAILABLE, "cannot hold a tensor of %llu bytes", (unsigned long long)total);
        }
        if (!rc && (rep->total_length != total || rep->offset != have || rep->data.len > total - have ||
                    (rep->data.len == 0 && have < total)))
            rc = fail(c, OPML_E_BAD_REQUEST, "the server answered an inconsistent range");
        if (!rc) {
            if (rep->data.len) memcpy(buf + have, rep->data.data, rep->data.len);
            have += rep->data.len;
        }
        protobuf_c_message_free_unpacked(m, NULL);
    } while (!rc && have < total);
    uint8_t got[32];
    if (!rc && (merkle_tensor_root(buf, total, got) != 0 || memcmp(got, root, 32) != 0))
        rc = fail(c, STORAGE_E_CORRUPT, "the bytes served do not hash to the tensor root");
    if (rc) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = total;
    return 0;
}

int storage_client_stat_tensor(storage_client *c, const uint8_t root[32], int *found, uint64_t *len) {
    Opml__StorageStatTensor req = OPML__STORAGE_STAT_TENSOR__INIT;
    req.root = (ProtobufCBinaryData){32, (uint8_t *)root};
    ProtobufCMessage *m;
    int rc = call(c, &req.base, &opml__storage_stat_tensor_reply__descriptor, &m);
    if (rc) return rc;
    Opml__StorageStatTensorReply *rep = (Opml__StorageStatTensorReply *)m;
    *found = rep->found;
    *len = rep->length;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

int storage_client_get_proof(storage_client *c, const uint8_t root[32], uint64_t index, merkle_proof *out) {
    Opml__StorageGetProof req = OPML__STORAGE_GET_PROOF__INIT;
    req.root = (ProtobufCBinaryData){32, (uint8_t *)root};
    req.index = index;
    ProtobufCMessage *m;
    int rc = call(c, &req.base, &opml__storage_get_proof_reply__descriptor, &m);
    if (rc) return rc;
    Opml__StorageGetProofReply *rep = (Opml__StorageGetProofReply *)m;
    int ok = rep->index == index && rep->leaf.len == 32 && rep->n_siblings == MERKLE_SLOT_DEPTH;
    for (size_t h = 0; ok && h < rep->n_siblings; h++) ok = rep->siblings[h].len == 32;
    if (ok) {
        out->index = index;
        out->depth = MERKLE_SLOT_DEPTH;
        memcpy(out->leaf, rep->leaf.data, 32);
        for (size_t h = 0; h < MERKLE_SLOT_DEPTH; h++) memcpy(out->siblings[h], rep->siblings[h].data, 32);
        ok = merkle_verify(root, out);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return ok ? 0 : fail(c, STORAGE_E_CORRUPT, "the proof of leaf %llu served does not verify", (unsigned long long)index);
}

int storage_client_kv_get(storage_client *c, const void *key, size_t klen, int *found, uint8_t **value, size_t *vlen) {
    Opml__StorageKvGet req = OPML__STORAGE_KV_GET__INIT;
    req.key = (ProtobufCBinaryData){klen, (uint8_t *)key};
    ProtobufCMessage *m;
    int rc = call(c, &req.base, &opml__storage_kv_get_reply__descriptor, &m);
    if (rc) return rc;
    Opml__StorageKvGetReply *rep = (Opml__StorageKvGetReply *)m;
    *found = rep->found;
    *value = NULL;
    *vlen = rep->found ? rep->value.len : 0;
    if (*vlen && !(*value = malloc(*vlen))) rc = fail(c, OPML_E_UNAVAILABLE, "out of memory");
    else if (*vlen) memcpy(*value, rep->value.data, *vlen);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int storage_client_kv_write(storage_client *c, const storage_kv_op *ops, size_t n) {
    Opml__StorageKvOp *pb = calloc(n ? n : 1, sizeof *pb);
    Opml__StorageKvOp **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    int rc = 0;
    if (!pb || !ptrs) rc = fail(c, OPML_E_UNAVAILABLE, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        opml__storage_kv_op__init(&pb[i]);
        pb[i].key = (ProtobufCBinaryData){ops[i].klen, (uint8_t *)ops[i].key};
        if (ops[i].del) pb[i].delete_ = 1;
        else pb[i].value = (ProtobufCBinaryData){ops[i].vlen, (uint8_t *)ops[i].value};
        ptrs[i] = &pb[i];
    }
    if (!rc) {
        Opml__StorageKvWrite req = OPML__STORAGE_KV_WRITE__INIT;
        req.n_ops = n;
        req.ops = ptrs;
        ProtobufCMessage *m;
        rc = call(c, &req.base, &opml__storage_kv_write_reply__descriptor, &m);
        if (!rc) {
            if (((Opml__StorageKvWriteReply *)m)->applied != n)
                rc = fail(c, OPML_E_BAD_REQUEST, "the server applied %u of %zu operations",
                          ((Opml__StorageKvWriteReply *)m)->applied, n);
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    free(pb);
    free(ptrs);
    return rc;
}

int storage_client_kv_put(storage_client *c, const void *key, size_t klen, const void *value, size_t vlen) {
    storage_kv_op op = {key, klen, value, vlen, 0};
    return storage_client_kv_write(c, &op, 1);
}

int storage_client_kv_delete(storage_client *c, const void *key, size_t klen) {
    storage_kv_op op = {key, klen, NULL, 0, 1};
    return storage_client_kv_write(c, &op, 1);
}

int storage_client_kv_scan(storage_client *c, const void *prefix, size_t plen, const void *start_after, size_t salen,
                           storage_scan_fn fn, void *arg) {
    if (salen > STORAGE_MAX_KEY) return fail(c, OPML_E_BAD_REQUEST, "start_after has %zu bytes", salen);
    uint8_t cursor[STORAGE_MAX_KEY];
    size_t clen = salen;
    if (salen) memcpy(cursor, start_after, salen);
    Opml__StorageKvScan req = OPML__STORAGE_KV_SCAN__INIT;
    req.prefix = (ProtobufCBinaryData){plen, (uint8_t *)prefix};
    req.limit = STORAGE_MAX_SCAN;
    for (;;) {
        req.start_after = (ProtobufCBinaryData){clen, cursor};
        ProtobufCMessage *m;
        int rc = call(c, &req.base, &opml__storage_kv_scan_reply__descriptor, &m);
        if (rc) return rc;
        Opml__StorageKvScanReply *rep = (Opml__StorageKvScanReply *)m;
        int stop = 0, bad = 0, more = rep->more && rep->n_pairs > 0;
        for (size_t i = 0; !stop && !bad && i < rep->n_pairs; i++) {
            Opml__StorageKvPair *p = rep->pairs[i];
            if (p->key.len == 0 || p->key.len > STORAGE_MAX_KEY) bad = 1;
            else {
                memcpy(cursor, p->key.data, clen = p->key.len);
                stop = fn(arg, p->key.data, p->key.len, p->value.data, p->value.len);
            }
        }
        protobuf_c_message_free_unpacked(m, NULL);
        if (bad) return fail(c, OPML_E_BAD_REQUEST, "the server sent a key of a length a key cannot have");
        if (stop || !more) return 0;
    }
}

int storage_client_stats(storage_client *c, Opml__StorageStatsReply **out) {
    Opml__StorageStats req = OPML__STORAGE_STATS__INIT;
    ProtobufCMessage *m;
    int rc = call(c, &req.base, &opml__storage_stats_reply__descriptor, &m);
    if (!rc) *out = (Opml__StorageStatsReply *)m;
    return rc;
}
