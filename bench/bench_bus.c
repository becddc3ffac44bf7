/* bench_bus.c: the bus with real processes on loopback (opml-bus, one opml-echo worker).
 *   1. signed 1 KiB envelopes per second, publisher -> bus proxy -> subscriber, the subscriber
 *      verifying every signature and sequence number (beside it: signing and verifying alone on
 *      one core, the bound the pipeline cannot beat);
 *   2. round-trip latency of a request through the broker to the worker and back (median, p99),
 *      beside the same request sent to the worker's own socket.
 *   bench_bus BUS_BINARY ECHO_BINARY [EVENTS] [CALLS]   (defaults 20000, 2000) */
#include "echo.pb-c.h"
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct pub_args {
    client *c;
    void *pub;
    int n;
};

static void *publisher(void *arg) {
    struct pub_args *p = arg;
    uint8_t payload[1024];
    memset(payload, 0xab, sizeof payload);
    for (int i = 0; i < p->n; i++) {
        uint8_t *env;
        size_t len;
        envelope_seal(&p->c->sg, "bench.Blob", payload, sizeof payload, 0, &env, &len);
        struct iovec f[2] = {{"bench.blob", 10}, {env, len}};
        net_sendv(p->pub, f, 2);
        free(env);
    }
    return NULL;
}

/* Median and p99 in microseconds of n sequential calls of req through r. */
static void latency(rpc *r, int n, const char *what) {
    double *t = malloc((size_t)n * sizeof *t);
    char err[256];
    Opml__EchoRequest req = OPML__ECHO_REQUEST__INIT;
    uint8_t data[64] = {0};
    req.data.data = data;
    req.data.len = sizeof data;
    int ok = 0;
    for (int i = 0; i < n + 50; i++) { /* 50 warm-up calls */
        ProtobufCMessage *rep;
        double t0 = now_s();
        int rc = rpc_call(r, &req.base, &opml__echo_reply__descriptor, &rep, 5000, 0, err, sizeof err);
        double dt = now_s() - t0;
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", what, err);
            continue;
        }
        protobuf_c_message_free_unpacked(rep, NULL);
        if (i >= 50) t[ok++] = dt * 1e6;
    }
    qsort(t, (size_t)ok, sizeof *t, cmp_double);
    if (ok) printf("  %-28s median %7.1f us   p99 %7.1f us   (%d calls)\n", what, t[ok / 2], t[ok * 99 / 100], ok);
    free(t);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_bus BUS ECHO [EVENTS] [CALLS]\n");
        return 2;
    }
    int nev = argc > 3 ? atoi(argv[3]) : 20000, ncalls = argc > 4 ? atoi(argv[4]) : 2000;
    harness h;
    char bus_key[256], bus_curve[65], ck[256], pk[256], wk[256], wcurve[65], curve[65], err[512];
    log_setup("bench_bus", LOGL_ERROR, 0);
    if (harness_init(&h) != 0) return 1;
    harness_key(&h, "bus", 1, bus_key, NULL, bus_curve);
    harness_key(&h, "client", 1, ck, NULL, curve);
    harness_key(&h, "publisher", 1, pk, NULL, curve);
    harness_key(&h, "worker", 1, wk, NULL, wcurve);
    char e[4][64], peer[4][400], wl[64], wpeer[400];
    for (int i = 0; i < 4; i++) {
        snprintf(e[i], sizeof e[i], "tcp://127.0.0.1:%d", harness_port());
        snprintf(peer[i], sizeof peer[i], "%s@%s", bus_curve, e[i]);
    }
    snprintf(wl, sizeof wl, "tcp://127.0.0.1:%d", harness_port());
    snprintf(wpeer, sizeof wpeer, "%s@%s", wcurve, wl);
    char *bargv[] = {argv[1], "--key_file", bus_key, "--allow_file", h.allow, "--events_in", e[0], "--events_out", e[1],
                     "--work", e[2], "--workers", e[3], "--log_level", "error", NULL};
    pid_t bus = harness_spawn(&h, "bus.log", bargv);
    char *wargv[] = {argv[2], "--key_file", wk, "--allow_file", h.allow, "--listen", wl, "--bus_work", peer[3],
                     "--log_level", "error", NULL};
    pid_t worker = harness_spawn(&h, "worker.log", wargv);
    client c, p;
    if (client_init(&c, ck) != 0 || client_init(&p, pk) != 0 || client_wait_up(&c, peer[2], 10000) != 0 ||
        client_wait_up(&c, wpeer, 10000) != 0) {
        fprintf(stderr, "bench_bus: the bus or the worker did not come up\n");
        return 1;
    }
    while (client_stat(&c, peer[2], "workers") != 1) {
    }

    /* 0. Signing and verifying alone. */
    uint8_t payload[1024] = {0}, *env;
    size_t len;
    int k = 2000;
    double t0 = now_s();
    for (int i = 0; i < k; i++) {
        envelope_seal(&c.sg, "bench.Blob", payload, sizeof payload, 0, &env, &len);
        free(env);
    }
    double t_sign = (now_s() - t0) / k;
    envelope_seal(&c.sg, "bench.Blob", payload, sizeof payload, 0, &env, &len);
    t0 = now_s();
    for (int i = 0; i < k; i++) {
        envelope ev;
        envelope_open(env, len, 0, 0, &ev, err, sizeof err);
        envelope_free(&ev);
    }
    double t_open = (now_s() - t0) / k;
    free(env);
    printf("bus: events (1 KiB payload, signed envelopes)\n");
    printf("  sign alone %.0f/s, verify alone %.0f/s (one core each)\n", 1 / t_sign, 1 / t_open);

    /* 1. Publisher -> proxy -> subscriber. */
    void *sub = net_connect(c.net, ZMQ_SUB, peer[1], err, sizeof err);
    void *pub = net_connect(p.net, ZMQ_PUB, peer[0], err, sizeof err);
    int hwm = 1000000;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "bench.", 6);
    struct timespec ts = {0, 700000000};
    nanosleep(&ts, NULL); /* connections and subscriptions travel */
    replay_guard *g = replay_guard_new(16);
    struct pub_args pa = {&p, pub, nev};
    pthread_t th;
    int got = 0, refused = 0;
    double start = now_s(), last = start;
    pthread_create(&th, NULL, publisher, &pa);
    while (got + refused < nev && now_s() - last < 2.0) {
        zmq_pollitem_t pi = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, 100) <= 0) continue;
        zmq_msg_t f[NET_MAX_FRAMES];
        int n;
        if (net_recv(sub, f, NET_MAX_FRAMES, &n, 0) != 0) continue;
        envelope ev;
        if (n == 2 && envelope_open(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), clock_unix_ms(), 300000, &ev, err, sizeof err) == 0 &&
            replay_guard_check(g, &ev, err, sizeof err) == 0)
            got++;
        else
            refused++;
        envelope_free(&ev);
        net_msgs_close(f, n);
        last = now_s();
    }
    double el = last - start;
    pthread_join(th, NULL);
    printf("  publisher -> bus -> subscriber: %d of %d received and verified in %.2f s: %.0f envelopes/s (%.1f MB/s)\n",
           got, nev, el, got / el, got * 1.1e-3 / el);
    if (refused) printf("  (%d refused)\n", refused);
    net_close(sub);
    net_close(pub);
    replay_guard_free(g);

    /* 2. Request round trips. */
    printf("bus: request round trip (64-byte EchoRequest, signed both ways)\n");
    rpc *direct = rpc_connect(c.net, &c.sg, wpeer, 0, err, sizeof err);
    latency(direct, ncalls, "direct to the worker:");
    rpc_close(direct);
    rpc *via = rpc_connect(c.net, &c.sg, peer[2], 0, err, sizeof err);
    latency(via, ncalls, "through the bus's broker:");
    rpc_close(via);

    harness_stop(worker, SIGTERM, 5000);
    harness_stop(bus, SIGTERM, 5000);
    client_done(&c);
    client_done(&p);
    harness_done(&h);
    return 0;
}
