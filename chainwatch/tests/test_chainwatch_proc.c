/* test_chainwatch_proc.c: opml-chainwatch as a real process among real ones (anvil, opml-bus,
 * opml-storage) and a subscriber on the bus:
 *   - the allow-listed bisector's ChainSendTx is answered with the hash, and the receipt follows on
 *     "chain.receipt" and from ChainGetReceipt; an unknown key's request is refused;
 *   - every Probe event arrives on "chain.Probe.Stored", numbered 1, 2, 3...;
 *   - chainwatch stopped (SIGTERM) while the chain moves on, then started again: no event missed,
 *     none repeated; killed (SIGKILL) and started again: none missed, a repeat only with the same
 *     seq and bytes; the node stopped: ChainSendTx refused as unavailable, chainwatch stays up, and
 *     when the node is back the stream goes on; ChainGetEvents serves the stored stream, with the
 *     newest block's timestamp.
 * usage: test_chainwatch_proc CHAINWATCH BUS STORAGE */
#include "anvil.h"
#include "chain.pb-c.h"
#include "check.h"
#include "contract.h"
#include "harness.h"
#include "hex.h"
#include "sender.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static harness h;
static anvil node;
static char *cw_argv[40];
static pid_t cw_pid;
static void *sub;
static char probe_addr[43];

#define MAXEV 64
static struct {
    int count;
    char note[32];
    uint8_t packed[1024];
    size_t plen;
} seen[MAXEV];
static int receipts_ok;
static uint8_t want_receipt[32];

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads the bus for up to ms, recording chain events and receipts. */
static void listen_for(int ms) {
    uint64_t end = now_ms() + (uint64_t)ms;
    while (now_ms() < end) {
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) <= 0) continue;
        zmq_msg_t f[NET_MAX_FRAMES];
        int n;
        if (net_recv(sub, f, NET_MAX_FRAMES, &n, ZMQ_DONTWAIT)) continue;
        envelope e;
        char err[200];
        if (n == 2 && envelope_open(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 0, 0, &e, err, sizeof err) == 0) {
            if (!strcmp(e.type, "opml.ChainEvent")) {
                Opml__ChainEvent *ev = (Opml__ChainEvent *)envelope_payload(&e, &opml__chain_event__descriptor);
                if (ev && ev->seq < MAXEV) {
                    uint8_t buf[1024];
                    size_t len = opml__chain_event__pack(ev, buf);
                    if (seen[ev->seq].count) CHECK(len == seen[ev->seq].plen && !memcmp(buf, seen[ev->seq].packed, len));
                    seen[ev->seq].count++;
                    memcpy(seen[ev->seq].packed, buf, len);
                    seen[ev->seq].plen = len;
                    const char *p = strstr(ev->args_json, "\"note\":\"");
                    if (p) snprintf(seen[ev->seq].note, sizeof seen[ev->seq].note, "%.*s", (int)strcspn(p + 8, "\""), p + 8);
                    CHECK(zmq_msg_size(&f[0]) == strlen("chain.Probe.Stored") &&
                          !memcmp(zmq_msg_data(&f[0]), "chain.Probe.Stored", zmq_msg_size(&f[0])));
                }
                if (ev) protobuf_c_message_free_unpacked(&ev->base, NULL);
            } else if (!strcmp(e.type, "opml.ChainReceipt")) {
                Opml__ChainReceipt *r = (Opml__ChainReceipt *)envelope_payload(&e, &opml__chain_receipt__descriptor);
                if (r && r->id.len == 32 && !memcmp(r->id.data, want_receipt, 32) && r->success) receipts_ok++;
                if (r) protobuf_c_message_free_unpacked(&r->base, NULL);
            }
            envelope_free(&e);
        }
        net_msgs_close(f, n);
    }
}

static int count_upto(uint64_t last) {
    for (int i = 0; i < 600; i++) {
        int all = 1;
        for (uint64_t s = 1; s <= last; s++) all &= seen[s].count > 0;
        if (all) return 1;
        listen_for(50);
    }
    return 0;
}

static void start_chainwatch(void) {
    cw_pid = harness_spawn(&h, "chainwatch.log", cw_argv);
}

/* Stores a note through a sender of its own (anvil's second key), as any other user would. */
static void store_direct(sender *s, const contract *probe, const char *note) {
    char args[200], err[300];
    uint8_t to[20];
    chain_receipt r;
    snprintf(args, sizeof args, "[\"0x%064x\", \"%s\"]", 1, note);
    hex_decode(probe_addr, to, 20);
    CHECK(anvil_tx(s, probe, to, "store", args, 0, 200000, &r, err, sizeof err) == 0);
}


/* Sends req on a raw DEALER socket with a chosen call_id (as a retry would) and returns the reply
 * ChainSendTxReply (NULL on anything else). */
static Opml__ChainSendTxReply *send_with_call_id(client *c, void *dealer, const Opml__ChainSendTx *req, uint64_t call_id) {
    uint8_t *env;
    size_t len;
    if (envelope_seal_msg(&c->sg, &req->base, call_id, &env, &len)) return NULL;
    int sent = zmq_send(dealer, env, len, 0);
    free(env);
    if (sent < 0) return NULL;
    zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 10000) <= 0) return NULL;
    zmq_msg_t f[NET_MAX_FRAMES];
    int n;
    Opml__ChainSendTxReply *r = NULL;
    envelope e;
    char err[200];
    if (net_recv(dealer, f, NET_MAX_FRAMES, &n, 0)) return NULL;
    if (envelope_open(zmq_msg_data(&f[n - 1]), zmq_msg_size(&f[n - 1]), 0, 0, &e, err, sizeof err) == 0) {
        if (e.call_id == call_id) r = (Opml__ChainSendTxReply *)envelope_payload(&e, &opml__chain_send_tx_reply__descriptor);
        envelope_free(&e);
    }
    net_msgs_close(f, n);
    return r;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: test_chainwatch_proc CHAINWATCH BUS STORAGE\n");
        return 2;
    }
    char err[600];
    char state[128];
    if (harness_init(&h)) return 1;
    snprintf(state, sizeof state, "%s/anvil-state.json", h.dir);
    const char *anvil_args[] = {"--state", state, NULL};
    if (anvil_start(&node, 0, anvil_args)) return 1;
    /* chainwatch's identity is anvil's funded first key */
    char cw_key[256], cw_curve[65], bus_key[256], bus_curve[65], st_key[256], st_curve[65], bis_key[256], bis_curve[65],
        in_key[256], in_curve[65];
    snprintf(cw_key, sizeof cw_key, "%s/chainwatch.key", h.dir);
    int fd = open(cw_key, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, ANVIL_KEY0 "\n", strlen(ANVIL_KEY0) + 1) < 0) return 1;
    close(fd);
    identity cw_id, bis_id;
    harness_key(&h, "chainwatch", 1, cw_key, &cw_id, cw_curve);
    harness_key(&h, "bus", 1, bus_key, NULL, bus_curve);
    harness_key(&h, "storage", 1, st_key, NULL, st_curve);
    harness_key(&h, "bisector", 1, bis_key, &bis_id, bis_curve);
    harness_key(&h, "intruder", 1, in_key, NULL, in_curve);

    /* Probe, deployed by another user */
    contract *probe = contract_load(PROBE_ARTIFACT, err, sizeof err);
    ethrpc_client *erpc = ethrpc_open(node.url, NULL);
    identity user;
    uint8_t secret[32];
    hex_decode(ANVIL_KEY1, secret, 32);
    identity_from_secret(&user, secret);
    char journal[300];
    snprintf(journal, sizeof journal, "%s/user-journal.json", h.dir);
    sender_config ucfg = {.journal = journal};
    sender *us = sender_open(erpc, &user, &ucfg, err, sizeof err);
    chain_receipt r;
    CHECK(anvil_tx(us, probe, NULL, NULL, "[1000, \"p\"]", 0, 0, &r, err, sizeof err) == 0);
    hex_encode(r.contract_address, 20, probe_addr);

    int p_in = harness_port(), p_out = harness_port(), p_work = harness_port(), p_workers = harness_port(),
        p_st = harness_port(), p_cw = harness_port();
    char e_in[64], e_out[64], e_work[64], e_workers[64], e_st[64], e_cw[64];
    snprintf(e_in, sizeof e_in, "tcp://127.0.0.1:%d", p_in);
    snprintf(e_out, sizeof e_out, "tcp://127.0.0.1:%d", p_out);
    snprintf(e_work, sizeof e_work, "tcp://127.0.0.1:%d", p_work);
    snprintf(e_workers, sizeof e_workers, "tcp://127.0.0.1:%d", p_workers);
    snprintf(e_st, sizeof e_st, "tcp://127.0.0.1:%d", p_st);
    snprintf(e_cw, sizeof e_cw, "tcp://127.0.0.1:%d", p_cw);
    char pk_in[200], pk_out[200], pk_st[200], pk_cw[200], db[200], watch[300], allow_senders[50], cwj[300];
    snprintf(pk_in, sizeof pk_in, "%s@%s", bus_curve, e_in);
    snprintf(pk_out, sizeof pk_out, "%s@%s", bus_curve, e_out);
    snprintf(pk_st, sizeof pk_st, "%s@%s", st_curve, e_st);
    snprintf(pk_cw, sizeof pk_cw, "%s@%s", cw_curve, e_cw);
    snprintf(db, sizeof db, "%s/db", h.dir);
    snprintf(watch, sizeof watch, "%s@%s", PROBE_ARTIFACT, probe_addr);
    hex_encode(bis_id.address, 20, allow_senders);
    snprintf(cwj, sizeof cwj, "%s/chainwatch-journal.json", h.dir);

    char *bus_argv[] = {argv[2], "--key_file", bus_key, "--allow_file", h.allow, "--events_in", e_in, "--events_out",
                        e_out, "--work", e_work, "--workers", e_workers, NULL};
    char *st_argv[] = {argv[3], "--key_file", st_key, "--allow_file", h.allow, "--listen", e_st, "--db", db, NULL};
    char *cwa[] = {argv[1], "--key_file", cw_key, "--allow_file", h.allow, "--listen", e_cw, "--bus_pub", pk_in,
                   "--storage", pk_st, "--rpc_url", node.url, "--watch", watch, "--confirmations", "0", "--poll_ms", "50",
                   "--start_delay_ms", "1500", "--allow_senders", allow_senders, "--journal", cwj, "--chain_id", "31337",
                   NULL};
    memcpy(cw_argv, cwa, sizeof cwa);
    pid_t bus = harness_spawn(&h, "bus.log", bus_argv);
    pid_t st = harness_spawn(&h, "storage.log", st_argv);
    start_chainwatch();

    client bis, intruder;
    CHECK(client_init(&bis, bis_key) == 0 && client_init(&intruder, in_key) == 0);
    CHECK(client_wait_up(&bis, pk_cw, 10000) == 0);
    sub = net_connect(bis.net, ZMQ_SUB, pk_out, err, sizeof err);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "chain.", 6);
    listen_for(800); /* the subscription travels to the bus and on to chainwatch */

    /* the bisector sends a transaction through chainwatch */
    rpc *call = rpc_connect(bis.net, &bis.sg, pk_cw, 0, err, sizeof err);
    Opml__ChainSendTx tx = OPML__CHAIN_SEND_TX__INIT;
    uint8_t to[20];
    hex_decode(probe_addr, to, 20);
    cJSON *a = cJSON_Parse("[\"0x0000000000000000000000000000000000000000000000000000000000000001\", \"via-bisector\"]");
    uint8_t *data;
    size_t dlen;
    contract_encode_call(contract_function(probe, "store"), a, &data, &dlen, err, sizeof err);
    cJSON_Delete(a);
    tx.to = (ProtobufCBinaryData){20, to};
    tx.data = (ProtobufCBinaryData){dlen, data};
    ProtobufCMessage *rep = NULL;
    int rc = rpc_call(call, &tx.base, &opml__chain_send_tx_reply__descriptor, &rep, 5000, 1, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc) fprintf(stderr, "  ChainSendTx: %s\n", err);
    if (rep) {
        Opml__ChainSendTxReply *sr = (Opml__ChainSendTxReply *)rep;
        CHECK(sr->tx_hash.len == 32);
        memcpy(want_receipt, sr->tx_hash.data, 32);
        protobuf_c_message_free_unpacked(rep, NULL);
    }
    CHECK(count_upto(1));
    for (int i = 0; i < 40 && !receipts_ok; i++) listen_for(50);
    CHECK_EQ_INT(receipts_ok, 1);
    CHECK(!strcmp(seen[1].note, "via-bisector"));
    Opml__ChainGetReceipt gr = OPML__CHAIN_GET_RECEIPT__INIT;
    gr.id = (ProtobufCBinaryData){32, want_receipt};
    CHECK_EQ_INT(rpc_call(call, &gr.base, &opml__chain_receipt__descriptor, &rep, 5000, 1, err, sizeof err), 0);
    if (rep) {
        Opml__ChainReceipt *cr = (Opml__ChainReceipt *)rep;
        CHECK(cr->success && cr->requester.len == 20 && !memcmp(cr->requester.data, bis_id.address, 20));
        protobuf_c_message_free_unpacked(rep, NULL);
        rep = NULL;
    }

    /* a retried request (same call_id, new envelope) gets the same answer, not a second transaction */
    void *dealer = net_connect(bis.net, ZMQ_DEALER, pk_cw, err, sizeof err);
    Opml__ChainSendTxReply *r1 = send_with_call_id(&bis, dealer, &tx, 0xC0FFEE);
    Opml__ChainSendTxReply *r2 = send_with_call_id(&bis, dealer, &tx, 0xC0FFEE);
    Opml__ChainSendTxReply *r3 = send_with_call_id(&bis, dealer, &tx, 0xC0FFEF);
    CHECK(r1 && r2 && r3);
    if (r1 && r2 && r3) {
        CHECK(r1->tx_hash.len == 32 && r2->tx_hash.len == 32 && !memcmp(r1->tx_hash.data, r2->tx_hash.data, 32));
        CHECK(r1->nonce == r2->nonce && r3->nonce == r1->nonce + 1);
    }
    if (r1) protobuf_c_message_free_unpacked(&r1->base, NULL);
    if (r2) protobuf_c_message_free_unpacked(&r2->base, NULL);
    if (r3) protobuf_c_message_free_unpacked(&r3->base, NULL);
    net_close(dealer);
    CHECK(count_upto(3));
    CHECK(!strcmp(seen[2].note, "via-bisector") && !strcmp(seen[3].note, "via-bisector"));

    /* an unknown key may not send */
    rpc *bad = rpc_connect(intruder.net, &intruder.sg, pk_cw, 0, err, sizeof err);
    rc = rpc_call(bad, &tx.base, &opml__chain_send_tx_reply__descriptor, &rep, 5000, 1, err, sizeof err);
    CHECK_EQ_INT(rc, OPML_E_UNAUTHORIZED);
    CHECK(strstr(err, "may not send transactions") != NULL);
    rpc_close(bad);

    /* a clean stop while the chain moves on */
    store_direct(us, probe, "two");
    CHECK(count_upto(4));
    CHECK_EQ_INT(harness_stop(cw_pid, SIGTERM, 10000), 0);
    store_direct(us, probe, "three");
    store_direct(us, probe, "four");
    start_chainwatch();
    store_direct(us, probe, "five");
    CHECK(count_upto(7));
    listen_for(500);
    for (int s = 1; s <= 7; s++) CHECK_EQ_INT(seen[s].count, 1);
    CHECK(!strcmp(seen[5].note, "three") && !strcmp(seen[6].note, "four") && !strcmp(seen[7].note, "five"));

    /* killed outright */
    store_direct(us, probe, "six");
    CHECK(count_upto(8));
    CHECK_EQ_INT(harness_stop(cw_pid, SIGKILL, 5000), 128 + SIGKILL);
    store_direct(us, probe, "seven");
    start_chainwatch();
    CHECK(count_upto(9));
    listen_for(500);
    for (int s = 1; s <= 9; s++) CHECK(seen[s].count >= 1 && seen[s].count <= 2);
    CHECK(!strcmp(seen[9].note, "seven"));
    CHECK_EQ_INT(seen[10].count, 0);

    /* the node stops: requests get a clear refusal, chainwatch stays up; it comes back: the stream
     * goes on where it was */
    int port = node.port;
    anvil_stop(&node);
    rc = rpc_call(call, &tx.base, &opml__chain_send_tx_reply__descriptor, &rep, 20000, 0, err, sizeof err);
    CHECK_EQ_INT(rc, OPML_E_UNAVAILABLE);
    CHECK(strstr(err, "node down") != NULL);
    if (rc != OPML_E_UNAVAILABLE) fprintf(stderr, "  with the node down: %d %s\n", rc, err);
    listen_for(300);
    CHECK_EQ_INT(client_health(&bis, pk_cw, 5000), 0);
    CHECK_EQ_INT(anvil_start(&node, port, anvil_args), 0);
    store_direct(us, probe, "eight");
    CHECK(count_upto(10));
    CHECK(!strcmp(seen[10].note, "eight"));

    /* the stored stream, for a subscriber that was away */
    rpc_close(call);
    call = rpc_connect(bis.net, &bis.sg, pk_cw, 0, err, sizeof err);
    Opml__ChainGetEvents ge = OPML__CHAIN_GET_EVENTS__INIT;
    ge.from_seq = 2;
    CHECK_EQ_INT(rpc_call(call, &ge.base, &opml__chain_get_events_reply__descriptor, &rep, 5000, 1, err, sizeof err), 0);
    if (rep) {
        Opml__ChainGetEventsReply *gr2 = (Opml__ChainGetEventsReply *)rep;
        CHECK(gr2->n_events == 9 && gr2->last_seq == 10);
        /* each event carries its block's timestamp; the reply, the newest block read (not older) */
        const Opml__ChainEvent *last = gr2->n_events == 9 ? gr2->events[8] : NULL;
        CHECK(last && last->block_time && last->block_time == anvil_block_time(&node, last->block_number));
        CHECK(last && gr2->block_time >= last->block_time);
        for (size_t i = 0; i < gr2->n_events; i++) {
            uint8_t buf[1024];
            size_t len = opml__chain_event__pack(gr2->events[i], buf);
            CHECK(len == seen[i + 2].plen && !memcmp(buf, seen[i + 2].packed, len));
        }
        protobuf_c_message_free_unpacked(rep, NULL);
    }
    rpc_close(call);
    CHECK_EQ_INT(harness_stop(cw_pid, SIGTERM, 10000), 0);
    harness_stop(st, SIGTERM, 5000);
    harness_stop(bus, SIGTERM, 5000);
    if (check_failures) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "tail -30 %s/chainwatch.log >&2", h.dir);
        if (system(cmd)) {}
    }
    free(data);
    net_close(sub);
    client_done(&bis);
    client_done(&intruder);
    sender_close(us);
    ethrpc_close(erpc);
    contract_free(probe);
    anvil_stop(&node);
    harness_done(&h);
    return check_summary("test_chainwatch_proc");
}
