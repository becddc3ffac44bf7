/* actor_dispatch.c: a request from its arrival to its reply (actor_private.h says how the main loop
 * is split). The listen socket (a ROUTER: clients) and the bus's worker socket (jobs) are read and
 * every envelope verified (signature, time, replay); the handler of its type is found, its payload
 * refused over the type's cap before it is unpacked, and the job thread runs the handler; the
 * reply it set is signed and sent back on the main thread. */
#include "actor_private.h"

#include "bus.pb-c.h"
#include "errmsg.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

log_limiter actor_drop_lim;

/* ---- the job thread ---- */

void *actor_job_main(void *arg) {
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

const struct handler *actor_find_handler(const actor *a, const char *type) {
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
    log_limited(&actor_drop_lim, LOGL_WARN, "refused a request from %s: %s", who, text);
    actor_send_error(a, sock, route, nroute, env->call_id ? env->call_id : env->seq, code, "%s", text);
    envelope_free(env);
    net_msgs_close(route, nroute);
}

/* Starts the handler for a verified envelope (ownership of env passes on), or refuses it at once:
 * an unknown type, a payload over the type's cap (never unpacked) or one that does not parse.
 * route frames are moved into the job. */
static void dispatch(actor *a, void *sock, uint64_t job_id, zmq_msg_t *route, int nroute, envelope *env) {
    const struct handler *h = actor_find_handler(a, env->type);
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
void actor_finish_job(actor *a) {
    char b;
    while (read(a->pipe[0], &b, 1) < 0 && errno == EINTR) {
    }
    struct job *j = &a->job;
    void *sock = j->from_bus ? a->bus_work : a->listen;
    uint64_t call_id = j->env.call_id ? j->env.call_id : j->env.seq;
    if (j->reply.type) {
        actor_send_env(a, sock, j->route, j->nroute, j->reply.type, j->reply.payload, j->reply.len, call_id);
    } else {
        log_error("handler for %s returned %d without a reply", j->env.type, j->rc);
        actor_send_error(a, sock, j->route, j->nroute, call_id, OPML_E_INTERNAL, "%s failed on %s", a->name, j->env.type);
    }
    actor_reply_clear(&j->reply);
    protobuf_c_message_free_unpacked(j->msg, NULL);
    envelope_free(&j->env);
    net_msgs_close(j->route, j->nroute);
    j->nroute = 0;
    a->busy = 0;
}

/* ---- sockets ---- */

int actor_recv_request(void *sock, zmq_msg_t f[NET_MAX_FRAMES], int *n, envelope *env, uint64_t max_skew_ms,
                       replay_guard *guard, size_t max_route, log_limiter *lim, const char *what) {
    char err[512];
    if (net_recv(sock, f, NET_MAX_FRAMES, n, ZMQ_DONTWAIT) != 0) {
        if (errno == EMSGSIZE) log_limited(lim, LOGL_WARN, "%sdropped a message of too many frames", what);
        return -1;
    }
    /* [identity][envelope] from a DEALER, [identity][""][envelope] from a REQ. */
    if (*n < 2 || *n > 3 || (*n == 3 && zmq_msg_size(&f[1]) != 0) || (max_route && zmq_msg_size(&f[0]) > max_route)) {
        log_limited(lim, LOGL_WARN, "%sdropped a request of %d frames (want [envelope])", what, *n - 1);
        net_msgs_close(f, *n);
        return -1;
    }
    zmq_msg_t *last = &f[*n - 1];
    if (envelope_open(zmq_msg_data(last), zmq_msg_size(last), clock_unix_ms(), max_skew_ms, env, err, sizeof err) != 0 ||
        replay_guard_check(guard, env, err, sizeof err) != 0) {
        log_limited(lim, LOGL_WARN, "%s%s", what, err);
        envelope_free(env);
        net_msgs_close(f, *n);
        return -1;
    }
    return 0;
}

void actor_on_listen(actor *a) {
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    envelope env;
    if (actor_recv_request(a->listen, f, &n, &env, (uint64_t)a->max_skew, a->guard_listen, 0, &actor_drop_lim, ""))
        return;
    int nroute = n - 1;
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

void actor_announce(actor *a) {
    Opml__WorkerReady w = OPML__WORKER_READY__INIT;
    char *types[MAX_HANDLERS];
    for (int i = 0; i < a->nhandlers; i++) types[i] = (char *)a->handlers[i].desc->name;
    w.types = types;
    w.n_types = (size_t)a->nhandlers;
    w.busy_job = a->busy && a->job.from_bus ? a->job.job_id : 0;
    w.incarnation = a->incarnation;
    actor_send(a, a->bus_work, NULL, 0, &w.base, 0);
}

void actor_on_bus(actor *a) {
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    char err[512];
    if (net_recv(a->bus_work, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT) != 0) return;
    envelope env, req;
    if (n != 1 || envelope_open(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), clock_unix_ms(), (uint64_t)a->max_skew, &env,
                                err, sizeof err) != 0) {
        log_limited(&actor_drop_lim, LOGL_WARN, "from the bus: %s", n != 1 ? "a message of several frames" : err);
        net_msgs_close(f, n);
        return;
    }
    net_msgs_close(f, n);
    if (replay_guard_check(a->guard_bus, &env, err, sizeof err) != 0) {
        log_limited(&actor_drop_lim, LOGL_WARN, "from the bus: %s", err);
        envelope_free(&env);
        return;
    }
    a->last_bus_ms = clock_mono_ms();
    if (a->bus_silent_reported) log_info("the bus is back");
    a->bus_silent_reported = 0;
    Opml__Job *job = (Opml__Job *)envelope_payload(&env, &opml__job__descriptor);
    if (!job) {
        if (strcmp(env.type, opml__bus_heartbeat__descriptor.name) != 0)
            log_limited(&actor_drop_lim, LOGL_WARN, "from the bus: unexpected %s", env.type);
        envelope_free(&env);
        return;
    }
    if (a->busy) { /* the bus only sends to idle workers: it will re-dispatch when we report */
        log_warn("bus sent job %llu while busy: dropped", (unsigned long long)job->job_id);
    } else if (envelope_open(job->request.data, job->request.len, 0, 0, &req, err, sizeof err) != 0) {
        log_limited(&actor_drop_lim, LOGL_WARN, "job %llu: %s", (unsigned long long)job->job_id, err);
    } else {
        log_debug("job %llu: %s", (unsigned long long)job->job_id, req.type);
        dispatch(a, a->bus_work, job->job_id, NULL, 0, &req);
    }
    opml__job__free_unpacked(job, NULL);
    envelope_free(&env);
}
