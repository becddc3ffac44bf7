/* Hostile input at a real opml-storage: 10,000 messages from an allow-listed client (random bytes,
 * truncated and bit-flipped envelopes, too many frames, random payloads under every storage type,
 * well-formed requests that break every precondition, unknown types, replays), raw garbage on the
 * TCP port, and requests from a key that is not allow-listed. Each is answered with an error or
 * dropped; every request that breaks a precondition gets exactly the opml.Error code it should;
 * the process stays up, serves correctly afterwards and its memory stays flat.
 * Usage: test_storage_hostile PATH/opml-storage */
#include "check.h"
#include "proc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MESSAGES 10000
#define KINDS 8

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}
static void fill(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd();
}

static const ProtobufCMessageDescriptor *const storage_types[] = {
    &opml__storage_put_tensor__descriptor, &opml__storage_get_tensor__descriptor,
    &opml__storage_stat_tensor__descriptor, &opml__storage_get_proof__descriptor,
    &opml__storage_kv_get__descriptor,      &opml__storage_kv_write__descriptor,
    &opml__storage_kv_scan__descriptor,     &opml__storage_stats__descriptor,
};

/* Well-formed requests that break a precondition, and the error code each must get. */
#define BAD_CASES 22
static uint8_t known_root[32];
static uint8_t big[2000];

static const ProtobufCMessage *bad_case(int k, unsigned *code) {
    static Opml__StoragePutTensor put;
    static Opml__StorageGetTensor get;
    static Opml__StorageStatTensor stat;
    static Opml__StorageGetProof proof;
    static Opml__StorageKvGet kvget;
    static Opml__StorageKvWrite kvw;
    static Opml__StorageKvOp op[2];
    static Opml__StorageKvOp *ops[2] = {&op[0], &op[1]};
    static Opml__StorageKvScan scan;
    static uint8_t random_root[32], data[100];
    opml__storage_put_tensor__init(&put);
    opml__storage_get_tensor__init(&get);
    opml__storage_stat_tensor__init(&stat);
    opml__storage_get_proof__init(&proof);
    opml__storage_kv_get__init(&kvget);
    opml__storage_kv_write__init(&kvw);
    opml__storage_kv_op__init(&op[0]);
    opml__storage_kv_op__init(&op[1]);
    opml__storage_kv_scan__init(&scan);
    fill(random_root, 32);
    fill(data, sizeof data);
    *code = OPML_E_BAD_REQUEST;
    switch (k) {
    case 0: put.root = (ProtobufCBinaryData){5, random_root}; return &put.base;
    case 1:
        put.data = (ProtobufCBinaryData){sizeof data, data};
        put.root = (ProtobufCBinaryData){32, random_root};
        *code = STORAGE_E_ROOT;
        return &put.base;
    case 2: return &get.base; /* no root */
    case 3: get.root = (ProtobufCBinaryData){32, random_root}, *code = OPML_E_NOT_FOUND; return &get.base;
    case 4: get.root = (ProtobufCBinaryData){32, known_root}, get.offset = 1ull << 63; return &get.base;
    case 5: get.root = (ProtobufCBinaryData){32, known_root}, get.length = UINT64_MAX; return &get.base;
    case 6: get.root = (ProtobufCBinaryData){32, known_root}, get.offset = 100, get.length = 1; return &get.base;
    case 7: stat.root = (ProtobufCBinaryData){33, big}; return &stat.base;
    case 8: proof.root = (ProtobufCBinaryData){32, known_root}, proof.index = 1u << 23; return &proof.base;
    case 9: proof.root = (ProtobufCBinaryData){32, known_root}, proof.index = UINT64_MAX; return &proof.base;
    case 10: proof.root = (ProtobufCBinaryData){32, random_root}, *code = OPML_E_NOT_FOUND; return &proof.base;
    case 11: return &kvget.base; /* empty key */
    case 12: kvget.key = (ProtobufCBinaryData){STORAGE_MAX_KEY + 1, big}; return &kvget.base;
    case 13: /* a good op and a bad one: the whole write is refused */
        op[0].key = (ProtobufCBinaryData){7, (uint8_t *)"hostile"};
        op[0].value = (ProtobufCBinaryData){1, (uint8_t *)"x"};
        op[1].key = (ProtobufCBinaryData){STORAGE_MAX_KEY + 1, big};
        kvw.n_ops = 2, kvw.ops = ops;
        return &kvw.base;
    case 14:
        op[0].key = (ProtobufCBinaryData){0, NULL}, op[0].delete_ = 1;
        kvw.n_ops = 1, kvw.ops = ops;
        return &kvw.base;
    case 15: scan.prefix = (ProtobufCBinaryData){STORAGE_MAX_KEY + 1, big}; return &scan.base;
    case 16: scan.start_after = (ProtobufCBinaryData){sizeof big, big}; return &scan.base;
    case 17: put.total_length = 1000; return &put.base; /* a part without its root */
    case 18: /* a part past the end */
        put.root = (ProtobufCBinaryData){32, random_root}, put.total_length = 1000, put.offset = 995;
        put.data = (ProtobufCBinaryData){sizeof data, data};
        return &put.base;
    case 19: /* a later part of a put that never started */
        put.root = (ProtobufCBinaryData){32, random_root}, put.total_length = 1000, put.offset = 100;
        put.data = (ProtobufCBinaryData){sizeof data, data};
        return &put.base;
    case 20: put.root = (ProtobufCBinaryData){32, random_root}, put.total_length = MERKLE_SLOT_BYTES + 1; return &put.base;
    default: put.offset = 7; return &put.base; /* an offset without a total */
    }
}

struct sent {
    int kind;          /* what was sent with this call_id */
    unsigned code;     /* kind 5: the expected error code */
    int replies;
};
static struct sent sent[MESSAGES + 1];
static int owed_answered; /* first answers to messages of kinds 4..6 (those owed one) */

/* Reads every reply waiting on sock; returns how many. */
static int drain(void *sock, int wait_ms) {
    int n = 0;
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&it, 1, wait_ms) > 0) {
        zmq_msg_t f[NET_MAX_FRAMES];
        int count;
        if (net_recv(sock, f, NET_MAX_FRAMES, &count, ZMQ_DONTWAIT) != 0) break;
        envelope e;
        char err[256];
        CHECK_EQ_INT(count, 1);
        if (count == 1 && envelope_open(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), 0, 0, &e, err, sizeof err) == 0) {
            CHECK(e.call_id >= 1 && e.call_id <= MESSAGES);
            if (e.call_id >= 1 && e.call_id <= MESSAGES) {
                struct sent *s = &sent[e.call_id];
                if (++s->replies == 1 && s->kind >= 4 && s->kind <= 6) owed_answered++;
                if (s->kind == 5 || s->kind == 6) {
                    Opml__Error *er = NULL;
                    if (!strcmp(e.type, "opml.Error"))
                        er = (Opml__Error *)envelope_payload(&e, &opml__error__descriptor);
                    unsigned want = s->kind == 6 ? OPML_E_UNKNOWN_TYPE : s->code;
                    CHECK(er != NULL && er->code == want);
                    if (er && er->code != want) fprintf(stderr, "call %llu: code %u, want %u: %s\n",
                                                        (unsigned long long)e.call_id, er->code, want, er->message);
                    if (er) protobuf_c_message_free_unpacked(&er->base, NULL);
                }
            }
            envelope_free(&e);
        } else CHECK(0); /* the server only sends signed envelopes */
        net_msgs_close(f, count);
        n++;
        wait_ms = 0;
    }
    return n;
}

/* Sends without blocking (the socket's send time-out is 0), reading replies while the server is
 * behind: a client that stops reading would have its replies dropped by the server's ROUTER. */
static void send_frames(storage_proc *p, void *sock, struct iovec *fr, int count) {
    for (int tries = 1; net_sendv(sock, fr, count) != 0; tries++) {
        drain(sock, 10);
        if (tries % 100 == 0 && !proc_alive(p)) return; /* the checks below report it */
    }
}

/* The raw TCP port: bytes that are not even ZMTP. */
static void tcp_garbage(const char *peer) {
    int port = atoi(strrchr(peer, ':') + 1);
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            uint8_t junk[512];
            fill(junk, sizeof junk);
            if (i % 2) junk[0] = 0xff; /* looks like a ZMTP greeting's first byte */
            ssize_t w = write(fd, junk, 1 + rnd() % sizeof junk);
            (void)w;
        }
        if (fd >= 0) close(fd);
    }
}

int main(int argc, char **argv) {
    storage_proc p;
    int rc = proc_main_start(&p, argc, argv);
    if (rc) return rc;
    storage_client *c = proc_client(&p, 30000, 0); /* generous: the server may be far behind */
    uint8_t data[100];
    fill(data, sizeof data);
    fill(big, sizeof big);
    CHECK_EQ_INT(storage_client_put_tensor(c, data, sizeof data, NULL, known_root), 0);
    Opml__StorageStatsReply *st;
    CHECK_EQ_INT(storage_client_stats(c, &st), 0);
    uint64_t errors_before = st->errors;
    protobuf_c_message_free_unpacked(&st->base, NULL);

    /* The raw stream signs with its own identity: one sender's envelopes must reach a server in
     * order, and this stream and the client `c` travel on different sockets. */
    identity hid;
    signer hs;
    CHECK(identity_generate(&hid) == 0);
    signer_init(&hs, &hid);
    char err[256];
    void *sock = net_connect(p.cl.net, ZMQ_DEALER, p.peer, err, sizeof err);
    CHECK(sock != NULL);
    if (!sock) return check_summary("test_storage_hostile");
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &zero, sizeof zero);
    uint8_t *last_signed = NULL;
    size_t last_len = 0;
    int expected_replies = 0, bad_sent = 0;
    long rss_warm = 0;
    for (int i = 1; i <= MESSAGES; i++) {
        int kind = i % KINDS;
        sent[i].kind = kind;
        uint8_t junk[1500], *env = NULL;
        size_t len = 0;
        struct iovec fr[12];
        int nfr = 1;
        switch (kind) {
        case 0: /* random bytes */
            len = rnd() % sizeof junk;
            fill(junk, len);
            fr[0] = (struct iovec){junk, len};
            break;
        case 1: case 2: { /* a valid request, truncated or with one bit flipped */
            Opml__StorageStats req = OPML__STORAGE_STATS__INIT;
            CHECK(envelope_seal_msg(&hs, &req.base, i, &env, &len) == 0);
            if (kind == 1) len = rnd() % len;
            else env[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
            fr[0] = (struct iovec){env, len};
            break;
        }
        case 3: /* too many frames, or a few random ones */
            nfr = 2 + (int)(rnd() % 11);
            for (int f = 0; f < nfr; f++) fr[f] = (struct iovec){junk, rnd() % 64};
            fill(junk, 64);
            break;
        case 4: { /* random payload under a storage type: answered (most do not parse) */
            len = rnd() % 200;
            fill(junk, len);
            CHECK(envelope_seal(&hs, storage_types[rnd() % 8]->name, junk, len, i, &env, &len) == 0);
            fr[0] = (struct iovec){env, len};
            expected_replies++;
            break;
        }
        case 5: { /* well-formed, breaks a precondition */
            const ProtobufCMessage *m = bad_case(bad_sent++ % BAD_CASES, &sent[i].code);
            CHECK(envelope_seal_msg(&hs, m, i, &env, &len) == 0);
            fr[0] = (struct iovec){env, len};
            expected_replies++;
            break;
        }
        case 6: /* a type nobody serves */
            CHECK(envelope_seal(&hs, "opml.StorageDropTables", "x", 1, i, &env, &len) == 0);
            fr[0] = (struct iovec){env, len};
            expected_replies++;
            break;
        default: /* a replay of the last signed envelope */
            if (!last_signed) continue;
            fr[0] = (struct iovec){last_signed, last_len};
            break;
        }
        send_frames(&p, sock, fr, nfr);
        if (kind == 5 || kind == 6) {
            free(last_signed);
            last_signed = env, last_len = len;
            env = NULL;
        }
        free(env);
        drain(sock, 0);
        if (i == 2000) { /* memory after a warm-up, once everything sent so far is served */
            CHECK_EQ_INT(storage_client_stats(c, &st), 0);
            protobuf_c_message_free_unpacked(&st->base, NULL);
            rss_warm = harness_rss_kib(p.pid);
        }
    }
    free(last_signed);
    tcp_garbage(p.peer);
    /* the server is behind by thousands of messages: wait for every answer owed (at most 60 s),
     * then 1 s more for answers not owed */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        drain(sock, 100);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (owed_answered < expected_replies && t.tv_sec - t0.tv_sec < 60);
    drain(sock, 1000);
    int answered = 0, twice = 0, silent_answered = 0;
    for (int i = 1; i <= MESSAGES; i++) {
        int k = sent[i].kind;
        if (k == 4 || k == 5 || k == 6) answered += sent[i].replies == 1;
        else silent_answered += sent[i].replies;
        twice += sent[i].replies > 1;
    }
    printf("%d requests that deserve an answer, %d answered once, %d answered twice; %d answers to "
           "messages that deserve none\n", expected_replies, answered, twice, silent_answered);
    CHECK_EQ_INT(answered, expected_replies);
    CHECK_EQ_INT(twice, 0);
    CHECK_EQ_INT(silent_answered, 0);

    /* still up, still correct, memory flat */
    CHECK(proc_alive(&p));
    CHECK_EQ_INT(storage_client_stats(c, &st), 0);
    /* every bad request was counted (random payloads that happen to parse may add refusals or even
     * a tensor: the per-call codes above are the exact check) */
    CHECK(st->errors - errors_before >= (uint64_t)bad_sent);
    CHECK(st->tensors >= 1);
    protobuf_c_message_free_unpacked(&st->base, NULL);
    uint8_t *back;
    size_t blen;
    CHECK_EQ_INT(storage_client_get_tensor(c, known_root, &back, &blen), 0);
    CHECK(blen == sizeof data && !memcmp(back, data, blen));
    free(back);
    int found;
    uint8_t *v;
    size_t vlen;
    CHECK_EQ_INT(storage_client_kv_get(c, "hostile", 7, &found, &v, &vlen), 0);
    CHECK_EQ_INT(found, 0); /* the refused batch left nothing */
    long rss_end = harness_rss_kib(p.pid);
    printf("server memory: %ld KiB after 2000 messages, %ld KiB after %d\n", rss_warm, rss_end, MESSAGES);
    CHECK(rss_warm > 0 && rss_end > 0 && rss_end - rss_warm < 8 * 1024);

    /* a key that is not allow-listed gets nothing through, and the refusal is logged */
    identity stranger;
    CHECK(identity_generate(&stranger) == 0);
    net *sn = net_new(&stranger, NULL, err, sizeof err);
    signer ss;
    signer_init(&ss, &stranger);
    storage_client *sc = sn ? storage_client_new(sn, &ss, p.peer, 1000, 0, err, sizeof err) : NULL;
    CHECK(sc != NULL);
    if (sc) CHECK_EQ_INT(storage_client_stats(sc, &st), OPML_E_TIMEOUT);
    storage_client_free(sc);
    net_free(sn);
    CHECK(harness_log_has(&p.h, "storage.log", "not in the allow-list"));
    CHECK(proc_alive(&p));

    net_close(sock);
    storage_client_free(c);
    if (check_failures) proc_dump_log(&p);
    proc_teardown(&p);
    return check_summary("test_storage_hostile");
}
