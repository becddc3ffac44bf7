/* actor.h: the main loop every opml actor is written against (docs/runtime.md has an example).
 *
 *   actor *a = actor_new("storage", my_options, argc, argv);   // config, logs, identity, CURVE, signals
 *   if (!a) return 2;
 *   actor_on(a, &opml__get_request__descriptor, handle_get, &state);
 *   int rc = actor_run(a);                                       // until SIGTERM / SIGINT
 *   actor_free(a);
 *
 * actor_run binds the `listen` endpoint (a CURVE ROUTER: requests from allow-listed clients), joins
 * the bus as a worker when `bus_work` is set (jobs of the registered request types come from the bus
 * and their replies go back to it), connects `bus_pub` for actor_publish, and dispatches: each
 * request envelope is verified (signature, time, replay), its payload unpacked with the handler's
 * descriptor and handed to the handler, whose reply is signed and sent back with the request's
 * call_id. opml.HealthRequest is answered by the runtime. Malformed or unverifiable input is dropped
 * with a (rate-limited) log line; a request nobody serves, whose payload is longer than its type's
 * cap (actor_on_max) or does not parse, gets an opml.Error reply.
 *
 * Threads: handlers run one at a time on the actor's job thread, so that the main thread keeps the
 * bus heartbeats going during a long job. Timers (actor_every) and watched sockets (actor_watch) run
 * on the main thread, never while a handler runs. So actor code needs no locks: handlers, timers and
 * watchers never run concurrently. While a handler runs, no new request is read. */
#ifndef OPML_ACTOR_H
#define OPML_ACTOR_H

#include <stdarg.h>

#include "config.h"
#include "envelope.h"
#include "health.pb-c.h"
#include "log.h"
#include "net.h"

typedef struct actor actor;
typedef struct actor_reply actor_reply;

/* A request handler. req is the verified envelope (req->sender is the caller's address), msg its
 * payload unpacked with the descriptor given to actor_on. It must set the reply with exactly one of
 * actor_reply_msg / actor_reply_error and return 0; returning -1 without a reply sends
 * OPML_E_INTERNAL. msg and req are freed by the runtime after the handler returns. */
typedef int (*actor_handler)(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply,
                             void *user);

/* The options every actor has (docs/runtime.md): key_file, allow_file, listen, bus_pub, bus_work,
 * log_level, log_json, max_skew_ms, heartbeat_ms, heartbeat_timeout_ms. */
extern const config_opt actor_common_options[];

/* Reads the configuration (common options + `options`, NULL-terminated, may be NULL), sets up the
 * log, loads (or creates) the identity in key_file, creates the ZeroMQ context with the allow-list
 * and installs the SIGTERM/SIGINT handlers and the rpc_cancel_when hook (see actor_run). `--help` prints the options and exits 0; `--identity`
 * prints the address and CURVE public key and exits 0. Returns NULL after logging why. */
actor *actor_new(const char *name, const config_opt *options, int argc, char **argv);
void actor_free(actor *a);

const config *actor_config(const actor *a);
net *actor_net(actor *a);
signer *actor_signer(actor *a);
const identity *actor_identity(const actor *a);

/* Serve requests whose payload type is desc->name with fn, refusing payloads longer than
 * max_payload bytes before unpacking them: opml.Error OPML_E_BAD_REQUEST "... over the cap of ...",
 * and a rate-limited log line. A peer can thus make an actor unpack no more than a type's cap. Types
 * that carry data (tensor parts, key-value writes, model inputs, transactions) declare a cap that
 * fits their largest legitimate request; ENVELOPE_MAX_BYTES leaves only the envelope's limit.
 * Returns 0, or -1 if the type is taken (opml.HealthRequest always is) or 64 types are served. */
int actor_on_max(actor *a, const ProtobufCMessageDescriptor *desc, size_t max_payload, actor_handler fn, void *user);

/* actor_on_max with the cap of control messages, ACTOR_MAX_CONTROL (envelope.h). */
int actor_on(actor *a, const ProtobufCMessageDescriptor *desc, actor_handler fn, void *user);

/* Call fn(a, sock, user) on the main thread whenever sock is readable (a SUB, another ROUTER...). */
int actor_watch(actor *a, void *sock, void (*fn)(actor *a, void *sock, void *user), void *user);

/* Call fn(a, user) every `ms` milliseconds on the main thread. */
int actor_every(actor *a, unsigned ms, void (*fn)(actor *a, void *user), void *user);

/* Add figures to every HealthReply: fn calls actor_health_stat. */
void actor_on_health(actor *a, void (*fn)(actor *a, void *user), void *user);
void actor_health_stat(actor *a, const char *name, int64_t value);

/* Publish msg on `topic` through the bus (bus_pub). Returns 0, or -1 if bus_pub is not set or the
 * message could not be queued. Events are fire-and-forget: a subscriber that is not there misses
 * them. Call from handlers, timers or watchers only. */
int actor_publish(actor *a, const char *topic, const ProtobufCMessage *msg);

/* For actors with sockets of their own (the bus): sign msg with call_id and send it after the
 * routing frames (ROUTER identity...) on sock; answer a HealthRequest there. Return 0 or -1. */
int actor_send(actor *a, void *sock, zmq_msg_t *route, int nroute, const ProtobufCMessage *msg, uint64_t call_id);
int actor_send_error(actor *a, void *sock, zmq_msg_t *route, int nroute, uint64_t call_id, unsigned code,
                     const char *fmt, ...) __attribute__((format(printf, 7, 8)));
int actor_answer_health(actor *a, void *sock, zmq_msg_t *route, int nroute, uint64_t call_id);
/* For such a socket (a ROUTER that clients call): reads one request, [identity][envelope] from a
 * DEALER or [identity][""][envelope] from a REQ, the identity at most max_route bytes (0: any). The
 * envelope, f[*n - 1], is verified: signature, time within max_skew_ms of our clock, no replay
 * (guard). Returns 0 with the *n frames in f (the caller closes them) and env (the caller frees it);
 * -1 when nothing could be read or what was read was dropped (closed; a line through lim, `what`
 * before the reason). */
int actor_recv_request(void *sock, zmq_msg_t f[NET_MAX_FRAMES], int *n, envelope *env, uint64_t max_skew_ms,
                       replay_guard *guard, size_t max_route, log_limiter *lim, const char *what);

/* Binds, connects, publishes actor.started, dispatches until SIGTERM or SIGINT, then
 * publishes actor.stopped. Returns 0 on a clean stop, 1 if it could not start (logged).
 * From actor_new until actor_run returns, the actor is the process's rpc_cancel_when hook (rpc.h):
 * once it is stopping, an rpc_call waiting on a peer that is down gives up with OPML_E_UNAVAILABLE,
 * so that the request in progress is answered at once rather than after the call's time-outs and
 * retries. Calls made after actor_run returns (flushing state at exit) wait as usual. */
int actor_run(actor *a);
int actor_stopping(const actor *a);

/* Set a handler's reply. Both return 0. */
int actor_reply_msg(actor_reply *r, const ProtobufCMessage *msg);
int actor_reply_error(actor_reply *r, unsigned code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* actor_reply_error for a handler's own refusal helper (one that counts or adds context). */
int actor_reply_verror(actor_reply *r, unsigned code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#endif
