/* client.h: how other actors (executor, vmjudge, bisector, chainwatch) and tools call the storage
 * actor. One storage_client wraps one rpc (runtime/rpc.h) to the actor's `listen` socket, or to the
 * bus's work socket when storage serves as a bus worker.
 *
 * The client does not trust the server: a tensor read is checked against its root, a proof with
 * merkle_verify, before either is returned. Every call returns 0 or an error code: OPML_E_* of
 * envelope.h (OPML_E_NOT_FOUND for an unknown tensor, OPML_E_TIMEOUT when the actor does not
 * answer, OPML_E_BAD_REQUEST for a refused argument) or STORAGE_E_* of storage.h; the reason is
 * then in storage_client_error(). One thread uses a client at a time (handlers are fine). */
#ifndef OPML_STORAGE_CLIENT_H
#define OPML_STORAGE_CLIENT_H

#include "merkle.h"
#include "net.h"
#include "envelope.h"
#include "storage.h"
#include "storage.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct storage_client storage_client;

/* Connects to peer ("KEYHEX@endpoint") through the caller's net and signer (an actor's actor_net
 * and actor_signer; both must outlive the client). Each call waits timeout_ms for a reply and
 * sends it again up to `retries` times. Returns NULL with the reason in err. */
storage_client *storage_client_new(net *n, signer *s, const char *peer, int timeout_ms, int retries, char *err,
                                   size_t errlen);
void storage_client_free(storage_client *c);

/* The reason of the last failed call ("" after a success). */
const char *storage_client_error(const storage_client *c);

/* Stores len bytes (len <= MERKLE_SLOT_BYTES) and writes their tensor root to root_out. With
 * claimed_root not NULL the server refuses (STORAGE_E_ROOT) bytes that do not hash to it. A
 * tensor over STORAGE_MAX_PUT bytes is sent in parts of STORAGE_PART_BYTES (its root is computed
 * here first when claimed_root is NULL); when the tensor is stored already the rest is not sent. */
int storage_client_put_tensor(storage_client *c, const void *data, size_t len, const uint8_t *claimed_root,
                              uint8_t root_out[32]);

/* Fetches a whole tensor (in reads of STORAGE_MAX_READ) and checks that it hashes to root. On 0,
 * *data is malloc'd (caller frees; never NULL, even for the empty tensor) and *len set. */
int storage_client_get_tensor(storage_client *c, const uint8_t root[32], uint8_t **data, size_t *len);

/* Whether the tensor is stored (*found) and its length. */
int storage_client_stat_tensor(storage_client *c, const uint8_t root[32], int *found, uint64_t *len);

/* The inclusion proof of leaf `index` (< 2^23) of the tensor, checked against root. */
int storage_client_get_proof(storage_client *c, const uint8_t root[32], uint64_t index, merkle_proof *out);

/* Key-value state. kv_get returns 0 with *found set; when found, *value is malloc'd (caller
 * frees; NULL for an empty value). */
int storage_client_kv_get(storage_client *c, const void *key, size_t klen, int *found, uint8_t **value, size_t *vlen);
int storage_client_kv_put(storage_client *c, const void *key, size_t klen, const void *value, size_t vlen);
int storage_client_kv_delete(storage_client *c, const void *key, size_t klen);
/* Applies ops[0..n-1] as one atomic write, on disk when this returns 0. */
int storage_client_kv_write(storage_client *c, const storage_kv_op *ops, size_t n);

/* Visits every pair whose key starts with prefix and is greater than start_after (salen 0: from
 * the first), in key order, page by page, until fn returns non-zero or the pairs run out. */
int storage_client_kv_scan(storage_client *c, const void *prefix, size_t plen, const void *start_after, size_t salen,
                           storage_scan_fn fn, void *arg);

/* The actor's figures. On 0, *out is the reply (free with protobuf_c_message_free_unpacked). */
int storage_client_stats(storage_client *c, Opml__StorageStatsReply **out);

#endif
