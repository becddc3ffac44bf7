/* llama_graph.c: the LLaMA-shaped test model (llama_graph.h). */
#include "llama_graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct builder {
    llama_graph *g;
    uint32_t nw, wcap, ncap;
    uint64_t used, cap, rng;
} builder;

#define W(i) OPML_OPERAND_WEIGHT(i) /* an operand that is weight i (else a value id) */

static kd_tensor T(unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1, uint32_t d2) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {d0, d1, d2, 0, 0, 0}};
    return t;
}

static uint64_t rnd(builder *b) {
    b->rng ^= b->rng << 13, b->rng ^= b->rng >> 7, b->rng ^= b->rng << 17;
    return b->rng;
}

/* A weight of shape t whose bytes are reserved in the blob (64-byte aligned); returns its data. */
static uint8_t *weight(builder *b, kd_tensor t, uint32_t *index) {
    opml_weight *w = &b->g->weights[b->nw];
    uint64_t nb = kd_nbytes(&t);
    w->t = t;
    w->data = b->g->blob + b->used;
    *index = b->nw++;
    uint8_t *p = b->g->blob + b->used;
    b->used += (nb + 63) & ~(uint64_t)63;
    return p;
}

/* int8 [n, k] uniform in [-127, 127] and its scale [n], so that a row dotted with inputs of
 * magnitude ~1 gives outputs of magnitude ~gain. */
static void qweight(builder *b, uint32_t n, uint32_t k, float gain, uint32_t *wi, uint32_t *si) {
    int8_t *w = (int8_t *)weight(b, T(KD_I8, 2, n, k, 0), wi);
    float *s = (float *)weight(b, T(KD_F32, 1, n, 0, 0), si);
    for (uint64_t i = 0; i < (uint64_t)n * k; i++) w[i] = (int8_t)((int)(rnd(b) % 255) - 127);
    for (uint32_t i = 0; i < n; i++) s[i] = gain / (127.0f * sqrtf((float)k) * 0.58f);
}

static uint32_t gamma_weight(builder *b, uint32_t dim) {
    uint32_t i;
    float *g = (float *)weight(b, T(KD_F32, 1, dim, 0, 0), &i);
    for (uint32_t j = 0; j < dim; j++) g[j] = 1.0f + (float)((int)(rnd(b) % 201) - 100) / 1000.0f;
    return i;
}

/* A node; operands are value ids or W(weight index); returns the output's value id. */
static uint32_t node(builder *b, unsigned op, kd_tensor out, unsigned nops, const uint32_t *ops) {
    return opml_model_add_node(&b->g->m, op, out, nops, ops);
}

static uint32_t qlinear(builder *b, uint32_t x, uint32_t rows, uint32_t n, uint32_t wi, uint32_t si) {
    uint32_t ops[3] = {x, W(wi), W(si)};
    return node(b, OP_QLINEAR, T(KD_F32, 2, rows, n, 0), 3, ops);
}

uint64_t llama_block_weight_bytes(const llama_cfg *c) {
    uint64_t d = c->dim, qd = (uint64_t)c->heads * c->head_dim, kvd = (uint64_t)c->kv_heads * c->head_dim;
    return d * qd + 2 * d * kvd + qd * d + 3 * d * c->ffn;
}

int llama_build(const llama_cfg *c, llama_graph *g, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    g->cfg = *c;
    uint32_t t = c->tokens, d = c->dim, dh = c->head_dim, qd = c->heads * dh, kvd = c->kv_heads * dh, L = c->layers;
    uint32_t nin = 2 + 2 * L, nweights = 2 + L * 16 + 2 + 3, nnodes = 1 + L * 22 + 3;
    uint64_t cap = (uint64_t)c->vocab * d + 64 + 4ull * c->vocab + 64 + 4ull * c->max_seq * dh + 128;
    cap += (uint64_t)L * (llama_block_weight_bytes(c) + 4ull * (4 * d + qd + 2 * kvd + 2 * c->ffn) + 64 * 16);
    if (c->with_head) cap += (uint64_t)c->vocab * d + 4ull * c->vocab + 4ull * d + 64 * 3;
    g->inputs = calloc(nin, sizeof *g->inputs);
    g->weights = calloc(nweights, sizeof *g->weights);
    g->nodes = calloc(nnodes, sizeof *g->nodes);
    g->kv_out = calloc(2 * L + 1, sizeof *g->kv_out);
    g->blob = aligned_alloc(64, (cap + 63) & ~(uint64_t)63);
    if (!g->inputs || !g->weights || !g->nodes || !g->kv_out || !g->blob) {
        llama_free(g);
        snprintf(err, errlen, "llama graph: out of memory for %llu bytes of weights", (unsigned long long)cap);
        return -1;
    }
    builder b = {.g = g, .cap = cap, .rng = c->seed * 0x9E3779B97F4A7C15ull + 1};
    g->m.nin = nin;
    g->inputs[0] = T(KD_I32, 1, t, 0, 0);
    g->inputs[1] = T(KD_I32, 1, 1, 0, 0);
    for (uint32_t l = 0; l < 2 * L; l++) g->inputs[2 + l] = T(KD_F32, 3, c->max_seq, c->kv_heads, dh);
    g->m.inputs = g->inputs, g->m.weights = g->weights, g->m.nodes = g->nodes;

    uint32_t emb, embs, cosi, sini;
    int8_t *e = (int8_t *)weight(&b, T(KD_I8, 2, c->vocab, d, 0), &emb);
    float *es = (float *)weight(&b, T(KD_F32, 1, c->vocab, 0, 0), &embs);
    for (uint64_t i = 0; i < (uint64_t)c->vocab * d; i++) e[i] = (int8_t)((int)(rnd(&b) % 255) - 127);
    for (uint32_t i = 0; i < c->vocab; i++) es[i] = 1.0f / 127.0f;
    float *cs = (float *)weight(&b, T(KD_F32, 2, c->max_seq, dh / 2, 0), &cosi);
    float *sn = (float *)weight(&b, T(KD_F32, 2, c->max_seq, dh / 2, 0), &sini);
    for (uint32_t p = 0; p < c->max_seq; p++)
        for (uint32_t i = 0; i < dh / 2; i++) {
            double theta = p * pow(10000.0, -2.0 * i / dh);
            cs[p * (dh / 2) + i] = (float)cos(theta), sn[p * (dh / 2) + i] = (float)sin(theta);
        }
    uint32_t ops[4] = {0, W(emb), W(embs)};
    uint32_t x = node(&b, OP_EMBEDDING, T(KD_F32, 2, t, d, 0), 3, ops);
    for (uint32_t l = 0; l < L; l++) {
        uint32_t g1 = gamma_weight(&b, d), wq, sq, wk, sk, wv, sv, wo, so, w1, s1, w3, s3, w2, s2;
        qweight(&b, qd, d, 1.0f, &wq, &sq), qweight(&b, kvd, d, 1.0f, &wk, &sk), qweight(&b, kvd, d, 1.0f, &wv, &sv);
        qweight(&b, d, qd, 0.5f, &wo, &so);
        uint32_t g2 = gamma_weight(&b, d);
        qweight(&b, c->ffn, d, 1.0f, &w1, &s1), qweight(&b, c->ffn, d, 1.0f, &w3, &s3), qweight(&b, d, c->ffn, 0.5f, &w2, &s2);

        uint32_t o2[4] = {x, W(g1)};
        uint32_t h = node(&b, OP_RMSNORM, T(KD_F32, 2, t, d, 0), 2, o2);
        g->nodes[h - nin].d.fa[0] = 1e-5f;
        uint32_t q = qlinear(&b, h, t, qd, wq, sq), k = qlinear(&b, h, t, kvd, wk, sk), v = qlinear(&b, h, t, kvd, wv, sv);
        uint32_t r1[1] = {q}, r2[1] = {k}, r3[1] = {v};
        q = node(&b, OP_RESHAPE, T(KD_F32, 3, t, c->heads, dh), 1, r1);
        k = node(&b, OP_RESHAPE, T(KD_F32, 3, t, c->kv_heads, dh), 1, r2);
        v = node(&b, OP_RESHAPE, T(KD_F32, 3, t, c->kv_heads, dh), 1, r3);
        uint32_t rq[4] = {q, W(cosi), W(sini), 1}, rk[4] = {k, W(cosi), W(sini), 1};
        q = node(&b, OP_ROPE, T(KD_F32, 3, t, c->heads, dh), 4, rq);
        k = node(&b, OP_ROPE, T(KD_F32, 3, t, c->kv_heads, dh), 4, rk);
        uint32_t ak[3] = {2 + 2 * l, k, 1}, av[3] = {3 + 2 * l, v, 1};
        uint32_t kc = node(&b, OP_KVAPPEND, g->inputs[2 + 2 * l], 3, ak);
        uint32_t vc = node(&b, OP_KVAPPEND, g->inputs[3 + 2 * l], 3, av);
        g->kv_out[2 * l] = kc, g->kv_out[2 * l + 1] = vc;
        uint32_t at[4] = {q, kc, vc, 1};
        uint32_t a = node(&b, OP_ATTENTION, T(KD_F32, 3, t, c->heads, dh), 4, at);
        g->nodes[a - nin].d.fa[0] = 1.0f / sqrtf((float)dh);
        uint32_t ra[1] = {a};
        a = node(&b, OP_RESHAPE, T(KD_F32, 2, t, qd, 0), 1, ra);
        uint32_t o = qlinear(&b, a, t, d, wo, so);
        uint32_t ad[2] = {x, o};
        x = node(&b, OP_ADD, T(KD_F32, 2, t, d, 0), 2, ad);
        uint32_t o3[2] = {x, W(g2)};
        h = node(&b, OP_RMSNORM, T(KD_F32, 2, t, d, 0), 2, o3);
        g->nodes[h - nin].d.fa[0] = 1e-5f;
        uint32_t gate = qlinear(&b, h, t, c->ffn, w1, s1), up = qlinear(&b, h, t, c->ffn, w3, s3);
        uint32_t sg[1] = {gate};
        gate = node(&b, OP_SILU, T(KD_F32, 2, t, c->ffn, 0), 1, sg);
        uint32_t mu[2] = {gate, up};
        uint32_t m = node(&b, OP_MUL, T(KD_F32, 2, t, c->ffn, 0), 2, mu);
        uint32_t dn = qlinear(&b, m, t, d, w2, s2);
        uint32_t ad2[2] = {x, dn};
        x = node(&b, OP_ADD, T(KD_F32, 2, t, d, 0), 2, ad2);
    }
    if (c->with_head) {
        uint32_t gn = gamma_weight(&b, d), wh, sh;
        qweight(&b, c->vocab, d, 4.0f, &wh, &sh);
        uint32_t on[2] = {x, W(gn)};
        uint32_t h = node(&b, OP_RMSNORM, T(KD_F32, 2, t, d, 0), 2, on);
        g->nodes[h - nin].d.fa[0] = 1e-5f;
        uint32_t logits = qlinear(&b, h, t, c->vocab, wh, sh);
        uint32_t am[1] = {logits};
        x = node(&b, OP_ARGMAX, T(KD_I32, 1, t, 0, 0), 1, am);
    }
    g->m.nweights = b.nw, g->m.output_value = x;
    if (b.used > cap || g->m.n > nnodes || b.nw > nweights) {
        snprintf(err, errlen, "llama graph: internal size mismatch");
        llama_free(g);
        return -1;
    }
    if (opml_model_commit(&g->m, err, errlen)) {
        llama_free(g);
        return -1;
    }
    return 0;
}

void llama_free(llama_graph *g) {
    opml_model_free(&g->m);
    free(g->inputs), free(g->weights), free(g->nodes), free(g->blob), free(g->kv_out);
    memset(g, 0, sizeof *g);
}
