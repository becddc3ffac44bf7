/* broker.c: see broker.h. Jobs live in one FIFO (queued) or with their worker (in flight); the
 * finished ones leave a copy of their reply in a ring, so that a client's retry of a finished call
 * gets the reply again instead of running the job twice. Tables are small and scanned linearly. */
#include "broker.h"

#include "bus.pb-c.h"
#include "events.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTE 255     /* ZeroMQ routing ids are at most 255 bytes */
#define DONE_RING 4096    /* finished calls remembered for retries */

struct job {
    uint64_t id;
    uint8_t client[20];
    uint8_t route[MAX_ROUTE];
    size_t route_len;
    int delim;            /* a REQ client: an empty frame between the routing id and the envelope */
    uint64_t call_id;
    char *type;
    uint8_t *request;     /* the client's signed envelope, as received */
    size_t len;
    uint64_t queued_at, dispatched_at;
    struct job *next;     /* in the queue */
};

struct worker {
    uint8_t addr[20];
    uint8_t route[MAX_ROUTE];
    size_t route_len;
    char **types;
    size_t ntypes;
    uint64_t incarnation, last_seen;
    struct job *job;      /* the job it holds, or NULL when idle */
};

struct done {
    uint8_t client[20];
    uint64_t call_id;
    uint8_t *reply;
    size_t len;
};

struct broker {
    actor *a;
    void *front, *back, *xpub;
    replay_guard *gfront, *gback;
    uint64_t max_skew;
    long hb_timeout, job_timeout;
    unsigned max_queue;
    struct job *head, *tail;
    unsigned queued;
    struct worker *workers;
    unsigned nworkers, cap_workers;
    struct done ring[DONE_RING];
    unsigned ring_next;
    uint64_t next_id;
    broker_stats st;
};

static log_limiter lim;

broker *broker_new(actor *a, void *front, void *back, void *xpub, long max_skew_ms, long hb_timeout_ms,
                   long job_timeout_ms, unsigned max_queue) {
    broker *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->a = a;
    b->front = front;
    b->back = back;
    b->xpub = xpub;
    b->max_skew = (uint64_t)max_skew_ms;
    b->hb_timeout = hb_timeout_ms;
    b->job_timeout = job_timeout_ms;
    b->max_queue = max_queue;
    b->next_id = 1;
    if (!(b->gfront = replay_guard_new(4096)) || !(b->gback = replay_guard_new(1024))) {
        broker_free(b);
        return NULL;
    }
    return b;
}

static void job_free(struct job *j) {
    if (!j) return;
    free(j->type);
    free(j->request);
    free(j);
}

static void worker_clear(struct worker *w) {
    for (size_t i = 0; i < w->ntypes; i++) free(w->types[i]);
    free(w->types);
    w->types = NULL;
    w->ntypes = 0;
}

void broker_free(broker *b) {
    if (!b) return;
    while (b->head) {
        struct job *j = b->head;
        b->head = j->next;
        job_free(j);
    }
    for (unsigned i = 0; i < b->nworkers; i++) {
        job_free(b->workers[i].job);
        worker_clear(&b->workers[i]);
    }
    free(b->workers);
    for (unsigned i = 0; i < DONE_RING; i++) free(b->ring[i].reply);
    replay_guard_free(b->gfront);
    replay_guard_free(b->gback);
    free(b);
}

void broker_get_stats(const broker *b, broker_stats *out) {
    *out = b->st;
    out->workers = b->nworkers;
    out->queued = b->queued;
    out->in_flight = 0;
    for (unsigned i = 0; i < b->nworkers; i++) out->in_flight += b->workers[i].job != NULL;
}

/* ---- sending ---- */

static void route_frames(const uint8_t *route, size_t len, int delim, zmq_msg_t *f) {
    zmq_msg_init_size(&f[0], len);
    memcpy(zmq_msg_data(&f[0]), route, len);
    if (delim) zmq_msg_init(&f[1]);
}

static int send_to_client(broker *b, const struct job *j, const uint8_t *env, size_t len) {
    struct iovec f[3];
    int n = 0;
    f[n++] = (struct iovec){(void *)j->route, j->route_len};
    if (j->delim) f[n++] = (struct iovec){"", 0};
    f[n++] = (struct iovec){(void *)env, len};
    int rc = net_sendv(b->front, f, n);
    if (rc != 0) log_limited(&lim, LOGL_WARN, "job %llu: client gone, reply not delivered (%s)",
                             (unsigned long long)j->id, zmq_strerror(errno));
    return rc;
}

static void error_to_client(broker *b, const struct job *j, unsigned code, const char *why) {
    zmq_msg_t f[2];
    route_frames(j->route, j->route_len, j->delim, f);
    actor_send_error(b->a, b->front, f, 1 + j->delim, j->call_id, code, "%s", why);
    net_msgs_close(f, 1 + j->delim);
}

static void publish(broker *b, const char *topic, const ProtobufCMessage *msg) {
    if (!b->xpub) return;
    zmq_msg_t t;
    zmq_msg_init_size(&t, strlen(topic));
    memcpy(zmq_msg_data(&t), topic, strlen(topic));
    actor_send(b->a, b->xpub, &t, 1, msg, 0);
    zmq_msg_close(&t);
}

/* ---- queue and workers ---- */

static void enqueue(broker *b, struct job *j, int front) {
    j->next = NULL;
    if (front) {
        j->next = b->head;
        b->head = j;
        if (!b->tail) b->tail = j;
    } else {
        if (b->tail) b->tail->next = j;
        else b->head = j;
        b->tail = j;
    }
    b->queued++;
}

static int serves(const struct worker *w, const char *type) {
    for (size_t i = 0; i < w->ntypes; i++)
        if (!strcmp(w->types[i], type)) return 1;
    return 0;
}

static struct worker *find_worker(broker *b, const uint8_t addr[20]) {
    for (unsigned i = 0; i < b->nworkers; i++)
        if (!memcmp(b->workers[i].addr, addr, 20)) return &b->workers[i];
    return NULL;
}

/* Removes worker w: its job goes back to the head of the queue for another worker. */
static void lose_worker(broker *b, struct worker *w, const char *reason) {
    char who[43];
    identity_address_text(w->addr, who);
    Opml__WorkerLost ev = OPML__WORKER_LOST__INIT;
    ev.worker.data = w->addr;
    ev.worker.len = 20;
    ev.reason = (char *)reason;
    if (w->job) {
        ev.job_id = w->job->id;
        log_warn("worker %s lost (%s): job %llu goes back to the queue", who, reason, (unsigned long long)w->job->id);
        enqueue(b, w->job, 1);
        b->st.redispatched++;
        w->job = NULL;
    } else {
        log_info("worker %s lost (%s)", who, reason);
    }
    publish(b, "bus.worker.lost", &ev.base);
    worker_clear(w);
    *w = b->workers[--b->nworkers];
}

/* Hands queued jobs to idle workers that serve their type, oldest job first. */
static void dispatch(broker *b) {
    for (unsigned i = 0; i < b->nworkers && b->head; i++) {
        struct worker *w = &b->workers[i];
        if (w->job) continue;
        struct job *prev = NULL, *j = b->head;
        while (j && !serves(w, j->type)) {
            prev = j;
            j = j->next;
        }
        if (!j) continue;
        if (prev) prev->next = j->next;
        else b->head = j->next;
        if (b->tail == j) b->tail = prev;
        b->queued--;
        Opml__Job m = OPML__JOB__INIT;
        m.job_id = j->id;
        m.request.data = j->request;
        m.request.len = j->len;
        zmq_msg_t r;
        route_frames(w->route, w->route_len, 0, &r);
        int rc = actor_send(b->a, b->back, &r, 1, &m.base, 0);
        zmq_msg_close(&r);
        w->job = j;
        j->dispatched_at = clock_mono_ms();
        if (rc != 0) {
            lose_worker(b, w, "unreachable");
            i--; /* the slot now holds another worker */
        }
    }
}

/* ---- clients ---- */

static int same_call(const uint8_t client[20], uint64_t call_id, const uint8_t c2[20], uint64_t id2) {
    return call_id == id2 && !memcmp(client, c2, 20);
}

void broker_on_front(broker *b) {
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    envelope env;
    if (actor_recv_request(b->front, f, &n, &env, b->max_skew, b->gfront, MAX_ROUTE, &lim, "work: ")) return;
    int nroute = n - 1;
    const void *raw = zmq_msg_data(&f[nroute]);
    size_t raw_len = zmq_msg_size(&f[nroute]);
    uint64_t call_id = env.call_id ? env.call_id : env.seq;
    if (!strcmp(env.type, opml__health_request__descriptor.name)) {
        actor_answer_health(b->a, b->front, f, nroute, call_id);
        goto out;
    }
    /* A retry of a call in progress: remember where the client is now, run it once. */
    for (struct job *j = b->head; j; j = j->next)
        if (same_call(j->client, j->call_id, env.sender, call_id)) goto retry;
    for (unsigned i = 0; i < b->nworkers; i++) {
        struct job *j = b->workers[i].job;
        if (j && same_call(j->client, j->call_id, env.sender, call_id)) goto retry;
    }
    for (unsigned i = 0; i < DONE_RING; i++) {
        struct done *d = &b->ring[i];
        if (d->reply && same_call(d->client, d->call_id, env.sender, call_id)) {
            struct job tmp;
            memcpy(tmp.route, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]));
            tmp.route_len = zmq_msg_size(&f[0]);
            tmp.delim = nroute == 2;
            tmp.id = 0;
            send_to_client(b, &tmp, d->reply, d->len);
            goto out;
        }
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j || b->queued >= b->max_queue || !(j->type = strdup(env.type)) || !(j->request = malloc(raw_len))) {
        struct job tmp = {.route_len = zmq_msg_size(&f[0]), .delim = nroute == 2, .call_id = call_id};
        memcpy(tmp.route, zmq_msg_data(&f[0]), tmp.route_len);
        error_to_client(b, &tmp, OPML_E_UNAVAILABLE, j ? "the bus's queue is full" : "the bus is out of memory");
        b->st.refused++;
        job_free(j);
        goto out;
    }
    j->id = b->next_id++;
    memcpy(j->client, env.sender, 20);
    memcpy(j->route, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]));
    j->route_len = zmq_msg_size(&f[0]);
    j->delim = nroute == 2;
    j->call_id = call_id;
    memcpy(j->request, raw, raw_len);
    j->len = raw_len;
    j->queued_at = clock_mono_ms();
    enqueue(b, j, 0);
    b->st.submitted++;
    dispatch(b);
    goto out;
retry:
    log_debug("work: retry of call %llu absorbed", (unsigned long long)call_id);
out:
    envelope_free(&env);
    net_msgs_close(f, n);
}

/* ---- workers ---- */

/* A worker's announcement (or heartbeat). Its payload is capped before it is unpacked: a WorkerReady
 * names at most 64 types of at most 255 bytes (about 17 KB), so the control cap fits it; a longer
 * one is refused, and the worker stays unknown (or goes silent) as if it had not been sent. */
static void on_ready(broker *b, struct worker *w, const envelope *env, const zmq_msg_t *route) {
    char who[43];
    identity_address_text(env->sender, who);
    if (env->payload_len > ACTOR_MAX_CONTROL) {
        log_limited(&lim, LOGL_WARN,
                    "workers: refused a WorkerReady from %s: payload of %zu bytes is over the cap of %u bytes", who,
                    env->payload_len, ACTOR_MAX_CONTROL);
        return;
    }
    Opml__WorkerReady *r = (Opml__WorkerReady *)envelope_payload(env, &opml__worker_ready__descriptor);
    if (!r) {
        log_limited(&lim, LOGL_WARN, "workers: malformed WorkerReady from %s", who);
        return;
    }
    if (!w) {
        if (b->nworkers == b->cap_workers) {
            unsigned cap = b->cap_workers ? 2 * b->cap_workers : 16;
            void *grown = realloc(b->workers, cap * sizeof *b->workers);
            if (!grown) goto out;
            b->workers = grown;
            b->cap_workers = cap;
        }
        w = &b->workers[b->nworkers++];
        memset(w, 0, sizeof *w);
        memcpy(w->addr, env->sender, 20);
        w->incarnation = r->incarnation;
        log_info("worker %s joined (%zu types)", who, r->n_types);
        Opml__WorkerJoined ev = OPML__WORKER_JOINED__INIT;
        ev.worker.data = w->addr;
        ev.worker.len = 20;
        ev.types = r->types;
        ev.n_types = r->n_types;
        publish(b, "bus.worker.joined", &ev.base);
    }
    memcpy(w->route, zmq_msg_data((zmq_msg_t *)route), zmq_msg_size((zmq_msg_t *)route));
    w->route_len = zmq_msg_size((zmq_msg_t *)route);
    w->last_seen = clock_mono_ms();
    worker_clear(w);
    w->types = calloc(r->n_types ? r->n_types : 1, sizeof *w->types);
    for (size_t i = 0; w->types && i < r->n_types; i++)
        if ((w->types[w->ntypes] = strdup(r->types[i]))) w->ntypes++;
    if (w->job && r->incarnation != w->incarnation) {
        log_warn("worker %s restarted: job %llu goes back to the queue", who, (unsigned long long)w->job->id);
        enqueue(b, w->job, 1);
        b->st.redispatched++;
        w->job = NULL;
    } else if (w->job && r->busy_job != w->job->id && w->last_seen - w->job->dispatched_at > (uint64_t)b->hb_timeout) {
        log_warn("worker %s does not hold job %llu: it goes back to the queue", who, (unsigned long long)w->job->id);
        enqueue(b, w->job, 1);
        b->st.redispatched++;
        w->job = NULL;
    }
    w->incarnation = r->incarnation;
out:
    opml__worker_ready__free_unpacked(r, NULL);
}

void broker_on_back(broker *b) {
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    char err[512];
    if (net_recv(b->back, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) {
        if (errno == EMSGSIZE) log_limited(&lim, LOGL_WARN, "workers: dropped a message of too many frames");
        return;
    }
    envelope env;
    if (n != 2 || zmq_msg_size(&f[0]) > MAX_ROUTE) {
        log_limited(&lim, LOGL_WARN, "workers: dropped a message of %d frames (want [envelope])", n - 1);
        net_msgs_close(f, n);
        return;
    }
    if (envelope_open(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), clock_unix_ms(), b->max_skew, &env, err, sizeof err) != 0 ||
        replay_guard_check(b->gback, &env, err, sizeof err) != 0) {
        log_limited(&lim, LOGL_WARN, "workers: %s", err);
        envelope_free(&env);
        net_msgs_close(f, n);
        return;
    }
    struct worker *w = find_worker(b, env.sender);
    if (!strcmp(env.type, opml__worker_ready__descriptor.name)) {
        on_ready(b, w, &env, &f[0]);
    } else if (w && w->job && w->job->call_id == env.call_id) {
        struct job *j = w->job;
        w->job = NULL;
        w->last_seen = clock_mono_ms();
        send_to_client(b, j, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
        struct done *d = &b->ring[b->ring_next];
        b->ring_next = (b->ring_next + 1) % DONE_RING;
        free(d->reply);
        memcpy(d->client, j->client, 20);
        d->call_id = j->call_id;
        d->len = zmq_msg_size(&f[1]);
        if ((d->reply = malloc(d->len))) memcpy(d->reply, zmq_msg_data(&f[1]), d->len);
        b->st.completed++;
        job_free(j);
    } else {
        char who[43];
        identity_address_text(env.sender, who);
        log_limited(&lim, LOGL_INFO, "workers: %s for call %llu from %s matches no job it holds: dropped (late or duplicate)",
                    env.type, (unsigned long long)env.call_id, who);
        b->st.duplicates_dropped++;
    }
    envelope_free(&env);
    net_msgs_close(f, n);
    dispatch(b);
}

void broker_tick(broker *b) {
    uint64_t now = clock_mono_ms();
    for (unsigned i = 0; i < b->nworkers;) {
        if (now - b->workers[i].last_seen > (uint64_t)b->hb_timeout) lose_worker(b, &b->workers[i], "silent");
        else i++;
    }
    /* Expire jobs queued too long (oldest first: they are in arrival order, re-queued ones aside). */
    struct job **p = &b->head;
    b->tail = NULL;
    while (*p) {
        struct job *j = *p;
        if (now - j->queued_at > (uint64_t)b->job_timeout) {
            *p = j->next;
            b->queued--;
            b->st.expired++;
            error_to_client(b, j, OPML_E_UNAVAILABLE, "no worker took the job in time");
            job_free(j);
        } else {
            b->tail = j;
            p = &j->next;
        }
    }
    Opml__BusHeartbeat hb = OPML__BUS_HEARTBEAT__INIT;
    hb.workers = b->nworkers;
    hb.queued = b->queued;
    for (unsigned i = 0; i < b->nworkers;) {
        zmq_msg_t r;
        route_frames(b->workers[i].route, b->workers[i].route_len, 0, &r);
        int rc = actor_send(b->a, b->back, &r, 1, &hb.base, 0);
        zmq_msg_close(&r);
        if (rc != 0 && errno == EHOSTUNREACH) lose_worker(b, &b->workers[i], "disconnected");
        else i++;
    }
    dispatch(b);
}
