/* actor.c: see actor.h. The actor's life cycle: its options, actor_new and actor_free, what it
 * registers (handlers, watches, timers) and actor_run's loop, which polls the sockets, the job
 * thread's pipe and the timers. A request's way through (actor_dispatch.c) and what an actor sends
 * (actor_send.c) have files of their own; actor_private.h holds the state they share. */
#define _GNU_SOURCE /* pipe2 */
#include "actor_private.h"

#include "events.pb-c.h"
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) { got_signal = sig; }

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
    if (a->nhandlers >= MAX_HANDLERS || actor_find_handler(a, desc->name) ||
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
    if (pthread_create(&a->thread, NULL, actor_job_main, a) != 0) {
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
    if (a->bus_work) actor_announce(a);
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
        if (items[i_pipe].revents & ZMQ_POLLIN) actor_finish_job(a);
        if (i_bus >= 0 && (items[i_bus].revents & ZMQ_POLLIN)) actor_on_bus(a);
        if (i_listen >= 0 && !a->busy && (items[i_listen].revents & ZMQ_POLLIN)) actor_on_listen(a);
        for (int w = 0; i_watch >= 0 && w < a->nwatches && !a->busy; w++)
            if (items[i_watch + w].revents & ZMQ_POLLIN) a->watches[w].fn(a, a->watches[w].sock, a->watches[w].user);
        now = clock_mono_ms();
        if (a->bus_work && now >= a->next_hb_ms) {
            actor_announce(a);
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
        actor_finish_job(a);
    }
    rpc_cancel_when(NULL, NULL); /* what the caller does after the run (flushing state) waits as usual */
    log_info("stopping (%s)", got_signal ? (got_signal == SIGTERM ? "SIGTERM" : "SIGINT") : "asked to");
    publish_lifecycle(a, 0, got_signal ? "signal" : "asked to stop");
    return 0;
bad:
    log_error("%s", err);
    return 1;
}
