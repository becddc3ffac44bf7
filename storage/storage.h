/* storage.h: what the store (store.h), the storage actor (main.c) and its clients (client.h)
 * share: the limits, the error codes the actor adds to opml.Error, the key-value write operation
 * and the scan callback. */
#ifndef OPML_STORAGE_H
#define OPML_STORAGE_H

#include <stddef.h>

#define STORAGE_MAX_KEY 1024
#define STORAGE_MAX_VALUE (16u << 20)
/* A request or reply is one envelope of at most ENVELOPE_MAX_BYTES (64 MiB; client.c asserts it):
 * a tensor put in one request carries at most STORAGE_MAX_PUT bytes, a read returns at most
 * STORAGE_MAX_READ. */
#define STORAGE_MAX_PUT ((64u << 20) - 4096)
#define STORAGE_MAX_READ (32u << 20)
/* A larger tensor is put in parts of STORAGE_PART_BYTES; the actor holds at most STORAGE_UPLOADS
 * unfinished ones, and forgets one that got no part for STORAGE_UPLOAD_IDLE_MS when it needs room. */
#define STORAGE_PART_BYTES (32u << 20)
#define STORAGE_UPLOADS 4
#define STORAGE_UPLOAD_IDLE_MS 60000
#define STORAGE_MAX_SCAN 1000             /* pairs per scan reply */
#define STORAGE_SCAN_BYTES (32u << 20)    /* a scan reply stops growing past this many bytes */

/* opml.Error codes of the storage actor, beside the OPML_E_* of envelope.h. */
enum {
    STORAGE_E_ROOT = 100,    /* the tensor's bytes do not hash to the claimed root */
    STORAGE_E_CORRUPT = 101, /* the database contradicts itself: a proof or chunk is damaged */
};

/* One operation of an atomic key-value write: a put, or a delete when del is set. */
typedef struct storage_kv_op {
    const void *key;
    size_t klen;
    const void *value;
    size_t vlen;
    int del;
} storage_kv_op;

/* Called for each pair of a scan; a non-zero return stops the scan (not an error). The bytes are
 * valid only during the call. */
typedef int (*storage_scan_fn)(void *arg, const void *key, size_t klen, const void *value, size_t vlen);

#endif
