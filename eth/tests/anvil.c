/* anvil.c: see anvil.h. */
#include "anvil.h"

#include "ethjson.h"
#include "ethrpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &al))
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

int anvil_start(anvil *a, int port, const char *const *extra) {
    memset(a, 0, sizeof a[0]);
    a->port = port ? port : free_port();
    if (a->port <= 0) return -1;
    snprintf(a->url, sizeof a->url, "http://127.0.0.1:%d", a->port);
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", a->port);
    const char *argv[64] = {OPML_ETH_BIN "/anvil", "--host", "127.0.0.1", "--port", portstr, "--silent"};
    int n = 6;
    for (int i = 0; extra && extra[i] && n < 63; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    a->pid = fork();
    if (a->pid < 0) return -1;
    if (a->pid == 0) {
        /* die with the test, and hold none of its pipes open */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    ethrpc_options opt = {.timeout_ms = 1000, .connect_timeout_ms = 200};
    ethrpc_client *c = ethrpc_open(a->url, &opt);
    for (int i = 0; c && i < 300; i++) {
        cJSON *res;
        if (ethrpc_call(c, "eth_chainId", NULL, &res) == ETHRPC_OK) {
            cJSON_Delete(res);
            ethrpc_close(c);
            return 0;
        }
        int status;
        if (waitpid(a->pid, &status, WNOHANG) == a->pid) break; /* it died */
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ethrpc_close(c);
    anvil_stop(a);
    return -1;
}

void anvil_stop(anvil *a) {
    if (a->pid <= 0) return;
    kill(a->pid, SIGTERM);
    waitpid(a->pid, NULL, 0);
    a->pid = 0;
}

char *anvil_rpc(const anvil *a, const char *method, const char *params_json) {
    ethrpc_client *c = ethrpc_open(a->url, NULL);
    cJSON *res = NULL;
    char *out = NULL;
    if (c && ethrpc_call(c, method, cJSON_Parse(params_json ? params_json : "[]"), &res) == ETHRPC_OK)
        out = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    ethrpc_close(c);
    return out;
}

uint64_t anvil_block_time(const anvil *a, uint64_t number) {
    char params[64];
    snprintf(params, sizeof params, "[\"0x%llx\", false]", (unsigned long long)number);
    char *text = anvil_rpc(a, "eth_getBlockByNumber", params);
    cJSON *b = text ? cJSON_Parse(text) : NULL;
    uint64_t t = 0;
    if (ej_quantity(ej_get(b, "timestamp"), &t)) t = 0;
    cJSON_Delete(b);
    free(text);
    return t;
}

int anvil_tx(sender *s, const contract *c, const uint8_t *to, const char *fn, const char *args_json, uint64_t value,
             uint64_t gas, chain_receipt *r, char *err, size_t errlen) {
    cJSON *args = cJSON_Parse(args_json);
    const abi_function *f = to ? contract_function(c, fn) : NULL;
    uint8_t *data, id[32];
    size_t len;
    if (!args || (to && !f)) {
        cJSON_Delete(args);
        snprintf(err, errlen, "bad test call %s(%s)", fn ? fn : "constructor", args_json);
        return -1;
    }
    int rc = to ? contract_encode_call(f, args, &data, &len, err, errlen) : contract_deploy_code(c, args, &data, &len, err, errlen);
    cJSON_Delete(args);
    if (rc) return -1;
    u256 v;
    u256_from_u64(&v, value);
    rc = sender_send(s, to, &v, data, len, gas, id, err, errlen);
    free(data);
    if (rc == 0) rc = sender_wait(s, id, 20000, r, NULL, NULL, err, errlen);
    if (rc == 0 && !r->success) {
        snprintf(err, errlen, "%s", r->revert);
        return -1;
    }
    return rc;
}
