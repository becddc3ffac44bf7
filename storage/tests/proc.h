/* proc.h: a real opml-storage process for the system tests and the benchmark: a temporary
 * directory with the server's key, an allow-list holding the client's CURVE key, a free loopback
 * port, the process started (and restarted on the same database) and killed, and a client. */
#ifndef OPML_STORAGE_PROC_H
#define OPML_STORAGE_PROC_H

#include "client.h"
#include "identity.h"
#include "net.h"

#include <sys/types.h>

typedef struct storage_proc {
    const char *bin;     /* path of opml-storage */
    char dir[64];        /* temporary directory: storage.key, allow, db/, storage.log */
    char peer[160];      /* KEYHEX@tcp://127.0.0.1:PORT */
    pid_t pid;           /* 0 when not running */
    identity me;         /* the client's identity (allow-listed) */
    net *net;
    signer signer;
} storage_proc;

/* Creates the directory, both identities and the allow-list. Returns 0 or -1 (printed). */
int proc_setup(storage_proc *p, const char *bin);

/* Starts opml-storage on the directory's database (its log goes to storage.log) and waits until
 * it answers a stats request, at most wait_ms. Returns 0 or -1. */
int proc_start(storage_proc *p, int wait_ms);

/* Sends sig to the process and reaps it. Returns its wait status. */
int proc_kill(storage_proc *p, int sig);

/* 1 if the process is still running. */
int proc_alive(storage_proc *p);

/* The process's resident memory in KiB (VmRSS), or -1. */
long proc_rss_kb(const storage_proc *p);

/* A client of the process (storage_client_free it). */
storage_client *proc_client(storage_proc *p, int timeout_ms, int retries);

/* Prints the last lines of the process's log to stderr (for a failed test). */
void proc_dump_log(const storage_proc *p);

/* Kills the process if running, frees the net and removes the directory. */
void proc_teardown(storage_proc *p);

#endif
