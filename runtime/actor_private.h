/* actor_private.h: the actor's state, shared by the three files of the runtime's main loop and by
 * nothing else (actor.h is the API):
 *   actor.c           the life cycle: options, actor_new/actor_free, registrations, actor_run's loop
 *   actor_dispatch.c  a request from arrival to reply: the listen and bus sockets read and verified,
 *                     the handler found, the payload cap, the job thread, the reply sent
 *   actor_send.c      what an actor sends: handler replies, signed envelopes, bus events, health
 * The main thread owns every socket and signs every envelope it sends; the job thread only runs
 * handlers and hands the packed reply back (through `job` under the mutex, and one byte on a pipe
 * that the main loop polls). Signing on the main thread at send time keeps the sequence numbers on
 * each connection in the order they are sent. */
#ifndef OPML_ACTOR_PRIVATE_H
#define OPML_ACTOR_PRIVATE_H

#include "actor.h"

#include "health.pb-c.h"

#include <pthread.h>

#define MAX_HANDLERS 64
#define MAX_WATCHES 16
#define MAX_TIMERS 16
#define MAX_STATS 64

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

/* The rate limit of every "dropped" and "refused" line of the runtime (hostile input can cause one
 * per message). */
extern log_limiter actor_drop_lim;

/* actor_send.c */
void actor_reply_clear(actor_reply *r);
/* Signs (type, payload) with call_id and sends it after the routing frames; errno tells an
 * unreachable peer from other failures. Returns 0 or -1 (logged, rate-limited). */
int actor_send_env(actor *a, void *sock, zmq_msg_t *route, int nroute, const char *type, const void *payload,
                   size_t len, uint64_t call_id);

/* actor_dispatch.c */
const struct handler *actor_find_handler(const actor *a, const char *type);
void *actor_job_main(void *arg);  /* the job thread: runs one handler per signal on a->cv */
void actor_finish_job(actor *a);  /* the job thread is done (a byte on the pipe): send the reply */
void actor_on_listen(actor *a);   /* `listen` is readable: one request */
void actor_on_bus(actor *a);      /* `bus_work` is readable: a job or a heartbeat */
void actor_announce(actor *a);    /* tell the bus our types and the job we are busy with */

#endif
