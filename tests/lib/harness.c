/* harness.c: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int harness_init(harness *h) {
    snprintf(h->dir, sizeof h->dir, "/tmp/opml-test-XXXXXX");
    if (!mkdtemp(h->dir)) return -1;
    snprintf(h->allow, sizeof h->allow, "%s/allow", h->dir);
    FILE *f = fopen(h->allow, "w");
    if (!f) return -1;
    fputs("# test allow-list\n", f);
    fclose(f);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void harness_done(harness *h) {
    if (getenv("OPML_KEEP_TEST_DIR")) {
        fprintf(stderr, "kept %s\n", h->dir);
        return;
    }
    nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void harness_key(harness *h, const char *name, int allow, char path[256], identity *id, char curve[65]) {
    char err[256];
    identity tmp;
    snprintf(path, 256, "%s/%s.key", h->dir, name);
    if (identity_load_or_create(&tmp, path, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        exit(1);
    }
    net *n = net_new(&tmp, NULL, err, sizeof err);
    if (!n) {
        fprintf(stderr, "harness: %s\n", err);
        exit(1);
    }
    net_curve_public_hex(n, curve);
    net_free(n);
    if (allow) {
        FILE *f = fopen(h->allow, "a");
        fprintf(f, "%s %s\n", curve, name);
        fclose(f);
    }
    if (id) *id = tmp;
    identity_wipe(&tmp);
}

int harness_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        perror("harness_port");
        exit(1);
    }
    close(s);
    return ntohs(a.sin_port);
}

void harness_peer(harness *h, const char *name, char key_path[256], char listen[64], char peer[160]) {
    char curve[65];
    harness_key(h, name, 1, key_path, NULL, curve);
    snprintf(listen, 64, "tcp://127.0.0.1:%d", harness_port());
    snprintf(peer, 160, "%s@%s", curve, listen);
}

pid_t harness_spawn(harness *h, const char *log, char *const argv[]) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", h->dir, log);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    return pid;
}

pid_t harness_actor(harness *h, const char *bin, const char *name, char *const args[], char peer[160]) {
    char key[256], listen[64], log[64], *argv[40] = {(char *)bin, "--key_file", key, "--allow_file", h->allow,
                                                      "--listen", listen};
    int n = 7;
    harness_peer(h, name, key, listen, peer);
    for (int i = 0; i < 32 && args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(log, sizeof log, "%s.log", name);
    return harness_spawn(h, log, argv);
}

int harness_stop(pid_t pid, int sig, int timeout_ms) {
    int status;
    kill(pid, sig);
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int harness_log_has(harness *h, const char *log, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", h->dir, log);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

int harness_wait_log(harness *h, const char *log, const char *text, int timeout_ms) {
    uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (harness_log_has(h, log, text)) return 1;
        if (clock_mono_ms() >= end) return 0;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
}

void harness_show_log(harness *h, const char *log) {
    char path[256], buf[4096];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", h->dir, log);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "no log %s\n", path);
        return;
    }
    fprintf(stderr, "---- %s\n", log);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
    fclose(f);
}

long harness_rss_kib(pid_t pid) {
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

int client_init(client *c, const char *key_path) {
    char err[256];
    if (identity_load(&c->id, key_path, err, sizeof err) != 0 || !(c->net = net_new(&c->id, NULL, err, sizeof err))) {
        fprintf(stderr, "client: %s\n", err);
        return -1;
    }
    signer_init(&c->sg, &c->id);
    return 0;
}

void client_done(client *c) {
    net_free(c->net);
    identity_wipe(&c->id);
}

int client_health(client *c, const char *peer, int timeout_ms) {
    char err[256];
    rpc *r = rpc_connect(c->net, &c->sg, peer, 0, err, sizeof err);
    if (!r) return -1;
    Opml__HealthRequest req = OPML__HEALTH_REQUEST__INIT;
    ProtobufCMessage *rep;
    int rc = rpc_call(r, &req.base, &opml__health_reply__descriptor, &rep, timeout_ms, 0, err, sizeof err);
    if (rc == 0) {
        rc = strcmp(((Opml__HealthReply *)rep)->status, "ok") != 0;
        protobuf_c_message_free_unpacked(rep, NULL);
    }
    rpc_close(r);
    return rc;
}

long client_stat(client *c, const char *peer, const char *name) {
    char err[256];
    long v = -1;
    rpc *r = rpc_connect(c->net, &c->sg, peer, 0, err, sizeof err);
    if (!r) return -1;
    Opml__HealthRequest req = OPML__HEALTH_REQUEST__INIT;
    ProtobufCMessage *rep;
    if (rpc_call(r, &req.base, &opml__health_reply__descriptor, &rep, 1000, 2, err, sizeof err) == 0) {
        Opml__HealthReply *h = (Opml__HealthReply *)rep;
        for (size_t i = 0; i < h->n_stats; i++)
            if (!strcmp(h->stats[i]->name, name)) v = (long)h->stats[i]->value;
        protobuf_c_message_free_unpacked(rep, NULL);
    }
    rpc_close(r);
    return v;
}

int client_wait_up(client *c, const char *peer, int timeout_ms) {
    uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms;
    while (clock_mono_ms() < end)
        if (client_health(c, peer, 300) == 0) return 0;
    return -1;
}

int harness_storage_down(harness *h, const char *bin, const char *name, char *const args[], client *c, pid_t *pid,
                         char peer[160]) {
    char skey[256], slisten[64], speer[160], ckey[256], ccurve[65], *argv[33] = {"--storage", speer};
    int n = 2;
    memset(c, 0, sizeof *c);
    harness_peer(h, "storage", skey, slisten, speer); /* a storage actor that never starts */
    harness_key(h, "client", 1, ckey, NULL, ccurve);
    for (int i = 0; i < 30 && args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    *pid = harness_actor(h, bin, name, argv, peer);
    if (*pid <= 0) {
        *pid = 0;
        return -1;
    }
    if (client_init(c, ckey) != 0) return -1;
    return client_wait_up(c, peer, 10000);
}

int client_call(client *c, const char *peer, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
                int timeout_ms, char *err, size_t errlen) {
    rpc *r = rpc_connect(c->net, &c->sg, peer, 0, err, errlen);
    if (!r) return OPML_E_INTERNAL;
    ProtobufCMessage *rep = NULL;
    int rc = rpc_call(r, req, reply_desc, &rep, timeout_ms, 0, err, errlen);
    if (rep) protobuf_c_message_free_unpacked(rep, NULL);
    rpc_close(r);
    return rc;
}

static void *call_thread(void *arg) {
    client_async *q = arg;
    q->rc = client_call(q->c, q->peer, q->req, q->reply_desc, q->timeout_ms, q->err, sizeof q->err);
    return NULL;
}

int client_call_start(client_async *q, client *c, const char *peer, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *reply_desc, int timeout_ms) {
    *q = (client_async){.c = c, .peer = peer, .req = req, .reply_desc = reply_desc, .timeout_ms = timeout_ms};
    q->rc = -1;
    return pthread_create(&q->thread, NULL, call_thread, q) == 0 ? 0 : -1;
}

int client_call_join(client_async *q) {
    pthread_join(q->thread, NULL);
    return q->rc;
}
