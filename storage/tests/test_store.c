/* The store library against the reference Merkle code: tensor roots and reads across chunk edges,
 * refusal of a wrong claimed root, proofs of any leaf equal to merkle_prove's and verifying,
 * detection of a damaged database, key-value batches (all or nothing), scans, counters that
 * survive a reopen, and clear refusals of bad arguments, a foreign format and a locked database. */
#include "check.h"
#include "merkle.h"
#include "store.h"

#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static char err[256];

/* Opens the raw database to damage it: returns the db with handles for the four families. */
static rocksdb_t *raw_open(const char *dir, rocksdb_column_family_handle_t *cf[4], rocksdb_options_t **opts) {
    const char *names[4] = {"default", "tensors", "merkle", "state"};
    *opts = rocksdb_options_create();
    const rocksdb_options_t *cf_opts[4] = {*opts, *opts, *opts, *opts};
    char *rerr = NULL;
    rocksdb_t *db = rocksdb_open_column_families(*opts, dir, 4, names, cf_opts, cf, &rerr);
    if (rerr) fprintf(stderr, "raw open: %s\n", rerr), rocksdb_free(rerr);
    return db;
}
static void raw_close(rocksdb_t *db, rocksdb_column_family_handle_t *cf[4], rocksdb_options_t *opts) {
    for (int i = 0; i < 4; i++) rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(db);
    rocksdb_options_destroy(opts);
}

static void test_tensors(store *s, const uint8_t *data) {
    const size_t lens[] = {0, 1, 31, 32, 33, STORE_CHUNK_BYTES - 1, STORE_CHUNK_BYTES, STORE_CHUNK_BYTES + 1,
                           3 * STORE_CHUNK_BYTES + 100, (1u << 20) + 5};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        const uint8_t *d = data + k; /* a different tensor for each length */
        uint8_t want[32], got[32], again[32];
        CHECK(merkle_tensor_root(d, len, want) == 0);
        int existed = -1;
        CHECK_EQ_INT(store_put_tensor(s, d, len, NULL, got, &existed, err, sizeof err), STORE_OK);
        CHECK_MEM(got, want, 32);
        CHECK_EQ_INT(existed, 0);
        CHECK_EQ_INT(store_put_tensor(s, d, len, want, again, &existed, err, sizeof err), STORE_OK);
        CHECK_EQ_INT(existed, 1);
        uint64_t n = 0;
        CHECK_EQ_INT(store_tensor_len(s, want, &n, err, sizeof err), STORE_OK);
        CHECK_EQ_INT(n, len);
        uint8_t *back = malloc(len + 1);
        CHECK_EQ_INT(store_read_tensor(s, want, 0, len, back, err, sizeof err), STORE_OK);
        CHECK(len == 0 || memcmp(back, d, len) == 0);
        if (len > 10) { /* ranges straddling chunk edges */
            for (int r = 0; r < 20; r++) {
                uint64_t off = next_u64() % len;
                size_t m = (size_t)(next_u64() % (len - off + 1));
                CHECK_EQ_INT(store_read_tensor(s, want, off, m, back, err, sizeof err), STORE_OK);
                CHECK(m == 0 || memcmp(back, d + off, m) == 0);
            }
        }
        CHECK_EQ_INT(store_read_tensor(s, want, len, 1, back, err, sizeof err), STORE_E_ARG);
        CHECK_EQ_INT(store_read_tensor(s, want, len + 1, 0, back, err, sizeof err), STORE_E_ARG);
        free(back);

        /* proofs: equal to the reference and verifying, for leaves in, at the edge of and past the data */
        uint64_t leaves = (len + 31) / 32;
        uint64_t idx[] = {0, 1, 1023, 1024, 1025, leaves ? leaves - 1 : 0, leaves, leaves + 1, leaves + 5000,
                          (1u << 23) - 1, next_u64() % (leaves + 1), next_u64() % (1u << 23)};
        for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
            merkle_proof p, ref;
            CHECK_EQ_INT(store_prove(s, want, idx[i], &p, err, sizeof err), STORE_OK);
            CHECK(merkle_verify(want, &p));
            CHECK(merkle_prove(d, len, MERKLE_SLOT_DEPTH, idx[i], &ref) == 0);
            CHECK_EQ_INT(p.index, idx[i]);
            CHECK_EQ_INT(p.depth, MERKLE_SLOT_DEPTH);
            CHECK_MEM(p.leaf, ref.leaf, 32);
            CHECK_MEM(p.siblings, ref.siblings, 32 * MERKLE_SLOT_DEPTH);
        }
        merkle_proof p;
        CHECK_EQ_INT(store_prove(s, want, 1u << 23, &p, err, sizeof err), STORE_E_ARG);
    }
}

static void test_refusals(store *s, const uint8_t *data) {
    store_stats before, after;
    store_get_stats(s, &before);
    uint8_t root[32], wrong[32], out[32];
    CHECK(merkle_tensor_root(data + 1000, 5000, root) == 0);
    memcpy(wrong, root, 32);
    wrong[31] ^= 1;
    CHECK_EQ_INT(store_put_tensor(s, data + 1000, 5000, wrong, out, NULL, err, sizeof err), STORE_E_ROOT);
    CHECK(strstr(err, "claimed tensor root") != NULL);
    uint64_t n;
    CHECK_EQ_INT(store_tensor_len(s, root, &n, err, sizeof err), STORE_NOT_FOUND);
    CHECK_EQ_INT(store_tensor_len(s, wrong, &n, err, sizeof err), STORE_NOT_FOUND);
    store_get_stats(s, &after);
    CHECK_EQ_INT(after.tensors, before.tensors);
    CHECK_EQ_INT(after.tensor_bytes, before.tensor_bytes);

    merkle_proof p;
    uint8_t buf[4];
    CHECK_EQ_INT(store_prove(s, wrong, 0, &p, err, sizeof err), STORE_NOT_FOUND);
    CHECK_EQ_INT(store_read_tensor(s, wrong, 0, 4, buf, err, sizeof err), STORE_NOT_FOUND);
    /* a tensor larger than a slot is refused before any byte is read */
    CHECK_EQ_INT(store_put_tensor(s, data, (size_t)STORE_MAX_TENSOR + 1, NULL, out, NULL, err, sizeof err),
                 STORE_E_ARG);
    CHECK_EQ_INT(store_put_tensor(s, NULL, 10, NULL, out, NULL, err, sizeof err), STORE_E_ARG);
}

static int collect(void *arg, const void *key, size_t klen, const void *value, size_t vlen) {
    char *acc = arg;
    strncat(acc, key, klen);
    strcat(acc, "=");
    strncat(acc, value, vlen);
    strcat(acc, ";");
    return 0;
}
static int stop_after_one(void *arg, const void *key, size_t klen, const void *value, size_t vlen) {
    collect(arg, key, klen, value, vlen);
    return 1;
}

static void test_kv(store *s) {
    storage_kv_op ops[] = {
        {"a/1", 3, "one", 3, 0}, {"a/2", 3, "two", 3, 0}, {"a/3", 3, "three", 5, 0},
        {"b/1", 3, "bee", 3, 0}, {"a", 1, "", 0, 0},      {"gone", 4, "x", 1, 0},
        {"gone", 4, NULL, 0, 1}, /* applied in order: put then delete */
    };
    CHECK_EQ_INT(store_kv_write(s, ops, sizeof ops / sizeof ops[0], err, sizeof err), STORE_OK);
    uint8_t *v;
    size_t vlen;
    CHECK_EQ_INT(store_kv_get(s, "a/3", 3, &v, &vlen, err, sizeof err), STORE_OK);
    CHECK(vlen == 5 && !memcmp(v, "three", 5));
    free(v);
    CHECK_EQ_INT(store_kv_get(s, "a", 1, &v, &vlen, err, sizeof err), STORE_OK);
    CHECK(vlen == 0 && v == NULL);
    CHECK_EQ_INT(store_kv_get(s, "gone", 4, &v, &vlen, err, sizeof err), STORE_NOT_FOUND);
    CHECK_EQ_INT(store_kv_get(s, "nothing", 7, &v, &vlen, err, sizeof err), STORE_NOT_FOUND);

    /* one bad op refuses the whole batch: nothing of it is applied */
    char bigkey[STORE_MAX_KEY + 1];
    memset(bigkey, 'k', sizeof bigkey);
    storage_kv_op bad[] = {{"a/1", 3, "changed", 7, 0}, {"c/1", 3, "new", 3, 0}, {bigkey, sizeof bigkey, "v", 1, 0}};
    CHECK_EQ_INT(store_kv_write(s, bad, 3, err, sizeof err), STORE_E_ARG);
    bad[2].klen = 0;
    CHECK_EQ_INT(store_kv_write(s, bad, 3, err, sizeof err), STORE_E_ARG);
    bad[2] = (storage_kv_op){"v", 1, NULL, (size_t)STORE_MAX_VALUE + 1, 0};
    CHECK_EQ_INT(store_kv_write(s, bad, 3, err, sizeof err), STORE_E_ARG);
    CHECK_EQ_INT(store_kv_get(s, "a/1", 3, &v, &vlen, err, sizeof err), STORE_OK);
    CHECK(vlen == 3 && !memcmp(v, "one", 3));
    free(v);
    CHECK_EQ_INT(store_kv_get(s, "c/1", 3, &v, &vlen, err, sizeof err), STORE_NOT_FOUND);
    CHECK_EQ_INT(store_kv_get(s, bigkey, sizeof bigkey, &v, &vlen, err, sizeof err), STORE_E_ARG);

    /* scans: prefix, limit with `more`, a cursor, an early stop, everything */
    char acc[256] = "";
    int more = -1;
    CHECK_EQ_INT(store_kv_scan(s, "a/", 2, NULL, 0, 0, collect, acc, &more, err, sizeof err), STORE_OK);
    CHECK(!strcmp(acc, "a/1=one;a/2=two;a/3=three;") && more == 0);
    acc[0] = 0;
    CHECK_EQ_INT(store_kv_scan(s, "a/", 2, NULL, 0, 2, collect, acc, &more, err, sizeof err), STORE_OK);
    CHECK(!strcmp(acc, "a/1=one;a/2=two;") && more == 1);
    acc[0] = 0;
    CHECK_EQ_INT(store_kv_scan(s, "a/", 2, "a/2", 3, 2, collect, acc, &more, err, sizeof err), STORE_OK);
    CHECK(!strcmp(acc, "a/3=three;") && more == 0);
    acc[0] = 0;
    CHECK_EQ_INT(store_kv_scan(s, "a/", 2, "", 0, 0, stop_after_one, acc, &more, err, sizeof err), STORE_OK);
    CHECK(!strcmp(acc, "a/1=one;") && more == 1);
    acc[0] = 0;
    CHECK_EQ_INT(store_kv_scan(s, "a/", 2, "0", 1, 0, collect, acc, &more, err, sizeof err), STORE_OK);
    CHECK(!strcmp(acc, "a/1=one;a/2=two;a/3=three;")); /* a cursor before the prefix starts at the prefix */
    acc[0] = 0;
    CHECK_EQ_INT(store_kv_scan(s, NULL, 0, "a/3", 3, 0, collect, acc, &more, err, sizeof err), STORE_OK);
    CHECK(!strcmp(acc, "b/1=bee;") && more == 0);
    acc[0] = 0;
    CHECK_EQ_INT(store_kv_scan(s, "z", 1, NULL, 0, 0, collect, acc, &more, err, sizeof err), STORE_OK);
    CHECK(acc[0] == 0 && more == 0);
    CHECK_EQ_INT(store_kv_scan(s, "a", 1, NULL, 0, 0, NULL, acc, &more, err, sizeof err), STORE_E_ARG);

    storage_kv_op del = {"a/2", 3, NULL, 0, 1};
    CHECK_EQ_INT(store_kv_write(s, &del, 1, err, sizeof err), STORE_OK);
    CHECK_EQ_INT(store_kv_get(s, "a/2", 3, &v, &vlen, err, sizeof err), STORE_NOT_FOUND);
}

int main(void) {
    char dir[] = "/tmp/opml-test-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[sizeof dir + 8];
    snprintf(path, sizeof path, "%s/db", dir);

    size_t data_len = (2u << 20);
    uint8_t *data = malloc(data_len);
    for (size_t i = 0; i < data_len; i++) data[i] = (uint8_t)next_u64();

    store *s = store_open(path, err, sizeof err);
    CHECK(s != NULL);
    if (!s) return check_summary("test_store");
    /* a second opener of the same directory is refused (RocksDB's lock), with a reason */
    err[0] = 0;
    CHECK(store_open(path, err, sizeof err) == NULL);
    CHECK(strlen(err) > 0);

    test_tensors(s, data);
    test_refusals(s, data);
    test_kv(s);
    store_stats st;
    store_get_stats(s, &st);
    CHECK_EQ_INT(st.tensors, 10);
    CHECK_EQ_INT(st.tensor_bytes, 0 + 1 + 31 + 32 + 33 + 3 * STORE_CHUNK_BYTES + 3 * STORE_CHUNK_BYTES + 100 +
                                      (1u << 20) + 5);
    store_close(s);

    /* counters and data survive a reopen */
    s = store_open(path, err, sizeof err);
    CHECK(s != NULL);
    store_stats st2;
    store_get_stats(s, &st2);
    CHECK_EQ_INT(st2.tensors, st.tensors);
    CHECK_EQ_INT(st2.tensor_bytes, st.tensor_bytes);
    uint8_t root[32];
    size_t len = 3 * STORE_CHUNK_BYTES + 100;
    CHECK(merkle_tensor_root(data + 8, len, root) == 0); /* lens[8] was stored from data + 8 */
    merkle_proof p;
    CHECK_EQ_INT(store_prove(s, root, 2 * 1024 + 7, &p, err, sizeof err), STORE_OK);
    store_close(s);

    /* damage: a wrong Merkle node and a missing chunk are reported as corruption, not served */
    rocksdb_column_family_handle_t *cf[4];
    rocksdb_options_t *opts;
    rocksdb_t *db = raw_open(path, cf, &opts);
    CHECK(db != NULL);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *rerr = NULL;
    uint8_t key[37];
    memcpy(key, root, 32);
    key[32] = 10, key[33] = 0, key[34] = 0, key[35] = 0, key[36] = 3; /* chunk root 3, sibling of chunk 2 */
    rocksdb_put_cf(db, wo, cf[2], (const char *)key, 37, "0123456789abcdef0123456789abcdef", 32, &rerr);
    CHECK(rerr == NULL);
    key[32] = 0, key[33] = 0, key[34] = 0, key[35] = 1; /* chunk 1 of the tensor */
    rocksdb_delete_cf(db, wo, cf[1], (const char *)key, 36, &rerr);
    CHECK(rerr == NULL);
    rocksdb_put_cf(db, wo, cf[0], "format", 6, "opml.storage.v0", 15, &rerr);
    CHECK(rerr == NULL);
    rocksdb_writeoptions_destroy(wo);
    raw_close(db, cf, opts);

    err[0] = 0;
    CHECK(store_open(path, err, sizeof err) == NULL); /* another format */
    CHECK(strstr(err, "format") != NULL);
    db = raw_open(path, cf, &opts);
    wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(db, wo, cf[0], "format", 6, "opml.storage.v1", 15, &rerr);
    CHECK(rerr == NULL);
    rocksdb_writeoptions_destroy(wo);
    raw_close(db, cf, opts);

    s = store_open(path, err, sizeof err);
    CHECK(s != NULL);
    CHECK_EQ_INT(store_prove(s, root, 2 * 1024 + 7, &p, err, sizeof err), STORE_E_CORRUPT);
    CHECK_EQ_INT(store_prove(s, root, 1024 + 7, &p, err, sizeof err), STORE_E_CORRUPT);
    CHECK(strstr(err, "missing") != NULL);
    uint8_t *buf = malloc(len);
    CHECK_EQ_INT(store_read_tensor(s, root, 0, len, buf, err, sizeof err), STORE_E_CORRUPT);
    CHECK_EQ_INT(store_read_tensor(s, root, 0, 100, buf, err, sizeof err), STORE_OK); /* chunk 0 is intact */
    CHECK_MEM(buf, data + 8, 100);
    free(buf);
    store_close(s);

    /* a path that cannot be a database */
    char file[sizeof dir + 8];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    err[0] = 0;
    CHECK(store_open(file, err, sizeof err) == NULL);
    CHECK(strlen(err) > 0);

    free(data);
    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_summary("test_store");
}
