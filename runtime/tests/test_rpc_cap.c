/* test_rpc_cap: rpc_call checks a reply's payload length against its cap before unpacking it: a
 * typed reply against the caller's cap (rpc_call: ACTOR_MAX_CONTROL; rpc_call_max: the one given),
 * an opml.Error against ACTOR_MAX_CONTROL whatever the caller's cap. A reply over its cap is
 * OPML_E_BAD_REQUEST "opml.X reply of N bytes is over the cap of M bytes" and is never unpacked;
 * one exactly at its cap is. An actor runs in this process (actor_run on a thread of its own) and
 * answers opml.EchoRequest with a reply of a chosen size: `data` holds the payload size wanted, in
 * decimal; with fail_code 0 the reply is an opml.EchoReply, else an opml.Error with that code. The
 * client's unpacks of replies are counted (unpack_count.h; the actor's unpacks of requests do not
 * count): "never unpacked" is observed, not inferred from the return code. */
#include "check.h"
#include "echo.pb-c.h"
#include "harness.h"
#include "unpack_count.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define BIG_CAP (1u << 20)

/* the client's unpacks of EchoReply and of Error payloads so far */
static unsigned replies_unpacked(void) { return unpack_count(&opml__echo_reply__descriptor); }
static unsigned errors_unpacked(void) { return unpack_count(&opml__error__descriptor); }

/* ---- the actor ---- */

static char fill[BIG_CAP + 2]; /* 'x's, NUL-terminated: the bytes and texts of replies */

/* The reply of exactly n bytes (n is not just past a varint's length step): an EchoReply whose data,
 * or an Error (code fail_code) whose text, is as long as fits. */
static int on_echo(actor *a, const envelope *req, const ProtobufCMessage *msg, actor_reply *reply, void *user) {
    const Opml__EchoRequest *q = (const Opml__EchoRequest *)msg;
    Opml__EchoReply r = OPML__ECHO_REPLY__INIT;
    Opml__Error e = OPML__ERROR__INIT;
    ProtobufCMessage *out = q->fail_code ? &e.base : &r.base;
    char text[32];
    (void)a, (void)req, (void)user;
    snprintf(text, sizeof text, "%.*s", (int)q->data.len, (const char *)q->data.data);
    size_t n = strtoul(text, NULL, 10);
    if (n > BIG_CAP + 1) return actor_reply_error(reply, OPML_E_BAD_REQUEST, "size %zu is too large", n);
    e.code = q->fail_code;
    r.data.data = (uint8_t *)fill;
    for (size_t len = n;; len--) {
        r.data.len = len;
        e.message = fill + sizeof fill - 1 - len; /* the last len 'x's before the NUL */
        if (len == 0 || protobuf_c_message_get_packed_size(out) <= n) break;
    }
    if (protobuf_c_message_get_packed_size(out) != n)
        return actor_reply_error(reply, OPML_E_INTERNAL, "no %s of %zu bytes", out->descriptor->name, n);
    return actor_reply_msg(reply, out);
}

static void *actor_main(void *arg) { return (void *)(intptr_t)actor_run(arg); }

/* ---- the client ---- */

/* Asks for a reply of `size` bytes (an Error with fail_code when it is not 0) with a reply cap of
 * max_reply (0: rpc_call, the default cap). Returns rpc_call's code; err gets its text. */
static int ask(rpc *r, size_t size, unsigned fail_code, size_t max_reply, char *err, size_t errlen) {
    char text[32];
    Opml__EchoRequest req = OPML__ECHO_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    snprintf(text, sizeof text, "%zu", size);
    req.data.data = (uint8_t *)text;
    req.data.len = strlen(text);
    req.fail_code = fail_code;
    int rc = max_reply ? rpc_call_max(r, &req.base, &opml__echo_reply__descriptor, max_reply, &rep, 5000, 0, err, errlen)
                       : rpc_call(r, &req.base, &opml__echo_reply__descriptor, &rep, 5000, 0, err, errlen);
    if (rc == 0) {
        CHECK(rep != NULL);
        if (rep) CHECK_EQ_INT(protobuf_c_message_get_packed_size(rep), size); /* the reply asked for */
        protobuf_c_message_free_unpacked(rep, NULL);
    } else {
        CHECK(rep == NULL);
    }
    return rc;
}

static void expect_served(rpc *r, size_t size, size_t max_reply) {
    char err[512];
    unsigned before = replies_unpacked();
    CHECK_EQ_INT(ask(r, size, 0, max_reply, err, sizeof err), 0);
    CHECK_EQ_INT(replies_unpacked(), before + 1);
}

static void expect_refused(rpc *r, size_t size, unsigned fail_code, size_t max_reply, size_t cap) {
    char err[512], want[160];
    unsigned before_reply = replies_unpacked(), before_error = errors_unpacked();
    snprintf(want, sizeof want, "%s reply of %zu bytes is over the cap of %zu bytes",
             fail_code ? "opml.Error" : "opml.EchoReply", size, cap);
    CHECK_EQ_INT(ask(r, size, fail_code, max_reply, err, sizeof err), OPML_E_BAD_REQUEST);
    CHECK(!strcmp(err, want));
    if (strcmp(err, want)) fprintf(stderr, "  got \"%s\", want \"%s\"\n", err, want);
    CHECK_EQ_INT(replies_unpacked(), before_reply); /* never unpacked */
    CHECK_EQ_INT(errors_unpacked(), before_error);
}

/* An opml.Error reply of `size` bytes within its cap: its code comes back, its text in err. */
static void expect_error(rpc *r, size_t size, size_t max_reply) {
    char err[512];
    unsigned before = errors_unpacked();
    CHECK_EQ_INT(ask(r, size, OPML_E_NOT_FOUND, max_reply, err, sizeof err), OPML_E_NOT_FOUND);
    CHECK(strlen(err) >= 6 && strspn(err, "x") == strlen(err)); /* the text (cut to err) */
    CHECK_EQ_INT(errors_unpacked(), before + 1);
}

int main(void) {
    harness h;
    char server_key[256], client_key[256], curve[65], listen[64], peer[160], err[512];
    memset(fill, 'x', sizeof fill - 1);
    unpack_count_here();
    if (harness_init(&h) != 0) return 1;
    harness_peer(&h, "server", server_key, listen, peer);
    harness_key(&h, "client", 1, client_key, NULL, curve);
    char *argv[] = {"test_rpc_cap", "--key_file", server_key, "--allow_file", h.allow, "--listen", listen, NULL};
    actor *a = actor_new("rpccap", NULL, 7, argv);
    CHECK(a != NULL);
    if (!a) return check_summary("test_rpc_cap");
    CHECK_EQ_INT(actor_on(a, &opml__echo_request__descriptor, on_echo, NULL), 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, actor_main, a) == 0);

    client c;
    CHECK(client_init(&c, client_key) == 0);
    CHECK(client_wait_up(&c, peer, 10000) == 0);
    rpc *r = rpc_connect(c.net, &c.sg, peer, 0, err, sizeof err);
    CHECK(r != NULL);
    if (!r) return check_summary("test_rpc_cap");

    /* rpc_call: the control cap. A reply exactly at it is unpacked, one byte more is refused unread,
     * and so is far more; an empty reply is a valid (empty) message. */
    expect_served(r, ACTOR_MAX_CONTROL, 0);
    expect_refused(r, ACTOR_MAX_CONTROL + 1, 0, 0, ACTOR_MAX_CONTROL);
    expect_refused(r, BIG_CAP, 0, 0, ACTOR_MAX_CONTROL);
    expect_served(r, 0, 0);
    /* rpc_call_max: the caller's cap, smaller or larger than the control cap. */
    expect_served(r, 100, 100);
    expect_refused(r, 101, 0, 100, 100);
    expect_served(r, BIG_CAP, BIG_CAP);
    expect_refused(r, BIG_CAP + 1, 0, BIG_CAP, BIG_CAP);
    /* opml.Error: the control cap, whatever the caller's cap for its reply. */
    expect_error(r, 10, 0);
    expect_error(r, ACTOR_MAX_CONTROL, 0);
    expect_error(r, ACTOR_MAX_CONTROL, 100); /* an Error is not held to a smaller reply cap */
    expect_refused(r, ACTOR_MAX_CONTROL + 1, OPML_E_NOT_FOUND, 0, ACTOR_MAX_CONTROL);
    expect_refused(r, ACTOR_MAX_CONTROL + 1, OPML_E_NOT_FOUND, BIG_CAP, ACTOR_MAX_CONTROL);
    expect_refused(r, BIG_CAP, OPML_E_NOT_FOUND, BIG_CAP, ACTOR_MAX_CONTROL);
    /* ... and the rpc still works after the refusals: a late copy of a refused reply is not taken
     * for the next call's. */
    expect_served(r, 64, 0);
    expect_served(r, 3, 100);

    rpc_close(r);
    kill(getpid(), SIGTERM); /* actor_run ends (within its 1 s poll) */
    void *rc = NULL;
    pthread_join(t, &rc);
    CHECK_EQ_INT((intptr_t)rc, 0);
    actor_free(a);
    client_done(&c);
    if (check_failures) setenv("OPML_KEEP_TEST_DIR", "1", 1);
    harness_done(&h);
    return check_summary("test_rpc_cap");
}
