/* main.c: opml-storage, the storage actor. It owns one RocksDB database (store.h) and serves the
 * requests of proto/storage.proto on its `listen` socket (and as a bus worker with `bus_work`):
 * tensor put/get/stat, inclusion proofs, key-value get/write/scan and stats. Every write is on
 * disk before its reply is sent (docs/storage.md). Requests are checked field by field here;
 * anything out of range is answered with opml.Error, never passed on to the store unchecked. */
#include "actor.h"
#include "storage.h"
#include "storage.pb-c.h"
#include "store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const config_opt storage_options[] = {
    {"db", "storage.db", "directory of the RocksDB database (created if missing)"},
    {NULL, NULL, NULL},
};

/* The key-value writes applied last, by (sender, call_id): a retried write (a new envelope with
 * the call_id of the first attempt, docs/runtime.md) is answered again without being applied
 * twice. In memory only: a retry that reaches a restarted process is applied again. */
#define RECENT_WRITES 256
struct recent_write {
    uint8_t sender[20];
    uint64_t call_id; /* 0: empty slot (a call is named by a non-zero sequence number) */
    uint32_t applied;
};

/* A tensor put in parts (StoragePutTensor with total_length), by (sender, claimed root). */
struct upload {
    uint8_t sender[20];
    uint8_t root[32];
    uint8_t *buf; /* NULL: free slot */
    uint64_t total, have, touched_ms;
};

struct storage {
    store *st;
    uint64_t requests, errors;
    struct recent_write recent[RECENT_WRITES];
    unsigned next_recent;
    struct upload uploads[STORAGE_UPLOADS];
};

static int refuse(struct storage *s, actor_reply *reply, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct storage *s, actor_reply *reply, unsigned code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    actor_reply_verror(reply, code, fmt, ap);
    va_end(ap);
    s->errors++;
    return 0;
}

/* The reply to a store error code (rc != STORE_OK). */
static int store_refusal(struct storage *s, actor_reply *reply, int rc, const char *err) {
    switch (rc) {
    case STORE_NOT_FOUND: return refuse(s, reply, OPML_E_NOT_FOUND, "no such tensor");
    case STORE_E_ARG: return refuse(s, reply, OPML_E_BAD_REQUEST, "%s", err);
    case STORE_E_ROOT: return refuse(s, reply, STORAGE_E_ROOT, "%s", err);
    case STORE_E_CORRUPT:
        log_error("database damaged: %s", err);
        return refuse(s, reply, STORAGE_E_CORRUPT, "%s", err);
    default:
        log_error("store: %s", err);
        return refuse(s, reply, OPML_E_INTERNAL, "storage failed: %s", err);
    }
}

/* Stores data (the whole tensor) and replies complete. */
static int put_whole(struct storage *s, actor_reply *reply, const uint8_t *data, size_t len, const uint8_t *claimed) {
    char err[256];
    uint8_t root[32];
    int existed;
    int rc = store_put_tensor(s->st, data, len, claimed, root, &existed, err, sizeof err);
    if (rc != STORE_OK) return store_refusal(s, reply, rc, err);
    Opml__StoragePutTensorReply out = OPML__STORAGE_PUT_TENSOR_REPLY__INIT;
    out.root = (ProtobufCBinaryData){32, root};
    out.length = len;
    out.existed = existed;
    out.complete = 1;
    return actor_reply_msg(reply, &out.base);
}

static void upload_free(struct upload *u) {
    free(u->buf);
    memset(u, 0, sizeof *u);
}

/* The upload of (sender, root), or a new one (when offset is 0) in a free or long-idle slot. */
static struct upload *upload_find(struct storage *s, const uint8_t sender[20], const uint8_t root[32], uint64_t total,
                                  uint64_t offset) {
    struct upload *spare = NULL;
    uint64_t now = clock_mono_ms();
    for (int i = 0; i < STORAGE_UPLOADS; i++) {
        struct upload *u = &s->uploads[i];
        if (u->buf && !memcmp(u->sender, sender, 20) && !memcmp(u->root, root, 32)) return u;
        if (!u->buf || now - u->touched_ms > STORAGE_UPLOAD_IDLE_MS) spare = spare ? spare : u;
    }
    if (offset != 0 || !spare) return NULL;
    if (spare->buf) log_warn("forgot an unfinished put idle for %llu ms", (unsigned long long)(now - spare->touched_ms));
    upload_free(spare);
    if (!(spare->buf = malloc(total))) return NULL;
    memcpy(spare->sender, sender, 20);
    memcpy(spare->root, root, 32);
    spare->total = total;
    spare->touched_ms = now;
    return spare;
}

/* One part of a tensor put in parts: parts come in order; a repeated part (a retry) is
 * acknowledged again; the part that completes the tensor stores it. */
static int put_part(struct storage *s, const envelope *req, const Opml__StoragePutTensor *r, actor_reply *reply) {
    if (r->root.len != 32) return refuse(s, reply, OPML_E_BAD_REQUEST, "a put in parts needs the 32-byte root");
    if (r->total_length > STORE_MAX_TENSOR || r->offset > r->total_length || r->data.len > r->total_length - r->offset)
        return refuse(s, reply, OPML_E_BAD_REQUEST, "part [%llu, +%zu) of a %llu-byte tensor is out of range",
                      (unsigned long long)r->offset, r->data.len, (unsigned long long)r->total_length);
    char err[256];
    uint64_t have;
    int rc = store_tensor_len(s->st, r->root.data, &have, err, sizeof err);
    if (rc == STORE_OK) { /* already stored: the rest need not be sent */
        Opml__StoragePutTensorReply out = OPML__STORAGE_PUT_TENSOR_REPLY__INIT;
        out.root = r->root;
        out.length = have;
        out.existed = out.complete = 1;
        return actor_reply_msg(reply, &out.base);
    }
    if (rc != STORE_NOT_FOUND) return store_refusal(s, reply, rc, err);
    struct upload *u = upload_find(s, req->sender, r->root.data, r->total_length, r->offset);
    if (!u)
        return refuse(s, reply, r->offset ? OPML_E_BAD_REQUEST : OPML_E_UNAVAILABLE,
                      r->offset ? "no put in parts of this root is in progress (parts come in order from offset 0)"
                                : "%d puts in parts are in progress already, or no memory for %llu bytes",
                      STORAGE_UPLOADS, (unsigned long long)r->total_length);
    if (u->total != r->total_length)
        return refuse(s, reply, OPML_E_BAD_REQUEST, "this put in parts is of %llu bytes, not %llu",
                      (unsigned long long)u->total, (unsigned long long)r->total_length);
    if (r->offset + r->data.len > u->have) { /* not a retry of a part received already */
        if (r->offset != u->have)
            return refuse(s, reply, OPML_E_BAD_REQUEST, "part at offset %llu, expected %llu",
                          (unsigned long long)r->offset, (unsigned long long)u->have);
        memcpy(u->buf + u->have, r->data.data, r->data.len);
        u->have += r->data.len;
    }
    u->touched_ms = clock_mono_ms();
    if (u->have == u->total) {
        rc = put_whole(s, reply, u->buf, u->total, u->root);
        upload_free(u);
        return rc;
    }
    Opml__StoragePutTensorReply out = OPML__STORAGE_PUT_TENSOR_REPLY__INIT;
    out.root = r->root;
    out.length = u->have;
    return actor_reply_msg(reply, &out.base);
}

static int on_put_tensor(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a;
    struct storage *s = user;
    const Opml__StoragePutTensor *r = (const Opml__StoragePutTensor *)msg;
    s->requests++;
    if (r->total_length) return put_part(s, req, r, reply);
    if (r->root.len != 0 && r->root.len != 32)
        return refuse(s, reply, OPML_E_BAD_REQUEST, "root must be empty or 32 bytes, not %zu", r->root.len);
    if (r->offset) return refuse(s, reply, OPML_E_BAD_REQUEST, "an offset needs a total_length");
    return put_whole(s, reply, r->data.data, r->data.len, r->root.len ? r->root.data : NULL);
}

static int on_get_tensor(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    struct storage *s = user;
    const Opml__StorageGetTensor *r = (const Opml__StorageGetTensor *)msg;
    s->requests++;
    if (r->root.len != 32) return refuse(s, reply, OPML_E_BAD_REQUEST, "root must be 32 bytes, not %zu", r->root.len);
    char err[256];
    uint64_t total;
    int rc = store_tensor_len(s->st, r->root.data, &total, err, sizeof err);
    if (rc != STORE_OK) return store_refusal(s, reply, rc, err);
    if (r->offset > total)
        return refuse(s, reply, OPML_E_BAD_REQUEST, "offset %llu is past the %llu-byte tensor",
                      (unsigned long long)r->offset, (unsigned long long)total);
    uint64_t len = r->length ? r->length : total - r->offset;
    if (r->length == 0 && len > STORAGE_MAX_READ) len = STORAGE_MAX_READ;
    if (len > STORAGE_MAX_READ)
        return refuse(s, reply, OPML_E_BAD_REQUEST, "a read returns at most %u bytes, not %llu", STORAGE_MAX_READ,
                      (unsigned long long)len);
    if (len > total - r->offset)
        return refuse(s, reply, OPML_E_BAD_REQUEST, "range [%llu, +%llu) is past the %llu-byte tensor",
                      (unsigned long long)r->offset, (unsigned long long)len, (unsigned long long)total);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return refuse(s, reply, OPML_E_UNAVAILABLE, "out of memory for %llu bytes", (unsigned long long)len);
    rc = store_read_tensor(s->st, r->root.data, r->offset, len, buf, err, sizeof err);
    if (rc != STORE_OK) {
        free(buf);
        return store_refusal(s, reply, rc, err);
    }
    Opml__StorageGetTensorReply out = OPML__STORAGE_GET_TENSOR_REPLY__INIT;
    out.root = r->root;
    out.total_length = total;
    out.offset = r->offset;
    out.data.data = buf;
    out.data.len = len;
    rc = actor_reply_msg(reply, &out.base);
    free(buf);
    return rc;
}

static int on_stat_tensor(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply,
                          void *user) {
    (void)a, (void)req;
    struct storage *s = user;
    const Opml__StorageStatTensor *r = (const Opml__StorageStatTensor *)msg;
    s->requests++;
    if (r->root.len != 32) return refuse(s, reply, OPML_E_BAD_REQUEST, "root must be 32 bytes, not %zu", r->root.len);
    char err[256];
    uint64_t len = 0;
    int rc = store_tensor_len(s->st, r->root.data, &len, err, sizeof err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) return store_refusal(s, reply, rc, err);
    Opml__StorageStatTensorReply out = OPML__STORAGE_STAT_TENSOR_REPLY__INIT;
    out.found = rc == STORE_OK;
    out.length = out.found ? len : 0;
    return actor_reply_msg(reply, &out.base);
}

static int on_get_proof(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    struct storage *s = user;
    const Opml__StorageGetProof *r = (const Opml__StorageGetProof *)msg;
    s->requests++;
    if (r->root.len != 32) return refuse(s, reply, OPML_E_BAD_REQUEST, "root must be 32 bytes, not %zu", r->root.len);
    char err[256];
    merkle_proof p;
    int rc = store_prove(s->st, r->root.data, r->index, &p, err, sizeof err);
    if (rc != STORE_OK) return store_refusal(s, reply, rc, err);
    ProtobufCBinaryData sib[MERKLE_SLOT_DEPTH];
    for (unsigned h = 0; h < MERKLE_SLOT_DEPTH; h++) sib[h] = (ProtobufCBinaryData){32, p.siblings[h]};
    Opml__StorageGetProofReply out = OPML__STORAGE_GET_PROOF_REPLY__INIT;
    out.root = r->root;
    out.index = r->index;
    out.leaf = (ProtobufCBinaryData){32, p.leaf};
    out.n_siblings = MERKLE_SLOT_DEPTH;
    out.siblings = sib;
    return actor_reply_msg(reply, &out.base);
}

static int on_kv_get(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    struct storage *s = user;
    const Opml__StorageKvGet *r = (const Opml__StorageKvGet *)msg;
    s->requests++;
    char err[256];
    uint8_t *value = NULL;
    size_t vlen = 0;
    int rc = store_kv_get(s->st, r->key.data, r->key.len, &value, &vlen, err, sizeof err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) return store_refusal(s, reply, rc, err);
    Opml__StorageKvGetReply out = OPML__STORAGE_KV_GET_REPLY__INIT;
    out.found = rc == STORE_OK;
    out.value = (ProtobufCBinaryData){vlen, value};
    rc = actor_reply_msg(reply, &out.base);
    free(value);
    return rc;
}

static int on_kv_write(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a;
    struct storage *s = user;
    const Opml__StorageKvWrite *r = (const Opml__StorageKvWrite *)msg;
    s->requests++;
    Opml__StorageKvWriteReply out = OPML__STORAGE_KV_WRITE_REPLY__INIT;
    uint64_t call = req->call_id ? req->call_id : req->seq; /* as the runtime names the call */
    for (unsigned i = 0; i < RECENT_WRITES; i++)
        if (s->recent[i].call_id == call && !memcmp(s->recent[i].sender, req->sender, 20)) {
            out.applied = s->recent[i].applied; /* a retry of a write already applied */
            return actor_reply_msg(reply, &out.base);
        }
    storage_kv_op *ops = calloc(r->n_ops ? r->n_ops : 1, sizeof *ops);
    if (!ops) return refuse(s, reply, OPML_E_UNAVAILABLE, "out of memory for %zu operations", r->n_ops);
    for (size_t i = 0; i < r->n_ops; i++) {
        const Opml__StorageKvOp *op = r->ops[i];
        ops[i] = (storage_kv_op){op->key.data, op->key.len, op->value.data, op->value.len, op->delete_};
    }
    char err[256];
    int rc = store_kv_write(s->st, ops, r->n_ops, err, sizeof err);
    free(ops);
    if (rc != STORE_OK) return store_refusal(s, reply, rc, err);
    out.applied = (uint32_t)r->n_ops;
    struct recent_write *w = &s->recent[s->next_recent++ % RECENT_WRITES];
    memcpy(w->sender, req->sender, 20);
    w->call_id = call;
    w->applied = out.applied;
    return actor_reply_msg(reply, &out.base);
}

/* The pairs of a scan reply, copied out of the iterator; stops at the byte budget. */
struct scan_acc {
    Opml__StorageKvPair *pairs;
    Opml__StorageKvPair **ptrs;
    size_t n, bytes;
    int oom;
};

static int scan_collect(void *arg, const void *key, size_t klen, const void *value, size_t vlen) {
    struct scan_acc *acc = arg;
    uint8_t *copy = malloc(klen + vlen + 1);
    if (!copy) {
        acc->oom = 1;
        return 1;
    }
    memcpy(copy, key, klen);
    if (vlen) memcpy(copy + klen, value, vlen);
    Opml__StorageKvPair *p = &acc->pairs[acc->n];
    opml__storage_kv_pair__init(p);
    p->key = (ProtobufCBinaryData){klen, copy};
    p->value = (ProtobufCBinaryData){vlen, copy + klen};
    acc->ptrs[acc->n++] = p;
    acc->bytes += klen + vlen;
    return acc->bytes >= STORAGE_SCAN_BYTES;
}

static int on_kv_scan(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req;
    struct storage *s = user;
    const Opml__StorageKvScan *r = (const Opml__StorageKvScan *)msg;
    s->requests++;
    size_t limit = r->limit == 0 || r->limit > STORAGE_MAX_SCAN ? STORAGE_MAX_SCAN : r->limit;
    struct scan_acc acc = {calloc(limit, sizeof *acc.pairs), calloc(limit, sizeof *acc.ptrs), 0, 0, 0};
    char err[256];
    int more = 0, rc = STORE_E_IO;
    if (!acc.pairs || !acc.ptrs) snprintf(err, sizeof err, "out of memory");
    else rc = store_kv_scan(s->st, r->prefix.data, r->prefix.len, r->start_after.data, r->start_after.len, limit,
                            scan_collect, &acc, &more, err, sizeof err);
    if (rc == STORE_OK && acc.oom) rc = STORE_E_IO, snprintf(err, sizeof err, "out of memory");
    if (rc != STORE_OK) rc = store_refusal(s, reply, rc, err);
    else {
        Opml__StorageKvScanReply out = OPML__STORAGE_KV_SCAN_REPLY__INIT;
        out.n_pairs = acc.n;
        out.pairs = acc.ptrs;
        out.more = more;
        rc = actor_reply_msg(reply, &out.base);
    }
    for (size_t i = 0; i < acc.n; i++) free(acc.pairs[i].key.data);
    free(acc.pairs);
    free(acc.ptrs);
    return rc;
}

static int on_stats(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req, (void)msg;
    struct storage *s = user;
    s->requests++;
    store_stats st;
    store_get_stats(s->st, &st);
    Opml__StorageStatsReply out = OPML__STORAGE_STATS_REPLY__INIT;
    out.tensors = st.tensors;
    out.tensor_bytes = st.tensor_bytes;
    out.kv_keys = st.kv_keys;
    out.disk_bytes = st.disk_bytes;
    out.memtable_bytes = st.memtable_bytes;
    out.requests = s->requests;
    out.errors = s->errors;
    return actor_reply_msg(reply, &out.base);
}

static void on_health(actor *a, void *user) {
    struct storage *s = user;
    store_stats st;
    store_get_stats(s->st, &st);
    actor_health_stat(a, "tensors", (int64_t)st.tensors);
    actor_health_stat(a, "tensor_bytes", (int64_t)st.tensor_bytes);
    actor_health_stat(a, "requests", (int64_t)s->requests);
    actor_health_stat(a, "errors", (int64_t)s->errors);
    int64_t uploads = 0;
    for (int i = 0; i < STORAGE_UPLOADS; i++) uploads += s->uploads[i].buf != NULL;
    actor_health_stat(a, "puts_in_parts", uploads);
}

int main(int argc, char **argv) {
    actor *a = actor_new("storage", storage_options, argc, argv);
    if (!a) return 2;
    char err[512];
    const char *dir = config_get(actor_config(a), "db");
    static struct storage s; /* zeroed: no recent writes */
    s.st = store_open(dir, err, sizeof err);
    if (!s.st) {
        log_error("cannot open the database %s: %s", dir, err);
        actor_free(a);
        return 1;
    }
    log_info("database %s open", dir);
    static const struct {
        const ProtobufCMessageDescriptor *desc;
        size_t max_payload; /* puts and writes carry data: up to the envelope's limit */
        actor_handler fn;
    } handlers[] = {
        {&opml__storage_put_tensor__descriptor, ENVELOPE_MAX_BYTES, on_put_tensor},
        {&opml__storage_get_tensor__descriptor, ACTOR_MAX_CONTROL, on_get_tensor},
        {&opml__storage_stat_tensor__descriptor, ACTOR_MAX_CONTROL, on_stat_tensor},
        {&opml__storage_get_proof__descriptor, ACTOR_MAX_CONTROL, on_get_proof},
        {&opml__storage_kv_get__descriptor, ACTOR_MAX_CONTROL, on_kv_get},
        {&opml__storage_kv_write__descriptor, ENVELOPE_MAX_BYTES, on_kv_write},
        {&opml__storage_kv_scan__descriptor, ACTOR_MAX_CONTROL, on_kv_scan},
        {&opml__storage_stats__descriptor, ACTOR_MAX_CONTROL, on_stats},
    };
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        actor_on_max(a, handlers[i].desc, handlers[i].max_payload, handlers[i].fn, &s);
    actor_on_health(a, on_health, &s);
    int rc = actor_run(a);
    for (int i = 0; i < STORAGE_UPLOADS; i++) upload_free(&s.uploads[i]);
    store_close(s.st);
    actor_free(a);
    return rc;
}
