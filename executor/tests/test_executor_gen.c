/* test_executor_gen.c: test_executor's mode `gen`, generation tasks and the happy path on real
 * processes: opml-bus, opml-storage, two opml-executors (blas with the converted shared tiny
 * LLaMA from its file, ref loading it from storage) and an opml-vmjudge:
 *   - ExecutorInfer on fashion_mlp: ExecutorRun's output, and nothing recorded;
 *   - ExecutorGenerate through the bus and on the ref executor: the ids of the engine here
 *     (opml_llama_generate), sampled; the stop token ends it;
 *   - refusals: an id outside the vocabulary (or negative), a prompt too long, no new tokens, a bad
 *     sampler, a classifier's root, ids not a multiple of 4 bytes, a step past the ids, no prompt,
 *     no steps asked, a root of 31 bytes: each a clear error;
 *   - ExecutorGenStates: G_t, tokensRoot_t and kvRoot_t of the engine here;
 *   - ExecutorGenStep at step 0, a prompt step and the last generated step (the caches stored as
 *     their rows written, the rest zero-extended by whoever fetches them): State_0, State_n, the token,
 *     the kv roots as the engine here computes them, the kv roots those of GenStates at t and
 *     t + 1; ExecutorGetStates on either executor serves the recorded step; nodes of every kind
 *     of the step (the 6-operand Attention over the Q8_0 caches of step t, KVAppend, Sample, Embedding, Rope,
 *     Q8Linear) run by the vmjudge from their roots alone (operands fetched from storage): each
 *     output root the executor's; inside the Attention and Sample nodes a VM step in the middle of
 *     the run proved (VmProveStep) and accepted as the contract would (VmVerifyStep). */
#include "check.h"
#include "executor.pb-c.h"
#include "executor_cluster.h"
#include "llama.h"
#include "merkle.h"
#include "model_file.h"
#include "vm_guest.h"
#include "vmjudge.pb-c.h"

#include <signal.h>
#include <stdlib.h>

static ProtobufCBinaryData bin(const void *p, size_t n) { return (ProtobufCBinaryData){n, (uint8_t *)p}; }

/* ExecutorInfer gives ExecutorRun's output, records nothing */
static void infer(struct cluster *cl, rpc *bus) {
    char model[256], err[512];
    snprintf(model, sizeof model, "%s/mlp.opml", cl->h.dir);
    convert(cl, "fashion_mlp.onnx", model);
    opml_model m;
    CHECK_EQ_INT(opml_model_load(model, &m, err, sizeof err), 0);
    float x[784];
    for (int i = 0; i < 784; i++) x[i] = (float)(i % 17) / 16.0f;
    ProtobufCBinaryData in = bin(x, sizeof x);
    Opml__ExecutorInfer q = OPML__EXECUTOR_INFER__INIT;
    q.model_root = bin(m.root, 32), q.inputs = &in, q.n_inputs = 1;
    Opml__ExecutorInferReply *a = NULL;
    storage_client *st = storage_client_new(cl->c.net, &cl->c.sg, cl->storage, 10000, 1, err, sizeof err);
    CHECK(st && model_file_publish(st, &m, NULL, err, sizeof err) == 0); /* any executor loads it from storage */
    CHECK_EQ_INT(call(bus, &q.base, &opml__executor_infer_reply__descriptor, (ProtobufCMessage **)&a, err, sizeof err), 0);
    Opml__ExecutorRun r = OPML__EXECUTOR_RUN__INIT;
    r.model_root = bin(m.root, 32), r.inputs = &in, r.n_inputs = 1;
    Opml__ExecutorRunReply *b = NULL;
    CHECK_EQ_INT(call(bus, &r.base, &opml__executor_run_reply__descriptor, (ProtobufCMessage **)&b, err, sizeof err), 0);
    if (a && b) CHECK(a->output.len == b->output.len && !memcmp(a->output.data, b->output.data, a->output.len));
    if (b) protobuf_c_message_free_unpacked(&b->base, NULL);
    if (a) protobuf_c_message_free_unpacked(&a->base, NULL);
    storage_client_free(st);
    opml_model_free(&m);
}

static void ids_bytes(const int32_t *ids, uint32_t n, uint8_t *out) { opml_gen_ids_bytes((const uint32_t *)ids, n, out); }

static Opml__ExecutorGenerateReply *generate(rpc *r, const uint8_t root[32], const int32_t *prompt, uint32_t np,
                                             uint32_t max_new, uint32_t stop, Opml__GenSampler *sp, char *err) {
    uint8_t pb[64];
    ids_bytes(prompt, np, pb);
    Opml__ExecutorGenerate q = OPML__EXECUTOR_GENERATE__INIT;
    q.model_root = bin(root, 32), q.prompt = bin(pb, 4 * (size_t)np), q.max_new = max_new, q.stop_token = stop;
    q.sampler = sp;
    Opml__ExecutorGenerateReply *a = NULL;
    if (call(r, &q.base, &opml__executor_generate_reply__descriptor, (ProtobufCMessage **)&a, err, 512)) return NULL;
    return a;
}

static void refusals(rpc *bus, const uint8_t root[32], const uint8_t mlp_root[32], Opml__GenSampler *sp) {
    const ProtobufCMessageDescriptor *gd = &opml__executor_generate_reply__descriptor;
    uint8_t pb[8];
    int32_t bad[2] = {5, 1000};
    ids_bytes(bad, 2, pb);
    Opml__ExecutorGenerate q = OPML__EXECUTOR_GENERATE__INIT;
    q.model_root = bin(root, 32), q.prompt = bin(pb, 8), q.max_new = 4, q.stop_token = OPML_GEN_NO_STOP, q.sampler = sp;
    expect_error(bus, &q.base, gd, OPML_E_BAD_REQUEST, "id 1 is 1000, the vocabulary has 1000");
    q.prompt.len = 4, q.max_new = 256;
    expect_error(bus, &q.base, gd, OPML_E_BAD_REQUEST, "TooLong");
    q.max_new = 0;
    expect_error(bus, &q.base, gd, OPML_E_BAD_REQUEST, "NoNewTokens");
    Opml__GenSampler inf = *sp;
    inf.temperature = 0x7F800000u;
    q.max_new = 2, q.sampler = &inf;
    expect_error(bus, &q.base, gd, OPML_E_BAD_REQUEST, "BadSampler");
    q.sampler = sp, q.prompt.len = 5;
    expect_error(bus, &q.base, gd, OPML_E_BAD_REQUEST, "multiple of 4 bytes");
    q.prompt.len = 4, q.model_root = bin(mlp_root, 32);
    expect_error(bus, &q.base, gd, OPML_E_BAD_REQUEST, "not a LLaMA model");
    Opml__ExecutorGenStep s = OPML__EXECUTOR_GEN_STEP__INIT;
    s.model_root = bin(root, 32), s.tokens = bin(pb, 4), s.step = 1, s.prompt_len = 1, s.sampler = sp;
    expect_error(bus, &s.base, &opml__executor_gen_step_reply__descriptor, OPML_E_BAD_REQUEST, "step 1 of 1 ids");
    s.step = 0, s.prompt_len = 0;
    expect_error(bus, &s.base, &opml__executor_gen_step_reply__descriptor, OPML_E_BAD_REQUEST, "(prompt of 0)");
    uint32_t far = 9;
    Opml__ExecutorGenStates g = OPML__EXECUTOR_GEN_STATES__INIT;
    g.model_root = bin(root, 32), g.tokens = bin(pb, 4), g.steps = &far, g.n_steps = 1;
    const ProtobufCMessageDescriptor *sd = &opml__executor_gen_states_reply__descriptor;
    expect_error(bus, &g.base, sd, OPML_E_BAD_REQUEST, "past the 1 ids");
    g.n_steps = 0;
    expect_error(bus, &g.base, sd, OPML_E_BAD_REQUEST, "0 steps asked: 1 to 4096");
    uint8_t neg[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    far = 0, g.n_steps = 1, g.tokens = bin(neg, 4);
    expect_error(bus, &g.base, sd, OPML_E_BAD_REQUEST, "tokens: id 0 is -1");
    g.model_root.len = 31;
    expect_error(bus, &g.base, sd, OPML_E_BAD_REQUEST, "model_root must be 32 bytes, got 31");
}

/* phase 2 inside a node of the step: the state hashes at s and s + 1, the proof of step s, which
 * the vmjudge accepts as the contract would (pre and post hashes those of the run) */
static void prove_middle(rpc *vj, Opml__VmNodeRun *run, uint64_t s) {
    char err[512];
    uint64_t at[2] = {s, s + 1};
    Opml__VmStateHashes hq = OPML__VM_STATE_HASHES__INIT;
    hq.run = run, hq.steps = at, hq.n_steps = 2;
    Opml__VmStateHashesReply *h = NULL;
    CHECK_EQ_INT(call(vj, &hq.base, &opml__vm_state_hashes_reply__descriptor, (ProtobufCMessage **)&h, err, sizeof err), 0);
    Opml__VmProveStep pq = OPML__VM_PROVE_STEP__INIT;
    pq.run = run, pq.step = s;
    Opml__VmProveStepReply *p = NULL;
    CHECK_EQ_INT(call(vj, &pq.base, &opml__vm_prove_step_reply__descriptor, (ProtobufCMessage **)&p, err, sizeof err), 0);
    if (h && p && h->n_hashes == 2) {
        CHECK(p->post_state_hash.len == 32 && !memcmp(p->post_state_hash.data, h->hashes[1].data, 32));
        Opml__VmVerifyStep vq = OPML__VM_VERIFY_STEP__INIT;
        vq.state = p->state, vq.proof = p->proof, vq.pre_state_hash = h->hashes[0], vq.post_state_hash = h->hashes[1];
        Opml__VmVerifyStepReply *v = NULL;
        CHECK_EQ_INT(call(vj, &vq.base, &opml__vm_verify_step_reply__descriptor, (ProtobufCMessage **)&v, err, sizeof err), 0);
        CHECK(v && v->valid && v->accepted);
        printf("    step %llu proved (%zu bytes of proof), the proof accepted\n", (unsigned long long)s, p->proof.len);
        if (v) protobuf_c_message_free_unpacked(&v->base, NULL);
    } else {
        CHECK(0);
    }
    if (p) protobuf_c_message_free_unpacked(&p->base, NULL);
    if (h) protobuf_c_message_free_unpacked(&h->base, NULL);
}

/* node k of step reply r, run by the vmjudge at vj from roots: its output root is the executor's;
 * with prove, one step in the middle of its run proved too */
static void judge_node(rpc *vj, storage_client *st, const opml_model *m, const Opml__ExecutorGenStepReply *r, uint32_t k,
                       int prove) {
    const opml_node *nd = &m->nodes[k];
    char err[512];
    uint8_t root[32], ops[12][32];
    ProtobufCBinaryData ob[12];
    CHECK_EQ_INT(storage_client_put_tensor(st, nd->desc, KD_BYTES, nd->desc_root, root), 0);
    for (unsigned j = 0; j < 12; j++) {
        memcpy(ops[j], merkle_zero(MERKLE_SLOT_DEPTH), 32);
        if (j < nd->d.noperands && nd->input_mask >> j & 1) {
            uint32_t v = nd->ref[j];
            memcpy(ops[j], v < m->nin ? r->input_roots[v].data : r->node_output_roots[v - m->nin].data, 32);
        } else if (j < nd->d.noperands) {
            const opml_weight *w = &m->weights[nd->ref[j]];
            memcpy(ops[j], w->root, 32);
            CHECK_EQ_INT(storage_client_put_tensor(st, w->data, (size_t)kd_nbytes(&w->t), w->root, root), 0);
        }
        ob[j] = bin(ops[j], 32);
    }
    Opml__VmNodeRun run = OPML__VM_NODE_RUN__INIT;
    run.guest_root = bin(vm_guest_root, 32), run.desc_root = bin(nd->desc_root, 32);
    run.operand_roots = ob, run.n_operand_roots = 12;
    Opml__VmFinalState fs = OPML__VM_FINAL_STATE__INIT;
    fs.run = &run;
    Opml__VmFinalStateReply *f = NULL;
    CHECK_EQ_INT(call(vj, &fs.base, &opml__vm_final_state_reply__descriptor, (ProtobufCMessage **)&f, err, sizeof err), 0);
    if (!f) {
        fprintf(stderr, "node %u: %s\n", k, err);
        return;
    }
    CHECK(f->status == 1 && f->exit_code == 0);
    CHECK(f->output_root.len == 32 && !memcmp(f->output_root.data, r->node_output_roots[k].data, 32));
    printf("  vmjudge node %3u %-9s: %llu VM steps, output root == the executor's\n", k, kernel_op_name(nd->d.op),
           (unsigned long long)f->steps);
    if (prove) prove_middle(vj, &run, f->steps / 2);
    protobuf_c_message_free_unpacked(&f->base, NULL);
}

/* the first node of each kind to judge: Embedding, Rope, Attention, Q8Linear, Sample, KVAppend */
static void judge_step(struct cluster *cl, const opml_model *m, const Opml__ExecutorGenStepReply *r) {
    char err[512], listen[64], peer[200];
    snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", harness_port());
    snprintf(peer, sizeof peer, "%s@%s", cl->client2_curve, listen); /* the second client's key: the vmjudge's */
    char *argv[] = {(char *)vmjudge_bin, "--key_file", cl->client2_key, "--allow_file", cl->h.allow, "--listen", listen,
                    "--storage", cl->storage, NULL};
    pid_t pid = harness_spawn(&cl->h, "vmjudge.log", argv);
    CHECK_EQ_INT(client_wait_up(&cl->c, peer, 10000), 0);
    rpc *vj = rpc_connect(cl->c.net, &cl->c.sg, peer, 0, err, sizeof err);
    storage_client *st = storage_client_new(cl->c.net, &cl->c.sg, cl->storage, 10000, 1, err, sizeof err);
    static const uint16_t kinds[] = {OP_EMBEDDING, OP_ROPE, OP_ATTENTION, OP_Q8LINEAR, OP_SAMPLE, OP_KVAPPEND};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        for (uint32_t k = 0; k < m->n; k++)
            if (m->nodes[k].d.op == kinds[i]) {
                judge_node(vj, st, m, r, k, kinds[i] == OP_SAMPLE || kinds[i] == OP_ATTENTION);
                break;
            }
    storage_client_free(st);
    rpc_close(vj);
    CHECK_EQ_INT(harness_stop(pid, SIGTERM, 10000), 0);
}

/* GenStep at t (through the bus) against the engine here; the recorded run's states from each
 * executor (direct[0 .. NE)) */
static Opml__ExecutorGenStepReply *step_at(rpc *bus, rpc *const *direct, opml_llama_session *here, const opml_model *m, const int32_t *ids,
                                           uint32_t count, uint32_t t, uint32_t P, Opml__GenSampler *sp,
                                           const uint8_t (*kv)[32]) {
    char err[512];
    uint8_t tb[4 * 64];
    ids_bytes(ids, count, tb);
    Opml__ExecutorGenStep q = OPML__EXECUTOR_GEN_STEP__INIT;
    q.model_root = bin(m->root, 32), q.tokens = bin(tb, 4 * (size_t)count), q.step = t, q.prompt_len = P, q.sampler = sp;
    Opml__ExecutorGenStepReply *r = NULL;
    CHECK_EQ_INT(call(bus, &q.base, &opml__executor_gen_step_reply__descriptor, (ProtobufCMessage **)&r, err, sizeof err), 0);
    if (!r) return NULL;
    opml_gen_sampler g = {sp->temperature, sp->top_k, sp->top_p, sp->seed};
    const opml_run *run;
    CHECK_EQ_INT(opml_llama_commit_step(here, ids, t, P, &g, &run, err, sizeof err), 0);
    CHECK(!memcmp(r->input_state.data, run->states[0], 32) && !memcmp(r->state_root.data, run->states[m->n], 32));
    CHECK(r->n_input_roots == m->nin && r->n_node_output_roots == m->n);
    CHECK(!memcmp(r->kv_root.data, kv[t], 32) && !memcmp(r->next_kv_root.data, kv[t + 1], 32));
    if (t + 1 >= P) CHECK(r->output.len == 4 && !memcmp(r->output.data, &ids[t + 1], 4));
    uint32_t steps[2] = {0, m->n};
    Opml__ExecutorGetStates gs = OPML__EXECUTOR_GET_STATES__INIT;
    gs.model_root = bin(m->root, 32), gs.input_state = r->input_state, gs.steps = steps, gs.n_steps = 2;
    for (int e = 0; e < NE; e++) { /* whichever executor ran it, each serves the recorded step */
        Opml__ExecutorGetStatesReply *s = NULL;
        CHECK_EQ_INT(call(direct[e], &gs.base, &opml__executor_get_states_reply__descriptor, (ProtobufCMessage **)&s, err,
                          sizeof err), 0);
        if (s) CHECK(s->n_states == 2 && !memcmp(s->states[0].data, run->states[0], 32) &&
                     !memcmp(s->states[1].data, run->states[m->n], 32));
        if (s) protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    return r;
}

int test_gen(void) {
    struct cluster cl;
    char model[256], err[512], mlp[256];
    cluster_start(&cl);
    snprintf(model, sizeof model, "%s/tiny.opml", cl.h.dir);
    convert(&cl, "tinyllama_fortunes-q8_0.gguf", model);
    start_executor(&cl, 0, "blas", model);
    start_executor(&cl, 1, "ref", NULL);
    wait_workers(&cl, 2);
    rpc *bus = rpc_connect(cl.c.net, &cl.c.sg, cl.work, 0, err, sizeof err);
    rpc *direct[NE];
    for (int e = 0; e < NE; e++) direct[e] = rpc_connect(cl.c.net, &cl.c.sg, cl.epeer[e], 0, err, sizeof err);
    rpc *direct1 = direct[1];
    infer(&cl, bus);
    opml_model mm;
    snprintf(mlp, sizeof mlp, "%s/mlp.opml", cl.h.dir);
    CHECK_EQ_INT(opml_model_load(mlp, &mm, err, sizeof err), 0);

    opml_llama *lm;
    opml_llama_session *here;
    CHECK_EQ_INT(opml_llama_open(model, OPML_LLAMA_VERIFY, &lm, err, sizeof err), 0);
    CHECK_EQ_INT(opml_llama_session_new(lm, 0, "blas", 0, &here, err, sizeof err), 0);
    const opml_model *m = opml_llama_model(lm);
    Opml__GenSampler sp = OPML__GEN_SAMPLER__INIT;
    sp.temperature = 0x3F4CCCCDu, sp.top_p = 0x3F733333u, sp.seed = 5; /* 0.8, top-p 0.95 */
    int32_t prompt[4] = {1, 450, 30, 9}, want[24], ids[4 + 24];
    uint32_t M;
    opml_llama_request req = {prompt, 4, 24, OPML_GEN_NO_STOP, {sp.temperature, 0, sp.top_p, sp.seed}};
    CHECK_EQ_INT(opml_llama_generate(here, &req, want, &M, NULL, NULL, err, sizeof err), 0);
    Opml__ExecutorGenerateReply *a = generate(bus, m->root, prompt, 4, 24, OPML_GEN_NO_STOP, &sp, err);
    Opml__ExecutorGenerateReply *b = generate(direct1, m->root, prompt, 4, 24, OPML_GEN_NO_STOP, &sp, err);
    CHECK(a && b && a->output.len == 4 * (size_t)M && b->output.len == a->output.len);
    if (a) CHECK(!memcmp(a->output.data, want, 4 * (size_t)M));
    if (b) CHECK(!memcmp(b->output.data, want, 4 * (size_t)M));
    Opml__ExecutorGenerateReply *c = generate(bus, m->root, prompt, 4, 24, (uint32_t)want[2], &sp, err);
    uint32_t first = 0;
    while (want[first] != want[2]) first++;
    CHECK(c && c->output.len == 4 * ((size_t)first + 1) && !memcmp(c->output.data, want, 4 * ((size_t)first + 1)));
    refusals(bus, m->root, mm.root, &sp);

    /* G_t of prompt ++ output at a few t */
    uint32_t count = 4 + M, T = count - 1, steps[4] = {0, 3, 4, T};
    memcpy(ids, prompt, sizeof prompt), memcpy(ids + 4, want, 4 * (size_t)M);
    uint8_t tb[4 * 28], (*st)[32] = malloc((size_t)count * 32), (*tr)[32] = malloc((size_t)count * 32),
                        (*kv)[32] = malloc((size_t)count * 32);
    ids_bytes(ids, count, tb);
    CHECK_EQ_INT(opml_llama_gen_states(here, ids, count, st, tr, kv, err, sizeof err), 0);
    Opml__ExecutorGenStates gq = OPML__EXECUTOR_GEN_STATES__INIT;
    gq.model_root = bin(m->root, 32), gq.tokens = bin(tb, 4 * (size_t)count), gq.steps = steps, gq.n_steps = 4;
    Opml__ExecutorGenStatesReply *g = NULL;
    CHECK_EQ_INT(call(bus, &gq.base, &opml__executor_gen_states_reply__descriptor, (ProtobufCMessage **)&g, err, sizeof err), 0);
    for (int i = 0; g && i < 4; i++)
        CHECK(!memcmp(g->states[i].data, st[steps[i]], 32) && !memcmp(g->tokens_roots[i].data, tr[steps[i]], 32) &&
              !memcmp(g->kv_roots[i].data, kv[steps[i]], 32));

    /* committed steps: the first (empty caches: nothing stored but their root Z), a prompt step,
     * the last generated one (judged in the VM) */
    Opml__ExecutorGenStepReply *s0 = step_at(bus, direct, here, m, ids, count, 0, 4, &sp, (const uint8_t(*)[32])kv);
    Opml__ExecutorGenStepReply *s1 = step_at(bus, direct, here, m, ids, count, 2, 4, &sp, (const uint8_t(*)[32])kv);
    Opml__ExecutorGenStepReply *s2 = step_at(bus, direct, here, m, ids, count, T - 1, 4, &sp, (const uint8_t(*)[32])kv);
    if (s2) judge_step(&cl, m, s2);
    printf("gen: ExecutorInfer == ExecutorRun's output; a sampled generation of %u tokens on both executors == the "
           "engine here, the stop token; refusals; G_t; steps 0, 2 and %u committed, recorded, judged in the VM\n", M, T - 1);
    if (s0) protobuf_c_message_free_unpacked(&s0->base, NULL);
    if (s1) protobuf_c_message_free_unpacked(&s1->base, NULL);
    if (s2) protobuf_c_message_free_unpacked(&s2->base, NULL);
    if (g) protobuf_c_message_free_unpacked(&g->base, NULL);
    if (a) protobuf_c_message_free_unpacked(&a->base, NULL);
    if (b) protobuf_c_message_free_unpacked(&b->base, NULL);
    if (c) protobuf_c_message_free_unpacked(&c->base, NULL);
    free(st), free(tr), free(kv);
    opml_llama_session_free(here);
    opml_llama_close(lm);
    opml_model_free(&mm);
    rpc_close(bus);
    for (int e = 0; e < NE; e++) rpc_close(direct[e]);
    if (check_failures) setenv("OPML_KEEP_TEST_DIR", "1", 1); /* cluster_stop counts test_executor.c's */
    cluster_stop(&cl);
    printf("test_executor_gen.c: %d checks, %d failed\n", check_count, check_failures);
    return check_failures;
}
