/* broker.h: the bus's work broker. Clients send ordinary request envelopes to the `work` ROUTER;
 * workers (actors with bus_work set) sit on the `workers` ROUTER, announce the request types they
 * serve (opml.WorkerReady, repeated as their heartbeat) and get one job at a time (opml.Job holding
 * the client's signed request). The worker's signed reply goes back to the client untouched.
 *
 * Guarantees, as the client sees them:
 *   - a job goes to an idle worker that serves its type; jobs queue (FIFO) while none is free,
 *     for at most job_timeout_ms, then the client gets OPML_E_UNAVAILABLE;
 *   - a worker that goes silent for heartbeat_timeout_ms, restarts (new incarnation) or forgets
 *     its job has the job handed to another worker;
 *   - exactly one reply per call: a retry of a call in progress is absorbed, a retry of a finished
 *     call gets the same reply again, and a second completion (a worker declared dead that finishes
 *     after all) is dropped.
 * Workers are known by their address: each worker process needs its own key.
 *
 * What the broker parses is capped before it is parsed: envelopes at ENVELOPE_MAX_BYTES
 * (envelope_open), a WorkerReady's payload at ACTOR_MAX_CONTROL (a longer one is refused with a
 * log line). Requests and replies pass through with their payloads unread; workers and clients
 * cap those. */
#ifndef OPML_BUS_BROKER_H
#define OPML_BUS_BROKER_H

#include "actor.h"

typedef struct broker broker;

typedef struct broker_stats {
    uint64_t submitted, completed, redispatched, duplicates_dropped, expired, refused;
    unsigned workers, queued, in_flight;
} broker_stats;

/* `front` and `back` are bound ROUTER sockets owned by the caller; `xpub` (may be NULL) is where
 * the broker publishes bus.worker.* events. */
broker *broker_new(actor *a, void *front, void *back, void *xpub, long max_skew_ms, long hb_timeout_ms,
                   long job_timeout_ms, unsigned max_queue);
void broker_free(broker *b);

void broker_on_front(broker *b); /* `front` is readable */
void broker_on_back(broker *b);  /* `back` is readable */
void broker_tick(broker *b);     /* every heartbeat interval: liveness, heartbeats, expiry */
void broker_get_stats(const broker *b, broker_stats *out);

#endif
