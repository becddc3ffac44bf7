/* proc.c: a real opml-storage process for tests and benchmarks (see proc.h). */
#include "proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int proc_setup(storage_proc *p, const char *bin) {
    memset(p, 0, sizeof *p);
    p->bin = bin;
    if (harness_init(&p->h) != 0) return perror("harness_init"), -1;
    char path[256], server_key[65], client_key[65];
    harness_key(&p->h, "storage", 0, path, NULL, server_key);
    harness_key(&p->h, "client", 1, path, NULL, client_key);
    if (client_init(&p->cl, path) != 0) return -1;
    snprintf(p->peer, sizeof p->peer, "%s@tcp://127.0.0.1:%d", server_key, harness_port());
    return 0;
}

int proc_start(storage_proc *p, int wait_ms) {
    char key[256], db[128];
    snprintf(key, sizeof key, "%s/storage.key", p->h.dir);
    snprintf(db, sizeof db, "%s/db", p->h.dir);
    char *argv[] = {(char *)p->bin, "--key_file", key, "--allow_file", p->h.allow, "--listen", strchr(p->peer, '@') + 1,
                    "--db", db, NULL};
    p->pid = harness_spawn(&p->h, "storage.log", argv);
    if (p->pid > 0 && client_wait_up(&p->cl, p->peer, wait_ms) == 0) return 0;
    fprintf(stderr, "opml-storage did not answer within %d ms\n", wait_ms);
    proc_dump_log(p);
    return -1;
}

int proc_main_start(storage_proc *p, int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/opml-storage\n", argv[0]);
        return 2;
    }
    return proc_setup(p, argv[1]) != 0 || proc_start(p, 10000) != 0 ? 1 : 0;
}

int proc_stop(storage_proc *p, int sig) {
    int status = p->pid > 0 ? harness_stop(p->pid, sig, 10000) : -1;
    p->pid = 0;
    return status;
}

int proc_alive(storage_proc *p) {
    int status;
    if (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == p->pid) p->pid = 0;
    return p->pid > 0;
}

storage_client *proc_client(storage_proc *p, int timeout_ms, int retries) {
    char err[256];
    storage_client *c = storage_client_new(p->cl.net, &p->cl.sg, p->peer, timeout_ms, retries, err, sizeof err);
    if (!c) fprintf(stderr, "client: %s\n", err);
    return c;
}

void proc_dump_log(const storage_proc *p) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "tail -n 60 %s/storage.log >&2", p->h.dir);
    if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
}

void proc_teardown(storage_proc *p) {
    proc_stop(p, SIGTERM);
    client_done(&p->cl);
    harness_done(&p->h);
}
