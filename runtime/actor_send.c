/* actor_send.c: what an actor sends (actor_private.h says how the main loop is split): the replies
 * its handlers set, signed envelopes on a socket (actor_send, actor_send_error), events on the bus
 * (actor_publish) and its health. Everything here runs on the main thread, which signs at send
 * time. */
#include "actor_private.h"

#include "errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- replies ---- */

void actor_reply_clear(actor_reply *r) {
    free(r->type);
    free(r->payload);
    memset(r, 0, sizeof *r);
}

int actor_reply_msg(actor_reply *r, const ProtobufCMessage *msg) {
    free(r->type);
    free(r->payload);
    r->len = protobuf_c_message_get_packed_size(msg);
    r->payload = malloc(r->len ? r->len : 1);
    r->type = strdup(msg->descriptor->name);
    if (r->payload && r->type) {
        protobuf_c_message_pack(msg, r->payload);
        return 0;
    }
    free(r->type);
    free(r->payload);
    memset(r, 0, sizeof *r);
    return 0; /* the runtime answers OPML_E_INTERNAL for a missing reply */
}

/* ---- sending ---- */

int actor_send_env(actor *a, void *sock, zmq_msg_t *route, int nroute, const char *type, const void *payload,
                    size_t len, uint64_t call_id) {
    uint8_t *env;
    size_t env_len;
    struct iovec f[3];
    if (envelope_seal(&a->sg, type, payload, len, call_id, &env, &env_len) != 0) {
        log_error("could not sign a %s envelope", type);
        return -1;
    }
    for (int i = 0; i < nroute; i++) f[i] = (struct iovec){zmq_msg_data(&route[i]), zmq_msg_size(&route[i])};
    f[nroute] = (struct iovec){env, env_len};
    int rc = net_sendv(sock, f, nroute + 1), e = errno;
    if (rc != 0) log_limited(&actor_drop_lim, LOGL_WARN, "send %s failed: %s", type, zmq_strerror(e));
    free(env);
    errno = e; /* callers tell an unreachable peer from other failures */
    return rc;
}

int actor_send(actor *a, void *sock, zmq_msg_t *route, int nroute, const ProtobufCMessage *msg, uint64_t call_id) {
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return -1;
    protobuf_c_message_pack(msg, buf);
    int rc = actor_send_env(a, sock, route, nroute, msg->descriptor->name, buf, len, call_id);
    free(buf);
    return rc;
}

int actor_reply_verror(actor_reply *r, unsigned code, const char *fmt, va_list ap) {
    char text[512];
    opml_verrc(text, sizeof text, 0, fmt, ap);
    Opml__Error e = OPML__ERROR__INIT;
    e.code = code;
    e.message = text;
    return actor_reply_msg(r, &e.base);
}

int actor_reply_error(actor_reply *r, unsigned code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    actor_reply_verror(r, code, fmt, ap);
    va_end(ap);
    return 0;
}

int actor_send_error(actor *a, void *sock, zmq_msg_t *route, int nroute, uint64_t call_id, unsigned code,
                     const char *fmt, ...) {
    actor_reply r = {0};
    va_list ap;
    va_start(ap, fmt);
    actor_reply_verror(&r, code, fmt, ap);
    va_end(ap);
    int rc = r.type ? actor_send_env(a, sock, route, nroute, r.type, r.payload, r.len, call_id) : -1;
    actor_reply_clear(&r);
    return rc;
}

/* Reads the bus's subscription messages off our XPUB; returns how many there were. */
static int drain_subscriptions(actor *a) {
    zmq_msg_t f[NET_MAX_FRAMES];
    int n, count = 0;
    while (net_recv(a->bus_pub, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) == 0) {
        net_msgs_close(f, n);
        count++;
    }
    return count;
}

int actor_publish(actor *a, const char *topic, const ProtobufCMessage *msg) {
    if (!a->bus_pub) return -1;
    drain_subscriptions(a);
    uint8_t *env;
    size_t env_len;
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return -1;
    protobuf_c_message_pack(msg, buf);
    int rc = envelope_seal(&a->sg, msg->descriptor->name, buf, len, 0, &env, &env_len);
    free(buf);
    if (rc != 0) return -1;
    struct iovec f[2] = {{(void *)topic, strlen(topic)}, {env, env_len}};
    rc = net_sendv(a->bus_pub, f, 2);
    free(env);
    return rc;
}

/* ---- health ---- */

void actor_health_stat(actor *a, const char *name, int64_t value) {
    if (a->nstats >= MAX_STATS) return;
    Opml__HealthStat *s = &a->stats[a->nstats++];
    opml__health_stat__init(s);
    s->name = (char *)name;
    s->value = value;
}

int actor_answer_health(actor *a, void *sock, zmq_msg_t *route, int nroute, uint64_t call_id) {
    Opml__HealthReply r = OPML__HEALTH_REPLY__INIT;
    char addr[43], key[65];
    char *handles[MAX_HANDLERS];
    Opml__HealthStat *stats[MAX_STATS];
    identity_address_text(a->id.address, addr);
    net_curve_public_hex(a->net, key);
    r.actor = a->name;
    r.address = addr;
    r.curve_key = key;
    r.uptime_ms = clock_mono_ms() - a->start_ms;
    r.status = "ok";
    for (int i = 0; i < a->nhandlers; i++) handles[i] = (char *)a->handlers[i].desc->name;
    r.handles = handles;
    r.n_handles = (size_t)a->nhandlers;
    a->nstats = 0;
    if (a->health_fn) a->health_fn(a, a->health_user);
    for (int i = 0; i < a->nstats; i++) stats[i] = &a->stats[i];
    r.stats = stats;
    r.n_stats = (size_t)a->nstats;
    return actor_send(a, sock, route, nroute, &r.base, call_id);
}

void actor_on_health(actor *a, void (*fn)(actor *a, void *user), void *user) {
    a->health_fn = fn;
    a->health_user = user;
}
