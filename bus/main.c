/* main.c: opml-bus, the meeting point of a cluster (docs/runtime.md, "The bus").
 *   - events: an XSUB socket where actors publish ([topic][envelope]) and an XPUB socket where
 *     subscribers listen; the bus forwards what is well-formed and leaves signature checks to the
 *     subscribers (each envelope is signed by its publisher, and checking here would cap the rate);
 *   - work: the broker (broker.h) between clients (`work`) and workers (`workers`).
 * Every socket is CURVE with the allow-list; the bus answers opml.HealthRequest on `work`. */
#include "actor.h"
#include "broker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const config_opt options[] = {
    {"events_in", "tcp://127.0.0.1:7101", "XSUB endpoint where actors publish events"},
    {"events_out", "tcp://127.0.0.1:7102", "XPUB endpoint where subscribers receive events"},
    {"work", "tcp://127.0.0.1:7103", "ROUTER endpoint for clients' requests (and health)"},
    {"workers", "tcp://127.0.0.1:7104", "ROUTER endpoint for workers"},
    {"job_timeout_ms", "300000", "a job nobody took in this time is answered OPML_E_UNAVAILABLE"},
    {"max_queue", "100000", "queued jobs beyond this are refused"},
    {NULL, NULL, NULL},
};

struct bus {
    void *xsub, *xpub, *front, *back;
    broker *br;
    uint64_t events, events_dropped, subscriptions;
};

static log_limiter lim;

/* A publisher's message: [topic][envelope], forwarded as is if it looks like one. The envelope is
 * parsed (to see that it is one) only when it is within ENVELOPE_MAX_BYTES. */
static void on_xsub(actor *a, void *sock, void *user) {
    struct bus *bus = user;
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    (void)a;
    if (net_recv(sock, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) {
        if (errno == EMSGSIZE) bus->events_dropped++;
        return;
    }
    Opml__Envelope *e = NULL;
    if (n == 2 && zmq_msg_size(&f[1]) > ENVELOPE_MAX_BYTES) { /* refused before it is parsed, as envelope_open does */
        bus->events_dropped++;
        log_limited(&lim, LOGL_WARN, "events_in: dropped an event of %zu bytes: over the envelope's limit of %u bytes",
                    zmq_msg_size(&f[1]), ENVELOPE_MAX_BYTES);
        net_msgs_close(f, n);
        return;
    }
    if (n == 2 && zmq_msg_size(&f[0]) > 0 && zmq_msg_size(&f[0]) <= 255 &&
        (e = opml__envelope__unpack(NULL, zmq_msg_size(&f[1]), zmq_msg_data(&f[1]))) && e->sender.len == 20 &&
        e->signature.len == 65) {
        if (zmq_msg_send(&f[0], bus->xpub, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
            zmq_msg_send(&f[1], bus->xpub, ZMQ_DONTWAIT) >= 0)
            bus->events++;
    } else {
        bus->events_dropped++;
        log_limited(&lim, LOGL_WARN, "events_in: dropped a message that is not [topic][envelope] (%d frames)", n);
    }
    if (e) opml__envelope__free_unpacked(e, NULL);
    net_msgs_close(f, n);
}

/* A subscriber's (un)subscription: one frame, 0x01/0x00 then the topic prefix. */
static void on_xpub(actor *a, void *sock, void *user) {
    struct bus *bus = user;
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    (void)a;
    if (net_recv(sock, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) return;
    const uint8_t *p = n == 1 && zmq_msg_size(&f[0]) >= 1 ? zmq_msg_data(&f[0]) : NULL;
    if (p && (p[0] == 0 || p[0] == 1)) {
        int subscribe = p[0]; /* read before the send hands the frame over */
        if (zmq_msg_send(&f[0], bus->xsub, ZMQ_DONTWAIT) >= 0) bus->subscriptions += (uint64_t)subscribe;
    } else {
        log_limited(&lim, LOGL_WARN, "events_out: dropped a message that is not a subscription");
    }
    net_msgs_close(f, n);
}

static void on_front(actor *a, void *sock, void *user) {
    (void)a, (void)sock;
    broker_on_front(((struct bus *)user)->br);
}

static void on_back(actor *a, void *sock, void *user) {
    (void)a, (void)sock;
    broker_on_back(((struct bus *)user)->br);
}

static void on_tick(actor *a, void *user) {
    (void)a;
    broker_tick(((struct bus *)user)->br);
}

static void on_health(actor *a, void *user) {
    struct bus *bus = user;
    broker_stats s;
    broker_get_stats(bus->br, &s);
    actor_health_stat(a, "workers", s.workers);
    actor_health_stat(a, "queued", s.queued);
    actor_health_stat(a, "in_flight", s.in_flight);
    actor_health_stat(a, "submitted", (int64_t)s.submitted);
    actor_health_stat(a, "completed", (int64_t)s.completed);
    actor_health_stat(a, "redispatched", (int64_t)s.redispatched);
    actor_health_stat(a, "duplicates_dropped", (int64_t)s.duplicates_dropped);
    actor_health_stat(a, "expired", (int64_t)s.expired);
    actor_health_stat(a, "refused", (int64_t)s.refused);
    actor_health_stat(a, "events", (int64_t)bus->events);
    actor_health_stat(a, "events_dropped", (int64_t)bus->events_dropped);
    actor_health_stat(a, "subscriptions", (int64_t)bus->subscriptions);
}

int main(int argc, char **argv) {
    char err[512];
    struct bus bus = {0};
    long job_timeout, max_queue, hb, hb_timeout, skew;
    int rc = 1;
    actor *a = actor_new("bus", options, argc, argv);
    if (!a) return 2;
    const config *c = actor_config(a);
    if (config_get_long(c, "job_timeout_ms", 1, 86400000, &job_timeout, err, sizeof err) != 0 ||
        config_get_long(c, "max_queue", 1, 10000000, &max_queue, err, sizeof err) != 0 ||
        config_get_long(c, "heartbeat_ms", 10, 600000, &hb, err, sizeof err) != 0 ||
        config_get_long(c, "heartbeat_timeout_ms", 20, 3600000, &hb_timeout, err, sizeof err) != 0 ||
        config_get_long(c, "max_skew_ms", 0, 86400000, &skew, err, sizeof err) != 0) {
        log_error("configuration: %s", err);
        goto out;
    }
    net *n = actor_net(a);
    if (!(bus.xsub = net_bind(n, ZMQ_XSUB, config_get(c, "events_in"), err, sizeof err)) ||
        !(bus.xpub = net_bind(n, ZMQ_XPUB, config_get(c, "events_out"), err, sizeof err)) ||
        !(bus.front = net_bind(n, ZMQ_ROUTER, config_get(c, "work"), err, sizeof err)) ||
        !(bus.back = net_bind(n, ZMQ_ROUTER, config_get(c, "workers"), err, sizeof err))) {
        log_error("%s", err);
        goto out;
    }
    /* Subscribe to everything upstream: publishers then send every event to the bus as soon as
     * they are connected, and the XPUB side filters per subscriber. */
    if (zmq_send(bus.xsub, "\x01", 1, 0) != 1) {
        log_error("events_in: subscribing: %s", zmq_strerror(errno));
        goto out;
    }
    if (!(bus.br = broker_new(a, bus.front, bus.back, bus.xpub, skew, hb_timeout, job_timeout, (unsigned)max_queue))) {
        log_error("out of memory");
        goto out;
    }
    actor_watch(a, bus.xsub, on_xsub, &bus);
    actor_watch(a, bus.xpub, on_xpub, &bus);
    actor_watch(a, bus.front, on_front, &bus);
    actor_watch(a, bus.back, on_back, &bus);
    actor_every(a, (unsigned)hb, on_tick, &bus);
    actor_on_health(a, on_health, &bus);
    log_info("events in %s, out %s; work %s; workers %s", config_get(c, "events_in"), config_get(c, "events_out"),
             config_get(c, "work"), config_get(c, "workers"));
    rc = actor_run(a);
out:
    broker_free(bus.br);
    net_close(bus.xsub);
    net_close(bus.xpub);
    net_close(bus.front);
    net_close(bus.back);
    actor_free(a);
    return rc;
}
