/* store.c: the storage actor's RocksDB database (see store.h for the column families).
 *
 * Key layout (integers big-endian, so keys sort by number):
 *   default  "format" -> STORE_FORMAT;  "tensors" -> u64 count;  "tensor_bytes" -> u64 sum
 *   tensors  root(32)                -> u64 length          (the tensor's record)
 *            root(32) || chunk(u32)  -> bytes [chunk * STORE_CHUNK_BYTES, +STORE_CHUNK_BYTES)
 *   merkle   root(32) || h(u8) || i(u32) -> node i at height h, STORE_CHUNK_HEIGHT <= h < 23
 *   state    the caller's keys, as they are
 *
 * Invariants, each established by one atomic write in store_put_tensor: a tensor's record exists
 * iff all its chunks exist and every node at heights STORE_CHUNK_HEIGHT..22 that covers data
 * (its first chunk < the chunk count) exists; the nodes hash to the root the record is keyed by.
 * Nodes over zero data are not stored: they are merkle_zero(h). */
#include "store.h"
#include "errmsg.h"

#include "keccak.h"
#include "tensor_root.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_FORMAT "opml.storage.v1"
#define TOP_HEIGHT MERKLE_SLOT_DEPTH
#define MAX_CHUNKS ((uint32_t)1 << (TOP_HEIGHT - STORE_CHUNK_HEIGHT))

enum { CF_DEFAULT, CF_TENSORS, CF_MERKLE, CF_STATE, CF_COUNT };
static const char *const cf_names[CF_COUNT] = {"default", "tensors", "merkle", "state"};

struct store {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_options_t *cf_opts[CF_COUNT];
    rocksdb_column_family_handle_t *cf[CF_COUNT];
    rocksdb_writeoptions_t *wsync; /* sync = 1: acknowledged means on disk */
    rocksdb_readoptions_t *ro;
    uint64_t tensors, tensor_bytes; /* mirrors the counters in the default family */
};

/* Turns a RocksDB error string into STORE_E_IO (freeing it). */
static int rocks_fail(char *rerr, char *err, size_t errlen, const char *what) {
    opml_errc(err, errlen, STORE_E_IO, "%s: %s", what, rerr ? rerr : "unknown RocksDB error");
    rocksdb_free(rerr);
    return STORE_E_IO;
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) p[7 - i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}
static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void chunk_key(uint8_t key[36], const uint8_t root[32], uint32_t chunk) {
    memcpy(key, root, 32);
    put_u32(key + 32, chunk);
}
static void node_key(uint8_t key[37], const uint8_t root[32], unsigned height, uint32_t index) {
    memcpy(key, root, 32);
    key[32] = (uint8_t)height;
    put_u32(key + 33, index);
}

/* Reads an 8-byte counter of the default family (0 when absent). */
static int read_counter(store *s, const char *name, uint64_t *out, char *err, size_t errlen) {
    char *rerr = NULL;
    rocksdb_pinnableslice_t *v = rocksdb_get_pinned_cf(s->db, s->ro, s->cf[CF_DEFAULT], name, strlen(name), &rerr);
    if (rerr) return rocks_fail(rerr, err, errlen, name);
    *out = 0;
    if (!v) return STORE_OK;
    size_t n;
    const char *p = rocksdb_pinnableslice_value(v, &n);
    int rc = STORE_OK;
    if (n != 8) rc = opml_errc(err, errlen, STORE_E_CORRUPT, "counter %s has %zu bytes", name, n);
    else *out = get_u64((const uint8_t *)p);
    rocksdb_pinnableslice_destroy(v);
    return rc;
}

/* Checks (or, in a new database, writes) the format marker, then loads the counters. */
static int check_format(store *s, char *err, size_t errlen) {
    char *rerr = NULL;
    size_t n;
    char *v = rocksdb_get_cf(s->db, s->ro, s->cf[CF_DEFAULT], "format", 6, &n, &rerr);
    if (rerr) return rocks_fail(rerr, err, errlen, "reading the format marker");
    if (!v) {
        rocksdb_put_cf(s->db, s->wsync, s->cf[CF_DEFAULT], "format", 6, STORE_FORMAT, strlen(STORE_FORMAT), &rerr);
        if (rerr) return rocks_fail(rerr, err, errlen, "writing the format marker");
    } else {
        int same = n == strlen(STORE_FORMAT) && !memcmp(v, STORE_FORMAT, n);
        rocksdb_free(v);
        if (!same) return opml_errc(err, errlen, STORE_E_ARG, "the database has another format than %s", STORE_FORMAT);
    }
    int rc = read_counter(s, "tensors", &s->tensors, err, errlen);
    if (rc == STORE_OK) rc = read_counter(s, "tensor_bytes", &s->tensor_bytes, err, errlen);
    return rc;
}

store *store_open(const char *dir, char *err, size_t errlen) {
    store *s = calloc(1, sizeof *s);
    if (!s) {
        opml_errc(err, errlen, STORE_E_IO, "out of memory");
        return NULL;
    }
    s->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->opts, 1);
    rocksdb_options_set_create_missing_column_families(s->opts, 1);
    /* The default recovery mode, point-in-time: replay the WAL up to the first torn record. A
     * batch is one WAL record, so it comes back whole or not at all. */
    rocksdb_options_set_wal_recovery_mode(s->opts, rocksdb_point_in_time_recovery);
    for (int i = 0; i < CF_COUNT; i++) {
        s->cf_opts[i] = rocksdb_options_create();
        /* Tensor bytes are dense numbers: compressing them costs time and saves little. */
        if (i == CF_TENSORS || i == CF_MERKLE) rocksdb_options_set_compression(s->cf_opts[i], rocksdb_no_compression);
    }
    char *rerr = NULL;
    s->db = rocksdb_open_column_families(s->opts, dir, CF_COUNT, cf_names,
                                         (const rocksdb_options_t *const *)s->cf_opts, s->cf, &rerr);
    if (rerr) {
        rocks_fail(rerr, err, errlen, dir);
        s->db = NULL;
        store_close(s);
        return NULL;
    }
    s->wsync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wsync, 1);
    s->ro = rocksdb_readoptions_create();
    if (check_format(s, err, errlen) != STORE_OK) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s) {
    if (!s) return;
    if (s->db) {
        for (int i = 0; i < CF_COUNT; i++)
            if (s->cf[i]) rocksdb_column_family_handle_destroy(s->cf[i]);
        rocksdb_close(s->db);
    }
    for (int i = 0; i < CF_COUNT; i++)
        if (s->cf_opts[i]) rocksdb_options_destroy(s->cf_opts[i]);
    if (s->opts) rocksdb_options_destroy(s->opts);
    if (s->wsync) rocksdb_writeoptions_destroy(s->wsync);
    if (s->ro) rocksdb_readoptions_destroy(s->ro);
    free(s);
}

/* The tree of a tensor from height STORE_CHUNK_HEIGHT up: level[h - STORE_CHUNK_HEIGHT] holds
 * count[...] nodes, the top level the root. */
typedef struct upper_tree {
    uint8_t (*nodes)[32];
    uint8_t (*level[TOP_HEIGHT - STORE_CHUNK_HEIGHT + 1])[32];
    uint32_t count[TOP_HEIGHT - STORE_CHUNK_HEIGHT + 1];
} upper_tree;

/* Builds the upper tree of len (> 0) bytes: chunk roots, then pairs, with zero roots on the right
 * past the data. Costs one hash of the data, like merkle_tensor_root, and as fast: each chunk's
 * root is opml_chunk_root's, eight Keccak permutations at a time with AVX-512 (the portable
 * merkle_root was 9/10 of a put's time). Returns 0 or -1 (memory). */
static int build_upper(const uint8_t *data, size_t len, upper_tree *t) {
    uint32_t chunks = (uint32_t)((len + STORE_CHUNK_BYTES - 1) / STORE_CHUNK_BYTES);
    size_t total = 0;
    for (unsigned l = 0, n = chunks; l <= TOP_HEIGHT - STORE_CHUNK_HEIGHT; l++, n = (n + 1) / 2) total += n;
    t->nodes = malloc(total * 32);
    if (!t->nodes) return -1;
    size_t at = 0;
    for (unsigned l = 0, n = chunks; l <= TOP_HEIGHT - STORE_CHUNK_HEIGHT; l++, n = (n + 1) / 2) {
        t->level[l] = t->nodes + at;
        t->count[l] = n;
        at += n;
    }
    for (uint32_t c = 0; c < chunks; c++) {
        size_t off = (size_t)c * STORE_CHUNK_BYTES;
        size_t n = len - off < STORE_CHUNK_BYTES ? len - off : STORE_CHUNK_BYTES;
        opml_chunk_root(data + off, n, STORE_CHUNK_HEIGHT, t->level[0][c]); /* 0 < n <= 32 << height: cannot fail */
    }
    for (unsigned l = 1; l <= TOP_HEIGHT - STORE_CHUNK_HEIGHT; l++) {
        const uint8_t *zero = merkle_zero(STORE_CHUNK_HEIGHT + l - 1);
        for (uint32_t i = 0; i < t->count[l]; i++) {
            uint32_t right = 2 * i + 1;
            keccak256_pair(t->level[l - 1][2 * i], right < t->count[l - 1] ? t->level[l - 1][right] : zero,
                           t->level[l][i]);
        }
    }
    return 0;
}

int store_tensor_len(store *s, const uint8_t root[32], uint64_t *len, char *err, size_t errlen) {
    char *rerr = NULL;
    rocksdb_pinnableslice_t *v =
        rocksdb_get_pinned_cf(s->db, s->ro, s->cf[CF_TENSORS], (const char *)root, 32, &rerr);
    if (rerr) return rocks_fail(rerr, err, errlen, "reading a tensor record");
    if (!v) return STORE_NOT_FOUND;
    size_t n;
    const char *p = rocksdb_pinnableslice_value(v, &n);
    int rc = STORE_OK;
    if (n != 8) rc = opml_errc(err, errlen, STORE_E_CORRUPT, "a tensor record has %zu bytes, not 8", n);
    else *len = get_u64((const uint8_t *)p);
    rocksdb_pinnableslice_destroy(v);
    if (rc == STORE_OK && *len > STORE_MAX_TENSOR)
        rc = opml_errc(err, errlen, STORE_E_CORRUPT, "a tensor record claims %llu bytes", (unsigned long long)*len);
    return rc;
}

int store_put_tensor(store *s, const void *data, size_t len, const uint8_t *claimed_root, uint8_t root_out[32],
                     int *existed, char *err, size_t errlen) {
    if (existed) *existed = 0;
    if (len > STORE_MAX_TENSOR)
        return opml_errc(err, errlen, STORE_E_ARG, "a tensor of %zu bytes exceeds the %llu-byte slot", len,
                    (unsigned long long)STORE_MAX_TENSOR);
    if (len && !data) return opml_errc(err, errlen, STORE_E_ARG, "no data for a %zu-byte tensor", len);
    upper_tree t = {0};
    uint8_t root[32];
    if (len == 0) memcpy(root, merkle_zero(TOP_HEIGHT), 32);
    else {
        if (build_upper(data, len, &t) != 0) return opml_errc(err, errlen, STORE_E_IO, "out of memory");
        memcpy(root, t.level[TOP_HEIGHT - STORE_CHUNK_HEIGHT][0], 32);
    }
    memcpy(root_out, root, 32);
    int rc;
    uint64_t have;
    if (claimed_root && memcmp(claimed_root, root, 32) != 0) {
        rc = opml_errc(err, errlen, STORE_E_ROOT, "the bytes do not hash to the claimed tensor root");
        goto out;
    }
    rc = store_tensor_len(s, root, &have, err, errlen);
    if (rc == STORE_OK) {
        if (existed) *existed = 1;
        goto out;
    }
    if (rc != STORE_NOT_FOUND) goto out;

    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    uint8_t key[37], val[8];
    for (uint32_t c = 0; c < t.count[0]; c++) {
        size_t off = (size_t)c * STORE_CHUNK_BYTES;
        size_t n = len - off < STORE_CHUNK_BYTES ? len - off : STORE_CHUNK_BYTES;
        chunk_key(key, root, c);
        rocksdb_writebatch_put_cf(b, s->cf[CF_TENSORS], (const char *)key, 36, (const char *)data + off, n);
    }
    if (len)
        for (unsigned l = 0; l < TOP_HEIGHT - STORE_CHUNK_HEIGHT; l++)
            for (uint32_t i = 0; i < t.count[l]; i++) {
                node_key(key, root, STORE_CHUNK_HEIGHT + l, i);
                rocksdb_writebatch_put_cf(b, s->cf[CF_MERKLE], (const char *)key, 37, (const char *)t.level[l][i], 32);
            }
    put_u64(val, len);
    rocksdb_writebatch_put_cf(b, s->cf[CF_TENSORS], (const char *)root, 32, (const char *)val, 8);
    put_u64(val, s->tensors + 1);
    rocksdb_writebatch_put_cf(b, s->cf[CF_DEFAULT], "tensors", 7, (const char *)val, 8);
    put_u64(val, s->tensor_bytes + len);
    rocksdb_writebatch_put_cf(b, s->cf[CF_DEFAULT], "tensor_bytes", 12, (const char *)val, 8);
    char *rerr = NULL;
    rocksdb_write(s->db, s->wsync, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) rc = rocks_fail(rerr, err, errlen, "writing a tensor");
    else {
        s->tensors++;
        s->tensor_bytes += len;
        rc = STORE_OK;
    }
out:
    free(t.nodes);
    return rc;
}

/* Pins chunk c of a tensor of len bytes and checks its size. On STORE_OK *slice must be
 * destroyed by the caller; *bytes and *n describe the chunk. */
static int pin_chunk(store *s, const uint8_t root[32], uint64_t len, uint32_t c, rocksdb_pinnableslice_t **slice,
                     const uint8_t **bytes, size_t *n, char *err, size_t errlen) {
    uint8_t key[36];
    chunk_key(key, root, c);
    char *rerr = NULL;
    *slice = rocksdb_get_pinned_cf(s->db, s->ro, s->cf[CF_TENSORS], (const char *)key, 36, &rerr);
    if (rerr) return rocks_fail(rerr, err, errlen, "reading a tensor chunk");
    if (!*slice) return opml_errc(err, errlen, STORE_E_CORRUPT, "chunk %u of a stored tensor is missing", c);
    uint64_t off = (uint64_t)c * STORE_CHUNK_BYTES;
    size_t want = len - off < STORE_CHUNK_BYTES ? (size_t)(len - off) : STORE_CHUNK_BYTES;
    *bytes = (const uint8_t *)rocksdb_pinnableslice_value(*slice, n);
    if (*n != want) {
        rocksdb_pinnableslice_destroy(*slice);
        return opml_errc(err, errlen, STORE_E_CORRUPT, "chunk %u has %zu bytes, not %zu", c, *n, want);
    }
    return STORE_OK;
}

int store_read_tensor(store *s, const uint8_t root[32], uint64_t offset, size_t len, void *buf, char *err,
                      size_t errlen) {
    uint64_t total;
    int rc = store_tensor_len(s, root, &total, err, errlen);
    if (rc != STORE_OK) return rc;
    if (offset > total || len > total - offset)
        return opml_errc(err, errlen, STORE_E_ARG, "range [%llu, +%zu) lies outside the %llu-byte tensor",
                    (unsigned long long)offset, len, (unsigned long long)total);
    uint8_t *out = buf;
    while (len) {
        uint32_t c = (uint32_t)(offset / STORE_CHUNK_BYTES);
        size_t in = (size_t)(offset % STORE_CHUNK_BYTES);
        rocksdb_pinnableslice_t *slice = NULL;
        const uint8_t *bytes = NULL;
        size_t n = 0;
        if ((rc = pin_chunk(s, root, total, c, &slice, &bytes, &n, err, errlen)) != STORE_OK) return rc;
        size_t take = n - in < len ? n - in : len;
        memcpy(out, bytes + in, take);
        rocksdb_pinnableslice_destroy(slice);
        out += take, offset += take, len -= take;
    }
    return STORE_OK;
}

int store_prove(store *s, const uint8_t root[32], uint64_t index, merkle_proof *out, char *err, size_t errlen) {
    if (index >> TOP_HEIGHT)
        return opml_errc(err, errlen, STORE_E_ARG, "leaf %llu is outside the slot's 2^%d leaves", (unsigned long long)index,
                    TOP_HEIGHT);
    uint64_t len;
    int rc = store_tensor_len(s, root, &len, err, errlen);
    if (rc != STORE_OK) return rc;
    uint32_t chunks = (uint32_t)((len + STORE_CHUNK_BYTES - 1) / STORE_CHUNK_BYTES);
    uint32_t c = (uint32_t)(index >> STORE_CHUNK_HEIGHT);
    if (c < chunks) { /* the bottom of the path inside the chunk */
        rocksdb_pinnableslice_t *slice = NULL;
        const uint8_t *bytes = NULL;
        size_t n = 0;
        if ((rc = pin_chunk(s, root, len, c, &slice, &bytes, &n, err, errlen)) != STORE_OK) return rc;
        rc = merkle_prove(bytes, n, STORE_CHUNK_HEIGHT, index & ((1u << STORE_CHUNK_HEIGHT) - 1), out);
        rocksdb_pinnableslice_destroy(slice);
        if (rc != 0) return opml_errc(err, errlen, STORE_E_CORRUPT, "chunk %u does not fit its subtree", c);
    } else { /* past the data: a zero leaf under zero subtrees */
        memset(out->leaf, 0, 32);
        for (unsigned h = 0; h < STORE_CHUNK_HEIGHT; h++) memcpy(out->siblings[h], merkle_zero(h), 32);
    }
    out->index = index;
    out->depth = TOP_HEIGHT;
    for (unsigned h = STORE_CHUNK_HEIGHT; h < TOP_HEIGHT; h++) {
        uint32_t sib = (uint32_t)((index >> h) ^ 1);
        if (((uint64_t)sib << (h - STORE_CHUNK_HEIGHT)) >= chunks) { /* covers no data */
            memcpy(out->siblings[h], merkle_zero(h), 32);
            continue;
        }
        uint8_t key[37];
        node_key(key, root, h, sib);
        char *rerr = NULL;
        rocksdb_pinnableslice_t *v = rocksdb_get_pinned_cf(s->db, s->ro, s->cf[CF_MERKLE], (const char *)key, 37, &rerr);
        if (rerr) return rocks_fail(rerr, err, errlen, "reading a Merkle node");
        if (!v) return opml_errc(err, errlen, STORE_E_CORRUPT, "Merkle node %u at height %u is missing", sib, h);
        size_t n = 0;
        const char *p = rocksdb_pinnableslice_value(v, &n);
        if (n == 32) memcpy(out->siblings[h], p, 32);
        rocksdb_pinnableslice_destroy(v);
        if (n != 32) return opml_errc(err, errlen, STORE_E_CORRUPT, "Merkle node %u at height %u has %zu bytes", sib, h, n);
    }
    if (!merkle_verify(root, out))
        return opml_errc(err, errlen, STORE_E_CORRUPT, "the proof of leaf %llu does not verify against its root",
                    (unsigned long long)index);
    return STORE_OK;
}

static int check_key(const void *key, size_t klen, char *err, size_t errlen) {
    if (!key || klen == 0 || klen > STORE_MAX_KEY)
        return opml_errc(err, errlen, STORE_E_ARG, "a key must have 1..%d bytes, not %zu", STORE_MAX_KEY, klen);
    return STORE_OK;
}

int store_kv_get(store *s, const void *key, size_t klen, uint8_t **value, size_t *vlen, char *err, size_t errlen) {
    int rc = check_key(key, klen, err, errlen);
    if (rc != STORE_OK) return rc;
    char *rerr = NULL;
    rocksdb_pinnableslice_t *v = rocksdb_get_pinned_cf(s->db, s->ro, s->cf[CF_STATE], key, klen, &rerr);
    if (rerr) return rocks_fail(rerr, err, errlen, "reading a state key");
    if (!v) return STORE_NOT_FOUND;
    size_t n;
    const char *p = rocksdb_pinnableslice_value(v, &n);
    *value = NULL;
    *vlen = n;
    if (n) {
        *value = malloc(n);
        if (*value) memcpy(*value, p, n);
    }
    rocksdb_pinnableslice_destroy(v);
    if (n && !*value) return opml_errc(err, errlen, STORE_E_IO, "out of memory for a %zu-byte value", n);
    return STORE_OK;
}

int store_kv_write(store *s, const storage_kv_op *ops, size_t n, char *err, size_t errlen) {
    if (n && !ops) return opml_errc(err, errlen, STORE_E_ARG, "no operations");
    for (size_t i = 0; i < n; i++) {
        int rc = check_key(ops[i].key, ops[i].klen, err, errlen);
        if (rc != STORE_OK) return rc;
        if (!ops[i].del && (ops[i].vlen > STORE_MAX_VALUE || (ops[i].vlen && !ops[i].value)))
            return opml_errc(err, errlen, STORE_E_ARG, "a value must have at most %u bytes, not %zu", STORE_MAX_VALUE,
                        ops[i].vlen);
    }
    if (n == 0) return STORE_OK;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    for (size_t i = 0; i < n; i++) {
        if (ops[i].del) rocksdb_writebatch_delete_cf(b, s->cf[CF_STATE], ops[i].key, ops[i].klen);
        else rocksdb_writebatch_put_cf(b, s->cf[CF_STATE], ops[i].key, ops[i].klen, ops[i].vlen ? ops[i].value : "",
                                       ops[i].vlen);
    }
    char *rerr = NULL;
    rocksdb_write(s->db, s->wsync, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) return rocks_fail(rerr, err, errlen, "writing state");
    return STORE_OK;
}

static int has_prefix(const char *key, size_t klen, const void *prefix, size_t plen) {
    return klen >= plen && (plen == 0 || !memcmp(key, prefix, plen));
}

/* memcmp order of byte strings, shorter first on a common prefix: RocksDB's default order. */
static int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

int store_kv_scan(store *s, const void *prefix, size_t plen, const void *start_after, size_t salen, size_t limit,
                  storage_scan_fn fn, void *arg, int *more, char *err, size_t errlen) {
    if (more) *more = 0;
    if (plen > STORE_MAX_KEY || salen > STORE_MAX_KEY || (plen && !prefix) || (salen && !start_after) || !fn)
        return opml_errc(err, errlen, STORE_E_ARG, "bad scan arguments (prefix %zu bytes, start %zu bytes)", plen, salen);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[CF_STATE]);
    int after = salen && (plen == 0 || bytes_cmp(start_after, salen, prefix, plen) >= 0);
    if (after) {
        rocksdb_iter_seek(it, start_after, salen);
        size_t kl;
        const char *k;
        if (rocksdb_iter_valid(it) && (k = rocksdb_iter_key(it, &kl), !bytes_cmp(k, kl, start_after, salen)))
            rocksdb_iter_next(it);
    } else if (plen) rocksdb_iter_seek(it, prefix, plen);
    else rocksdb_iter_seek_to_first(it);
    size_t count = 0;
    while (rocksdb_iter_valid(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (!has_prefix(k, kl, prefix, plen)) break;
        if (limit && count == limit) {
            if (more) *more = 1;
            break;
        }
        const char *v = rocksdb_iter_value(it, &vl);
        int stop = fn(arg, k, kl, v, vl);
        count++;
        rocksdb_iter_next(it);
        if (stop) {
            if (more && rocksdb_iter_valid(it)) *more = has_prefix(rocksdb_iter_key(it, &kl), kl, prefix, plen);
            break;
        }
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (rerr) return rocks_fail(rerr, err, errlen, "scanning state");
    return STORE_OK;
}

/* A numeric RocksDB property of one column family (0 when RocksDB does not know it). */
static uint64_t property(store *s, int cf, const char *name) {
    char *v = rocksdb_property_value_cf(s->db, s->cf[cf], name);
    uint64_t n = v ? strtoull(v, NULL, 10) : 0;
    rocksdb_free(v);
    return n;
}

void store_get_stats(store *s, store_stats *out) {
    memset(out, 0, sizeof *out);
    out->tensors = s->tensors;
    out->tensor_bytes = s->tensor_bytes;
    out->kv_keys = property(s, CF_STATE, "rocksdb.estimate-num-keys");
    for (int i = 0; i < CF_COUNT; i++) {
        out->disk_bytes += property(s, i, "rocksdb.total-sst-files-size");
        out->memtable_bytes += property(s, i, "rocksdb.cur-size-all-mem-tables");
    }
}
