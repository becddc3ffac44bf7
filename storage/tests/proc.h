/* proc.h: a real opml-storage process for the system tests and the benchmark, on the runtime's
 * test harness (tests/lib/harness.h): a scratch directory with the server's key and an
 * allow-list holding the test client's key, a free loopback port, the process started (and
 * restarted on the same database) and stopped, and storage clients of it. */
#ifndef OPML_STORAGE_PROC_H
#define OPML_STORAGE_PROC_H

#include "client.h"
#include "harness.h"

#include <sys/types.h>

typedef struct storage_proc {
    harness h;           /* h.dir holds storage.key, client.key, allow, db/, storage.log */
    client cl;           /* the allow-listed test client: cl.net, cl.sg */
    const char *bin;     /* path of opml-storage */
    char peer[160];      /* KEYHEX@tcp://127.0.0.1:PORT */
    pid_t pid;           /* 0 when not running */
} storage_proc;

/* Creates the directory, both keys and the allow-list. Returns 0 or -1 (printed). */
int proc_setup(storage_proc *p, const char *bin);

/* A test's start: its command line must be `TEST PATH/opml-storage` (else the usage is printed),
 * then proc_setup and proc_start (10 s). Returns 0, or the exit status the test returns: 2 for a
 * wrong command line, 1 when the process could not be set up or started. */
int proc_main_start(storage_proc *p, int argc, char **argv);

/* Starts opml-storage on the directory's database (its log goes to storage.log) and waits until
 * it answers a health request, at most wait_ms. Returns 0 or -1 (the log's tail printed). */
int proc_start(storage_proc *p, int wait_ms);

/* Sends sig and reaps the process (SIGKILL after 10 s). Returns harness_stop's status: the exit
 * code, or 128 + the signal that ended it. */
int proc_stop(storage_proc *p, int sig);

/* 1 if the process is still running (reaps it if it ended). */
int proc_alive(storage_proc *p);

/* A storage client of the process for the test client (storage_client_free it). */
storage_client *proc_client(storage_proc *p, int timeout_ms, int retries);

/* Prints the last lines of the process's log to stderr (for a failed test). */
void proc_dump_log(const storage_proc *p);

/* Stops the process if running, frees the client and removes the directory. */
void proc_teardown(storage_proc *p);

#endif
