/* test_llama_gen.c: generation tasks on a converted LLaMA model (engine/llama.h, llama_gen.c;
 * docs/generation.md), for test_llama's models (the shared tiny model, the synthetic ones of
 * test_llama_gguf.c, one with pads in its kv subtree):
 *   - the file's step graph passes the registry's layout rules (opml_gen_check_layout);
 *   - a sampled generation is the same on ref and blas; the stop token ends it (included); the
 *     request checks refuse what the contracts refuse;
 *   - G_t for every t from the incremental roots equals G_t from scratch (every cache hashed in
 *     full after replaying t tokens, gen-chain's opml_gen_* functions);
 *   - a committed step t: State_0 is the Merkle state over opml_gen_step_inputs (what openStep
 *     builds from G_t), State_n's kv subtree is kvRoot_{t+1}, the sampled leaf is x_{t+1}'s root,
 *     every value root is its bytes' tensor root, the logits those of a plain step. */
#include "check.h"
#include "llama.h"
#include "merkle.h"

#include <stdlib.h>

int llama_gen_cases(opml_llama *m, const char *what); /* returns this file's failed checks */

static opml_llama_session *session(opml_llama *m, const char *backend) {
    char err[300];
    opml_llama_session *s = NULL;
    CHECK_EQ_INT(opml_llama_session_new(m, 0, backend, 0, &s, err, sizeof err), 0);
    return s;
}

static void layout(opml_llama *m) {
    const opml_model *g = opml_llama_model(m);
    opml_gen_facts f;
    opml_llama_gen_facts(m, &f);
    uint32_t *ib = malloc(g->nin * sizeof *ib);
    for (uint32_t i = 0; i < g->nin; i++) ib[i] = (uint32_t)kd_nbytes(&g->inputs[i]);
    char err[300];
    int rc = opml_gen_check_layout(g->nin, g->n, ib, g->output_value, (uint32_t)kd_nbytes(&g->values[g->output_value]), &f,
                                   err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_EQ_INT(rc, 0);
    free(ib);
}

static void refusals(opml_llama *m, const opml_llama_request *ok) {
    char err[300];
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    opml_llama_request q = *ok;
    int32_t bad[2] = {1, (int32_t)hp->vocab};
    CHECK_EQ_INT(opml_llama_check_request(m, &q, err, sizeof err), 0);
    q.prompt = bad, q.prompt_len = 2;
    CHECK(opml_llama_check_request(m, &q, err, sizeof err) == -1 && strstr(err, "BadTokenId"));
    q = *ok, q.max_new = 0;
    CHECK(opml_llama_check_request(m, &q, err, sizeof err) == -1 && strstr(err, "NoNewTokens"));
    q = *ok, q.max_new = hp->ctx;
    CHECK(opml_llama_check_request(m, &q, err, sizeof err) == -1 && strstr(err, "TooLong"));
    q = *ok, q.prompt_len = 0;
    CHECK(opml_llama_check_request(m, &q, err, sizeof err) == -1 && strstr(err, "BadPromptLength"));
    q = *ok, q.stop = hp->vocab;
    CHECK(opml_llama_check_request(m, &q, err, sizeof err) == -1 && strstr(err, "BadStopToken"));
    q = *ok, q.sampler.temperature = 0x7F800000u;
    CHECK(opml_llama_check_request(m, &q, err, sizeof err) == -1 && strstr(err, "BadSampler"));
    q = *ok, q.sampler.top_p = 0;
    CHECK(opml_llama_check_request(m, &q, err, sizeof err) == -1 && strstr(err, "BadSampler"));
}

/* G_t of ids[0..count) from scratch: replay t tokens, hash every cache in full */
static void state_from_scratch(opml_llama_session *s, const int32_t *ids, uint32_t t, uint32_t layers, uint8_t kv[32],
                               uint8_t g[32]) {
    char err[300];
    uint8_t(*roots)[32] = malloc(2 * (size_t)layers * 32), tok[32];
    CHECK_EQ_INT(opml_llama_replay(s, ids, t, err, sizeof err), 0);
    for (uint32_t i = 0; i < 2 * layers; i++) {
        size_t cb;
        const void *c = opml_llama_session_cache(s, i, &cb);
        CHECK_EQ_INT(merkle_tensor_root(c, cb, roots[i]), 0);
    }
    opml_gen_kv_root((const uint8_t(*)[32])roots, layers, kv);
    CHECK_EQ_INT(opml_gen_tokens_root((const uint32_t *)ids, (size_t)t + 1, tok), 0);
    opml_gen_state(tok, kv, g);
    free(roots);
}

/* step t committed: its states against G_t and G_{t+1} (kv roots given), the rest recomputed */
static void committed(opml_llama *m, opml_llama_session *c, opml_llama_session *plain, const int32_t *ids, uint32_t t,
                      uint32_t P, const opml_gen_sampler *sp, uint8_t (*kv)[32]) {
    char err[300];
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    const opml_model *g = opml_llama_model(m);
    uint32_t L = hp->layers, kvn = opml_gen_token_input(L), caches = 2 * L;
    opml_gen_facts f;
    opml_llama_gen_facts(m, &f);
    /* the caches at t from scratch: State_0's leaves as openStep builds them */
    uint8_t(*roots)[32] = malloc(2 * (size_t)L * 32), (*in)[32] = malloc((size_t)g->nin * 32), s0[32], si[20];
    CHECK_EQ_INT(opml_llama_replay(plain, ids, t, err, sizeof err), 0);
    for (uint32_t i = 0; i < caches; i++) {
        size_t cb;
        const void *cc = opml_llama_session_cache(plain, i, &cb);
        merkle_tensor_root(cc, cb, roots[i]);
    }
    opml_gen_sampler_input(sp, t, P, si);
    opml_gen_step_inputs((const uint8_t(*)[32])roots, L, (uint32_t)ids[t], t, si, in);
    CHECK_EQ_INT(opml_graph_state((const uint8_t(*)[32])in, g->nin, g->state_depth, s0), 0);
    const opml_run *r;
    CHECK_EQ_INT(opml_llama_commit_step(c, ids, t, P, sp, &r, err, sizeof err), 0);
    CHECK_MEM(r->states[0], s0, 32);
    /* State_n's kv subtree (values kv_value .. + 2^c) is kvRoot_{t+1} */
    uint8_t sub[32];
    CHECK_EQ_INT(merkle_root(r->roots[f.kv_value], (size_t)kvn * 32, opml_gen_kv_height(L), sub), 0);
    CHECK_MEM(sub, kv[t + 1], 32);
    /* the sampled token: x_{t+1} past the prompt, its leaf the root of its 4 bytes */
    int32_t sampled;
    memcpy(&sampled, r->values[g->output_value], 4);
    if (t + 1 >= P) CHECK_EQ_INT(sampled, ids[t + 1]);
    uint8_t want[32];
    merkle_tensor_root(&sampled, 4, want);
    CHECK_MEM(r->roots[g->output_value], want, 32);
    /* every value but the caches (given) is its bytes' root; the caches after: the plain step's */
    float *lg = malloc((size_t)hp->vocab * 4);
    CHECK_EQ_INT(opml_llama_step(plain, ids + t, 1, t, 0, lg, err, sizeof err), 0);
    for (uint32_t v = caches; v < g->nin + g->n; v++) {
        int cache_out = 0;
        for (uint32_t i = 0; i < caches; i++) cache_out |= v == f.kv_value + i;
        if (cache_out) {
            size_t cb;
            const void *cc = opml_llama_session_cache(plain, v - f.kv_value, &cb);
            merkle_tensor_root(cc, cb, want);
        } else {
            merkle_tensor_root(r->values[v], (size_t)kd_nbytes(&g->values[v]), want);
        }
        CHECK_MEM(r->roots[v], want, 32);
    }
    for (uint32_t i = 0; i < caches; i++) CHECK_MEM(r->roots[i], roots[i], 32);
    uint32_t lv = g->nodes[g->output_value - g->nin].ref[0]; /* the logits: the Sample node's operand 0 */
    CHECK_MEM(r->values[lv], lg, (size_t)hp->vocab * 4);
    free(roots), free(in), free(lg);
}

int llama_gen_cases(opml_llama *m, const char *what) {
    char err[300];
    const opml_llama_hparams *hp = opml_llama_hparams_of(m);
    layout(m);
    int32_t prompt[5];
    for (int i = 0; i < 5; i++) prompt[i] = (int32_t)((7 + 13 * i) % hp->vocab);
    enum { N = 12 };
    opml_llama_request q = {prompt, 5, N, OPML_GEN_NO_STOP, {0x3F4CCCCDu, 0, 0x3F733333u, 3}}; /* 0.8, all, 0.95, seed 3 */
    refusals(m, &q);
    opml_llama_session *ref = session(m, "ref"), *blas = session(m, "blas");
    int32_t a[N], b[N], ids[5 + N];
    uint32_t ma, mb;
    CHECK_EQ_INT(opml_llama_generate(ref, &q, a, &ma, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(opml_llama_generate(blas, &q, b, &mb, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(ma, N);
    CHECK_EQ_INT(mb, N);
    CHECK_MEM(a, b, sizeof a);
    /* the stop token: the first new token whose value was not seen before, past the first */
    uint32_t k = 1;
    for (int seen = 1; k < N && seen; k += seen) {
        seen = 0;
        for (uint32_t j = 0; j < k; j++) seen |= a[j] == a[k];
    }
    if (k < N) {
        opml_llama_request qs = q;
        qs.stop = (uint32_t)a[k];
        CHECK_EQ_INT(opml_llama_generate(blas, &qs, b, &mb, NULL, NULL, err, sizeof err), 0);
        CHECK_EQ_INT(mb, k + 1);
        CHECK_MEM(a, b, (k + 1) * 4);
        CHECK_EQ_INT(opml_llama_session_pos(blas), 5 + k);
    }
    /* G_t, t = 0 .. T, incremental and from scratch */
    uint32_t count = 5 + N, T = count - 1;
    memcpy(ids, prompt, sizeof prompt), memcpy(ids + 5, a, sizeof a);
    uint8_t(*states)[32] = malloc((size_t)count * 32), (*kv)[32] = malloc((size_t)count * 32), g[32], kvs[32];
    CHECK_EQ_INT(opml_llama_gen_states(ref, ids, count, states, NULL, kv, err, sizeof err), 0);
    opml_gen_state0((uint32_t)ids[0], hp->layers, g);
    CHECK_MEM(states[0], g, 32);
    for (uint32_t t = 0; t <= T; t += t < 6 ? 1 : 4) {
        state_from_scratch(blas, ids, t, hp->layers, kvs, g);
        CHECK_MEM(states[t], g, 32);
        CHECK_MEM(kv[t], kvs, 32);
    }
    state_from_scratch(blas, ids, T, hp->layers, kvs, g);
    CHECK_MEM(states[T], g, 32);
    /* committed steps: the first, the last prompt step, the first and the last generated one */
    opml_llama_session *c = session(m, "blas");
    uint32_t steps[4] = {0, 3, 4, T - 1};
    for (int i = 0; i < 4; i++) committed(m, c, ref, ids, steps[i], 5, &q.sampler, kv);
    printf("%s: layout as the registry wants; a sampled generation of %u tokens ref == blas, the stop token ends it; G_t "
           "for t = 0..%u incremental == from scratch; committed steps 0, 3, 4, %u: State_0 from G_t, the kv subtree "
           "of State_n == kvRoot_{t+1}, the sampled leaf, every root\n", what, N, T, T - 1);
    opml_llama_session_free(ref), opml_llama_session_free(blas), opml_llama_session_free(c);
    free(states), free(kv);
    return check_failures;
}
