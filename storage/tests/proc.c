/* proc.c: a real opml-storage process for tests and benchmarks (see proc.h). */
#include "proc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A loopback port nobody listens on now (the kernel's choice for port 0). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

int proc_setup(storage_proc *p, const char *bin) {
    memset(p, 0, sizeof *p);
    p->bin = bin;
    snprintf(p->dir, sizeof p->dir, "/tmp/opml-storage-XXXXXX");
    char err[256], path[128];
    if (!mkdtemp(p->dir)) return perror("mkdtemp"), -1;
    identity server;
    snprintf(path, sizeof path, "%s/storage.key", p->dir);
    if (identity_generate(&server) != 0 || identity_save(&server, path, err, sizeof err) != 0)
        return fprintf(stderr, "server key: %s\n", err), -1;
    net *sn = net_new(&server, NULL, err, sizeof err); /* only to derive the server's CURVE key */
    if (!sn) return fprintf(stderr, "server net: %s\n", err), -1;
    char key[65];
    net_curve_public_hex(sn, key);
    net_free(sn);
    identity_wipe(&server);
    int port = free_port();
    if (port < 0) return fprintf(stderr, "no free port\n"), -1;
    snprintf(p->peer, sizeof p->peer, "%s@tcp://127.0.0.1:%d", key, port);

    if (identity_generate(&p->me) != 0) return fprintf(stderr, "client key\n"), -1;
    p->net = net_new(&p->me, NULL, err, sizeof err);
    if (!p->net) return fprintf(stderr, "client net: %s\n", err), -1;
    signer_init(&p->signer, &p->me);
    net_curve_public_hex(p->net, key);
    snprintf(path, sizeof path, "%s/allow", p->dir);
    FILE *f = fopen(path, "w");
    if (!f) return perror(path), -1;
    fprintf(f, "%s test client\n", key);
    return fclose(f) == 0 ? 0 : -1;
}

int proc_start(storage_proc *p, int wait_ms) {
    char key[128], allow[128], db[128], listen[64], log[128];
    snprintf(key, sizeof key, "%s/storage.key", p->dir);
    snprintf(allow, sizeof allow, "%s/allow", p->dir);
    snprintf(db, sizeof db, "%s/db", p->dir);
    snprintf(log, sizeof log, "%s/storage.log", p->dir);
    snprintf(listen, sizeof listen, "%s", strchr(p->peer, '@') + 1);
    pid_t pid = fork();
    if (pid < 0) return perror("fork"), -1;
    if (pid == 0) {
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        execl(p->bin, p->bin, "--key_file", key, "--allow_file", allow, "--listen", listen, "--db", db, (char *)NULL);
        perror("exec opml-storage");
        _exit(127);
    }
    p->pid = pid;
    storage_client *c = proc_client(p, 200, 0);
    if (!c) return -1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = -1;
    for (;;) {
        Opml__StorageStatsReply *st;
        if (storage_client_stats(c, &st) == 0) {
            protobuf_c_message_free_unpacked(&st->base, NULL);
            rc = 0;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (!proc_alive(p) || (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > wait_ms) break;
    }
    storage_client_free(c);
    if (rc) fprintf(stderr, "opml-storage did not answer within %d ms\n", wait_ms), proc_dump_log(p);
    return rc;
}

int proc_kill(storage_proc *p, int sig) {
    int status = 0;
    if (p->pid > 0) {
        kill(p->pid, sig);
        waitpid(p->pid, &status, 0);
        p->pid = 0;
    }
    return status;
}

int proc_alive(storage_proc *p) {
    if (p->pid <= 0) return 0;
    int status;
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
        p->pid = 0;
        return 0;
    }
    return 1;
}

long proc_rss_kb(const storage_proc *p) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)p->pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

storage_client *proc_client(storage_proc *p, int timeout_ms, int retries) {
    char err[256];
    storage_client *c = storage_client_new(p->net, &p->signer, p->peer, timeout_ms, retries, err, sizeof err);
    if (!c) fprintf(stderr, "client: %s\n", err);
    return c;
}

void proc_dump_log(const storage_proc *p) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "tail -n 60 %s/storage.log >&2", p->dir);
    if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
}

void proc_teardown(storage_proc *p) {
    if (p->pid > 0) proc_kill(p, SIGTERM);
    if (p->net) net_free(p->net);
    identity_wipe(&p->me);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    if (p->dir[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", p->dir);
}
