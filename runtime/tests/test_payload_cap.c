/* test_payload_cap: a request whose payload is longer than its type's cap (actor_on, actor_on_max)
 * is answered with opml.Error OPML_E_BAD_REQUEST and never unpacked; one exactly at the cap is
 * served. An actor runs in this process (actor_run on a thread of its own) and serves
 *   opml.EchoRequest with actor_on: the control cap, ACTOR_MAX_CONTROL;
 *   opml.EchoReply   with actor_on_max and a cap of 100 bytes (any type will do: both carry
 *                    `bytes data = 1`, so one encoder makes payloads for both);
 * a client sends it raw envelopes over a DEALER. The unpacks the actor's thread makes are counted
 * (unpack_count.h; the client's own unpacks of replies do not count): "never unpacked" is
 * observed, not inferred from the reply. */
#include "check.h"
#include "echo.pb-c.h"
#include "harness.h"
#include "unpack_count.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define SMALL_CAP 100

/* the actor's unpacks of EchoRequest and of EchoReply payloads so far */
static unsigned requests_unpacked(void) { return unpack_count(&opml__echo_request__descriptor); }
static unsigned replies_unpacked(void) { return unpack_count(&opml__echo_reply__descriptor); }

/* ---- the actor ---- */

static unsigned served; /* only the job thread touches it; replies carry it to the client */

static int on_any(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    (void)a, (void)req, (void)msg, (void)user;
    Opml__EchoReply out = OPML__ECHO_REPLY__INIT;
    out.served = ++served;
    return actor_reply_msg(reply, &out.base);
}

static void *actor_main(void *arg) {
    unpack_count_here();
    return (void *)(intptr_t)actor_run(arg);
}

/* ---- the client ---- */

struct answer {
    int code;          /* 0: an EchoReply, else the opml.Error's code; -1: no answer in time */
    char text[512];    /* the error's message */
    uint64_t served;   /* the EchoReply's count */
};

/* Sends `type` with `payload` in a fresh envelope and waits up to 5 s for the answer. */
static struct answer ask(client *c, void *d, const char *type, const uint8_t *payload, size_t len) {
    static uint64_t call_id = 1000;
    struct answer ans = {.code = -1};
    uint8_t *env;
    size_t env_len;
    char err[512];
    if (envelope_seal(&c->sg, type, payload, len, ++call_id, &env, &env_len) != 0) return ans;
    struct iovec f = {env, env_len};
    int sent = net_sendv(d, &f, 1);
    free(env);
    zmq_pollitem_t p = {d, 0, ZMQ_POLLIN, 0};
    zmq_msg_t m[NET_MAX_FRAMES];
    int n;
    envelope e;
    if (sent != 0 || zmq_poll(&p, 1, 5000) != 1 || net_recv(d, m, NET_MAX_FRAMES, &n, 0) != 0) return ans;
    if (n == 1 && envelope_open(zmq_msg_data(&m[0]), zmq_msg_size(&m[0]), 0, 0, &e, err, sizeof err) == 0) {
        if (e.call_id == call_id && !strcmp(e.type, opml__error__descriptor.name)) {
            Opml__Error *x = (Opml__Error *)envelope_payload(&e, &opml__error__descriptor);
            if (x) {
                ans.code = (int)x->code;
                snprintf(ans.text, sizeof ans.text, "%s", x->message);
                opml__error__free_unpacked(x, NULL);
            }
        } else if (e.call_id == call_id) {
            Opml__EchoReply *r = (Opml__EchoReply *)envelope_payload(&e, &opml__echo_reply__descriptor);
            if (r) {
                ans.code = 0;
                ans.served = r->served;
                opml__echo_reply__free_unpacked(r, NULL);
            }
        }
        envelope_free(&e);
    }
    net_msgs_close(m, n);
    return ans;
}

/* A valid message of exactly n bytes (n >= 3, and not just past a varint's length step): field 1
 * (`bytes data`) holding n - 1 - len(varint) bytes. Returns the malloc'd bytes. */
static uint8_t *message_of(size_t n) {
    Opml__EchoRequest r = OPML__ECHO_REQUEST__INIT;
    static uint8_t fill[1u << 20];
    uint8_t *out = malloc(n);
    memset(fill, 'x', sizeof fill);
    r.data.data = fill;
    for (r.data.len = n - 1; r.data.len > 0 && opml__echo_request__get_packed_size(&r) > n; r.data.len--) {
    }
    CHECK_EQ_INT(opml__echo_request__get_packed_size(&r), n);
    opml__echo_request__pack(&r, out);
    return out;
}

/* n bytes that are no protobuf message (a varint that never ends). */
static uint8_t *garbage_of(size_t n) {
    uint8_t *out = malloc(n);
    memset(out, 0xff, n);
    return out;
}

static void expect_refused(client *c, void *d, const char *type, uint8_t *payload, size_t len, size_t cap) {
    unsigned before_req = requests_unpacked(), before_rep = replies_unpacked();
    struct answer a = ask(c, d, type, payload, len);
    char want[128];
    snprintf(want, sizeof want, "%s payload of %zu bytes is over the cap of %zu bytes", type, len, cap);
    CHECK_EQ_INT(a.code, OPML_E_BAD_REQUEST);
    CHECK(strstr(a.text, want) != NULL);
    if (!strstr(a.text, want)) fprintf(stderr, "  got \"%s\", want \"%s\"\n", a.text, want);
    CHECK_EQ_INT(requests_unpacked(), before_req); /* never unpacked */
    CHECK_EQ_INT(replies_unpacked(), before_rep);
    free(payload);
}

static void expect_served(client *c, void *d, const char *type, uint8_t *payload, size_t len, uint64_t nth) {
    unsigned before = requests_unpacked() + replies_unpacked();
    struct answer a = ask(c, d, type, payload, len);
    CHECK_EQ_INT(a.code, 0);
    CHECK_EQ_INT(a.served, nth); /* the refused requests in between never reached the handler */
    CHECK_EQ_INT(requests_unpacked() + replies_unpacked(), before + 1);
    free(payload);
}

int main(void) {
    harness h;
    char server_key[256], client_key[256], curve[65], listen[64], peer[160], err[512];
    if (harness_init(&h) != 0) return 1;
    harness_key(&h, "server", 1, server_key, NULL, curve);
    snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", harness_port());
    snprintf(peer, sizeof peer, "%s@%s", curve, listen);
    harness_key(&h, "client", 1, client_key, NULL, curve);
    char *argv[] = {"test_payload_cap", "--key_file", server_key, "--allow_file", h.allow, "--listen", listen, NULL};
    actor *a = actor_new("captest", NULL, 7, argv);
    CHECK(a != NULL);
    if (!a) return check_summary("test_payload_cap");
    const char *req_t = opml__echo_request__descriptor.name, *rep_t = opml__echo_reply__descriptor.name;
    CHECK_EQ_INT(actor_on(a, &opml__echo_request__descriptor, on_any, NULL), 0);
    CHECK_EQ_INT(actor_on_max(a, &opml__echo_reply__descriptor, SMALL_CAP, on_any, NULL), 0);
    CHECK_EQ_INT(actor_on_max(a, &opml__echo_reply__descriptor, ENVELOPE_MAX_BYTES, on_any, NULL), -1); /* taken */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, actor_main, a) == 0);

    client c;
    void *d = NULL;
    CHECK(client_init(&c, client_key) == 0);
    CHECK(client_wait_up(&c, peer, 10000) == 0);
    CHECK((d = net_connect(c.net, ZMQ_DEALER, peer, err, sizeof err)) != NULL);

    /* The control cap: a request exactly at it is served, one byte more is refused unread, and so
     * is far more; an empty payload is a valid (empty) message. */
    expect_served(&c, d, req_t, message_of(ACTOR_MAX_CONTROL), ACTOR_MAX_CONTROL, 1);
    expect_refused(&c, d, req_t, message_of(ACTOR_MAX_CONTROL + 1), ACTOR_MAX_CONTROL + 1, ACTOR_MAX_CONTROL);
    expect_refused(&c, d, req_t, message_of(1u << 20), 1u << 20, ACTOR_MAX_CONTROL);
    expect_served(&c, d, req_t, NULL, 0, 2);
    /* Bytes that do not parse: over the cap they are refused as too long (the parser never sees
     * them); at the cap they reach the parser, which refuses them as not a valid message. */
    expect_refused(&c, d, req_t, garbage_of(ACTOR_MAX_CONTROL + 1), ACTOR_MAX_CONTROL + 1, ACTOR_MAX_CONTROL);
    unsigned before = requests_unpacked();
    uint8_t *g = garbage_of(ACTOR_MAX_CONTROL);
    struct answer ans = ask(&c, d, req_t, g, ACTOR_MAX_CONTROL);
    free(g);
    CHECK_EQ_INT(ans.code, OPML_E_BAD_REQUEST);
    CHECK(strstr(ans.text, "payload is not a valid opml.EchoRequest") != NULL);
    CHECK_EQ_INT(requests_unpacked(), before + 1);

    /* A declared cap (actor_on_max) is the type's own, whichever is smaller or larger. */
    expect_served(&c, d, rep_t, message_of(SMALL_CAP), SMALL_CAP, 3);
    expect_refused(&c, d, rep_t, message_of(SMALL_CAP + 1), SMALL_CAP + 1, SMALL_CAP);
    expect_refused(&c, d, rep_t, message_of(2000), 2000, SMALL_CAP);
    /* ... and the actor still serves after all the refusals. */
    expect_served(&c, d, req_t, message_of(64), 64, 4);
    expect_served(&c, d, rep_t, message_of(3), 3, 5);
    /* The other refusals still answer as before. */
    ans = ask(&c, d, "opml.Nothing", NULL, 0);
    CHECK_EQ_INT(ans.code, OPML_E_UNKNOWN_TYPE);
    CHECK(strstr(ans.text, "captest serves no opml.Nothing") != NULL);

    net_close(d);
    kill(getpid(), SIGTERM); /* actor_run ends (within its 1 s poll) */
    void *rc = NULL;
    pthread_join(t, &rc);
    CHECK_EQ_INT((intptr_t)rc, 0);
    actor_free(a);
    client_done(&c);
    if (check_failures) setenv("OPML_KEEP_TEST_DIR", "1", 1);
    harness_done(&h);
    return check_summary("test_payload_cap");
}
