/* harness.h: what the process-level tests share: a scratch directory with keys and an allow-list,
 * free loopback ports, child processes (started with their stderr in a log file, stopped with a
 * signal, their exit status checked), and a test client that signs and sends raw envelopes. */
#ifndef OPML_TEST_HARNESS_H
#define OPML_TEST_HARNESS_H

#include "actor.h"
#include "rpc.h"

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

/* Starts argv[0] (a path) with the NULL-terminated argv; stderr and stdout go to <dir>/<log>. */
pid_t harness_spawn(harness *h, const char *log, char *const argv[]);

/* Sends sig and waits up to timeout_ms. Returns the exit status (0..255), 128+signal if killed,
 * or -1 if it did not end (it is then SIGKILLed). */
int harness_stop(pid_t pid, int sig, int timeout_ms);

/* 1 if the file <dir>/<log> contains text. */
int harness_log_has(harness *h, const char *log, const char *text);

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

#endif
