/* test_vmjudge_stop.c: SIGTERM reaches a vmjudge whose storage actor is down while a request is
 * fetching a node's bytes from it. The storage calls would wait out their time-outs and retries
 * (about 15 s); the actor must instead exit with status 0 within a few seconds and answer the
 * request in progress with OPML_E_UNAVAILABLE "shutting down", never with anything about the roots.
 *   test_vmjudge_stop OPML_VMJUDGE */
#include "harness.h"
#include "check.h"
#include "merkle.h"
#include "vm_guest.h"
#include "vm_node.h"
#include "vmjudge.pb-c.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The request, sent from its own thread so that the main thread can stop the actor meanwhile. */
typedef struct request {
    client *c;
    const char *peer;
    int rc;
    char err[512];
} request;

static void *ask_final_state(void *arg) {
    request *q = arg;
    uint8_t desc_root[32] = {7}, ops[VM_NODE_OPERANDS][32];
    ProtobufCBinaryData bins[VM_NODE_OPERANDS];
    for (unsigned k = 0; k < VM_NODE_OPERANDS; k++) {
        memcpy(ops[k], merkle_zero(MERKLE_SLOT_DEPTH), 32);
        bins[k].data = ops[k], bins[k].len = 32;
    }
    Opml__VmNodeRun run = OPML__VM_NODE_RUN__INIT;
    run.guest_root.data = (uint8_t *)vm_guest_root, run.guest_root.len = 32;
    run.desc_root.data = desc_root, run.desc_root.len = 32;
    run.n_operand_roots = VM_NODE_OPERANDS;
    run.operand_roots = bins;
    Opml__VmFinalState fin = OPML__VM_FINAL_STATE__INIT;
    fin.run = &run;
    q->rc = -1;
    rpc *r = rpc_connect(q->c->net, &q->c->sg, q->peer, 0, q->err, sizeof q->err);
    if (!r) return NULL;
    ProtobufCMessage *rep = NULL;
    q->rc = rpc_call(r, &fin.base, &opml__vm_final_state_reply__descriptor, &rep, 10000, 0, q->err, sizeof q->err);
    if (rep) protobuf_c_message_free_unpacked(rep, NULL);
    rpc_close(r);
    return NULL;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_vmjudge_stop OPML_VMJUDGE\n");
        return 2;
    }
    harness h;
    CHECK_EQ_INT(harness_init(&h), 0);
    char skey[256], vkey[256], ckey[256], scurve[65], vcurve[65], ccurve[65];
    harness_key(&h, "storage", 1, skey, NULL, scurve); /* a storage actor that never starts */
    harness_key(&h, "vmjudge", 1, vkey, NULL, vcurve);
    harness_key(&h, "client", 1, ckey, NULL, ccurve);
    char slisten[64], vlisten[64], speer[160], vpeer[160];
    snprintf(slisten, sizeof slisten, "tcp://127.0.0.1:%d", harness_port());
    snprintf(vlisten, sizeof vlisten, "tcp://127.0.0.1:%d", harness_port());
    snprintf(speer, sizeof speer, "%s@%s", scurve, slisten);
    snprintf(vpeer, sizeof vpeer, "%s@%s", vcurve, vlisten);
    char *vargv[] = {argv[1], "--key_file", vkey, "--allow_file", h.allow, "--listen", vlisten, "--storage", speer,
                     "--log_level", "debug", NULL};
    pid_t vp = harness_spawn(&h, "vmjudge.log", vargv);
    client c;
    CHECK_EQ_INT(client_init(&c, ckey), 0);
    CHECK_EQ_INT(client_wait_up(&c, vpeer, 10000), 0);

    request q = {&c, vpeer, 0, ""};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, ask_final_state, &q), 0);
    /* wait until the actor is fetching (the storage calls then wait on nobody) */
    int fetching = 0;
    for (int waited = 0; waited < 10000 && !fetching; waited += 20) {
        fetching = harness_log_has(&h, "vmjudge.log", "fetching its bytes from storage");
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    CHECK(fetching);
    uint64_t t0 = now_ms();
    int status = harness_stop(vp, SIGTERM, 3000); /* without giving up, the fetch alone takes ~15 s */
    uint64_t took = now_ms() - t0;
    CHECK_EQ_INT(status, 0);
    CHECK(took < 3000);
    pthread_join(t, NULL);
    /* the request in progress was answered, with an error that says nothing of its roots */
    CHECK_EQ_INT(q.rc, OPML_E_UNAVAILABLE);
    CHECK(strstr(q.err, "shutting down") != NULL);
    CHECK(harness_log_has(&h, "vmjudge.log", "gave up fetching a node run's bytes: shutting down"));
    fprintf(stderr, "vmjudge stopped %llu ms after SIGTERM while fetching from a storage actor that is down\n",
            (unsigned long long)took);
    if (check_failures) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "cat %s/vmjudge.log >&2", h.dir);
        if (system(cmd) != 0) fprintf(stderr, "no log\n");
    }
    client_done(&c);
    harness_done(&h);
    return check_summary("test_vmjudge_stop");
}
