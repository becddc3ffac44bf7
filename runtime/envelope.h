/* envelope.h: the signed envelope (proto/envelope.proto) every opml message travels in.
 *
 * The signature is identity_sign_digest over
 *   keccak256("opml.envelope.v1" || sender(20) || seq(8) || time_ms(8) || call_id(8)
 *             || len(type)(2) || type || keccak256(payload))
 * with the integers big-endian: a fixed packing, since protobuf bytes are not canonical. The
 * recovered signer must equal `sender`, so a flipped bit anywhere is refused.
 *
 * Replay protection is two checks. envelope_open refuses an envelope whose time is further than
 * max_skew_ms from the receiver's clock (an old envelope replayed after the receiver restarted);
 * a replay_guard, one per receiving socket, refuses a sequence number not above the last one it
 * accepted from that sender (a replay, or an old envelope delivered out of order). A sender's
 * sequence starts at its start-up time in microseconds, so it keeps increasing across restarts. */
#ifndef OPML_ENVELOPE_H
#define OPML_ENVELOPE_H

#include "identity.h"
#include "envelope.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* Error codes of opml.Error replies. Components may add their own from 100 on. */
enum {
    OPML_E_BAD_REQUEST = 1, /* the payload does not parse or breaks a precondition */
    OPML_E_UNKNOWN_TYPE = 2, /* nobody serves this request type */
    OPML_E_UNAUTHORIZED = 3,
    OPML_E_INTERNAL = 4,
    OPML_E_NOT_FOUND = 5,
    OPML_E_UNAVAILABLE = 6, /* overloaded, shutting down, queue full */
    OPML_E_TIMEOUT = 7,     /* no reply in time (reported by the client side) */
};

#define ENVELOPE_MAX_TYPE 255
#define ENVELOPE_MAX_BYTES (64u << 20) /* larger frames are refused before parsing */
/* The payload cap of control messages (actor_on's requests, rpc_call's replies, every opml.Error):
 * the types whose fields are roots, ids, keys and at most a few thousand numbers (vmjudge's 4096
 * steps: about 41 KB). */
#define ACTOR_MAX_CONTROL (64u << 10)

/* The sending side: an identity and its sequence counter. */
typedef struct signer {
    identity id;
    uint64_t seq;
} signer;

void signer_init(signer *s, const identity *id);

/* Takes the next sequence number (atomically: several threads may sign with one signer, each on
 * its own sockets). envelope_seal uses it; rpc uses it for call ids. */
uint64_t signer_next(signer *s);

/* Builds, signs and encodes an envelope. On success *out is malloc'd (caller frees). Returns 0,
 * or -1 if type is empty or too long, or signing fails. */
int envelope_seal(signer *s, const char *type, const void *payload, size_t len, uint64_t call_id, uint8_t **out,
                  size_t *out_len);
/* The same with msg packed as payload and its full name as type. */
int envelope_seal_msg(signer *s, const ProtobufCMessage *msg, uint64_t call_id, uint8_t **out, size_t *out_len);

/* A received envelope whose signature checked. Fields point into pb; free with envelope_free. */
typedef struct envelope {
    Opml__Envelope *pb;
    uint8_t sender[20];
    uint64_t seq, time_ms, call_id;
    const char *type;
    const uint8_t *payload;
    size_t payload_len;
} envelope;

/* Decodes and verifies `bytes`: well-formed, signature recovers `sender`, and (when max_skew_ms
 * is not 0) time within max_skew_ms of now_ms. Returns 0, or -1 with the reason in err. */
int envelope_open(const void *bytes, size_t len, uint64_t now_ms, uint64_t max_skew_ms, envelope *out, char *err,
                  size_t errlen);
void envelope_free(envelope *e);

/* Unpacks the payload as `desc`. Returns the message (free with protobuf_c_message_free_unpacked)
 * or NULL if the type differs or the bytes do not parse. */
ProtobufCMessage *envelope_payload(const envelope *e, const ProtobufCMessageDescriptor *desc);

/* The digest the signature covers (exposed for tests and other languages' implementations). */
void envelope_digest(const uint8_t sender[20], uint64_t seq, uint64_t time_ms, uint64_t call_id, const char *type,
                     const void *payload, size_t len, uint8_t out[32]);

/* Per-sender highest accepted sequence number, for up to `capacity` senders (the least recently
 * seen is forgotten first; max_skew then still bounds what can be replayed). */
typedef struct replay_guard replay_guard;
replay_guard *replay_guard_new(unsigned capacity);
/* Accepts e (returns 0 and records its seq) or refuses it as a replay (-1, reason in err). */
int replay_guard_check(replay_guard *g, const envelope *e, char *err, size_t errlen);
void replay_guard_free(replay_guard *g);

#endif
