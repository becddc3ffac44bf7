/* The client API end to end against a real opml-storage: tensors (the empty one, one larger than a
 * reply so that the client reads it in ranges, one larger than a request so that it is put in
 * parts), refusals with their codes, proofs, key-value
 * writes, scans paging over more pairs than one reply holds, stats and health, a retried write
 * applied once, and a clean SIGTERM stop with the data there after the restart.
 * Usage: test_storage_actor PATH/opml-storage */
#include "check.h"
#include "health.pb-c.h"
#include "proc.h"
#include "rpc.h"
#include "store.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_KEYS 2500

static void fill(uint8_t *p, size_t n, uint64_t x) {
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

struct visit {
    int n, stop_at, bad;
};
static int on_pair(void *arg, const void *key, size_t klen, const void *value, size_t vlen) {
    struct visit *v = arg;
    char want[16];
    snprintf(want, sizeof want, "p/%05d", v->n);
    if (klen != strlen(want) || memcmp(key, want, klen) || vlen != 4 || memcmp(value, want + 3, 4)) v->bad++;
    v->n++;
    return v->n == v->stop_at;
}

static void test_tensors(storage_client *c) {
    uint8_t root[32], want[32], claimed[32];
    /* the empty tensor */
    CHECK_EQ_INT(storage_client_put_tensor(c, NULL, 0, NULL, root), 0);
    CHECK_MEM(root, merkle_zero(MERKLE_SLOT_DEPTH), 32);
    uint8_t *got;
    size_t len;
    CHECK_EQ_INT(storage_client_get_tensor(c, root, &got, &len), 0);
    CHECK_EQ_INT(len, 0);
    free(got);

    /* larger than one read: the client reads it in ranges of STORAGE_MAX_READ */
    size_t big = STORAGE_MAX_READ + 3 * STORE_CHUNK_BYTES + 17;
    uint8_t *data = malloc(big);
    fill(data, big, 7);
    CHECK(merkle_tensor_root(data, big, want) == 0);
    CHECK_EQ_INT(storage_client_put_tensor(c, data, big, want, root), 0);
    CHECK_MEM(root, want, 32);
    CHECK_EQ_INT(storage_client_get_tensor(c, root, &got, &len), 0);
    CHECK(len == big && !memcmp(got, data, big));
    free(got);
    int found;
    uint64_t n;
    CHECK_EQ_INT(storage_client_stat_tensor(c, root, &found, &n), 0);
    CHECK(found && n == big);
    merkle_proof p;
    uint64_t leaves[] = {0, 1023, 1024, big / 32, big / 32 + 1, (1u << 23) - 1};
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
        CHECK_EQ_INT(storage_client_get_proof(c, root, leaves[i], &p), 0);
        CHECK(merkle_verify(want, &p));
    }
    CHECK_EQ_INT(storage_client_get_proof(c, root, 1u << 23, &p), OPML_E_BAD_REQUEST);
    CHECK(strstr(storage_client_error(c), "outside") != NULL);

    /* refusals */
    memcpy(claimed, want, 32);
    claimed[0] ^= 0x80;
    CHECK_EQ_INT(storage_client_put_tensor(c, data, 1000, claimed, root), STORAGE_E_ROOT);
    CHECK(strstr(storage_client_error(c), "claimed") != NULL);
    CHECK_EQ_INT(storage_client_get_tensor(c, claimed, &got, &len), OPML_E_NOT_FOUND);
    CHECK_EQ_INT(storage_client_get_proof(c, claimed, 0, &p), OPML_E_NOT_FOUND);
    CHECK_EQ_INT(storage_client_stat_tensor(c, claimed, &found, &n), 0);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(storage_client_put_tensor(c, data, (size_t)MERKLE_SLOT_BYTES + 1, NULL, root), OPML_E_BAD_REQUEST);
    free(data);
}

/* A tensor larger than one envelope goes in parts; putting it again stops after the first part; a
 * wrong claimed root is refused at the last part and leaves nothing behind. */
static void test_parts(storage_proc *p, storage_client *c) {
    size_t len = STORAGE_MAX_PUT + (5u << 20) + 3;
    uint8_t *data = malloc(len), root[32], want[32], wrong[32];
    fill(data, len, 11);
    CHECK(merkle_tensor_root(data, len, want) == 0);
    memcpy(wrong, want, 32);
    wrong[9] ^= 4;
    CHECK_EQ_INT(storage_client_put_tensor(c, data, len, NULL, root), 0);
    CHECK_MEM(root, want, 32);
    CHECK_EQ_INT(storage_client_put_tensor(c, data, len, want, root), 0);
    uint8_t *got;
    size_t n;
    CHECK_EQ_INT(storage_client_get_tensor(c, want, &got, &n), 0);
    CHECK(n == len && !memcmp(got, data, len));
    free(got);
    merkle_proof pr;
    CHECK_EQ_INT(storage_client_get_proof(c, want, len / 32, &pr), 0);

    /* by hand: two parts with a wrong root (refused at the last one), a part out of order, a
     * tensor over the slot; nothing stays in progress (checked by the health figures later) */
    char err[256];
    rpc *r = rpc_connect(p->cl.net, &p->cl.sg, p->peer, 0, err, sizeof err);
    Opml__StoragePutTensor part = OPML__STORAGE_PUT_TENSOR__INIT;
    part.root = (ProtobufCBinaryData){32, wrong};
    part.total_length = 1000;
    part.data = (ProtobufCBinaryData){500, data};
    ProtobufCMessage *m = NULL;
    CHECK_EQ_INT(rpc_call(r, &part.base, &opml__storage_put_tensor_reply__descriptor, &m, 5000, 0, err, sizeof err), 0);
    if (m) {
        CHECK(!((Opml__StoragePutTensorReply *)m)->complete && ((Opml__StoragePutTensorReply *)m)->length == 500);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    part.offset = 500;
    CHECK_EQ_INT(rpc_call(r, &part.base, &opml__storage_put_tensor_reply__descriptor, &m, 5000, 0, err, sizeof err),
                 STORAGE_E_ROOT);
    CHECK_EQ_INT(rpc_call(r, &part.base, &opml__storage_put_tensor_reply__descriptor, &m, 5000, 0, err, sizeof err),
                 OPML_E_BAD_REQUEST); /* the refused put was forgotten: this part has nothing before it */
    CHECK(strstr(err, "in order") != NULL);
    part.offset = 0, part.total_length = MERKLE_SLOT_BYTES + 1;
    CHECK_EQ_INT(rpc_call(r, &part.base, &opml__storage_put_tensor_reply__descriptor, &m, 5000, 0, err, sizeof err),
                 OPML_E_BAD_REQUEST);
    rpc_close(r);
    free(data);
}

static void test_kv(storage_client *c) {
    int found;
    uint8_t *v;
    size_t vlen;
    CHECK_EQ_INT(storage_client_kv_put(c, "k", 1, "value", 5), 0);
    CHECK_EQ_INT(storage_client_kv_get(c, "k", 1, &found, &v, &vlen), 0);
    CHECK(found && vlen == 5 && !memcmp(v, "value", 5));
    free(v);
    CHECK_EQ_INT(storage_client_kv_put(c, "empty", 5, NULL, 0), 0);
    CHECK_EQ_INT(storage_client_kv_get(c, "empty", 5, &found, &v, &vlen), 0);
    CHECK(found && vlen == 0 && v == NULL);
    CHECK_EQ_INT(storage_client_kv_delete(c, "k", 1), 0);
    CHECK_EQ_INT(storage_client_kv_get(c, "k", 1, &found, &v, &vlen), 0);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(storage_client_kv_get(c, "", 0, &found, &v, &vlen), OPML_E_BAD_REQUEST);

    /* one batch of SCAN_KEYS pairs, then scans that page through them */
    static char keys[SCAN_KEYS][16];
    static storage_kv_op ops[SCAN_KEYS];
    for (int i = 0; i < SCAN_KEYS; i++) {
        snprintf(keys[i], sizeof keys[i], "p/%05d", i);
        ops[i] = (storage_kv_op){keys[i], strlen(keys[i]), keys[i] + 3, 4, 0};
    }
    CHECK_EQ_INT(storage_client_kv_write(c, ops, SCAN_KEYS), 0);
    struct visit vis = {0, -1, 0};
    CHECK_EQ_INT(storage_client_kv_scan(c, "p/", 2, NULL, 0, on_pair, &vis), 0);
    CHECK_EQ_INT(vis.n, SCAN_KEYS);
    CHECK_EQ_INT(vis.bad, 0);
    vis = (struct visit){0, 1500, 0};
    CHECK_EQ_INT(storage_client_kv_scan(c, "p/", 2, NULL, 0, on_pair, &vis), 0);
    CHECK_EQ_INT(vis.n, 1500);
    vis = (struct visit){2000, -1, 0};
    CHECK_EQ_INT(storage_client_kv_scan(c, "p/", 2, "p/01999", 7, on_pair, &vis), 0);
    CHECK_EQ_INT(vis.n, SCAN_KEYS);
    CHECK_EQ_INT(vis.bad, 0);
}

/* A write sent twice under one call_id (what rpc does on a retry) is applied once. */
static void test_retry(storage_proc *p, storage_client *c) {
    identity id;
    signer sg;
    CHECK(identity_generate(&id) == 0);
    signer_init(&sg, &id);
    char err[256];
    void *sock = net_connect(p->cl.net, ZMQ_DEALER, p->peer, err, sizeof err);
    Opml__StorageKvOp op = OPML__STORAGE_KV_OP__INIT, *ops[1] = {&op};
    op.key = (ProtobufCBinaryData){3, (uint8_t *)"dup"};
    op.value = (ProtobufCBinaryData){5, (uint8_t *)"first"};
    Opml__StorageKvWrite w = OPML__STORAGE_KV_WRITE__INIT;
    w.n_ops = 1, w.ops = ops;
    for (int attempt = 0; attempt < 2; attempt++) {
        uint8_t *env;
        size_t len;
        CHECK(envelope_seal_msg(&sg, &w.base, 777, &env, &len) == 0);
        struct iovec f = {env, len};
        CHECK(net_sendv(sock, &f, 1) == 0);
        free(env);
        zmq_msg_t r[NET_MAX_FRAMES];
        int count = 0;
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        CHECK(zmq_poll(&it, 1, 5000) == 1);
        CHECK(net_recv(sock, r, NET_MAX_FRAMES, &count, ZMQ_DONTWAIT) == 0);
        envelope e;
        CHECK(count == 1 && envelope_open(zmq_msg_data(&r[0]), zmq_msg_size(&r[0]), 0, 0, &e, err, sizeof err) == 0);
        if (count == 1) {
            CHECK(!strcmp(e.type, "opml.StorageKvWriteReply") && e.call_id == 777);
            envelope_free(&e);
        }
        net_msgs_close(r, count);
        /* between the attempts another writer changes the key: the retry must not undo that */
        if (attempt == 0) CHECK_EQ_INT(storage_client_kv_put(c, "dup", 3, "second", 6), 0);
    }
    int found;
    uint8_t *v;
    size_t vlen;
    CHECK_EQ_INT(storage_client_kv_get(c, "dup", 3, &found, &v, &vlen), 0);
    CHECK(found && vlen == 6 && !memcmp(v, "second", 6));
    free(v);
    net_close(sock);
}

static void test_stats_health(storage_proc *p, storage_client *c) {
    Opml__StorageStatsReply *st;
    CHECK_EQ_INT(storage_client_stats(c, &st), 0);
    CHECK_EQ_INT(st->tensors, 3);
    CHECK(st->requests > 10 && st->errors >= 5 && st->kv_keys > 0);
    protobuf_c_message_free_unpacked(&st->base, NULL);
    char err[256];
    rpc *r = rpc_connect(p->cl.net, &p->cl.sg, p->peer, 0, err, sizeof err);
    Opml__HealthRequest req = OPML__HEALTH_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    CHECK_EQ_INT(rpc_call(r, &req.base, &opml__health_reply__descriptor, &m, 5000, 0, err, sizeof err), 0);
    if (m) {
        Opml__HealthReply *h = (Opml__HealthReply *)m;
        CHECK(!strcmp(h->actor, "storage") && !strcmp(h->status, "ok"));
        int tensors = -1, parts = -1;
        for (size_t i = 0; i < h->n_stats; i++) {
            if (!strcmp(h->stats[i]->name, "tensors")) tensors = (int)h->stats[i]->value;
            if (!strcmp(h->stats[i]->name, "puts_in_parts")) parts = (int)h->stats[i]->value;
        }
        CHECK_EQ_INT(tensors, 3);
        CHECK_EQ_INT(parts, 0); /* the refused put in parts was forgotten */
        protobuf_c_message_free_unpacked(m, NULL);
    }
    rpc_close(r);
}

int main(int argc, char **argv) {
    storage_proc p;
    int rc = proc_main_start(&p, argc, argv);
    if (rc) return rc;
    storage_client *c = proc_client(&p, 20000, 0);
    test_tensors(c);
    test_parts(&p, c);
    test_kv(c);
    test_retry(&p, c);
    test_stats_health(&p, c);
    storage_client_free(c);

    CHECK_EQ_INT(proc_stop(&p, SIGTERM), 0); /* a clean stop */
    CHECK(proc_start(&p, 10000) == 0);
    c = proc_client(&p, 20000, 0);
    int found;
    uint8_t *v;
    size_t vlen;
    CHECK_EQ_INT(storage_client_kv_get(c, "p/02499", 7, &found, &v, &vlen), 0);
    CHECK(found && vlen == 4 && !memcmp(v, "2499", 4));
    free(v);
    storage_client_free(c);
    if (check_failures) proc_dump_log(&p);
    proc_teardown(&p);
    return check_summary("test_storage_actor");
}
