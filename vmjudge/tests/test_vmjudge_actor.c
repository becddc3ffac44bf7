/* test_vmjudge_actor.c: the vmjudge actor as a real process beside a real storage actor: the node
 * bytes go into storage, and over ZeroMQ the actor answers the final state (output root equal to
 * the host kernels'), state hashes at many steps (equal to fresh local runs), step proofs (which
 * verify locally and through the actor), and refuses bad requests with clear errors.
 *   test_vmjudge_actor OPML_STORAGE OPML_VMJUDGE */
#include "harness.h"
#include "check.h"
#include "client.h"
#include "kernel.h"
#include "keccak.h"
#include "merkle.h"
#include "vm_guest.h"
#include "vm_node.h"
#include "vm_proof.h"
#include "vmjudge.pb-c.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static uint8_t desc[KD_BYTES];
static float input[9 * 11];
static uint8_t desc_root[32], input_root[32];
static uint8_t op_roots[VM_NODE_OPERANDS][32];
static ProtobufCBinaryData op_bins[VM_NODE_OPERANDS];

static void fill_run(Opml__VmNodeRun *r, uint64_t max_steps) {
    opml__vm_node_run__init(r);
    r->guest_root.data = (uint8_t *)vm_guest_root, r->guest_root.len = 32;
    r->desc_root.data = desc_root, r->desc_root.len = 32;
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) op_bins[j].data = op_roots[j], op_bins[j].len = 32;
    r->n_operand_roots = VM_NODE_OPERANDS;
    r->operand_roots = op_bins;
    r->max_steps = max_steps;
}

static void local_hash(uint64_t step, uint8_t out[32]) {
    const void *in[VM_NODE_OPERANDS] = {input};
    size_t len[VM_NODE_OPERANDS] = {sizeof input};
    vm v;
    vm_init(&v);
    vm_node_load(&v, desc, sizeof desc, in, len);
    vm_run(&v, step);
    vm_state_hash(&v, out);
    vm_free(&v);
}

static int call(rpc *r, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d, ProtobufCMessage **rep,
                char *err, size_t errlen) {
    return rpc_call_max(r, req, d, ENVELOPE_MAX_BYTES, rep, 20000, 0, err, errlen);
}

static void test_stop_while_recording(harness *h, client *c, const char *bin, const char *speer, char *vkey,
                                      const char *vcurve) {
    kd_desc d;
    memset(&d, 0, sizeof d);
    d.op = OP_QCONV;
    d.noperands = 3;
    kd_tensor x = {KD_F32, 4, {1, 64, 56, 56, 0, 0}}, w = {KD_I8, 4, {64, 64, 3, 3, 0, 0}};
    kd_tensor s = {KD_F32, 1, {64, 0, 0, 0, 0, 0}}, y = {KD_F32, 4, {1, 64, 56, 56, 0, 0}};
    d.in[0] = x, d.in[1] = w, d.in[2] = s, d.out = y;
    int32_t ia[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    memcpy(d.ia, ia, sizeof ia);
    static uint8_t bdesc[KD_BYTES];
    kd_encode(&d, bdesc);
    size_t xl = (size_t)kd_nbytes(&x), wl = (size_t)kd_nbytes(&w), sl = (size_t)kd_nbytes(&s);
    uint8_t *xb = malloc(xl), *wb = malloc(wl), *sb = malloc(sl);
    for (size_t i = 0; i < xl / 4; i++) ((float *)xb)[i] = (float)(i % 13) * 0.1f;
    for (size_t i = 0; i < wl; i++) wb[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sl / 4; i++) ((float *)sb)[i] = 0.01f;
    char err[512];
    storage_client *st = storage_client_new(c->net, &c->sg, speer, 5000, 2, err, sizeof err);
    uint8_t droot[32], root[32];
    merkle_tensor_root(bdesc, sizeof bdesc, droot);
    CHECK_EQ_INT(storage_client_put_tensor(st, bdesc, sizeof bdesc, NULL, root), 0);
    CHECK_EQ_INT(storage_client_put_tensor(st, xb, xl, NULL, op_roots[0]), 0);
    CHECK_EQ_INT(storage_client_put_tensor(st, wb, wl, NULL, op_roots[1]), 0);
    CHECK_EQ_INT(storage_client_put_tensor(st, sb, sl, NULL, op_roots[2]), 0);
    storage_client_free(st);
    free(xb), free(wb), free(sb);
    int port = harness_port();
    char listen[64], peer[160];
    snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", port);
    snprintf(peer, sizeof peer, "%s@%s", vcurve, listen);
    char *argv[] = {(char *)bin, "--key_file", vkey, "--allow_file", h->allow, "--listen", listen, "--storage",
                    (char *)speer, NULL};
    pid_t pid = harness_spawn(h, "vmjudge2.log", argv);
    CHECK_EQ_INT(client_wait_up(c, peer, 10000), 0);
    rpc *r = rpc_connect(c->net, &c->sg, peer, 0, err, sizeof err);
    Opml__VmNodeRun run;
    fill_run(&run, 0);
    run.desc_root.data = droot;
    Opml__VmFinalState fin = OPML__VM_FINAL_STATE__INIT;
    fin.run = &run;
    ProtobufCMessage *rep = NULL;
    /* the reply cannot come in 500 ms: the run takes seconds */
    CHECK_EQ_INT(rpc_call(r, &fin.base, &opml__vm_final_state_reply__descriptor, &rep, 500, 0, err, sizeof err),
                 OPML_E_TIMEOUT);
    rpc_close(r);
    int stopped = harness_stop(pid, SIGTERM, 2000); /* the run alone would take seconds */
    CHECK_EQ_INT(stopped, 0);
    if (stopped != 0) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "cat %s/vmjudge2.log >&2", h->dir);
        if (system(cmd) != 0) fprintf(stderr, "no log\n");
    }
    CHECK(harness_log_has(h, "vmjudge2.log", "gave up recording a node run"));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_vmjudge_actor OPML_STORAGE OPML_VMJUDGE\n");
        return 2;
    }
    /* the node: Sigmoid of a 9x11 tensor */
    kd_desc d;
    memset(&d, 0, sizeof d);
    d.op = OP_SIGMOID;
    d.noperands = 1;
    d.in[0].dtype = KD_F32, d.in[0].rank = 2, d.in[0].dims[0] = 9, d.in[0].dims[1] = 11;
    d.out = d.in[0];
    kd_encode(&d, desc);
    for (size_t i = 0; i < 99; i++) input[i] = (float)i * 0.21f - 10.0f;
    merkle_tensor_root(desc, sizeof desc, desc_root);
    merkle_tensor_root(input, sizeof input, input_root);
    for (unsigned j = 0; j < VM_NODE_OPERANDS; j++) memcpy(op_roots[j], merkle_zero(MERKLE_SLOT_DEPTH), 32);
    memcpy(op_roots[0], input_root, 32);
    float want_out[99];
    static uint8_t scratch[1 << 16];
    const void *in[KD_MAX_OPERANDS] = {input};
    kernel_run(desc, sizeof desc, in, want_out, scratch, sizeof scratch);
    uint8_t want_root[32];
    merkle_tensor_root(want_out, sizeof want_out, want_root);

    harness h;
    CHECK_EQ_INT(harness_init(&h), 0);
    char skey[256], vkey[256], ckey[256], scurve[65], vcurve[65], ccurve[65];
    harness_key(&h, "storage", 1, skey, NULL, scurve);
    harness_key(&h, "vmjudge", 1, vkey, NULL, vcurve);
    harness_key(&h, "client", 1, ckey, NULL, ccurve);
    char v2key[256], v2curve[65]; /* a second vmjudge, started later: the allow-list is read at start */
    harness_key(&h, "vmjudge2", 1, v2key, NULL, v2curve);
    int sport = harness_port(), vport = harness_port();
    char slisten[64], vlisten[64], speer[160], vpeer[160], db[128];
    snprintf(slisten, sizeof slisten, "tcp://127.0.0.1:%d", sport);
    snprintf(vlisten, sizeof vlisten, "tcp://127.0.0.1:%d", vport);
    snprintf(speer, sizeof speer, "%s@%s", scurve, slisten);
    snprintf(vpeer, sizeof vpeer, "%s@%s", vcurve, vlisten);
    snprintf(db, sizeof db, "%s/db", h.dir);
    char *sargv[] = {argv[1], "--key_file", skey, "--allow_file", h.allow, "--listen", slisten, "--db", db, NULL};
    char *vargv[] = {argv[2], "--key_file", vkey, "--allow_file", h.allow, "--listen", vlisten, "--storage", speer,
                     "--checkpoint_steps", "5000", "--cache_runs", "2", NULL};
    pid_t sp = harness_spawn(&h, "storage.log", sargv);
    pid_t vp = harness_spawn(&h, "vmjudge.log", vargv);
    client c;
    CHECK_EQ_INT(client_init(&c, ckey), 0);
    CHECK_EQ_INT(client_wait_up(&c, speer, 10000), 0);
    CHECK_EQ_INT(client_wait_up(&c, vpeer, 10000), 0);

    char err[512];
    storage_client *st = storage_client_new(c.net, &c.sg, speer, 5000, 2, err, sizeof err);
    CHECK(st != NULL);
    uint8_t root[32];
    CHECK_EQ_INT(storage_client_put_tensor(st, desc, sizeof desc, desc_root, root), 0);
    CHECK_EQ_INT(storage_client_put_tensor(st, input, sizeof input, input_root, root), 0);
    storage_client_free(st);
    rpc *r = rpc_connect(c.net, &c.sg, vpeer, 0, err, sizeof err);
    CHECK(r != NULL);
    ProtobufCMessage *rep;

    /* the final state */
    Opml__VmNodeRun run;
    fill_run(&run, 0);
    Opml__VmFinalState fin = OPML__VM_FINAL_STATE__INIT;
    fin.run = &run;
    CHECK_EQ_INT(call(r, &fin.base, &opml__vm_final_state_reply__descriptor, &rep, err, sizeof err), 0);
    uint64_t steps = 0;
    if (rep) {
        Opml__VmFinalStateReply *f = (Opml__VmFinalStateReply *)rep;
        CHECK_EQ_INT(f->status, VM_EXITED);
        CHECK_EQ_INT(f->exit_code, 0);
        CHECK_EQ_INT(f->output_root.len, 32);
        CHECK_MEM(f->output_root.data, want_root, 32);
        uint8_t init_state[VM_STATE_BYTES], init_hash[32];
        vm_node_initial_state(vm_guest_root, desc_root, op_roots, init_state);
        keccak256(init_state, sizeof init_state, init_hash);
        CHECK_MEM(f->initial_state_hash.data, init_hash, 32);
        steps = f->steps;
        /* the output root sits at slot 15 of the final memory root */
        CHECK_EQ_INT(f->n_output_slot_path, 4);
        if (f->n_output_slot_path == 4 && f->state.len == VM_STATE_BYTES) {
            uint8_t sib[4][32], root[32];
            for (int k = 0; k < 4; k++) memcpy(sib[k], f->output_slot_path[k].data, 32);
            merkle_root_from_path(f->output_root.data, 15, 4, (const uint8_t (*)[32])sib, root);
            CHECK_MEM(root, f->state.data, 32);
        }
        uint8_t local[32];
        local_hash(steps, local);
        CHECK_MEM(f->state_hash.data, local, 32);
        protobuf_c_message_free_unpacked(rep, NULL);
    }
    CHECK(steps > 1000);

    /* 40 state hashes, in no order, some past the end */
    uint64_t qs[40];
    for (int i = 0; i < 40; i++) qs[i] = (uint64_t)(i * 7919) % (steps + 50);
    Opml__VmStateHashes hq = OPML__VM_STATE_HASHES__INIT;
    hq.run = &run;
    hq.n_steps = 40;
    hq.steps = qs;
    CHECK_EQ_INT(call(r, &hq.base, &opml__vm_state_hashes_reply__descriptor, &rep, err, sizeof err), 0);
    if (rep) {
        Opml__VmStateHashesReply *hr = (Opml__VmStateHashesReply *)rep;
        CHECK_EQ_INT(hr->n_hashes, 40);
        CHECK_EQ_INT(hr->final_step, steps);
        CHECK(hr->halted);
        for (size_t i = 0; i < hr->n_hashes && i < 40; i++) {
            uint8_t local[32];
            local_hash(qs[i], local);
            CHECK_MEM(hr->hashes[i].data, local, 32);
        }
        protobuf_c_message_free_unpacked(rep, NULL);
    }

    /* a step proof: verifies locally, and through the actor; tampered, it does not */
    Opml__VmProveStep pq = OPML__VM_PROVE_STEP__INIT;
    pq.run = &run;
    pq.step = steps / 2;
    CHECK_EQ_INT(call(r, &pq.base, &opml__vm_prove_step_reply__descriptor, &rep, err, sizeof err), 0);
    if (rep) {
        Opml__VmProveStepReply *p = (Opml__VmProveStepReply *)rep;
        uint8_t pre[32], post[32];
        local_hash(steps / 2, pre);
        local_hash(steps / 2 + 1, post);
        CHECK(vm_check_step(pre, p->state.data, p->state.len, p->proof.data, p->proof.len, post, NULL));
        Opml__VmVerifyStep vq = OPML__VM_VERIFY_STEP__INIT;
        vq.state = p->state, vq.proof = p->proof;
        vq.pre_state_hash.data = pre, vq.pre_state_hash.len = 32;
        vq.post_state_hash.data = post, vq.post_state_hash.len = 32;
        ProtobufCMessage *vr;
        CHECK_EQ_INT(call(r, &vq.base, &opml__vm_verify_step_reply__descriptor, &vr, err, sizeof err), 0);
        if (vr) {
            CHECK(((Opml__VmVerifyStepReply *)vr)->valid);
            CHECK(((Opml__VmVerifyStepReply *)vr)->accepted);
            protobuf_c_message_free_unpacked(vr, NULL);
        }
        if (p->proof.len) p->proof.data[40] ^= 1; /* a sibling */
        CHECK_EQ_INT(call(r, &vq.base, &opml__vm_verify_step_reply__descriptor, &vr, err, sizeof err), 0);
        if (vr) {
            CHECK(!((Opml__VmVerifyStepReply *)vr)->valid);
            CHECK(strstr(((Opml__VmVerifyStepReply *)vr)->error, "memory proof") != NULL);
            protobuf_c_message_free_unpacked(vr, NULL);
        }
        vq.proof.len = 5; /* the wrong length */
        CHECK_EQ_INT(call(r, &vq.base, &opml__vm_verify_step_reply__descriptor, &vr, err, sizeof err), 0);
        if (vr) {
            CHECK(!((Opml__VmVerifyStepReply *)vr)->valid);
            CHECK(strstr(((Opml__VmVerifyStepReply *)vr)->error, "length") != NULL);
            protobuf_c_message_free_unpacked(vr, NULL);
        }
        protobuf_c_message_free_unpacked(rep, NULL);
    }

    /* a run cut at max_steps is another run */
    Opml__VmNodeRun cut;
    fill_run(&cut, 100);
    fin.run = &cut;
    CHECK_EQ_INT(call(r, &fin.base, &opml__vm_final_state_reply__descriptor, &rep, err, sizeof err), 0);
    if (rep) {
        CHECK_EQ_INT(((Opml__VmFinalStateReply *)rep)->steps, 100);
        CHECK_EQ_INT(((Opml__VmFinalStateReply *)rep)->status, VM_RUNNING);
        protobuf_c_message_free_unpacked(rep, NULL);
    }

    /* bad requests: clear errors, and the actor keeps serving */
    fill_run(&run, 0);
    run.n_operand_roots = 11;
    fin.run = &run;
    CHECK_EQ_INT(call(r, &fin.base, &opml__vm_final_state_reply__descriptor, &rep, err, sizeof err), OPML_E_BAD_REQUEST);
    CHECK(strstr(err, "12 operand_roots") != NULL);
    fill_run(&run, 0);
    uint8_t unknown[32] = {1, 2, 3};
    run.desc_root.data = unknown;
    CHECK_EQ_INT(call(r, &fin.base, &opml__vm_final_state_reply__descriptor, &rep, err, sizeof err), OPML_E_NOT_FOUND);
    CHECK(strstr(err, "descriptor") != NULL);
    fill_run(&run, 0);
    run.guest_root.data = unknown;
    CHECK_EQ_INT(call(r, &fin.base, &opml__vm_final_state_reply__descriptor, &rep, err, sizeof err), OPML_E_BAD_REQUEST);
    CHECK(strstr(err, "guest") != NULL);
    fill_run(&run, 0);
    static uint64_t many[5000];
    hq.run = &run;
    hq.n_steps = 5000;
    hq.steps = many;
    CHECK_EQ_INT(call(r, &hq.base, &opml__vm_state_hashes_reply__descriptor, &rep, err, sizeof err), OPML_E_BAD_REQUEST);
    Opml__VmVerifyStep vq = OPML__VM_VERIFY_STEP__INIT;
    vq.pre_state_hash.data = unknown, vq.pre_state_hash.len = 3;
    CHECK_EQ_INT(call(r, &vq.base, &opml__vm_verify_step_reply__descriptor, &rep, err, sizeof err), OPML_E_BAD_REQUEST);
    CHECK_EQ_INT(client_health(&c, vpeer, 5000), 0);
    CHECK(client_stat(&c, vpeer, "runs_recorded") == 2);

    rpc_close(r);
    CHECK_EQ_INT(harness_stop(vp, SIGTERM, 5000), 0);

    /* SIGTERM while a long run (billions of steps) is being recorded: the actor stops promptly */
    test_stop_while_recording(&h, &c, argv[2], speer, v2key, v2curve);
    CHECK_EQ_INT(harness_stop(sp, SIGTERM, 5000), 0);
    client_done(&c);
    if (check_failures) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "tail -20 %s/vmjudge.log", h.dir);
        if (system(cmd) != 0) fprintf(stderr, "no log\n");
    }
    harness_done(&h);
    return check_summary("test_vmjudge_actor");
}
