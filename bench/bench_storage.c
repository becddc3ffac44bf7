/* bench_storage: put and get throughput of 1 MiB tensors, directly against the store (store.h)
 * and through a real opml-storage process (client.h over CURVE and signed envelopes), side by
 * side, with the cost of the tensor root alone as the baseline a put cannot beat. Also proofs.
 *
 *   build/storage/bench_storage build/storage/opml-storage [COUNT]      (COUNT tensors, default 200)
 *
 * With COUNT >= 100 it also puts one full-slot (256 MiB) tensor and proves leaves of it.
 * Every put is durable (fsync'ed) before it returns; a get through the client also re-hashes the
 * bytes against their root (the client trusts no server). */
#include "proc.h"
#include "rpc.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TENSOR_BYTES (1u << 20)
#define PROOFS 2000

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void report(const char *what, int n, double secs, size_t bytes_each) {
    if (bytes_each)
        printf("  %-34s %6d in %7.3f s  %8.1f MB/s  %8.2f ms each\n", what, n, secs, n * (double)bytes_each / secs / 1e6,
               secs / n * 1e3);
    else printf("  %-34s %6d in %7.3f s  %8.0f /s     %8.3f ms each\n", what, n, secs, n / secs, secs / n * 1e3);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PATH/opml-storage [COUNT]\n", argv[0]);
        return 2;
    }
    int count = argc == 3 ? atoi(argv[2]) : 200;
    if (count < 1 || count > 4096) {
        fprintf(stderr, "COUNT must be 1..4096\n");
        return 2;
    }
    uint8_t *data = malloc((size_t)count * TENSOR_BYTES), *back = malloc(TENSOR_BYTES);
    uint8_t (*roots)[32] = malloc((size_t)count * 32);
    if (!data || !back || !roots) return fprintf(stderr, "out of memory\n"), 1;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < (size_t)count * TENSOR_BYTES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    char err[512];
    int status = 0;
    printf("storage: %d tensors of 1 MiB (puts fsync'ed)\n", count);

    /* baseline: the tensor root alone */
    double t = now_s();
    for (int i = 0; i < count; i++) merkle_tensor_root(data + (size_t)i * TENSOR_BYTES, TENSOR_BYTES, roots[i]);
    double t_root = now_s() - t;
    report("tensor root only (baseline)", count, t_root, TENSOR_BYTES);

    /* directly against the store */
    storage_proc p;
    if (proc_setup(&p, argv[1]) != 0) return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/direct", p.h.dir);
    store *s = store_open(path, err, sizeof err);
    if (!s) return fprintf(stderr, "%s\n", err), 1;
    t = now_s();
    for (int i = 0; i < count; i++) {
        uint8_t root[32];
        if (store_put_tensor(s, data + (size_t)i * TENSOR_BYTES, TENSOR_BYTES, roots[i], root, NULL, err, sizeof err))
            return fprintf(stderr, "put: %s\n", err), 1;
    }
    double t_put = now_s() - t;
    report("store put", count, t_put, TENSOR_BYTES);
    t = now_s();
    for (int i = 0; i < count; i++)
        if (store_read_tensor(s, roots[i], 0, TENSOR_BYTES, back, err, sizeof err) ||
            memcmp(back, data + (size_t)i * TENSOR_BYTES, TENSOR_BYTES))
            return fprintf(stderr, "get %d: %s\n", i, err), 1;
    double t_get = now_s() - t;
    report("store get", count, t_get, TENSOR_BYTES);
    t = now_s();
    for (int i = 0; i < PROOFS; i++) {
        merkle_proof pr;
        if (store_prove(s, roots[i % count], (uint64_t)(i * 7919) % (TENSOR_BYTES / 32), &pr, err, sizeof err))
            return fprintf(stderr, "prove: %s\n", err), 1;
    }
    double t_proof = now_s() - t;
    report("store proof", PROOFS, t_proof, 0);
    if (count >= 100) { /* one full slot: a proof costs the same as in a 1 MiB tensor */
        size_t len = MERKLE_SLOT_BYTES;
        uint8_t *slot = malloc(len), root[32];
        if (!slot) return fprintf(stderr, "out of memory\n"), 1;
        for (size_t i = 0; i < len; i++) slot[i] = data[i % ((size_t)count * TENSOR_BYTES)] ^ (uint8_t)(i >> 20);
        t = now_s();
        if (store_put_tensor(s, slot, len, NULL, root, NULL, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
        report("store put, one 256 MiB tensor", 1, now_s() - t, len);
        t = now_s();
        for (int i = 0; i < PROOFS; i++) {
            merkle_proof pr;
            if (store_prove(s, root, (uint64_t)i * 4099 % (len / 32), &pr, err, sizeof err))
                return fprintf(stderr, "prove: %s\n", err), 1;
        }
        report("store proof, 256 MiB tensor", PROOFS, now_s() - t, 0);
        free(slot);
    }
    store_close(s);

    /* through the actor */
    if (proc_start(&p, 10000) != 0) return 1;
    storage_client *c = proc_client(&p, 30000, 0);
    t = now_s();
    for (int i = 0; i < count; i++) {
        uint8_t root[32];
        if (storage_client_put_tensor(c, data + (size_t)i * TENSOR_BYTES, TENSOR_BYTES, roots[i], root))
            return fprintf(stderr, "actor put: %s\n", storage_client_error(c)), 1;
    }
    double a_put = now_s() - t;
    report("actor put", count, a_put, TENSOR_BYTES);
    t = now_s();
    for (int i = 0; i < count; i++) {
        uint8_t *got;
        size_t len;
        if (storage_client_get_tensor(c, roots[i], &got, &len))
            return fprintf(stderr, "actor get: %s\n", storage_client_error(c)), 1;
        if (len != TENSOR_BYTES || memcmp(got, data + (size_t)i * TENSOR_BYTES, len)) status = 1;
        free(got);
    }
    double a_get = now_s() - t;
    report("actor get (client checks root)", count, a_get, TENSOR_BYTES);
    /* the same reads as bare rpc calls: what the transport and envelopes cost without the check */
    rpc *r = rpc_connect(p.cl.net, &p.cl.sg, p.peer, 0, err, sizeof err);
    if (!r) return fprintf(stderr, "rpc: %s\n", err), 1;
    t = now_s();
    for (int i = 0; i < count; i++) {
        Opml__StorageGetTensor req = OPML__STORAGE_GET_TENSOR__INIT;
        req.root = (ProtobufCBinaryData){32, roots[i]};
        ProtobufCMessage *m;
        if (rpc_call_max(r, &req.base, &opml__storage_get_tensor_reply__descriptor, ENVELOPE_MAX_BYTES, &m, 30000, 0,
                         err, sizeof err))
            return fprintf(stderr, "rpc get: %s\n", err), 1;
        if (((Opml__StorageGetTensorReply *)m)->data.len != TENSOR_BYTES) status = 1;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    double a_raw = now_s() - t;
    rpc_close(r);
    report("actor get (bytes only, no check)", count, a_raw, TENSOR_BYTES);
    t = now_s();
    for (int i = 0; i < PROOFS; i++) {
        merkle_proof pr;
        if (storage_client_get_proof(c, roots[i % count], (uint64_t)(i * 7919) % (TENSOR_BYTES / 32), &pr))
            return fprintf(stderr, "actor proof: %s\n", storage_client_error(c)), 1;
    }
    double a_proof = now_s() - t;
    report("actor proof (client verifies)", PROOFS, a_proof, 0);
    printf("  ratios: put %.2fx of the root alone; actor/direct time: put %.2f, get %.2f (%.2f without the "
           "root check), proof %.2f\n", t_put / t_root, a_put / t_put, a_get / t_get, a_raw / t_get, a_proof / t_proof);
    storage_client_free(c);
    proc_teardown(&p);
    free(data);
    free(back);
    free(roots);
    if (status) fprintf(stderr, "a tensor read back differs\n");
    return status;
}
