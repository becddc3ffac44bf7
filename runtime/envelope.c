/* envelope.c: see envelope.h. */
#include "envelope.h"
#include "errmsg.h"

#include "keccak.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void signer_init(signer *s, const identity *id) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->id = *id;
    s->seq = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t signer_next(signer *s) { return __atomic_add_fetch(&s->seq, 1, __ATOMIC_RELAXED); }

static void put_be(keccak256_ctx *k, uint64_t v, int bytes) {
    uint8_t b[8];
    for (int i = 0; i < bytes; i++) b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    keccak256_update(k, b, (size_t)bytes);
}

void envelope_digest(const uint8_t sender[20], uint64_t seq, uint64_t time_ms, uint64_t call_id, const char *type,
                     const void *payload, size_t len, uint8_t out[32]) {
    keccak256_ctx k;
    uint8_t ph[32];
    size_t tlen = strlen(type);
    keccak256(payload, len, ph);
    keccak256_init(&k);
    keccak256_update(&k, "opml.envelope.v1", 16);
    keccak256_update(&k, sender, 20);
    put_be(&k, seq, 8);
    put_be(&k, time_ms, 8);
    put_be(&k, call_id, 8);
    put_be(&k, tlen, 2);
    keccak256_update(&k, type, tlen);
    keccak256_update(&k, ph, 32);
    keccak256_final(&k, out);
}

int envelope_seal(signer *s, const char *type, const void *payload, size_t len, uint64_t call_id, uint8_t **out,
                  size_t *out_len) {
    Opml__Envelope e = OPML__ENVELOPE__INIT;
    uint8_t digest[32], sig[65];
    size_t tlen = strlen(type);
    if (tlen == 0 || tlen > ENVELOPE_MAX_TYPE) return -1;
    e.sender.data = s->id.address;
    e.sender.len = 20;
    e.seq = signer_next(s);
    e.time_ms = clock_unix_ms();
    e.type = (char *)type;
    e.payload.data = (uint8_t *)payload;
    e.payload.len = len;
    e.call_id = call_id;
    envelope_digest(s->id.address, e.seq, e.time_ms, call_id, type, payload, len, digest);
    if (identity_sign_digest(&s->id, digest, sig) != 0) return -1;
    e.signature.data = sig;
    e.signature.len = 65;
    size_t n = opml__envelope__get_packed_size(&e);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return -1;
    opml__envelope__pack(&e, buf);
    *out = buf;
    *out_len = n;
    return 0;
}

int envelope_seal_msg(signer *s, const ProtobufCMessage *msg, uint64_t call_id, uint8_t **out, size_t *out_len) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return -1;
    protobuf_c_message_pack(msg, buf);
    int rc = envelope_seal(s, msg->descriptor->name, buf, n, call_id, out, out_len);
    free(buf);
    return rc;
}

int envelope_open(const void *bytes, size_t len, uint64_t now_ms, uint64_t max_skew_ms, envelope *out, char *err,
                  size_t errlen) {
    uint8_t digest[32], signer_addr[20];
    char who[43];
    memset(out, 0, sizeof *out);
    if (len > ENVELOPE_MAX_BYTES) return opml_errf(err, errlen, "envelope refused: %zu bytes is over the limit", len);
    Opml__Envelope *e = opml__envelope__unpack(NULL, len, bytes);
    if (!e) return opml_errf(err, errlen, "envelope refused: not a protobuf Envelope (%zu bytes)", len);
    if (e->sender.len != 20 || e->signature.len != 65) {
        opml_errf(err, errlen, "envelope refused: sender is %zu bytes, signature %zu (want 20, 65)", e->sender.len,
             e->signature.len);
        goto bad;
    }
    size_t tlen = strlen(e->type);
    if (tlen == 0 || tlen > ENVELOPE_MAX_TYPE) {
        opml_errf(err, errlen, "envelope refused: payload type of %zu characters", tlen);
        goto bad;
    }
    envelope_digest(e->sender.data, e->seq, e->time_ms, e->call_id, e->type, e->payload.data, e->payload.len, digest);
    identity_address_text(e->sender.data, who);
    if (identity_recover(digest, e->signature.data, signer_addr) != 0) {
        opml_errf(err, errlen, "envelope refused: malformed signature (claimed sender %s, seq %llu)", who,
             (unsigned long long)e->seq);
        goto bad;
    }
    if (memcmp(signer_addr, e->sender.data, 20) != 0) {
        char real[43];
        identity_address_text(signer_addr, real);
        opml_errf(err, errlen, "envelope refused: signature is by %s, not the claimed sender %s (seq %llu, type %s)", real,
             who, (unsigned long long)e->seq, e->type);
        goto bad;
    }
    if (max_skew_ms) {
        uint64_t d = e->time_ms > now_ms ? e->time_ms - now_ms : now_ms - e->time_ms;
        if (d > max_skew_ms) {
            opml_errf(err, errlen, "envelope refused: time %llu is %llu ms from ours (limit %llu) from %s seq %llu",
                 (unsigned long long)e->time_ms, (unsigned long long)d, (unsigned long long)max_skew_ms, who,
                 (unsigned long long)e->seq);
            goto bad;
        }
    }
    out->pb = e;
    memcpy(out->sender, e->sender.data, 20);
    out->seq = e->seq;
    out->time_ms = e->time_ms;
    out->call_id = e->call_id;
    out->type = e->type;
    out->payload = e->payload.data;
    out->payload_len = e->payload.len;
    return 0;
bad:
    opml__envelope__free_unpacked(e, NULL);
    return -1;
}

void envelope_free(envelope *e) {
    if (e->pb) opml__envelope__free_unpacked(e->pb, NULL);
    memset(e, 0, sizeof *e);
}

ProtobufCMessage *envelope_payload(const envelope *e, const ProtobufCMessageDescriptor *desc) {
    if (strcmp(e->type, desc->name) != 0) return NULL;
    return protobuf_c_message_unpack(desc, NULL, e->payload_len, e->payload);
}

/* The guard: an open-addressing table keyed by sender address, with a use stamp for eviction. */
struct slot {
    uint8_t sender[20];
    uint8_t used;
    uint64_t seq;
    uint64_t stamp;
};

struct replay_guard {
    struct slot *slots;
    unsigned size; /* power of two, >= 2 * capacity */
    unsigned capacity, count;
    uint64_t clock;
};

replay_guard *replay_guard_new(unsigned capacity) {
    replay_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->capacity = capacity ? capacity : 1;
    g->size = 4;
    while (g->size < 2 * g->capacity) g->size *= 2;
    g->slots = calloc(g->size, sizeof *g->slots);
    if (!g->slots) {
        free(g);
        return NULL;
    }
    return g;
}

static unsigned home(const replay_guard *g, const uint8_t sender[20]) {
    uint32_t h;
    memcpy(&h, sender, 4); /* addresses are hash outputs: any 4 bytes are uniform */
    return h & (g->size - 1);
}

static struct slot *lookup(replay_guard *g, const uint8_t sender[20]) {
    for (unsigned i = home(g, sender);; i = (i + 1) & (g->size - 1)) {
        struct slot *s = &g->slots[i];
        if (!s->used || !memcmp(s->sender, sender, 20)) return s;
    }
}

/* Removes the least recently used sender: rebuild the table without it (rare: only when full). */
static void evict_oldest(replay_guard *g) {
    struct slot *old = g->slots;
    unsigned victim = 0;
    for (unsigned i = 1; i < g->size; i++)
        if (old[i].used && (!old[victim].used || old[i].stamp < old[victim].stamp)) victim = i;
    struct slot *fresh = calloc(g->size, sizeof *fresh);
    if (!fresh) {
        memset(old, 0, g->size * sizeof *old); /* forget everything: max_skew still bounds replay */
        g->count = 0;
        return;
    }
    g->slots = fresh;
    g->count = 0;
    for (unsigned i = 0; i < g->size; i++)
        if (old[i].used && i != victim) {
            *lookup(g, old[i].sender) = old[i];
            g->count++;
        }
    free(old);
}

int replay_guard_check(replay_guard *g, const envelope *e, char *err, size_t errlen) {
    struct slot *s = lookup(g, e->sender);
    if (s->used && e->seq <= s->seq) {
        char who[43];
        identity_address_text(e->sender, who);
        return opml_errf(err, errlen, "envelope refused: replay or out of order from %s: seq %llu, last accepted %llu (%s)",
                    who, (unsigned long long)e->seq, (unsigned long long)s->seq, e->type);
    }
    if (!s->used) {
        if (g->count >= g->capacity) {
            evict_oldest(g);
            s = lookup(g, e->sender);
        }
        memcpy(s->sender, e->sender, 20);
        s->used = 1;
        g->count++;
    }
    s->seq = e->seq;
    s->stamp = ++g->clock;
    return 0;
}

void replay_guard_free(replay_guard *g) {
    if (!g) return;
    free(g->slots);
    free(g);
}
