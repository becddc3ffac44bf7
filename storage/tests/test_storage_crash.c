/* kill -9 during a stream of writes: a real opml-storage takes tensor puts and key-value batches
 * from this client until it is killed with SIGKILL at a random moment; after a restart on the same
 * database, every acknowledged write is there and readable (tensors hash to their roots, proofs
 * verify, batches hold all their keys) and the one write in flight is all there or not at all.
 * Several rounds, each killing the process again. Usage: test_storage_crash PATH/opml-storage */
#include "check.h"
#include "proc.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 4
#define MAX_OPS 100000
#define BATCH_KEYS 3

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}

/* Tensor i: deterministic bytes from i, 1 byte .. 200 KiB (so both small and multi-chunk). */
static size_t tensor_len(uint32_t i) {
    return 1 + (size_t)((i * 2654435761u) % (200u << 10));
}
static void tensor_bytes(uint32_t i, uint8_t *buf, size_t len) {
    uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
    for (size_t k = 0; k < len; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[k] = (uint8_t)x;
    }
}

/* Op i writes tensor i when i is even, batch i when odd: keys "b/<i>/<k>" and "last". */
struct acked {
    uint32_t n;            /* ops 0..n-1 were acknowledged */
    uint8_t roots[MAX_OPS / 2 + 1][32];
};
static struct acked acked;

static void batch_key(char *key, uint32_t i, int k) {
    snprintf(key, 32, "b/%08u/%c", i, 'a' + k);
}
static void batch_value(char *val, uint32_t i, int k) {
    snprintf(val, 48, "batch %u key %d", i, k);
}

static int write_op(storage_client *c, uint32_t i, uint8_t *buf) {
    if (i % 2 == 0) {
        size_t len = tensor_len(i);
        tensor_bytes(i, buf, len);
        return storage_client_put_tensor(c, buf, len, NULL, acked.roots[i / 2]);
    }
    char keys[BATCH_KEYS][32], vals[BATCH_KEYS][48], last[16];
    storage_kv_op ops[BATCH_KEYS + 1];
    for (int k = 0; k < BATCH_KEYS; k++) {
        batch_key(keys[k], i, k);
        batch_value(vals[k], i, k);
        ops[k] = (storage_kv_op){keys[k], strlen(keys[k]), vals[k], strlen(vals[k]), 0};
    }
    snprintf(last, sizeof last, "%08u", i);
    ops[BATCH_KEYS] = (storage_kv_op){"last", 4, last, strlen(last), 0};
    return storage_client_kv_write(c, ops, BATCH_KEYS + 1);
}

/* What a scan of "b/" found: per batch, which of its keys, with the right values. */
struct scan_seen {
    uint8_t keys[MAX_OPS];
    int bad;
};
static struct scan_seen seen;

static int on_pair(void *arg, const void *key, size_t klen, const void *value, size_t vlen) {
    (void)arg;
    unsigned i;
    char k, text[64], want[48];
    if (klen >= sizeof text) return seen.bad = 1, 1;
    memcpy(text, key, klen);
    text[klen] = 0;
    if (sscanf(text, "b/%8u/%c", &i, &k) != 2 || i >= MAX_OPS || k < 'a' || k >= 'a' + BATCH_KEYS) return seen.bad = 1, 1;
    batch_value(want, i, k - 'a');
    if (vlen != strlen(want) || memcmp(value, want, vlen)) seen.bad = 1;
    seen.keys[i] |= (uint8_t)(1u << (k - 'a'));
    return 0;
}

/* Every acknowledged op is there; the op in flight (`inflight`, unacknowledged) is whole or absent;
 * nothing else exists. */
static void verify(storage_client *c, uint32_t inflight, uint8_t *buf) {
    uint32_t tensors = 0;
    for (uint32_t i = 0; i < acked.n; i += 2) {
        uint8_t *data;
        size_t len;
        int rc = storage_client_get_tensor(c, acked.roots[i / 2], &data, &len);
        CHECK_EQ_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "tensor %u: %s\n", i, storage_client_error(c));
            continue;
        }
        tensors++;
        CHECK_EQ_INT(len, tensor_len(i));
        tensor_bytes(i, buf, tensor_len(i));
        CHECK(len == tensor_len(i) && memcmp(data, buf, len) == 0);
        free(data);
        merkle_proof p;
        CHECK_EQ_INT(storage_client_get_proof(c, acked.roots[i / 2], rnd() % ((len + 31) / 32), &p), 0);
    }
    int inflight_tensor = 0;
    if (inflight % 2 == 0) { /* an unacknowledged tensor: if there, whole */
        uint8_t root[32];
        size_t len = tensor_len(inflight);
        tensor_bytes(inflight, buf, len);
        CHECK(merkle_tensor_root(buf, len, root) == 0);
        int found;
        uint64_t n;
        CHECK_EQ_INT(storage_client_stat_tensor(c, root, &found, &n), 0);
        if (found) {
            uint8_t *data;
            size_t got;
            CHECK_EQ_INT(storage_client_get_tensor(c, root, &data, &got), 0); /* checks the root */
            CHECK_EQ_INT(got, len);
            free(data);
            inflight_tensor = 1;
        }
    }
    Opml__StorageStatsReply *st;
    CHECK_EQ_INT(storage_client_stats(c, &st), 0);
    CHECK_EQ_INT(st->tensors, tensors + inflight_tensor); /* the counters moved with the data, atomically */
    protobuf_c_message_free_unpacked(&st->base, NULL);

    memset(&seen, 0, sizeof seen);
    CHECK_EQ_INT(storage_client_kv_scan(c, "b/", 2, NULL, 0, on_pair, NULL), 0);
    CHECK(!seen.bad);
    const uint8_t all = (1u << BATCH_KEYS) - 1;
    for (uint32_t i = 1; i < MAX_OPS; i += 2) {
        if (i < acked.n) CHECK_EQ_INT(seen.keys[i], all);
        else if (i == inflight) CHECK(seen.keys[i] == 0 || seen.keys[i] == all);
        else CHECK_EQ_INT(seen.keys[i], 0);
    }
}

/* Kills the process at a random moment once the round's stream has been going for a while. */
struct killer {
    storage_proc *p;
    uint32_t start;    /* acked.n when the round's stream began */
    unsigned after_ms; /* then this long after the 20th acknowledgement */
    int stream_ended;  /* a write failed before the kill (the process too slow): kill now */
};
static void *kill_later(void *arg) {
    struct killer *k = arg;
    struct timespec poll = {0, 1000000L};
    while (__atomic_load_n(&acked.n, __ATOMIC_ACQUIRE) < k->start + 20 &&
           !__atomic_load_n(&k->stream_ended, __ATOMIC_ACQUIRE))
        nanosleep(&poll, NULL);
    struct timespec ts = {k->after_ms / 1000, (long)(k->after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kill(k->p->pid, SIGKILL);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/opml-storage\n", argv[0]);
        return 2;
    }
    rng_state ^= (uint64_t)time(NULL);
    storage_proc p;
    if (proc_setup(&p, argv[1]) != 0) return 1;
    uint8_t *buf = malloc(200u << 10);
    uint32_t inflight = MAX_OPS; /* none yet */
    for (int round = 0; round < ROUNDS; round++) {
        if (proc_start(&p, 10000) != 0) {
            CHECK(0);
            break;
        }
        storage_client *c = proc_client(&p, 5000, 0);
        verify(c, inflight, buf);
        /* the write in flight when the process died may or may not have landed: settle it now */
        if (inflight < MAX_OPS) {
            CHECK_EQ_INT(write_op(c, inflight, buf), 0);
            acked.n = inflight + 1;
        }
        uint32_t start = acked.n;
        struct killer k = {&p, start, (unsigned)(rnd() % 500), 0};
        pthread_t t;
        pthread_create(&t, NULL, kill_later, &k);
        while (acked.n < MAX_OPS && write_op(c, acked.n, buf) == 0) __atomic_store_n(&acked.n, acked.n + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&k.stream_ended, 1, __ATOMIC_RELEASE);
        inflight = acked.n;
        pthread_join(t, NULL);
        CHECK_EQ_INT(proc_stop(&p, SIGKILL), 128 + SIGKILL); /* reaps it */
        printf("round %d: %u writes acknowledged before kill -9 (%u ms after the 20th; op %u in flight)\n", round,
               acked.n - start, k.after_ms, inflight);
        storage_client_free(c); /* drop anything still queued for the dead process */
        if (acked.n - start < 20) printf("round %d: a write timed out before the kill (a loaded machine)\n", round);
    }
    CHECK(acked.n >= 4 * 20); /* the rounds really wrote while the kills came */
    if (proc_start(&p, 10000) == 0) {
        storage_client *c = proc_client(&p, 5000, 0);
        verify(c, inflight, buf);
        storage_client_free(c);
    } else CHECK(0);
    if (check_failures) proc_dump_log(&p);
    proc_teardown(&p);
    free(buf);
    return check_summary("test_storage_crash");
}
