/* test_ethrpc.c: the JSON-RPC client against a small fake HTTP server in this process that answers
 * well or badly on demand: every failure class must come out as its own status with a clear
 * message, transient ones must be retried, answers must not be, and the connection must be kept
 * alive between calls. Also a port where nothing listens (node down). */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "check.h"
#include "chaincall.h"
#include "ethrpc.h"
#include "follower.h"
#include "sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum mode { OK, HTTP500, HTTP404, NOT_JSON, WRONG_ID, NO_VERSION, RPC_ERROR, BAD_ERROR, HUGE, STALL, HANGUP, FLAKY, BOTH, SCRIPT };

/* SCRIPT mode: the result (JSON text) the fake node gives for a method, well-formed JSON-RPC around
 * a hostile value. */
static const char *(*script)(const char *method);

static atomic_int mode;
static atomic_int connections;
static atomic_int requests;
static int listen_fd;

static void send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int status, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     status, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* Serves one connection: reads requests (headers + Content-Length body) until the peer closes. */
static void serve(int fd) {
    char buf[65536];
    size_t len = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
            ssize_t r = recv(fd, buf + len, sizeof buf - len - 1, 0);
            if (r <= 0) return;
            len += (size_t)r;
        }
        buf[len] = 0;
        const char *cl = strcasestr(buf, "Content-Length:");
        size_t body_len = cl ? strtoul(cl + 15, NULL, 10) : 0, head_len = (size_t)(end + 4 - buf);
        while (len < head_len + body_len) {
            ssize_t r = recv(fd, buf + len, sizeof buf - len - 1, 0);
            if (r <= 0) return;
            len += (size_t)r;
        }
        buf[len] = 0;
        int n = atomic_fetch_add(&requests, 1);
        cJSON *req = cJSON_ParseWithLength(buf + head_len, body_len);
        int id = (int)cJSON_GetObjectItem(req, "id")->valuedouble;
        char method[64];
        snprintf(method, sizeof method, "%s", cJSON_GetObjectItem(req, "method")->valuestring);
        cJSON_Delete(req);
        memmove(buf, buf + head_len + body_len, len - head_len - body_len);
        len -= head_len + body_len;
        char body[4096];
        switch (atomic_load(&mode)) {
        case SCRIPT:
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":%s}", id, script(method));
            reply(fd, 200, body);
            break;
        case OK:
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":\"0x7a69\"}", id);
            reply(fd, 200, body);
            break;
        case HTTP500: reply(fd, 500, "internal error"); break;
        case HTTP404: reply(fd, 404, "<html>not here</html>"); break;
        case NOT_JSON: reply(fd, 200, "<html>hello</html>"); break;
        case WRONG_ID:
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":\"0x1\"}", id + 1000);
            reply(fd, 200, body);
            break;
        case NO_VERSION:
            snprintf(body, sizeof body, "{\"id\":%d,\"result\":\"0x1\"}", id);
            reply(fd, 200, body);
            break;
        case RPC_ERROR:
            snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%d,\"error\":{\"code\":3,\"message\":\"execution reverted\","
                     "\"data\":\"0x08c379a0\"}}", id);
            reply(fd, 200, body);
            break;
        case BAD_ERROR:
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"error\":\"oops\"}", id);
            reply(fd, 200, body);
            break;
        case BOTH:
            snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"}}", id);
            reply(fd, 200, body);
            break;
        case HUGE: {
            const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n[";
            send_all(fd, head, strlen(head));
            memset(body, '1', sizeof body);
            for (int i = 0; i < 10000000 / (int)sizeof body; i++) send_all(fd, body, sizeof body);
            break;
        }
        case STALL: usleep(1500 * 1000); return;
        case HANGUP: return;
        case FLAKY: /* the first two requests fail with 503, then answers */
            if (n < 2) {
                reply(fd, 503, "busy");
            } else {
                snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":\"0x2\"}", id);
                reply(fd, 200, body);
            }
            break;
        }
    }
}

static void *server(void *arg) {
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) return NULL;
        atomic_fetch_add(&connections, 1);
        serve(fd);
        close(fd);
    }
}

static int listen_on(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&a, &al))
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static ethrpc_status call(ethrpc_client *c, int m, cJSON **res) {
    atomic_store(&mode, m);
    atomic_store(&requests, 0);
    return ethrpc_call(c, "eth_chainId", NULL, res);
}

static void expect(ethrpc_client *c, int m, ethrpc_status want, const char *in_msg) {
    cJSON *res = NULL;
    ethrpc_status s = call(c, m, &res);
    CHECK_EQ_INT(s, want);
    CHECK(res == NULL);
    CHECK(strstr(ethrpc_errmsg(c), in_msg) != NULL);
    if (!strstr(ethrpc_errmsg(c), in_msg)) fprintf(stderr, "  mode %d: message \"%s\" lacks \"%s\"\n", m, ethrpc_errmsg(c), in_msg);
    cJSON_Delete(res);
}


/* ---- well-formed JSON-RPC carrying hostile values: each reader says what was wrong ---- */

#define H32 "\"0x1111111111111111111111111111111111111111111111111111111111111111\""
#define H32B "\"0x2222222222222222222222222222222222222222222222222222222222222222\""
#define WATCHED "\"0x00000000000000000000000000000000000000aa\""
static const char *logs_result;
static const char *chain_id_result = "\"0x7a69\"";
static const char *block_number_result = "\"0x5\"";
#define BLOCK_TIME 0x6553f100
#define BLOCK "{\"hash\":" H32 ",\"parentHash\":" H32B ",\"timestamp\":\"0x6553f100\"}"
static const char *block_result = BLOCK;

static const char *node(const char *method) {
    if (!strcmp(method, "eth_chainId")) return chain_id_result;
    if (!strcmp(method, "eth_blockNumber")) return block_number_result;
    if (!strcmp(method, "eth_getBlockByNumber")) return block_result;
    if (!strcmp(method, "eth_getLogs")) return logs_result;
    if (!strcmp(method, "eth_call")) return "\"0x123\"";
    if (!strcmp(method, "eth_getTransactionCount")) return "\"-1\"";
    return "null";
}

static int no_get(void *u, const char *k, int *found, uint8_t **v, size_t *l, char *e, size_t el) {
    (void)u, (void)k, (void)v, (void)l, (void)e, (void)el;
    *found = 0;
    return 0;
}

static int any_put(void *u, size_t n, const char *const *k, const uint8_t *const *v, const size_t *l, char *e, size_t el) {
    (void)u, (void)n, (void)k, (void)v, (void)l, (void)e, (void)el;
    return 0;
}

static int publish_none(void *user, const char *topic, const Opml__ChainEvent *ev) {
    (void)user, (void)topic, (void)ev;
    return 0;
}

static uint64_t published_time; /* block_time of the last event publish_time saw */
static int publish_time(void *user, const char *topic, const Opml__ChainEvent *ev) {
    (void)user, (void)topic;
    published_time = ev->block_time;
    return 0;
}

static void step_fails_with(follower *f, const char *logs, const char *want) {
    char err[300];
    logs_result = logs;
    int rc = follower_step(f, publish_none, NULL, err, sizeof err);
    CHECK_EQ_INT(rc, -1);
    CHECK(strstr(err, want) != NULL);
    if (!strstr(err, want)) fprintf(stderr, "  logs %s: \"%s\" lacks \"%s\"\n", logs, err, want);
}

static void hostile_results(ethrpc_client *c) {
    char err[300];
    atomic_store(&mode, SCRIPT);
    script = node;
    /* a sender: chain id that is not a quantity, then a nonce that is not one */
    identity id;
    uint8_t secret[32] = {1};
    identity_from_secret(&id, secret);
    sender_config sc = {.journal = "/nonexistent-dir/journal.json"};
    chain_id_result = "\"0xzz\"";
    CHECK(sender_open(c, &id, &sc, err, sizeof err) == NULL);
    CHECK(strstr(err, "malformed reply: eth_chainId") != NULL);
    chain_id_result = "\"0x7a69\"";
    CHECK(sender_open(c, &id, &sc, err, sizeof err) == NULL);
    CHECK(strstr(err, "malformed reply: eth_getTransactionCount") != NULL);

    /* eth_call answering odd-length hex */
    chain_msg m = {.data = (const uint8_t *)"", .len = 0};
    uint8_t *ret;
    size_t retlen;
    CHECK_EQ_INT(chain_call_raw(c, &m, "latest", NULL, &ret, &retlen, err, sizeof err), -1);
    CHECK(strstr(err, "malformed reply: eth_call") != NULL);

    /* the follower: head, block and logs of the wrong shape */
    cJSON *abi = cJSON_Parse("[{\"type\":\"event\",\"name\":\"E\",\"inputs\":[]}]");
    contract *k = contract_from_abi("K", abi, NULL, err, sizeof err);
    cJSON_Delete(abi);
    follow_contract fc = {k, {0}};
    fc.address[19] = 0xaa;
    follower_config cfg = {.contracts = &fc, .ncontracts = 1, .key_prefix = "t/"};
    follow_store fs = {no_get, any_put, NULL};
    follower *f = follower_open(c, &cfg, &fs, err, sizeof err);
    CHECK(f != NULL);
    block_number_result = "{}";
    step_fails_with(f, "[]", "malformed reply: eth_blockNumber");
    block_number_result = "\"0x5\"";
    block_result = "{\"hash\":" H32 ",\"parentHash\":" H32B "}"; /* no timestamp */
    step_fails_with(f, "[]", "malformed reply: block 0");
    block_result = "{\"hash\":" H32 ",\"parentHash\":" H32B ",\"timestamp\":1700000000}"; /* not a quantity */
    step_fails_with(f, "[]", "malformed reply: block 0");
    block_result = BLOCK;
    step_fails_with(f, "{}", "eth_getLogs result is not an array");
    step_fails_with(f, "[{\"address\":" WATCHED ",\"topics\":[\"0x12\"],\"data\":\"0x\",\"blockHash\":" H32
                       ",\"transactionHash\":" H32 ",\"logIndex\":\"0x0\"}]", "malformed reply: a log topic");
    step_fails_with(f, "[{\"address\":" WATCHED ",\"topics\":[],\"data\":\"0x1\",\"blockHash\":" H32
                       ",\"transactionHash\":" H32 ",\"logIndex\":\"0x0\"}]", "malformed reply: a log of block 0");
    step_fails_with(f, "[{\"address\":" WATCHED ",\"topics\":[],\"data\":\"0x\",\"blockHash\":" H32B
                       ",\"transactionHash\":" H32 ",\"logIndex\":\"0x0\"}]", "from another block");
    step_fails_with(f, "[{\"address\":" WATCHED ",\"topics\":[" H32 "," H32 "," H32 "," H32 "," H32 "],\"data\":\"0x\","
                       "\"blockHash\":" H32 ",\"transactionHash\":" H32 ",\"logIndex\":\"0x0\"}]", "malformed reply");
    CHECK_EQ_INT(follower_last_seq(f), 0);
    /* and a well-formed one goes through */
    logs_result = "[]";
    CHECK_EQ_INT(follower_step(f, publish_none, NULL, err, sizeof err), 1);
    CHECK_EQ_INT(follower_next_block(f), 1);
    CHECK_EQ_INT(follower_block_time(f), BLOCK_TIME);
    follower_close(f);

    /* catching up by ranges (window 2, head 5): a block with logs is read for its timestamp and
     * must be the block its logs name, else the reply is stale */
    follower_config rc = {.contracts = &fc, .ncontracts = 1, .window = 2, .key_prefix = "r/"};
    f = follower_open(c, &rc, &fs, err, sizeof err);
    CHECK(f != NULL);
    step_fails_with(f, "[{\"address\":" WATCHED ",\"topics\":[],\"data\":\"0x\",\"blockNumber\":\"0x2\",\"blockHash\":" H32B
                       ",\"transactionHash\":" H32 ",\"logIndex\":\"0x0\"}]", "log of block 2 is from another block");
    block_result = "null";
    step_fails_with(f, "[{\"address\":" WATCHED ",\"topics\":[],\"data\":\"0x\",\"blockNumber\":\"0x2\",\"blockHash\":" H32
                       ",\"transactionHash\":" H32 ",\"logIndex\":\"0x0\"}]", "block 2 vanished");
    block_result = BLOCK;
    CHECK_EQ_INT(follower_last_seq(f), 0);
    logs_result = "[{\"address\":" WATCHED ",\"topics\":[],\"data\":\"0x\",\"blockNumber\":\"0x2\",\"blockHash\":" H32
                  ",\"transactionHash\":" H32 ",\"logIndex\":\"0x0\"}]";
    CHECK_EQ_INT(follower_step(f, publish_time, NULL, err, sizeof err), 1);
    CHECK_EQ_INT(follower_last_seq(f), 1);
    CHECK_EQ_INT(published_time, BLOCK_TIME);
    follower_close(f);
    contract_free(k);
}

int main(void) {
    int port;
    listen_fd = listen_on(&port);
    CHECK(listen_fd >= 0);
    pthread_t th;
    pthread_create(&th, NULL, server, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    ethrpc_options opt = {.timeout_ms = 500, .retries = 2, .backoff_ms = 10, .max_reply = 1 << 20};
    ethrpc_client *c = ethrpc_open(url, &opt);
    CHECK(c != NULL);

    /* good answers on one kept-alive connection */
    for (int i = 0; i < 5; i++) {
        cJSON *res;
        CHECK_EQ_INT(call(c, OK, &res), ETHRPC_OK);
        CHECK(cJSON_IsString(res) && !strcmp(res->valuestring, "0x7a69"));
        cJSON_Delete(res);
    }
    CHECK_EQ_INT(atomic_load(&connections), 1);

    /* answers are not retried */
    unsigned long before = ethrpc_attempts(c);
    expect(c, RPC_ERROR, ETHRPC_E_RPC, "execution reverted");
    CHECK_EQ_INT(ethrpc_errcode(c), 3);
    CHECK(ethrpc_errdata(c) && !strcmp(ethrpc_errdata(c), "0x08c379a0"));
    CHECK_EQ_INT(ethrpc_attempts(c) - before, 1);
    expect(c, HTTP404, ETHRPC_E_HTTP, "HTTP 404");
    CHECK_EQ_INT(ethrpc_errcode(c), 404);
    CHECK_EQ_INT(atomic_load(&requests), 1);
    expect(c, NOT_JSON, ETHRPC_E_MALFORMED, "not JSON");
    expect(c, WRONG_ID, ETHRPC_E_MALFORMED, "id does not match");
    expect(c, NO_VERSION, ETHRPC_E_MALFORMED, "not a JSON-RPC 2.0");
    expect(c, BAD_ERROR, ETHRPC_E_MALFORMED, "error object");
    expect(c, BOTH, ETHRPC_E_MALFORMED, "exactly one of result and error");
    expect(c, HUGE, ETHRPC_E_MALFORMED, "larger than");

    /* transient failures are retried (1 + 2 attempts), then reported as their class */
    expect(c, HTTP500, ETHRPC_E_HTTP, "HTTP 500");
    CHECK_EQ_INT(atomic_load(&requests), 3);
    expect(c, STALL, ETHRPC_E_TIMEOUT, "within 500 ms");
    expect(c, HANGUP, ETHRPC_E_DOWN, "node down");
    cJSON *res;
    before = ethrpc_retries(c);
    CHECK_EQ_INT(call(c, FLAKY, &res), ETHRPC_OK);
    CHECK_EQ_INT(ethrpc_retries(c) - before, 2);
    cJSON_Delete(res);

    hostile_results(c);

    /* nothing listening: node down, quickly */
    shutdown(listen_fd, SHUT_RDWR); /* the server's accept fails from now on */
    int dead_port;
    int dead = listen_on(&dead_port);
    close(dead);
    char dead_url[64];
    snprintf(dead_url, sizeof dead_url, "http://127.0.0.1:%d", dead_port);
    ethrpc_client *d = ethrpc_open(dead_url, &opt);
    CHECK_EQ_INT(ethrpc_call(d, "eth_chainId", NULL, &res), ETHRPC_E_DOWN);
    CHECK(strstr(ethrpc_errmsg(d), "node down") == ethrpc_errmsg(d));
    CHECK_EQ_INT(ethrpc_attempts(d), 3);
    ethrpc_close(d);
    ethrpc_close(c); /* closes the kept-alive connection: the server thread returns */
    pthread_join(th, NULL);
    close(listen_fd);
    return check_summary("test_ethrpc");
}
