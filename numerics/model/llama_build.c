/* llama_build.c: the LLaMA step graph and its weights' canonical order (llama_build.h). */
#include "llama_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "fmath.h"
#include "generation.h"

uint32_t llama_parts(uint32_t rows, uint32_t k, uint32_t *rows_per_part) {
    uint64_t rowbytes = (uint64_t)k / KD_Q8_BLOCK * KD_Q8_BYTES, per = rowbytes ? KD_MAX_TENSOR_BYTES / rowbytes : 1;
    if (per > rows) per = rows;
    if (per < 1) per = 1;
    *rows_per_part = (uint32_t)per;
    return (uint32_t)((rows + per - 1) / per);
}

int llama_check_hparams(const opml_llama_hparams *hp, char *err, size_t errlen) {
    uint64_t qd = (uint64_t)hp->heads * hp->head_dim;
    if (!hp->vocab || !hp->dim || !hp->layers || !hp->heads || !hp->kv_heads || !hp->head_dim || !hp->ffn || !hp->ctx)
        return opml_errf(err, errlen, "llama: a hyperparameter is zero");
    if (hp->dim % KD_Q8_BLOCK || hp->ffn % KD_Q8_BLOCK || qd % KD_Q8_BLOCK)
        return opml_errf(err, errlen, "llama: embedding %u, feed-forward %u and heads x head size %llu must be multiples of 32",
                         hp->dim, hp->ffn, (unsigned long long)qd);
    if (hp->heads % hp->kv_heads) return opml_errf(err, errlen, "llama: %u heads is not a multiple of %u kv heads", hp->heads, hp->kv_heads);
    if (hp->head_dim % 2) return opml_errf(err, errlen, "llama: head size %u is odd", hp->head_dim);
    if (hp->layers > 4096 || hp->ctx > (1u << 20) || qd > KD_MAX_K)
        return opml_errf(err, errlen, "llama: %u layers, context %u: too large", hp->layers, hp->ctx);
    if ((uint64_t)hp->ctx * llama_cache_row_bytes(hp) > KD_MAX_TENSOR_BYTES)
        return opml_errf(err, errlen, "llama: a cache of %u positions exceeds one VM slot", hp->ctx);
    if (!(hp->rms_eps >= 0.0f && hp->rms_eps < 1.0f) || !(hp->rope_base > 1.0f && hp->rope_base < 1e12f))
        return opml_errf(err, errlen, "llama: RMS epsilon %g or rope base %g out of range", hp->rms_eps, hp->rope_base);
    uint32_t per, mats[5][2] = {{hp->vocab, hp->dim}, {(uint32_t)qd, hp->dim}, {hp->dim, (uint32_t)qd}, {hp->ffn, hp->dim}, {hp->dim, hp->ffn}};
    for (int i = 0; i < 5; i++)
        if (llama_parts(mats[i][0], mats[i][1], &per) > LLAMA_MAX_PARTS)
            return opml_errf(err, errlen, "llama: a [%u, %u] matrix needs more than %d parts", mats[i][0], mats[i][1], LLAMA_MAX_PARTS);
    return 0;
}

unsigned llama_cache_dtype(const opml_llama_hparams *hp) { return hp->head_dim % KD_Q8_BLOCK ? KD_F32 : KD_Q8_0; }

uint64_t llama_cache_row_bytes(const opml_llama_hparams *hp) {
    uint64_t vals = (uint64_t)hp->kv_heads * hp->head_dim;
    return llama_cache_dtype(hp) == KD_Q8_0 ? vals / KD_Q8_BLOCK * KD_Q8_BYTES : vals * 4;
}

static kd_tensor tens(unsigned dtype, unsigned rank, uint32_t d0, uint32_t d1, uint32_t d2) {
    kd_tensor t = {(uint8_t)dtype, (uint8_t)rank, {d0, d1, d2, 0, 0, 0}};
    return t;
}

/* the list's writer: entry n (when out), counting */
static void put(llama_wdesc *out, uint32_t *n, kd_tensor t, enum llama_wkind kind, const char *name, uint32_t row0) {
    if (out) {
        llama_wdesc *d = &out[*n];
        memset(d, 0, sizeof *d);
        d->t = t, d->kind = kind, d->row0 = row0;
        snprintf(d->name, sizeof d->name, "%s", name);
    }
    (*n)++;
}

static void put_matrix(llama_wdesc *out, uint32_t *n, const char *name, uint32_t rows, uint32_t k) {
    uint32_t per, parts = llama_parts(rows, k, &per);
    for (uint32_t p = 0; p < parts; p++) {
        uint32_t r0 = p * per, nr = rows - r0 < per ? rows - r0 : per;
        put(out, n, tens(KD_Q8_0, 2, nr, k, 0), LLAMA_W_MATRIX, name, r0);
    }
}

uint32_t llama_weight_list(const opml_llama_hparams *hp, llama_wdesc *out) {
    uint32_t n = 0, d = hp->dim, qd = hp->heads * hp->head_dim, kvd = hp->kv_heads * hp->head_dim;
    char name[48];
    put_matrix(out, &n, "token_embd.weight", hp->vocab, d);
    put(out, &n, tens(KD_F32, 2, hp->ctx, hp->head_dim / 2, 0), LLAMA_W_ROPE_COS, "", 0);
    put(out, &n, tens(KD_F32, 2, hp->ctx, hp->head_dim / 2, 0), LLAMA_W_ROPE_SIN, "", 0);
    static const char *const names[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    uint32_t rows[7] = {qd, kvd, kvd, d, hp->ffn, hp->ffn, d}, ks[7] = {d, d, d, qd, d, d, hp->ffn};
    for (uint32_t l = 0; l < hp->layers; l++)
        for (int i = 0; i < 7; i++) {
            if (i == 0 || i == 4) {
                snprintf(name, sizeof name, "blk.%u.%s.weight", l, i ? "ffn_norm" : "attn_norm");
                put(out, &n, tens(KD_F32, 1, d, 0, 0), LLAMA_W_VECTOR, name, 0);
            }
            snprintf(name, sizeof name, "blk.%u.%s.weight", l, names[i]);
            put_matrix(out, &n, name, rows[i], ks[i]);
        }
    put(out, &n, tens(KD_F32, 1, d, 0, 0), LLAMA_W_VECTOR, "output_norm.weight", 0);
    if (!hp->tied_output) put_matrix(out, &n, "output.weight", hp->vocab, d);
    return n;
}

/* ---- the graph ---- */

#define W(i) OPML_OPERAND_WEIGHT(i)

typedef struct builder {
    llama_step *g;
    uint32_t cap, nextw, nw;
    int bad;
} builder;

static uint32_t node(builder *b, unsigned op, kd_tensor out, unsigned nops, const uint32_t *ops) {
    if (b->g->m.n == b->cap) {
        b->bad = 1;
        return 0;
    }
    return opml_model_add_node(&b->g->m, op, out, nops, ops);
}

/* The next weight of the canonical order (its shape was checked against the list up front). */
static uint32_t next_weight(builder *b) { return b->nextw < b->nw ? b->nextw++ : (b->bad = 1, 0); }

/* x [rows, k] times the next weights (a matrix of `n` rows in parts): [rows, n] */
static uint32_t matmul(builder *b, uint32_t x, uint32_t rows, uint32_t n, uint32_t k, uint32_t first) {
    uint32_t per, parts = llama_parts(n, k, &per), outs[LLAMA_MAX_PARTS + 1];
    for (uint32_t p = 0; p < parts; p++) {
        uint32_t nr = n - p * per < per ? n - p * per : per, ops[2] = {x, W(first + p)};
        outs[p] = node(b, OP_Q8LINEAR, tens(KD_F32, 2, rows, nr, 0), 2, ops);
    }
    if (parts == 1) return outs[0];
    uint32_t y = node(b, OP_CONCAT, tens(KD_F32, 2, rows, n, 0), parts, outs);
    if (!b->bad) b->g->nodes[y - b->g->m.nin].d.ia[0] = 1;
    return y;
}

static uint32_t matrix(builder *b, uint32_t x, uint32_t rows, uint32_t n, uint32_t k) {
    uint32_t per, parts = llama_parts(n, k, &per), first = b->nextw;
    for (uint32_t p = 0; p < parts; p++) next_weight(b);
    return matmul(b, x, rows, n, k, first);
}

static uint32_t rmsnorm(builder *b, uint32_t x, uint32_t rows, uint32_t dim, float eps) {
    uint32_t ops[2] = {x, W(next_weight(b))};
    uint32_t h = node(b, OP_RMSNORM, tens(KD_F32, 2, rows, dim, 0), 2, ops);
    if (!b->bad) b->g->nodes[h - b->g->m.nin].d.fa[0] = eps;
    return h;
}

static uint32_t reshape(builder *b, uint32_t x, kd_tensor t) {
    uint32_t ops[1] = {x};
    return node(b, OP_RESHAPE, t, 1, ops);
}

static void layer(builder *b, const opml_llama_hparams *hp, uint32_t l, uint32_t cos_w, uint32_t sin_w, uint32_t *x) {
    llama_step *g = b->g;
    uint32_t T = g->T, d = hp->dim, dh = hp->head_dim, qd = hp->heads * dh, kvd = hp->kv_heads * dh;
    uint32_t h = rmsnorm(b, *x, T, d, hp->rms_eps);
    uint32_t q = matrix(b, h, T, qd, d), k = matrix(b, h, T, kvd, d), v = matrix(b, h, T, kvd, d);
    q = reshape(b, q, tens(KD_F32, 3, T, hp->heads, dh));
    k = reshape(b, k, tens(KD_F32, 3, T, hp->kv_heads, dh));
    v = reshape(b, v, tens(KD_F32, 3, T, hp->kv_heads, dh));
    uint32_t rq[4] = {q, W(cos_w), W(sin_w), g->in_pos}, rk[4] = {k, W(cos_w), W(sin_w), g->in_pos};
    q = node(b, OP_ROPE, tens(KD_F32, 3, T, hp->heads, dh), 4, rq);
    k = node(b, OP_ROPE, tens(KD_F32, 3, T, hp->kv_heads, dh), 4, rk);
    g->kv_new[2 * l] = k, g->kv_new[2 * l + 1] = v; /* appended at the end of the graph */
    uint32_t at[6] = {q, 2 * l, k, 2 * l + 1, v, g->in_pos};
    uint32_t a = node(b, OP_ATTENTION, tens(KD_F32, 3, T, hp->heads, dh), 6, at);
    if (!b->bad) g->nodes[a - g->m.nin].d.fa[0] = 1.0f / kf_sqrt((float)dh);
    a = reshape(b, a, tens(KD_F32, 2, T, qd, 0));
    uint32_t o = matrix(b, a, T, d, qd), ad[2] = {*x, o};
    *x = node(b, OP_ADD, tens(KD_F32, 2, T, d, 0), 2, ad);
    h = rmsnorm(b, *x, T, d, hp->rms_eps);
    uint32_t gate = matrix(b, h, T, hp->ffn, d), up = matrix(b, h, T, hp->ffn, d), sg[1] = {gate};
    gate = node(b, OP_SILU, tens(KD_F32, 2, T, hp->ffn, 0), 1, sg);
    uint32_t mu[2] = {gate, up};
    uint32_t m = node(b, OP_MUL, tens(KD_F32, 2, T, hp->ffn, 0), 2, mu);
    uint32_t dn = matrix(b, m, T, d, hp->ffn), ad2[2] = {*x, dn};
    *x = node(b, OP_ADD, tens(KD_F32, 2, T, d, 0), 2, ad2);
}

/* The sampled token, then the cache block: Reshapes of pos until the next value is a multiple of
 * 2^c, the 2L KVAppend nodes (cache i with its new rows), then a Reshape of each pad input (a
 * zero int32: root Z(23)) up to 2^c outputs. */
static void tail(builder *b, uint32_t logits) {
    llama_step *g = b->g;
    uint32_t kv = g->in_token, ops[2] = {logits, g->in_sampler}, p[1] = {g->in_pos};
    g->sampled = node(b, OP_SAMPLE, tens(KD_I32, 1, 1, 0, 0), 2, ops);
    while (!b->bad && (g->m.nin + g->m.n) % kv) node(b, OP_RESHAPE, tens(KD_I32, 1, 1, 0, 0), 1, p);
    for (uint32_t i = 0; i < kv; i++) {
        uint32_t ap[3] = {i, g->kv_new[i < g->caches ? i : 0], g->in_pos}, pad[1] = {i};
        g->kv_out[i] = i < g->caches ? node(b, OP_KVAPPEND, g->inputs[i], 3, ap)
                                     : node(b, OP_RESHAPE, tens(KD_I32, 1, 1, 0, 0), 1, pad);
    }
}

void llama_gen_facts(const opml_llama_hparams *hp, const llama_step *g, opml_gen_facts *f) {
    *f = (opml_gen_facts){hp->vocab, g->S, hp->layers, g->kv_out[0]};
}

void llama_step_free(llama_step *g) {
    opml_model_free(&g->m); /* values only: the model was built in memory */
    free(g->inputs), free(g->nodes), free(g->kv_out), free(g->kv_new);
    memset(g, 0, sizeof *g);
}

int llama_step_build(const opml_llama_hparams *hp, opml_weight *w, uint32_t nw, uint32_t T, uint32_t S, int last_only,
                llama_step *g, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    if (llama_check_hparams(hp, err, errlen)) return -1;
    if (T < 1 || S < 1 || S > hp->ctx || T > S) return opml_errf(err, errlen, "llama: %u tokens over %u positions", T, S);
    uint32_t want = llama_weight_list(hp, NULL);
    llama_wdesc *list = calloc(want, sizeof *list);
    if (!list) return opml_errf(err, errlen, "llama: out of memory");
    llama_weight_list(hp, list);
    int shapes_ok = nw == want;
    for (uint32_t i = 0; shapes_ok && i < nw; i++) shapes_ok = kd_same(&w[i].t, &list[i].t);
    free(list);
    if (!shapes_ok) return opml_errf(err, errlen, "llama: the model's %u weights are not the %u of its hyperparameters", nw, want);
    uint32_t L = hp->layers, kv = opml_gen_token_input(L), nin = kv + 3;
    uint32_t cap = 8 + L * (22 + 7 * (LLAMA_MAX_PARTS + 1)) + 2 * (LLAMA_MAX_PARTS + 1) + 2 * kv;
    g->T = T, g->S = S, g->last_only = last_only && T > 1, g->caches = 2 * L;
    g->in_token = kv, g->in_pos = kv + 1, g->in_sampler = kv + 2;
    g->inputs = calloc(nin, sizeof *g->inputs);
    g->nodes = calloc(cap, sizeof *g->nodes);
    g->kv_out = calloc(kv, sizeof *g->kv_out);
    g->kv_new = calloc(kv, sizeof *g->kv_new);
    if (!g->inputs || !g->nodes || !g->kv_out || !g->kv_new) {
        llama_step_free(g);
        return opml_errf(err, errlen, "llama: out of memory");
    }
    g->m.nin = nin, g->m.inputs = g->inputs, g->m.weights = w, g->m.nweights = nw, g->m.nodes = g->nodes;
    for (uint32_t i = 0; i < kv; i++)
        g->inputs[i] = i < 2 * L ? tens(llama_cache_dtype(hp), 3, S, hp->kv_heads, hp->head_dim) : tens(KD_I32, 1, 1, 0, 0);
    g->inputs[g->in_token] = tens(KD_I32, 1, T, 0, 0);
    g->inputs[g->in_pos] = tens(KD_I32, 1, 1, 0, 0);
    g->inputs[g->in_sampler] = tens(KD_I32, 1, OPML_GEN_SAMPLER_BYTES / 4, 0, 0);
    builder b = {.g = g, .cap = cap, .nw = nw};
    uint32_t per, parts = llama_parts(hp->vocab, hp->dim, &per), emb[LLAMA_MAX_PARTS + 1] = {g->in_token};
    for (uint32_t p = 0; p < parts; p++) emb[1 + p] = W(next_weight(&b));
    uint32_t x = node(&b, OP_EMBEDDING, tens(KD_F32, 2, T, hp->dim, 0), 1 + parts, emb);
    uint32_t cos_w = next_weight(&b), sin_w = next_weight(&b);
    for (uint32_t l = 0; l < L; l++) layer(&b, hp, l, cos_w, sin_w, &x);
    uint32_t rows = T;
    if (g->last_only) { /* the last token's row of x: Slice [T, D] -> [1, D] */
        uint32_t ops[1] = {x};
        x = node(&b, OP_SLICE, tens(KD_F32, 2, 1, hp->dim, 0), 1, ops);
        if (!b.bad) {
            kd_desc *sl = &g->nodes[x - nin].d;
            sl->ia[0] = (int32_t)T - 1, sl->ia[6] = sl->ia[7] = 1;
        }
        rows = 1;
    }
    x = rmsnorm(&b, x, rows, hp->dim, hp->rms_eps);
    g->logits = hp->tied_output ? matmul(&b, x, rows, hp->vocab, hp->dim, 0) : matrix(&b, x, rows, hp->vocab, hp->dim);
    tail(&b, g->logits);
    g->m.output_value = g->sampled;
    if (b.bad || b.nextw != nw) {
        llama_step_free(g);
        return opml_errf(err, errlen, "llama: graph builder inconsistent with the weight list");
    }
    char inner[300];
    if (opml_model_check(&g->m, inner, sizeof inner)) {
        llama_step_free(g);
        return opml_errf(err, errlen, "llama: %s", inner);
    }
    return 0;
}

/* ---- rope tables: binary64 arithmetic by + - * / only, the same on every IEEE machine ---- */

#define LN2_HI 0x1.62e42fee00000p-1 /* ln 2 in two parts: LN2_HI * k is exact for |k| < 2^21 */
#define LN2_LO 0x1.a39ef35793c76p-33
#define PIO2_1 0x1.921fb54400000p+0 /* pi/2 in three parts, each product with n < 2^21 exact */
#define PIO2_2 0x1.0b4611a600000p-34
#define PIO2_3 0x1.3198a2e037073p-69
#define INV_PIO2 0x1.45f306dc9c883p-1

static double pow2i(int e) { /* 2^e for |e| < 1000, exactly */
    double r = 1.0;
    for (; e > 0; e--) r *= 2.0;
    for (; e < 0; e++) r *= 0.5;
    return r;
}

static int64_t round_nearest(double x) { return (int64_t)(x >= 0 ? x + 0.5 : x - 0.5); }

/* ln x for finite x > 0: x = m 2^e, m in [0.707, 1.414]; 2 atanh((m-1)/(m+1)) by its series */
static double d_log(double x) {
    int e = 0;
    while (x >= 2.0) x *= 0.5, e++;
    while (x < 1.0) x *= 2.0, e--;
    if (x > 1.4142135623730951) x *= 0.5, e++;
    double f = (x - 1.0) / (x + 1.0), f2 = f * f, term = f, sum = 0.0;
    for (int k = 1; k < 64; k += 2) sum = sum + term / k, term = term * f2;
    return (2.0 * sum + (double)e * LN2_LO) + (double)e * LN2_HI;
}

/* e^y for |y| < 700: y = k ln2 + r, |r| <= ln2/2, Taylor to r^27 */
static double d_exp(double y) {
    int64_t k = round_nearest(y / (LN2_HI + LN2_LO));
    double r = (y - (double)k * LN2_HI) - (double)k * LN2_LO, sum = 1.0, term = 1.0;
    for (int n = 1; n < 28; n++) term = term * r / n, sum = sum + term;
    return sum * pow2i((int)k);
}

/* sin and cos of x, 0 <= x < 2^20 * pi/2: x = n pi/2 + r by Cody-Waite, Taylor on |r| <= pi/4 */
static void d_sincos(double x, double *s, double *c) {
    int64_t n = round_nearest(x * INV_PIO2);
    double r = ((x - (double)n * PIO2_1) - (double)n * PIO2_2) - (double)n * PIO2_3, r2 = r * r;
    double ts = r, tc = 1.0, ss = r, cc = 1.0;
    for (int k = 1; k < 14; k++) {
        ts = -ts * r2 / (double)((2 * k) * (2 * k + 1)), ss = ss + ts;
        tc = -tc * r2 / (double)((2 * k - 1) * (2 * k)), cc = cc + tc;
    }
    switch (n & 3) {
    case 0: *s = ss, *c = cc; break;
    case 1: *s = cc, *c = -ss; break;
    case 2: *s = -ss, *c = -cc; break;
    default: *s = -cc, *c = ss; break;
    }
}

void llama_rope_tables(const opml_llama_hparams *hp, uint32_t S, const float *freq_factors, float *cos_t, float *sin_t) {
    uint32_t half = hp->head_dim / 2;
    double lb = d_log((double)hp->rope_base);
    for (uint32_t i = 0; i < half; i++) {
        double theta = d_exp(-(2.0 * (double)i / (double)hp->head_dim) * lb);
        if (freq_factors) theta = theta / (double)freq_factors[i];
        for (uint32_t p = 0; p < S; p++) {
            double s, c;
            d_sincos((double)p * theta, &s, &c);
            cos_t[(size_t)p * half + i] = (float)c, sin_t[(size_t)p * half + i] = (float)s;
        }
    }
}
