/* The transformer operators (ids 32-38) and a LLaMA-shaped graph:
 *   - each operator on edge inputs: exact where the rule makes the answer exact (one visible key
 *     gives its value row, cos 1 / sin 0 is the identity, argmax's NaN and tie rules, embedding
 *     rows, cache rows), close to a double-precision evaluation elsewhere, canonical NaN for
 *     positions or ids out of range, and the same bytes from the blas backend as from ref;
 *   - a 3-layer LLaMA-shaped graph (embedding, RMSNorm, q/k/v/o QLinear, rotary, KV cache,
 *     grouped-query attention, residual adds, SiLU-gated MLP with K = 1100 > 1024 in the down
 *     projection, final norm, head, argmax) with seeded random weights: ref and blas give the same
 *     root for every value; decoding one token after a 4-token prompt, with the caches fed back,
 *     gives exactly the bits of row 4 of a 5-token prompt (logits, next token, caches). */
#include "check.h"
#include "engine.h"
#include "llama_graph.h"
#include "merkle.h"

#include <math.h>
#include <stdlib.h>

static uint64_t rng = 0x1234567887654321ull;
static float frand(void) { /* in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((int64_t)(rng >> 40) - (1 << 23)) / (float)(1 << 23);
}

static kd_tensor T(unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1, uint32_t d2) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {d0, d1, d2, 0, 0, 0}};
    return t;
}

static opml_backend *ref, *blas;

/* Runs d on ref and on blas; both must succeed with the same bytes. Returns ref's rc. */
static int run2(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out) {
    size_t nb = (size_t)kd_nbytes(&d->out), sl = kernel_scratch_size(d);
    void *scr = malloc(sl + 4), *o2 = malloc(nb + 4);
    int rc = ref->ops->run(ref, d, in, out, scr, sl, NULL);
    int rc2 = blas->ops->run(blas, d, in, o2, scr, sl, NULL);
    CHECK_EQ_INT(rc, rc2);
    if (rc == 0) CHECK_MEM(out, o2, nb);
    free(scr), free(o2);
    return rc;
}

static int is_canon_nan(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u == 0x7FC00000u;
}

static void test_argmax(void) {
    float x[4][5] = {{1, 3, 3, 2, 0}, {NAN, 9, 1, 1, 1}, {-INFINITY, -INFINITY, -1, NAN, 5}, {-0.0f, 0.0f, -1, -2, -3}};
    int32_t y[4];
    kd_desc d = {.op = OP_ARGMAX, .noperands = 1, .out = T(KD_I32, 1, 4, 0, 0), .in = {T(KD_F32, 2, 4, 5, 0)}};
    const void *in[KD_MAX_OPERANDS] = {x};
    CHECK_EQ_INT(run2(&d, in, y), 0);
    CHECK(y[0] == 1 && y[1] == 0 && y[2] == 3 && y[3] == 0);
    d.out = T(KD_F32, 1, 4, 0, 0);
    CHECK_EQ_INT(kernel_check(&d), KD_ESHAPE);
}

static void test_embedding(void) {
    int8_t table[3 * 4] = {1, -2, 3, -127, 127, 0, 5, 6, 7, 8, 9, 10};
    float scale[3] = {0.5f, 0.25f, 1e-3f}, y[4 * 4];
    int32_t ids[4] = {2, 0, 3, -1};
    kd_desc d = {.op = OP_EMBEDDING, .noperands = 3, .out = T(KD_F32, 2, 4, 4, 0),
                 .in = {T(KD_I32, 1, 4, 0, 0), T(KD_I8, 2, 3, 4, 0), T(KD_F32, 1, 3, 0, 0)}};
    const void *in[KD_MAX_OPERANDS] = {ids, table, scale};
    CHECK_EQ_INT(run2(&d, in, y), 0);
    for (int i = 0; i < 4; i++) {
        CHECK(y[i] == (float)table[8 + i] * 1e-3f);
        CHECK(y[4 + i] == (float)table[i] * 0.5f);
        CHECK(is_canon_nan(y[8 + i]) && is_canon_nan(y[12 + i])); /* ids 3 and -1 do not exist */
    }
    d.out = T(KD_F32, 2, 4, 5, 0);
    CHECK_EQ_INT(kernel_check(&d), KD_ESHAPE);
}

static void test_rmsnorm_silu(void) {
    enum { R = 3, D = 1025 };
    static float x[R * D], g[D], y[R * D];
    for (int i = 0; i < R * D; i++) x[i] = frand() * 3.0f;
    for (int i = 0; i < D; i++) g[i] = 1.0f + frand() * 0.1f;
    x[5] = -0.0f, x[D + 7] = 1e-40f; /* a subnormal */
    kd_desc d = {.op = OP_RMSNORM, .noperands = 2, .out = T(KD_F32, 2, R, D, 0), .in = {T(KD_F32, 2, R, D, 0), T(KD_F32, 1, D, 0, 0)}};
    d.fa[0] = 1e-5f;
    const void *in[KD_MAX_OPERANDS] = {x, g};
    CHECK_EQ_INT(run2(&d, in, y), 0);
    double worst = 0;
    for (int r = 0; r < R; r++) {
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)x[r * D + i] * x[r * D + i];
        double inv = 1.0 / sqrt(ss / D + 1e-5);
        for (int i = 0; i < D; i++) {
            double want = x[r * D + i] * inv * g[i], e = fabs(want - y[r * D + i]) / (fabs(want) + 1e-6);
            if (e > worst) worst = e;
        }
    }
    CHECK(worst < 1e-5);
    d.fa[0] = -1.0f;
    CHECK_EQ_INT(kernel_check(&d), KD_EATTR);

    float s[8] = {0.0f, -0.0f, 1.0f, -1.0f, 20.0f, -20.0f, INFINITY, NAN}, sy[8];
    kd_desc ds = {.op = OP_SILU, .noperands = 1, .out = T(KD_F32, 1, 8, 0, 0), .in = {T(KD_F32, 1, 8, 0, 0)}};
    const void *sin_[KD_MAX_OPERANDS] = {s};
    CHECK_EQ_INT(run2(&ds, sin_, sy), 0);
    for (int i = 0; i < 6; i++) CHECK(fabs(sy[i] - s[i] / (1.0 + exp(-(double)s[i]))) <= 1e-6 * (1 + fabs(s[i])));
    CHECK(sy[6] == INFINITY && is_canon_nan(sy[7]));
}

static void test_rope(void) {
    enum { TT = 3, H = 2, DH = 8, P = 6 };
    float x[TT * H * DH], cs[P * DH / 2], sn[P * DH / 2], y[TT * H * DH];
    for (int i = 0; i < TT * H * DH; i++) x[i] = frand();
    for (int p = 0; p < P; p++)
        for (int i = 0; i < DH / 2; i++) {
            double th = p * pow(10000.0, -2.0 * i / DH);
            cs[p * DH / 2 + i] = (float)cos(th), sn[p * DH / 2 + i] = (float)sin(th);
        }
    int32_t pos = 2;
    kd_desc d = {.op = OP_ROPE, .noperands = 4, .out = T(KD_F32, 3, TT, H, DH),
                 .in = {T(KD_F32, 3, TT, H, DH), T(KD_F32, 2, P, DH / 2, 0), T(KD_F32, 2, P, DH / 2, 0), T(KD_I32, 1, 1, 0, 0)}};
    const void *in[KD_MAX_OPERANDS] = {x, cs, sn, &pos};
    for (int style = 0; style < 2; style++) {
        d.ia[0] = style;
        CHECK_EQ_INT(run2(&d, in, y), 0);
        int step = style ? 1 : 2, other = style ? DH / 2 : 1;
        for (int t = 0; t < TT; t++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < DH / 2; i++) {
                    int a = (t * H + h) * DH + i * step, b = a + other;
                    double c = cs[(pos + t) * DH / 2 + i], s = sn[(pos + t) * DH / 2 + i];
                    CHECK(fabs(y[a] - (x[a] * c - x[b] * s)) < 1e-6 && fabs(y[b] - (x[a] * s + x[b] * c)) < 1e-6);
                }
    }
    pos = 0; /* position 0: cos 1, sin 0: the identity, bit for bit */
    d.in[0] = d.out = T(KD_F32, 3, 1, H, DH);
    CHECK_EQ_INT(run2(&d, in, y), 0);
    CHECK_MEM(y, x, H * DH * 4);
    pos = P - 2; /* tokens at P-2 .. P: one past the tables */
    d.in[0] = d.out = T(KD_F32, 3, TT, H, DH);
    CHECK_EQ_INT(run2(&d, in, y), 0);
    int nan = 0;
    for (int i = 0; i < TT * H * DH; i++) nan += is_canon_nan(y[i]);
    CHECK_EQ_INT(nan, TT * H * DH);
    d.ia[0] = 2;
    CHECK_EQ_INT(kernel_check(&d), KD_EATTR);
}

static void test_cache_attention(void) {
    enum { S = 9, TT = 3, H = 4, KVH = 2, DH = 16 };
    static float kc[S * KVH * DH], vc[S * KVH * DH], kn[TT * KVH * DH], vn[TT * KVH * DH], k2[S * KVH * DH],
        v2[S * KVH * DH], q[TT * H * DH], y[TT * H * DH];
    for (int i = 0; i < S * KVH * DH; i++) kc[i] = frand(), vc[i] = frand();
    for (int i = 0; i < TT * KVH * DH; i++) kn[i] = frand(), vn[i] = frand();
    for (int i = 0; i < TT * H * DH; i++) q[i] = frand() * 2;
    int32_t pos = 4;
    kd_desc a = {.op = OP_KVAPPEND, .noperands = 3, .out = T(KD_F32, 3, S, KVH, DH),
                 .in = {T(KD_F32, 3, S, KVH, DH), T(KD_F32, 3, TT, KVH, DH), T(KD_I32, 1, 1, 0, 0)}};
    const void *ink[KD_MAX_OPERANDS] = {kc, kn, &pos}, *inv[KD_MAX_OPERANDS] = {vc, vn, &pos};
    CHECK_EQ_INT(run2(&a, ink, k2), 0);
    CHECK_EQ_INT(run2(&a, inv, v2), 0);
    size_t row = KVH * DH;
    CHECK_MEM(k2, kc, 4 * row * 4);
    CHECK_MEM(k2 + 4 * row, kn, TT * row * 4);
    CHECK_MEM(k2 + 7 * row, kc + 7 * row, 2 * row * 4);

    kd_desc d = {.op = OP_ATTENTION, .noperands = 4, .out = T(KD_F32, 3, TT, H, DH),
                 .in = {T(KD_F32, 3, TT, H, DH), T(KD_F32, 3, S, KVH, DH), T(KD_F32, 3, S, KVH, DH), T(KD_I32, 1, 1, 0, 0)}};
    d.fa[0] = 0.25f;
    const void *in[KD_MAX_OPERANDS] = {q, k2, v2, &pos};
    CHECK_EQ_INT(run2(&d, in, y), 0);
    double worst = 0; /* against attention in double with unquantized scores */
    for (int t = 0; t < TT; t++)
        for (int h = 0; h < H; h++) {
            int g = h / (H / KVH), len = pos + t + 1;
            double sc[S], m = -1e300, z = 0;
            for (int j = 0; j < len; j++) {
                double s = 0;
                for (int i = 0; i < DH; i++) s += (double)q[(t * H + h) * DH + i] * k2[(j * KVH + g) * DH + i];
                sc[j] = s * 0.25;
                if (sc[j] > m) m = sc[j];
            }
            for (int j = 0; j < len; j++) z += sc[j] = exp(sc[j] - m);
            for (int i = 0; i < DH; i++) {
                double o = 0;
                for (int j = 0; j < len; j++) o += sc[j] / z * v2[(j * KVH + g) * DH + i];
                double e = fabs(o - y[(t * H + h) * DH + i]);
                if (e > worst) worst = e;
            }
        }
    CHECK(worst < 0.02); /* int8 scores: ~1% of |q||k| */
    printf("attention: largest difference from double precision %.2e\n", worst);

    pos = 0; /* one query at position 0 sees one key: its value row exactly (p = 1) */
    d.in[0] = d.out = T(KD_F32, 3, 1, H, DH);
    CHECK_EQ_INT(run2(&d, in, y), 0);
    for (int h = 0; h < H; h++) CHECK_MEM(y + h * DH, v2 + (h / (H / KVH)) * DH, DH * 4);
    pos = S - 2; /* 3 tokens from S-2: past the cache */
    d.in[0] = d.out = T(KD_F32, 3, TT, H, DH);
    CHECK_EQ_INT(run2(&d, in, y), 0);
    int nan = 0;
    for (int i = 0; i < TT * H * DH; i++) nan += is_canon_nan(y[i]);
    CHECK_EQ_INT(nan, TT * H * DH);
    CHECK_EQ_INT(run2(&a, ink, k2), 0); /* and the cache is left as it was */
    CHECK_MEM(k2, kc, sizeof kc);
    d.in[0].dims[1] = 3; /* 3 query heads over 2 kv heads */
    d.out = d.in[0];
    CHECK_EQ_INT(kernel_check(&d), KD_ESHAPE);
}

/* ---- the LLaMA-shaped graph ---- */

typedef struct step {
    opml_run run;
    const void **in;
    size_t *len;
} step;

static float *zeros; /* an empty cache (all graphs here have the same cache shape) */

/* Runs graph g on backend b with ids at position pos and the given caches (NULL: zeros). */
static int run_step(llama_graph *g, opml_backend *b, const int32_t *ids, int32_t pos, float **caches, step *s) {
    char err[256];
    const opml_model *m = &g->m;
    if (opml_run_init(&s->run, m, b, err, sizeof err)) return -1;
    s->in = calloc(m->nin, sizeof *s->in);
    s->len = calloc(m->nin, sizeof *s->len);
    size_t cb = (size_t)kd_nbytes(&m->inputs[2]);
    if (!zeros) zeros = calloc(1, cb);
    s->in[0] = ids, s->len[0] = 4 * g->cfg.tokens;
    s->in[1] = &pos, s->len[1] = 4;
    for (uint32_t i = 2; i < m->nin; i++) s->in[i] = caches ? caches[i - 2] : zeros, s->len[i] = cb;
    int rc = opml_run_exec(&s->run, s->in, s->len, 1, err, sizeof err);
    if (rc) fprintf(stderr, "run: %s\n", err);
    return rc;
}

static void step_free(step *s) {
    opml_run_free(&s->run);
    free(s->in), free(s->len);
}

static void test_llama(void) {
    llama_cfg c = {.vocab = 97, .dim = 96, .heads = 4, .kv_heads = 2, .head_dim = 24, .ffn = 1100, .layers = 3,
                   .max_seq = 16, .with_head = 1, .seed = 7};
    llama_graph g5, g4, g1;
    char err[256];
    c.tokens = 5;
    CHECK_EQ_INT(llama_build(&c, &g5, err, sizeof err), 0);
    c.tokens = 4;
    CHECK_EQ_INT(llama_build(&c, &g4, err, sizeof err), 0);
    c.tokens = 1;
    CHECK_EQ_INT(llama_build(&c, &g1, err, sizeof err), 0);
    int32_t ids[5] = {3, 96, 0, 41, 17};

    /* ref and blas: the same root for every value */
    step r, bl;
    CHECK_EQ_INT(run_step(&g5, ref, ids, 0, NULL, &r), 0);
    CHECK_EQ_INT(run_step(&g5, blas, ids, 0, NULL, &bl), 0);
    size_t nv = g5.m.nin + g5.m.n, differ = 0;
    for (size_t v = 0; v < nv; v++) differ += memcmp(r.run.roots[v], bl.run.roots[v], 32) != 0;
    CHECK_EQ_INT(differ, 0);
    CHECK_MEM(r.run.states[g5.m.n], bl.run.states[g5.m.n], 32);
    /* the engine's scheduled commitments (chunks on two threads, all trees and states finished
     * together) against their definitions, on a graph of 8 inputs and Reshapes */
    uint8_t want[32];
    for (size_t v = 0; v < nv; v++) {
        merkle_tensor_root(r.run.values[v], (size_t)kd_nbytes(&g5.m.values[v]), want);
        differ += memcmp(want, r.run.roots[v], 32) != 0;
    }
    for (size_t s = 0; s <= g5.m.n; s++) {
        opml_graph_state((const uint8_t(*)[32])r.run.roots, g5.m.nin + s, g5.m.state_depth, want);
        differ += memcmp(want, r.run.states[s], 32) != 0;
    }
    CHECK_EQ_INT(differ, 0);
    const int32_t *next = (const int32_t *)r.run.values[g5.m.output_value];
    for (int t = 0; t < 5; t++) CHECK(next[t] >= 0 && next[t] < 97);
    printf("llama: %u nodes, next tokens %d %d %d %d %d\n", g5.m.n, next[0], next[1], next[2], next[3], next[4]);
    uint32_t logits5 = g5.m.nodes[g5.m.output_value - g5.m.nin].ref[0];
    const float *l5 = (const float *)r.run.values[logits5];
    int finite = 1;
    for (size_t i = 0; i < 5 * 97; i++) finite &= isfinite(l5[i]);
    CHECK(finite);

    /* a 4-token prompt, then one token with the caches fed back: row 4 of the 5-token run */
    step p, d;
    CHECK_EQ_INT(run_step(&g4, blas, ids, 0, NULL, &p), 0);
    float **caches = calloc(2 * c.layers, sizeof *caches);
    for (uint32_t i = 0; i < 2 * c.layers; i++) caches[i] = (float *)p.run.values[g4.kv_out[i]];
    CHECK_EQ_INT(run_step(&g1, ref, ids + 4, 4, caches, &d), 0);
    uint32_t logits1 = g1.m.nodes[g1.m.output_value - g1.m.nin].ref[0];
    CHECK_MEM(d.run.values[logits1], l5 + 4 * 97, 97 * 4);
    CHECK_EQ_INT(*(const int32_t *)d.run.values[g1.m.output_value], next[4]);
    size_t cb = (size_t)kd_nbytes(&g1.m.inputs[2]);
    for (uint32_t i = 0; i < 2 * c.layers; i++) CHECK_MEM(d.run.values[g1.kv_out[i]], r.run.values[g5.kv_out[i]], cb);
    /* the same prompt on a different graph size: another model root */
    CHECK(memcmp(g4.m.root, g5.m.root, 32) != 0);
    free(caches);
    step_free(&r), step_free(&bl), step_free(&p), step_free(&d);
    llama_free(&g5), llama_free(&g4), llama_free(&g1);
    free(zeros);
}

int main(void) {
    ref = opml_backend_new("ref");
    blas = opml_backend_new("blas");
    if (!ref || !blas) return 1;
    test_argmax();
    test_embedding();
    test_rmsnorm_silu();
    test_rope();
    test_cache_attention();
    test_llama();
    opml_backend_free(ref);
    opml_backend_free(blas);
    return check_summary("test_transformer");
}
