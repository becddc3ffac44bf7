/* rpc.c: see rpc.h. */
#include "rpc.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANCEL_POLL_MS 100 /* how often a waiting call asks the cancel hook */

static int (*cancel_fn)(void *);
static void *cancel_arg;

struct rpc {
    void *sock;
    signer *s;
    uint64_t max_skew;
    replay_guard *guard;
};

rpc *rpc_connect(net *n, signer *s, const char *peer, uint64_t max_skew_ms, char *err, size_t errlen) {
    rpc *r = calloc(1, sizeof *r);
    if (!r || !(r->guard = replay_guard_new(256))) {
        snprintf(err, errlen, "out of memory");
        free(r);
        return NULL;
    }
    if (!(r->sock = net_connect(n, ZMQ_DEALER, peer, err, errlen))) {
        rpc_close(r);
        return NULL;
    }
    r->s = s;
    r->max_skew = max_skew_ms;
    return r;
}

void rpc_close(rpc *r) {
    if (!r) return;
    net_close(r->sock);
    replay_guard_free(r->guard);
    free(r);
}


void rpc_cancel_when(int (*cancelled)(void *arg), void *arg) {
    cancel_fn = cancelled;
    cancel_arg = arg;
}

static int send_attempt(rpc *r, const uint8_t *payload, size_t len, const char *type, uint64_t *call_id) {
    uint8_t *env;
    size_t env_len;
    if (!*call_id) *call_id = signer_next(r->s); /* unique among this sender's calls */
    if (envelope_seal(r->s, type, payload, len, *call_id, &env, &env_len) != 0) return -1;
    struct iovec f = {env, env_len};
    int rc = net_sendv(r->sock, &f, 1);
    free(env);
    return rc;
}

/* The reply `env` to a call: 0 and *reply unpacked, or the code rpc_call_max returns, its reason in
 * err. The payload's length is checked against its cap before anything is unpacked. */
static int take_reply(const envelope *env, const ProtobufCMessageDescriptor *reply_desc, size_t max_reply,
                      ProtobufCMessage **reply, char *err, size_t errlen) {
    int is_error = !strcmp(env->type, opml__error__descriptor.name);
    size_t cap = is_error ? ACTOR_MAX_CONTROL : max_reply;
    if (env->payload_len > cap) {
        snprintf(err, errlen, "%s reply of %zu bytes is over the cap of %zu bytes", env->type, env->payload_len, cap);
        return OPML_E_BAD_REQUEST;
    }
    if (is_error) {
        Opml__Error *e = (Opml__Error *)envelope_payload(env, &opml__error__descriptor);
        int rc = e && e->code ? (int)e->code : OPML_E_INTERNAL;
        snprintf(err, errlen, "%s", e ? e->message : "malformed error reply");
        if (e) opml__error__free_unpacked(e, NULL);
        return rc;
    }
    if (!(*reply = envelope_payload(env, reply_desc))) {
        snprintf(err, errlen, "reply is %s, expected %s", env->type, reply_desc->name);
        return OPML_E_BAD_REQUEST;
    }
    return 0;
}

int rpc_call(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
             ProtobufCMessage **reply, int timeout_ms, int retries, char *err, size_t errlen) {
    return rpc_call_max(r, req, reply_desc, ACTOR_MAX_CONTROL, reply, timeout_ms, retries, err, errlen);
}

int rpc_call_max(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc, size_t max_reply,
                 ProtobufCMessage **reply, int timeout_ms, int retries, char *err, size_t errlen) {
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *payload = malloc(len ? len : 1);
    uint64_t call_id = 0;
    int rc = OPML_E_TIMEOUT;
    *reply = NULL;
    if (!payload) {
        snprintf(err, errlen, "out of memory");
        return OPML_E_INTERNAL;
    }
    protobuf_c_message_pack(req, payload);
    zmq_setsockopt(r->sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms); /* a send waits no longer than a reply */
    snprintf(err, errlen, "no reply to %s in %d ms after %d attempts", req->descriptor->name, timeout_ms, retries + 1);
    for (int attempt = 0; attempt <= retries && rc == OPML_E_TIMEOUT; attempt++) {
        if (send_attempt(r, payload, len, req->descriptor->name, &call_id) != 0) {
            log_debug("rpc: send failed (%s), will retry", zmq_strerror(errno));
        }
        uint64_t deadline = clock_mono_ms() + (uint64_t)timeout_ms;
        while (rc == OPML_E_TIMEOUT) {
            uint64_t now = clock_mono_ms();
            if (now >= deadline) break;
            if (cancel_fn && cancel_fn(cancel_arg)) {
                snprintf(err, errlen, "gave up %s: the process is stopping", req->descriptor->name);
                rc = OPML_E_UNAVAILABLE;
                break;
            }
            long wait = (long)(deadline - now);
            if (cancel_fn && wait > CANCEL_POLL_MS) wait = CANCEL_POLL_MS;
            zmq_pollitem_t p = {r->sock, 0, ZMQ_POLLIN, 0};
            int pr = zmq_poll(&p, 1, wait);
            if (pr < 0 && errno != EINTR) {
                snprintf(err, errlen, "zmq_poll: %s", zmq_strerror(errno));
                rc = OPML_E_INTERNAL;
                break;
            }
            if (pr <= 0) continue;
            zmq_msg_t f[NET_MAX_FRAMES];
            int n;
            char why[512];
            if (net_recv(r->sock, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) continue;
            envelope env;
            if (n != 1 || envelope_open(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), clock_unix_ms(), r->max_skew, &env,
                                        why, sizeof why) != 0) {
                log_warn("rpc: dropped a reply: %s", n != 1 ? "several frames" : why);
                net_msgs_close(f, n);
                continue;
            }
            net_msgs_close(f, n);
            if (env.call_id != call_id) { /* a late reply to an earlier call */
                envelope_free(&env);
                continue;
            }
            if (replay_guard_check(r->guard, &env, why, sizeof why) != 0) {
                log_warn("rpc: %s", why);
                envelope_free(&env);
                continue;
            }
            rc = take_reply(&env, reply_desc, max_reply, reply, err, errlen);
            envelope_free(&env);
        }
    }
    free(payload);
    return rc;
}
