/* rpc.h: the client side of a request: one DEALER socket to one server (an actor's `listen`
 * socket, or the bus's work socket, which hands the request to a worker serving its type).
 *
 * rpc_call signs the request, sends it and waits for the reply whose call_id names it. When no
 * reply comes in timeout_ms it sends it again (a new envelope, same call_id, so the server or the
 * bus can tell a retry from a new call), at most `retries` more times. Replies to earlier calls
 * that arrive late are recognised by their call_id and dropped. One thread uses an rpc at a time. */
#ifndef OPML_RPC_H
#define OPML_RPC_H

#include "envelope.h"
#include "net.h"

typedef struct rpc rpc;

/* Connects to peer ("KEYHEX@endpoint"); the connection is made in the background. `s` must outlive
 * the rpc. max_skew_ms bounds the reply's time (0: no bound). Returns NULL with a reason in err. */
rpc *rpc_connect(net *n, signer *s, const char *peer, uint64_t max_skew_ms, char *err, size_t errlen);
void rpc_close(rpc *r);

/* Calls: sends req, waits for a reply of type reply_desc whose payload is at most max_reply bytes.
 * The reply's payload length is checked before it is unpacked: a peer can make the caller unpack
 * no more than max_reply bytes of a reply, and no more than ACTOR_MAX_CONTROL (actor.h, 64 KiB) of
 * an opml.Error. Returns
 *   0: *reply is the unpacked reply (free with protobuf_c_message_free_unpacked);
 *   an OPML_E_* code: the server answered opml.Error (its message in err), or OPML_E_TIMEOUT, or
 *   OPML_E_BAD_REQUEST when the reply is of another type or over its cap (err says which and how
 *   long; it is never unpacked), or OPML_E_UNAVAILABLE without a reply when the process is
 *   stopping (rpc_cancel_when). */
int rpc_call_max(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc, size_t max_reply,
                 ProtobufCMessage **reply, int timeout_ms, int retries, char *err, size_t errlen);

/* rpc_call_max with the control cap, ACTOR_MAX_CONTROL: for replies of roots, ids, keys, counts and
 * short texts. Callers whose replies carry data (tensor bytes, step hashes, events) state a cap
 * that fits their largest legitimate reply with rpc_call_max (ENVELOPE_MAX_BYTES: the envelope's
 * limit only). */
int rpc_call(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
             ProtobufCMessage **reply, int timeout_ms, int retries, char *err, size_t errlen);

/* Makes every rpc_call of the process give up, with OPML_E_UNAVAILABLE, once cancelled(arg)
 * returns non-zero: it is asked, on the calling thread, as each attempt starts waiting and at
 * least every 100 ms while it waits. The actor runtime installs actor_stopping (actor_new, removed
 * when actor_run returns), so that a handler waiting on a peer that is down does not hold up a stop
 * (SIGTERM) for its time-outs and retries. A stop is process-wide, hence one hook for all rpcs.
 * Set it before any call runs; NULL removes it. */
void rpc_cancel_when(int (*cancelled)(void *arg), void *arg);


#endif
