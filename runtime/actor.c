/* actor.c: see actor.h. The main thread owns every socket and signs every envelope it sends; the
 * job thread only runs handlers and hands the packed reply back (through `job` under the mutex,
 * and one byte on a pipe that the main loop polls). Signing on the main thread at send time keeps
 * the sequence numbers on each connection in the order they are sent. */
#define _GNU_SOURCE /* pipe2 */
#include "actor.h"

#include "bus.pb-c.h"
#include "errmsg.h"
#include "events.pb-c.h"
#include "hex.h"
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HANDLERS 64
#define MAX_WATCHES 16
#define MAX_TIMERS 16
#define MAX_STATS 64

const config_opt actor_common_options[] = {
    {"key_file", "", "identity key file (created 0600 if missing; default <actor>.key)"},
    {"allow_file", "", "CURVE allow-list: the public keys (64 hex) that may connect to our sockets"},
    {"listen", "", "endpoint of our request socket, e.g. tcp://127.0.0.1:7100 (empty: none)"},
    {"bus_pub", "", "the bus's event input, KEYHEX@tcp://host:port (empty: no events)"},
    {"bus_work", "", "the bus's worker socket, KEYHEX@tcp://host:port: serve requests as a bus worker"},
    {"log_level", "info", "debug, info, warn or error"},
    {"log_json", "0", "1: log JSON lines"},
    {"max_skew_ms", "300000", "refuse envelopes whose time is further than this from our clock"},
    {"heartbeat_ms", "1000", "worker heartbeat interval towards the bus"},
    {"heartbeat_timeout_ms", "3000", "the bus is reported silent after this long without a word"},
    {NULL, NULL, NULL},
};

struct handler {
    const ProtobufCMessageDescriptor *desc;
    size_t max_payload; /* longer payloads are refused before unpacking */
    actor_handler fn;
    void *user;
};

struct watch {
    void *sock;
    void (*fn)(actor *a, void *sock, void *user);
    void *user;
};

struct timer {
    unsigned ms;
    uint64_t next;
    void (*fn)(actor *a, void *user);
    void *user;
};

struct actor_reply {
    char *type;
    uint8_t *payload;
    size_t len;
};

/* The request in flight on the job thread. */
struct job {
    int from_bus;          /* reply to the bus (worker job) rather than to `listen` */
    uint64_t job_id;       /* the bus's job number when from_bus */
    zmq_msg_t route[2];    /* the ROUTER's routing frames: identity [, empty delimiter] */
    int nroute;
    envelope env;
    ProtobufCMessage *msg;
    const struct handler *h;
    actor_reply reply;
    int rc;
};

struct actor {
    char name[32];
    config *cfg;
    identity id;
    signer sg;
    net *net;
    long max_skew, hb_ms, hb_timeout;
    struct handler handlers[MAX_HANDLERS];
    int nhandlers;
    struct watch watches[MAX_WATCHES];
    int nwatches;
    struct timer timers[MAX_TIMERS];
    int ntimers;
    void *listen, *bus_work, *bus_pub;
    replay_guard *guard_listen, *guard_bus;
    uint64_t start_ms, incarnation, last_bus_ms, next_hb_ms;
    int bus_silent_reported;
    /* job thread */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int have_job, quit, busy;
    int pipe[2];
    struct job job;
    /* health */
    Opml__HealthStat stats[MAX_STATS];
    int nstats;
    void (*health_fn)(actor *a, void *user);
    void *health_user;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) { got_signal = sig; }

static log_limiter drop_lim;

/* ---- replies ---- */

static void reply_clear(actor_reply *r) {
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

/* Signs (type, payload) with call_id and sends it after the routing frames. */
static int send_env(actor *a, void *sock, zmq_msg_t *route, int nroute, const char *type, const void *payload,
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
    if (rc != 0) log_limited(&drop_lim, LOGL_WARN, "send %s failed: %s", type, zmq_strerror(e));
    free(env);
    errno = e; /* callers tell an unreachable peer from other failures */
    return rc;
}

int actor_send(actor *a, void *sock, zmq_msg_t *route, int nroute, const ProtobufCMessage *msg, uint64_t call_id) {
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return -1;
    protobuf_c_message_pack(msg, buf);
    int rc = send_env(a, sock, route, nroute, msg->descriptor->name, buf, len, call_id);
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
    int rc = r.type ? send_env(a, sock, route, nroute, r.type, r.payload, r.len, call_id) : -1;
    reply_clear(&r);
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

/* ---- the job thread ---- */

static void *job_main(void *arg) {
    actor *a = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals go to the main thread */
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->have_job && !a->quit) pthread_cond_wait(&a->cv, &a->mu);
        if (a->quit) break;
        struct job *j = &a->job;
        pthread_mutex_unlock(&a->mu);
        j->rc = j->h->fn(a, &j->env, j->msg, &j->reply, j->h->user);
        pthread_mutex_lock(&a->mu);
        a->have_job = 0;
        char done = 1;
        if (write(a->pipe[1], &done, 1) != 1) log_error("job pipe: %s", strerror(errno));
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static const struct handler *find_handler(const actor *a, const char *type) {
    for (int i = 0; i < a->nhandlers; i++)
        if (!strcmp(a->handlers[i].desc->name, type)) return &a->handlers[i];
    return NULL;
}

/* Answers a request that will not reach its handler with opml.Error `code` and the text fmt, logs
 * the text with the sender (rate-limited), and frees env and the route frames. */
__attribute__((format(printf, 7, 8))) static void refuse(actor *a, void *sock, zmq_msg_t *route, int nroute,
                                                         envelope *env, unsigned code, const char *fmt, ...) {
    char text[400], who[43];
    va_list ap;
    va_start(ap, fmt);
    opml_verrc(text, sizeof text, 0, fmt, ap);
    va_end(ap);
    identity_address_text(env->sender, who);
    log_limited(&drop_lim, LOGL_WARN, "refused a request from %s: %s", who, text);
    actor_send_error(a, sock, route, nroute, env->call_id ? env->call_id : env->seq, code, "%s", text);
    envelope_free(env);
    net_msgs_close(route, nroute);
}

/* Starts the handler for a verified envelope (ownership of env passes on), or refuses it at once:
 * an unknown type, a payload over the type's cap (never unpacked) or one that does not parse.
 * route frames are moved into the job. */
static void dispatch(actor *a, void *sock, uint64_t job_id, zmq_msg_t *route, int nroute, envelope *env) {
    const struct handler *h = find_handler(a, env->type);
    if (!h) {
        refuse(a, sock, route, nroute, env, OPML_E_UNKNOWN_TYPE, "%s serves no %s", a->name, env->type);
        return;
    }
    if (env->payload_len > h->max_payload) {
        refuse(a, sock, route, nroute, env, OPML_E_BAD_REQUEST, "%s payload of %zu bytes is over the cap of %zu bytes",
               env->type, env->payload_len, h->max_payload);
        return;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(h->desc, NULL, env->payload_len, env->payload);
    if (!msg) {
        refuse(a, sock, route, nroute, env, OPML_E_BAD_REQUEST, "payload is not a valid %s (%zu bytes)", env->type,
               env->payload_len);
        return;
    }
    struct job *j = &a->job;
    j->from_bus = job_id != 0;
    j->job_id = job_id;
    j->nroute = nroute;
    for (int i = 0; i < nroute; i++) j->route[i] = route[i];
    j->env = *env;
    j->msg = msg;
    j->h = h;
    memset(&j->reply, 0, sizeof j->reply);
    pthread_mutex_lock(&a->mu);
    a->have_job = 1;
    a->busy = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

/* The job thread finished: sign and send its reply. */
static void finish_job(actor *a) {
    char b;
    while (read(a->pipe[0], &b, 1) < 0 && errno == EINTR) {
    }
    struct job *j = &a->job;
    void *sock = j->from_bus ? a->bus_work : a->listen;
    uint64_t call_id = j->env.call_id ? j->env.call_id : j->env.seq;
    if (j->reply.type) {
        send_env(a, sock, j->route, j->nroute, j->reply.type, j->reply.payload, j->reply.len, call_id);
    } else {
        log_error("handler for %s returned %d without a reply", j->env.type, j->rc);
        actor_send_error(a, sock, j->route, j->nroute, call_id, OPML_E_INTERNAL, "%s failed on %s", a->name, j->env.type);
    }
    reply_clear(&j->reply);
    protobuf_c_message_free_unpacked(j->msg, NULL);
    envelope_free(&j->env);
    net_msgs_close(j->route, j->nroute);
    j->nroute = 0;
    a->busy = 0;
}

/* ---- sockets ---- */

static void on_listen(actor *a) {
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    char err[512];
    if (net_recv(a->listen, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) {
        if (errno == EMSGSIZE) log_limited(&drop_lim, LOGL_WARN, "dropped a message of too many frames");
        return;
    }
    /* [identity][envelope] from a DEALER, [identity][""][envelope] from a REQ. */
    int nroute = n - 1;
    if (n < 2 || n > 3 || (n == 3 && zmq_msg_size(&f[1]) != 0)) {
        log_limited(&drop_lim, LOGL_WARN, "dropped a request of %d frames (want [envelope])", n - 1);
        net_msgs_close(f, n);
        return;
    }
    envelope env;
    if (envelope_open(zmq_msg_data(&f[nroute]), zmq_msg_size(&f[nroute]), clock_unix_ms(), (uint64_t)a->max_skew, &env,
                      err, sizeof err) != 0 ||
        replay_guard_check(a->guard_listen, &env, err, sizeof err) != 0) {
        log_limited(&drop_lim, LOGL_WARN, "%s", err);
        envelope_free(&env);
        net_msgs_close(f, n);
        return;
    }
    zmq_msg_close(&f[nroute]);
    uint64_t call_id = env.call_id ? env.call_id : env.seq;
    if (!strcmp(env.type, opml__health_request__descriptor.name)) {
        actor_answer_health(a, a->listen, f, nroute, call_id);
        envelope_free(&env);
        net_msgs_close(f, nroute);
        return;
    }
    log_debug("request: %s", env.type);
    dispatch(a, a->listen, 0, f, nroute, &env);
}

static void announce(actor *a) {
    Opml__WorkerReady w = OPML__WORKER_READY__INIT;
    char *types[MAX_HANDLERS];
    for (int i = 0; i < a->nhandlers; i++) types[i] = (char *)a->handlers[i].desc->name;
    w.types = types;
    w.n_types = (size_t)a->nhandlers;
    w.busy_job = a->busy && a->job.from_bus ? a->job.job_id : 0;
    w.incarnation = a->incarnation;
    actor_send(a, a->bus_work, NULL, 0, &w.base, 0);
}

static void on_bus(actor *a) {
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    char err[512];
    if (net_recv(a->bus_work, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) return;
    envelope env, req;
    if (n != 1 || envelope_open(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), clock_unix_ms(), (uint64_t)a->max_skew, &env,
                                err, sizeof err) != 0) {
        log_limited(&drop_lim, LOGL_WARN, "from the bus: %s", n != 1 ? "a message of several frames" : err);
        net_msgs_close(f, n);
        return;
    }
    net_msgs_close(f, n);
    if (replay_guard_check(a->guard_bus, &env, err, sizeof err) != 0) {
        log_limited(&drop_lim, LOGL_WARN, "from the bus: %s", err);
        envelope_free(&env);
        return;
    }
    a->last_bus_ms = clock_mono_ms();
    if (a->bus_silent_reported) log_info("the bus is back");
    a->bus_silent_reported = 0;
    Opml__Job *job = (Opml__Job *)envelope_payload(&env, &opml__job__descriptor);
    if (!job) {
        if (strcmp(env.type, opml__bus_heartbeat__descriptor.name) != 0)
            log_limited(&drop_lim, LOGL_WARN, "from the bus: unexpected %s", env.type);
        envelope_free(&env);
        return;
    }
    if (a->busy) { /* the bus only sends to idle workers: it will re-dispatch when we report */
        log_warn("bus sent job %llu while busy: dropped", (unsigned long long)job->job_id);
    } else if (envelope_open(job->request.data, job->request.len, 0, 0, &req, err, sizeof err) != 0) {
        log_limited(&drop_lim, LOGL_WARN, "job %llu: %s", (unsigned long long)job->job_id, err);
    } else {
        log_debug("job %llu: %s", (unsigned long long)job->job_id, req.type);
        dispatch(a, a->bus_work, job->job_id, NULL, 0, &req);
    }
    opml__job__free_unpacked(job, NULL);
    envelope_free(&env);
}

/* ---- life cycle ---- */

/* The process's rpc_cancel_when hook from actor_new until actor_run returns: a call waiting on a
 * peer that is down (in a handler, a timer, or starting up) gives up once the actor is stopping,
 * rather than holding the stop up for its time-outs and retries. */
static int rpc_cancelled(void *a) { return actor_stopping(a); }

actor *actor_new(const char *name, const config_opt *options, int argc, char **argv) {
    char err[512];
    int show_identity = 0, help = 0;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int nargs = 0;
    if (!args) return NULL;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--identity")) show_identity = 1;
        else if (i > 0 && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) help = 1;
        else args[nargs++] = argv[i];
    }
    log_setup(name, LOGL_INFO, 0);
    config *cfg = config_load(name, actor_common_options, options, nargs, args, err, sizeof err);
    free(args);
    if (!cfg) {
        log_error("configuration: %s", err);
        return NULL;
    }
    if (help) {
        config_print_help(cfg, name);
        config_free(cfg);
        exit(0);
    }
    actor *a = calloc(1, sizeof *a);
    if (!a) {
        config_free(cfg);
        return NULL;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    a->cfg = cfg;
    a->pipe[0] = a->pipe[1] = -1;
    enum log_level level;
    long json;
    if (log_level_parse(config_get(cfg, "log_level"), &level) != 0) {
        log_error("configuration: log_level '%s' is not debug, info, warn or error", config_get(cfg, "log_level"));
        goto bad;
    }
    if (config_get_long(cfg, "log_json", 0, 1, &json, err, sizeof err) != 0 ||
        config_get_long(cfg, "max_skew_ms", 0, 86400000, &a->max_skew, err, sizeof err) != 0 ||
        config_get_long(cfg, "heartbeat_ms", 10, 600000, &a->hb_ms, err, sizeof err) != 0 ||
        config_get_long(cfg, "heartbeat_timeout_ms", 20, 3600000, &a->hb_timeout, err, sizeof err) != 0) {
        log_error("configuration: %s", err);
        goto bad;
    }
    log_setup(name, level, (int)json);

    char key_file[512];
    snprintf(key_file, sizeof key_file, "%s", *config_get(cfg, "key_file") ? config_get(cfg, "key_file") : name);
    if (!*config_get(cfg, "key_file")) strncat(key_file, ".key", sizeof key_file - strlen(key_file) - 1);
    if (identity_load_or_create(&a->id, key_file, err, sizeof err) != 0) {
        log_error("identity: %s", err);
        goto bad;
    }
    signer_init(&a->sg, &a->id);
    a->incarnation = a->sg.seq;
    if (!(a->net = net_new(&a->id, config_get(cfg, "allow_file"), err, sizeof err))) {
        log_error("%s", err);
        goto bad;
    }
    char addr[43], key[65];
    identity_address_text(a->id.address, addr);
    net_curve_public_hex(a->net, key);
    if (show_identity) {
        printf("address %s\ncurve_key %s\n", addr, key);
        actor_free(a);
        exit(0);
    }
    if (!(a->guard_listen = replay_guard_new(4096)) || !(a->guard_bus = replay_guard_new(16))) goto bad;
    if (pipe2(a->pipe, O_CLOEXEC) != 0 || pthread_mutex_init(&a->mu, NULL) != 0 || pthread_cond_init(&a->cv, NULL) != 0)
        goto bad;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    a->start_ms = clock_mono_ms();
    rpc_cancel_when(rpc_cancelled, a);
    log_info("identity %s, CURVE key %s", addr, key);
    return a;
bad:
    actor_free(a);
    return NULL;
}

void actor_free(actor *a) {
    if (!a) return;
    rpc_cancel_when(NULL, NULL); /* the hook must not outlive a */
    if (a->thread_started) {
        pthread_mutex_lock(&a->mu);
        a->quit = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
    }
    net_close(a->listen);
    net_close(a->bus_work);
    net_close(a->bus_pub);
    net_free(a->net);
    replay_guard_free(a->guard_listen);
    replay_guard_free(a->guard_bus);
    if (a->pipe[0] >= 0) close(a->pipe[0]);
    if (a->pipe[1] >= 0) close(a->pipe[1]);
    config_free(a->cfg);
    identity_wipe(&a->id);
    identity_wipe(&a->sg.id);
    free(a);
}

const config *actor_config(const actor *a) { return a->cfg; }
net *actor_net(actor *a) { return a->net; }
signer *actor_signer(actor *a) { return &a->sg; }
const identity *actor_identity(const actor *a) { return &a->id; }
int actor_stopping(const actor *a) {
    (void)a; /* a stop is process-wide: SIGTERM or SIGINT */
    return got_signal != 0;
}

int actor_on_max(actor *a, const ProtobufCMessageDescriptor *desc, size_t max_payload, actor_handler fn, void *user) {
    if (a->nhandlers >= MAX_HANDLERS || find_handler(a, desc->name) ||
        !strcmp(desc->name, opml__health_request__descriptor.name))
        return -1;
    a->handlers[a->nhandlers++] = (struct handler){desc, max_payload, fn, user};
    return 0;
}

int actor_on(actor *a, const ProtobufCMessageDescriptor *desc, actor_handler fn, void *user) {
    return actor_on_max(a, desc, ACTOR_MAX_CONTROL, fn, user);
}

int actor_watch(actor *a, void *sock, void (*fn)(actor *a, void *sock, void *user), void *user) {
    if (a->nwatches >= MAX_WATCHES) return -1;
    a->watches[a->nwatches++] = (struct watch){sock, fn, user};
    return 0;
}

int actor_every(actor *a, unsigned ms, void (*fn)(actor *a, void *user), void *user) {
    if (a->ntimers >= MAX_TIMERS || ms == 0) return -1;
    a->timers[a->ntimers++] = (struct timer){ms, clock_mono_ms() + ms, fn, user};
    return 0;
}

static void publish_lifecycle(actor *a, int started, const char *reason) {
    char addr[43];
    char *types[MAX_HANDLERS];
    identity_address_text(a->id.address, addr);
    for (int i = 0; i < a->nhandlers; i++) types[i] = (char *)a->handlers[i].desc->name;
    if (started) {
        Opml__ActorStarted e = OPML__ACTOR_STARTED__INIT;
        e.actor = a->name;
        e.address = addr;
        e.handles = types;
        e.n_handles = (size_t)a->nhandlers;
        actor_publish(a, "actor.started", &e.base);
    } else {
        Opml__ActorStopped e = OPML__ACTOR_STOPPED__INIT;
        e.actor = a->name;
        e.address = addr;
        e.reason = (char *)reason;
        actor_publish(a, "actor.stopped", &e.base);
    }
}

int actor_run(actor *a) {
    char err[512];
    const char *listen = config_get(a->cfg, "listen"), *pub = config_get(a->cfg, "bus_pub"),
               *work = config_get(a->cfg, "bus_work");
    if (*listen && !(a->listen = net_bind(a->net, ZMQ_ROUTER, listen, err, sizeof err))) goto bad;
    /* An XPUB rather than a PUB: the bus subscribes to everything, and seeing its subscription
     * arrive tells us the connection is up, so that actor.started is not lost to a slow join. */
    if (*pub && !(a->bus_pub = net_connect(a->net, ZMQ_XPUB, pub, err, sizeof err))) goto bad;
    if (*work && !(a->bus_work = net_connect(a->net, ZMQ_DEALER, work, err, sizeof err))) goto bad;
    if (pthread_create(&a->thread, NULL, job_main, a) != 0) {
        snprintf(err, sizeof err, "job thread: %s", strerror(errno));
        goto bad;
    }
    a->thread_started = 1;
    log_info("running%s%s%s%s", *listen ? ", listening on " : "", listen, *work ? ", bus worker" : "",
             *pub ? ", publishing events" : "");
    if (a->bus_pub) {
        zmq_pollitem_t p = {a->bus_pub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&p, 1, 2000) <= 0) log_warn("the bus has not subscribed to our events yet");
    }
    publish_lifecycle(a, 1, NULL);
    a->last_bus_ms = clock_mono_ms();
    if (a->bus_work) announce(a);
    a->next_hb_ms = clock_mono_ms() + (uint64_t)a->hb_ms;

    while (!got_signal) {
        zmq_pollitem_t items[4 + MAX_WATCHES];
        int n = 0, i_listen = -1, i_bus = -1, i_pipe, i_watch = -1;
        items[i_pipe = n++] = (zmq_pollitem_t){NULL, a->pipe[0], ZMQ_POLLIN, 0};
        if (a->bus_work) items[i_bus = n++] = (zmq_pollitem_t){a->bus_work, 0, ZMQ_POLLIN, 0};
        if (!a->busy) {
            if (a->listen) items[i_listen = n++] = (zmq_pollitem_t){a->listen, 0, ZMQ_POLLIN, 0};
            i_watch = n;
            for (int w = 0; w < a->nwatches; w++) items[n++] = (zmq_pollitem_t){a->watches[w].sock, 0, ZMQ_POLLIN, 0};
        }
        uint64_t now = clock_mono_ms(), wake = now + 1000;
        if (a->bus_work && a->next_hb_ms < wake) wake = a->next_hb_ms;
        if (!a->busy)
            for (int t = 0; t < a->ntimers; t++)
                if (a->timers[t].next < wake) wake = a->timers[t].next;
        long timeout = wake > now ? (long)(wake - now) : 0;
        if (zmq_poll(items, n, timeout) < 0) {
            if (errno == EINTR) continue;
            if (errno == ETERM) break;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (items[i_pipe].revents & ZMQ_POLLIN) finish_job(a);
        if (i_bus >= 0 && (items[i_bus].revents & ZMQ_POLLIN)) on_bus(a);
        if (i_listen >= 0 && !a->busy && (items[i_listen].revents & ZMQ_POLLIN)) on_listen(a);
        for (int w = 0; i_watch >= 0 && w < a->nwatches && !a->busy; w++)
            if (items[i_watch + w].revents & ZMQ_POLLIN) a->watches[w].fn(a, a->watches[w].sock, a->watches[w].user);
        now = clock_mono_ms();
        if (a->bus_work && now >= a->next_hb_ms) {
            announce(a);
            a->next_hb_ms = now + (uint64_t)a->hb_ms;
            if (now - a->last_bus_ms > (uint64_t)a->hb_timeout && !a->bus_silent_reported) {
                log_warn("no word from the bus for %llu ms; still trying", (unsigned long long)(now - a->last_bus_ms));
                a->bus_silent_reported = 1;
            }
        }
        for (int t = 0; t < a->ntimers && !a->busy; t++)
            if (now >= a->timers[t].next) {
                a->timers[t].next = now + a->timers[t].ms;
                a->timers[t].fn(a, a->timers[t].user);
            }
    }
    if (a->busy) { /* let the handler finish: its reply is owed */
        log_info("stopping: waiting for the request in progress");
        zmq_pollitem_t p = {NULL, a->pipe[0], ZMQ_POLLIN, 0};
        while (zmq_poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        finish_job(a);
    }
    rpc_cancel_when(NULL, NULL); /* what the caller does after the run (flushing state) waits as usual */
    log_info("stopping (%s)", got_signal ? (got_signal == SIGTERM ? "SIGTERM" : "SIGINT") : "asked to");
    publish_lifecycle(a, 0, got_signal ? "signal" : "asked to stop");
    return 0;
bad:
    log_error("%s", err);
    return 1;
}
