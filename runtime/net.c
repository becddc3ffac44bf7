/* net.c: see net.h. The ZAP handler (RFC 27) is a thread with a REP socket on the context's
 * well-known inproc endpoint; libzmq asks it about every CURVE client of every server socket. */
#include "net.h"
#include "errmsg.h"

#include "hex.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net {
    void *ctx;
    uint8_t curve_secret[32], curve_public[32];
    char secret_z85[41], public_z85[41];
    uint8_t (*allowed)[32];
    size_t n_allowed;
    void *zap;          /* the handler's REP socket, used only by the thread */
    pthread_t zap_thread;
    int zap_running;
};

static int load_allow(net *n, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) return opml_errf(err, errlen, "allow-list %s: %s", path, strerror(errno));
    char line[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        char *end = s;
        while (*end && !isspace((unsigned char)*end)) end++;
        *end = 0;
        uint8_t key[32];
        if (hex_decode(s, key, 32) != 0) {
            rc = opml_errf(err, errlen, "allow-list %s:%d: expected a CURVE public key as 64 hex digits", path, lineno);
            break;
        }
        void *grown = realloc(n->allowed, (n->n_allowed + 1) * sizeof *n->allowed);
        if (!grown) {
            rc = opml_errf(err, errlen, "out of memory");
            break;
        }
        n->allowed = grown;
        memcpy(n->allowed[n->n_allowed++], key, 32);
    }
    fclose(f);
    return rc;
}

static int allowed(const net *n, const uint8_t *key, size_t len) {
    if (len != 32) return 0;
    for (size_t i = 0; i < n->n_allowed; i++)
        if (!memcmp(n->allowed[i], key, 32)) return 1;
    return 0;
}

static void *zap_main(void *arg) {
    net *n = arg;
    static log_limiter lim;
    for (;;) {
        zmq_msg_t f[NET_MAX_FRAMES];
        int count;
        if (net_recv(n->zap, f, NET_MAX_FRAMES, &count, 0) != 0) {
            if (errno == ETERM) break;
            continue;
        }
        /* version, request id, domain, address, routing id, mechanism, credentials... */
        int ok = count >= 7 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
                 allowed(n, zmq_msg_data(&f[6]), zmq_msg_size(&f[6]));
        char user[67] = ""; /* "0x" + 64 hex digits */
        if (count >= 7 && zmq_msg_size(&f[6]) == 32) hex_encode(zmq_msg_data(&f[6]), 32, user);
        if (!ok) {
            char addr[64] = "?";
            if (count >= 4) snprintf(addr, sizeof addr, "%.*s", (int)zmq_msg_size(&f[3]), (char *)zmq_msg_data(&f[3]));
            log_limited(&lim, LOGL_WARN, "CURVE: refused client %s with key %s: not in the allow-list", addr,
                        user[0] ? user : "(none)");
        }
        struct iovec reply[6] = {
            {"1.0", 3},
            {count >= 2 ? zmq_msg_data(&f[1]) : (void *)"", count >= 2 ? zmq_msg_size(&f[1]) : 0},
            {ok ? "200" : "400", 3},
            {ok ? "OK" : "key not allow-listed", ok ? 2 : 20},
            {ok ? user + 2 : (char *)"", ok ? 64 : 0},
            {"", 0},
        };
        net_msgs_close(f, count);
        if (net_sendv(n->zap, reply, 6) != 0 && errno == ETERM) break;
    }
    zmq_close(n->zap);
    return NULL;
}

net *net_new(const identity *id, const char *allow_file, char *err, size_t errlen) {
    net *n = calloc(1, sizeof *n);
    if (!n) {
        opml_errf(err, errlen, "out of memory");
        return NULL;
    }
    identity_curve_secret(id, n->curve_secret);
    if (!zmq_z85_encode(n->secret_z85, n->curve_secret, 32) || zmq_curve_public(n->public_z85, n->secret_z85) != 0 ||
        !zmq_z85_decode(n->curve_public, n->public_z85)) {
        opml_errf(err, errlen, "CURVE key derivation failed: is libzmq built with CURVE?");
        goto bad;
    }
    if (!(n->ctx = zmq_ctx_new())) {
        opml_errf(err, errlen, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto bad;
    }
    if (allow_file && *allow_file) {
        if (load_allow(n, allow_file, err, errlen) != 0) goto bad;
        n->zap = zmq_socket(n->ctx, ZMQ_REP);
        int linger = 0;
        zmq_setsockopt(n->zap, ZMQ_LINGER, &linger, sizeof linger);
        if (!n->zap || zmq_bind(n->zap, "inproc://zeromq.zap.01") != 0) {
            opml_errf(err, errlen, "ZAP handler: %s", zmq_strerror(errno));
            if (n->zap) zmq_close(n->zap);
            goto bad;
        }
        if (pthread_create(&n->zap_thread, NULL, zap_main, n) != 0) {
            opml_errf(err, errlen, "ZAP handler thread: %s", strerror(errno));
            zmq_close(n->zap);
            goto bad;
        }
        n->zap_running = 1;
    }
    return n;
bad:
    net_free(n);
    return NULL;
}

void net_free(net *n) {
    if (!n) return;
    if (n->ctx) {
        zmq_ctx_shutdown(n->ctx);
        if (n->zap_running) pthread_join(n->zap_thread, NULL);
        zmq_ctx_term(n->ctx);
    }
    free(n->allowed);
    memset(n, 0, sizeof *n); /* the CURVE secret */
    free(n);
}

void net_curve_public_hex(const net *n, char out[65]) {
    char tmp[67];
    hex_encode(n->curve_public, 32, tmp);
    memcpy(out, tmp + 2, 65);
}

int net_parse_peer(const char *peer, uint8_t key[32], const char **endpoint) {
    const char *at = strchr(peer, '@');
    char hex[67];
    if (!at || at - peer > 66 || !at[1]) return -1;
    memcpy(hex, peer, (size_t)(at - peer));
    hex[at - peer] = 0;
    if (hex_decode(hex, key, 32) != 0) return -1;
    *endpoint = at + 1;
    return 0;
}

static void common_options(void *s) {
    int linger = 200, sndtimeo = 1000, ivl = NET_HEARTBEAT_IVL_MS, timeout = NET_HEARTBEAT_TIMEOUT_MS, rc_ivl = 100, rc_max = 2000;
    int64_t max = NET_MAX_MSG;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo); /* a stuck peer never blocks us */
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &rc_ivl, sizeof rc_ivl);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &rc_max, sizeof rc_max);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
}

void *net_bind(net *n, int type, const char *endpoint, char *err, size_t errlen) {
    if (!n->zap_running) {
        opml_errf(err, errlen, "cannot bind %s: no allow-list configured (allow_file)", endpoint);
        return NULL;
    }
    void *s = zmq_socket(n->ctx, type);
    if (!s) {
        opml_errf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int one = 1;
    common_options(s);
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, n->curve_secret, 32) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "opml", 4) != 0) {
        opml_errf(err, errlen, "CURVE server options: %s", zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (type == ZMQ_ROUTER) zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    if (zmq_bind(s, endpoint) != 0) {
        opml_errf(err, errlen, "bind %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *net_connect(net *n, int type, const char *peer, char *err, size_t errlen) {
    uint8_t server[32];
    const char *endpoint;
    if (net_parse_peer(peer, server, &endpoint) != 0) {
        opml_errf(err, errlen, "peer '%s': expected <server CURVE key, 64 hex digits>@<endpoint>", peer);
        return NULL;
    }
    void *s = zmq_socket(n->ctx, type);
    if (!s) {
        opml_errf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    common_options(s);
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 32) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, n->curve_public, 32) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, n->curve_secret, 32) != 0) {
        opml_errf(err, errlen, "CURVE client options: %s", zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, endpoint) != 0) {
        opml_errf(err, errlen, "connect %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void net_close(void *sock) {
    if (sock) zmq_close(sock);
}

int net_sendv(void *sock, const struct iovec *frames, int count) {
    for (int i = 0; i < count; i++)
        if (zmq_send(sock, frames[i].iov_base, frames[i].iov_len, i + 1 < count ? ZMQ_SNDMORE : 0) < 0) return -1;
    return 0;
}

int net_recv(void *sock, zmq_msg_t *frames, int max, int *count, int flags) {
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, n ? 0 : flags) < 0) {
            int e = errno;
            zmq_msg_close(&m);
            net_msgs_close(frames, n < max ? n : max);
            errno = e;
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < max) frames[n] = m;
        else zmq_msg_close(&m);
        n++;
    }
    if (n > max) {
        net_msgs_close(frames, max);
        errno = EMSGSIZE;
        return -1;
    }
    *count = n;
    return 0;
}

void net_msgs_close(zmq_msg_t *frames, int count) {
    for (int i = 0; i < count; i++) zmq_msg_close(&frames[i]);
}
