/* store.h: the storage actor's database, RocksDB with four column families:
 *
 *   default  format marker and the tensor counters;
 *   tensors  content-addressed tensors, keyed by their tensor root (docs/commitments.md), kept as
 *            chunks of STORE_CHUNK_BYTES so that one leaf can be read without the whole tensor;
 *   merkle   the interior nodes of every stored tensor's tree from height STORE_CHUNK_HEIGHT up:
 *            a proof of any leaf hashes one chunk and reads the rest of its path;
 *   state    key-value state of the other actors (games, tasks), written in atomic batches.
 *
 * Durability: every write is one RocksDB write batch, written to the WAL and fsync'ed before the
 * call returns. A call that returned success survives kill -9 and power loss; a write cut short
 * is either entirely there after a restart or entirely absent (docs/storage.md).
 *
 * A store is not thread-safe: one thread at a time calls it (the actor's loop does).
 * Every function that can fail returns a STORE_* code and, for codes < 0, writes the reason to
 * err (errlen bytes, may be 0 when err is NULL). */
#ifndef OPML_STORE_H
#define OPML_STORE_H

#include "merkle.h"
#include "storage.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_CHUNK_HEIGHT 10                                 /* 1024 leaves per chunk */
#define STORE_CHUNK_BYTES (MERKLE_LEAF_BYTES << STORE_CHUNK_HEIGHT) /* 32 KiB */
#define STORE_MAX_TENSOR MERKLE_SLOT_BYTES                    /* a tensor fills at most one slot */
#define STORE_MAX_KEY STORAGE_MAX_KEY
#define STORE_MAX_VALUE STORAGE_MAX_VALUE

enum {
    STORE_OK = 0,
    STORE_NOT_FOUND = 1,
    STORE_E_IO = -1,      /* RocksDB failed (disk, permissions, lock held by another process) */
    STORE_E_ARG = -2,     /* a precondition of the call is broken (size, range, empty key) */
    STORE_E_ROOT = -3,    /* the bytes do not hash to the claimed tensor root */
    STORE_E_CORRUPT = -4, /* what is stored contradicts itself (a proof that does not verify) */
};

typedef struct store store;

/* Opens (creating if missing) the database in directory dir. Refuses a directory written by
 * another format. Returns NULL with the reason in err. */
store *store_open(const char *dir, char *err, size_t errlen);

/* Closes the database (NULL is fine). */
void store_close(store *s);

/* Stores len bytes (len <= STORE_MAX_TENSOR; data may be NULL when len is 0) under their tensor
 * root, written to root_out. With claimed_root not NULL the put is refused (STORE_E_ROOT, nothing
 * written) unless the bytes hash to it. Storing a tensor that is already there writes nothing and
 * sets *existed (when not NULL) to 1. */
int store_put_tensor(store *s, const void *data, size_t len, const uint8_t *claimed_root, uint8_t root_out[32],
                     int *existed, char *err, size_t errlen);

/* The length in bytes of the tensor with this root: STORE_OK, or STORE_NOT_FOUND. */
int store_tensor_len(store *s, const uint8_t root[32], uint64_t *len, char *err, size_t errlen);

/* Copies bytes [offset, offset + len) of the tensor into buf. The range must lie within the
 * tensor (STORE_E_ARG otherwise). Returns STORE_OK, STORE_NOT_FOUND or an error. */
int store_read_tensor(store *s, const uint8_t root[32], uint64_t offset, size_t len, void *buf, char *err,
                      size_t errlen);

/* The inclusion proof (depth MERKLE_SLOT_DEPTH) of leaf `index` (< 2^23; leaves past the data are
 * zero and provable too) of the stored tensor. The proof is checked against the root before it
 * is returned: STORE_E_CORRUPT if it does not verify. */
int store_prove(store *s, const uint8_t root[32], uint64_t index, merkle_proof *out, char *err, size_t errlen);

/* Key-value state. Keys are 1..STORE_MAX_KEY bytes, values 0..STORE_MAX_VALUE bytes. */

/* On STORE_OK *value is malloc'd (caller frees; NULL for an empty value) and *vlen set. */
int store_kv_get(store *s, const void *key, size_t klen, uint8_t **value, size_t *vlen, char *err, size_t errlen);

/* Applies ops[0..n-1] in order as one atomic, durable write: after a crash all of them or none
 * are there. Any op breaking a precondition refuses the whole write (STORE_E_ARG). */
int store_kv_write(store *s, const storage_kv_op *ops, size_t n, char *err, size_t errlen);

/* Visits, in key order, the pairs whose key starts with prefix (plen may be 0: every key) and is
 * greater than start_after (when salen > 0), at most limit of them (0: no limit). *more (when not
 * NULL) is set to 1 if another matching pair follows the last visited one. */
int store_kv_scan(store *s, const void *prefix, size_t plen, const void *start_after, size_t salen, size_t limit,
                  storage_scan_fn fn, void *arg, int *more, char *err, size_t errlen);

typedef struct store_stats {
    uint64_t tensors;       /* exact: distinct tensors stored */
    uint64_t tensor_bytes;  /* exact: sum of their lengths */
    uint64_t kv_keys;       /* RocksDB's estimate of the state keys */
    uint64_t disk_bytes;    /* SST files of every column family */
    uint64_t memtable_bytes;
} store_stats;

void store_get_stats(store *s, store_stats *out);

#endif
