/* harness.h: what the process-level tests share: a scratch directory with keys and an allow-list,
 * free loopback ports, child processes (started with their stderr in a log file, stopped with a
 * signal, their exit status checked), a test client that signs and sends raw envelopes, also
 * from a thread of its own while the test acts on the callee, and the set-up of an actor whose
 * storage actor is down. */
#ifndef OPML_TEST_HARNESS_H
#define OPML_TEST_HARNESS_H

#include "actor.h"
#include "rpc.h"

#include <pthread.h>
#include <sys/types.h>

typedef struct harness {
    char dir[64];       /* scratch directory, removed by harness_done */
    char allow[128];    /* allow-list path: every key made with harness_key(..., 1) */
} harness;

int harness_init(harness *h);
void harness_done(harness *h);

/* Creates key file <dir>/<name>.key; its path goes to path, its identity to id (may be NULL) and
 * its CURVE public key (hex) to curve. When allow, the key is appended to the allow-list. */
void harness_key(harness *h, const char *name, int allow, char path[256], identity *id, char curve[65]);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int harness_port(void);

/* An actor's place in the test: an allow-listed key <dir>/<name>.key (its path to key_path) and a
 * free loopback endpoint: listen gets "tcp://127.0.0.1:PORT" (its --listen), peer
 * "CURVEKEY@tcp://127.0.0.1:PORT" (what its clients are given). */
void harness_peer(harness *h, const char *name, char key_path[256], char listen[64], char peer[160]);

/* Starts argv[0] (a path) with the NULL-terminated argv; stderr and stdout go to <dir>/<log>. */
pid_t harness_spawn(harness *h, const char *log, char *const argv[]);

/* Starts the actor binary bin as `name` on a harness_peer place of its own: --key_file, --allow_file
 * and --listen, then args (NULL-terminated, at most 32); its output goes to <dir>/<name>.log and
 * what its clients name to peer. Returns its pid. The actor reads the allow file once, as it
 * starts: make every key it must accept (harness_key with allow) before calling this. */
pid_t harness_actor(harness *h, const char *bin, const char *name, char *const args[], char peer[160]);

/* Sends sig and waits up to timeout_ms. Returns the exit status (0..255), 128+signal if killed,
 * or -1 if it did not end (it is then SIGKILLed). */
int harness_stop(pid_t pid, int sig, int timeout_ms);

/* 1 if the file <dir>/<log> contains text. */
int harness_log_has(harness *h, const char *log, const char *text);

/* Polls <dir>/<log> until it contains text or timeout_ms passes. Returns 1 once it does, else 0. */
int harness_wait_log(harness *h, const char *log, const char *text, int timeout_ms);

/* Copies <dir>/<log> to stderr (what a failed test shows of a child). */
void harness_show_log(harness *h, const char *log);

/* Resident memory of a process in KiB (VmRSS), or -1. */
long harness_rss_kib(pid_t pid);

/* A test client: its own identity, net (no allow-list) and signer. */
typedef struct client {
    identity id;
    signer sg;
    net *net;
} client;
int client_init(client *c, const char *key_path);
void client_done(client *c);

/* Asks peer for health within timeout_ms (one attempt). Returns 0 if it answered "ok". */
int client_health(client *c, const char *peer, int timeout_ms);

/* The value of stat `name` in peer's HealthReply, or -1. */
long client_stat(client *c, const char *peer, const char *name);

/* Polls peer's health until it answers or timeout_ms passes. Returns 0 once it answered. */
int client_wait_up(client *c, const char *peer, int timeout_ms);

/* An actor whose storage actor is down, and a client to call it: makes the client's allow-listed
 * key first (the actor reads the allow file once, as it starts), starts bin as `name` with
 * --storage naming a place where no storage actor ever starts, then args (NULL-terminated, at
 * most 30), initializes c with the client's key and waits up to 10 s for the actor's health. *pid
 * gets the actor's pid (0 if it was not started), peer what its clients name it. Returns 0, or -1
 * when the actor or the client did not come up. */
int harness_storage_down(harness *h, const char *bin, const char *name, char *const args[], client *c, pid_t *pid,
                         char peer[160]);

/* Sends req to peer and waits up to timeout_ms (one attempt) for a reply of type reply_desc, which
 * is dropped. Returns rpc_call's code: 0 for such a reply, else an OPML_E_* code, the reason (the
 * server's opml.Error message...) in err. */
int client_call(client *c, const char *peer, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
                int timeout_ms, char *err, size_t errlen);

/* client_call on a thread of its own, so that the test can meanwhile stop or kill the callee.
 * Between client_call_start and client_call_join, req must live and c not be used elsewhere. */
typedef struct client_async {
    client *c;
    const char *peer;
    const ProtobufCMessage *req;
    const ProtobufCMessageDescriptor *reply_desc;
    int timeout_ms;
    pthread_t thread;
    int rc;        /* client_call's code, once joined */
    char err[512]; /* and its reason */
} client_async;
/* Returns 0, or -1 if no thread could be started. */
int client_call_start(client_async *q, client *c, const char *peer, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *reply_desc, int timeout_ms);
/* Waits for the call to end; returns its code (also in q->rc). */
int client_call_join(client_async *q);

#endif
