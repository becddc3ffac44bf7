/* test_onnx_tx.c: the converter on what transformer exports emit (issue 15, parts 2 and 3),
 * each graph composed here (onnx_build.h) and run on the ref backend:
 *   - an int64 token-id input: Gather of an embedding table, the key-padding mask
 *     (Equal, Not, Cast, Unsqueeze, Where of -1e9) with the exact values a hand computation gives,
 *     an id past the table giving a NaN row, the model input recorded as int64;
 *   - PyTorch's exported LayerNorm chain (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul,
 *     Add) and its GELU chain (Div, Erf, Add, Mul, Mul) give exactly the bits of the
 *     LayerNormalization and Gelu operators, lowered node by node or fused into one node;
 *   - Einsum where it is a matrix product (batched, transposed operand, implicit output, ellipsis,
 *     a constant second operand as a QLinear, one-input permutation and sum) against a double
 *     computation within the int8 tolerance; a diagonal, three inputs and mismatched sizes refused;
 *   - Range and ConstantOfShape of constants folded; a run-time Range refused; shapes of more
 *     than a tensor can hold refused before anything is allocated from them.
 * Runs under ASan/UBSan. */
#include "check.h"
#include "convert.h"
#include "engine.h"
#include "model.h"
#include "onnx_build.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define F32 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define I64 ONNX__TENSOR_PROTO__DATA_TYPE__INT64

static char err[512];

/* The builder's model (freed) converted (no_fuse: chains node by node) and parsed into *m: 0, or
 * -1 with err. */
static int convert_with(ob_model *b, int no_fuse, opml_model *m) {
    opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f, .no_fuse = no_fuse};
    int r = ob_convert(b, &o, m, err, sizeof err);
    if (r) fprintf(stderr, "conversion: %s\n", err);
    return r;
}

static int convert(ob_model *b, opml_model *m) { return convert_with(b, 0, m); }

/* Runs model m (freed) on its inputs on ref; the output's bytes into a malloc'd *out. */
static size_t run(opml_model *m, const void *const *in, uint8_t **out) {
    opml_backend *ref = opml_backend_new("ref");
    opml_run r;
    size_t len[4], nb = 0;
    for (uint32_t i = 0; i < m->nin && i < 4; i++) len[i] = (size_t)kd_nbytes(&m->inputs[i]);
    *out = NULL;
    CHECK_EQ_INT(opml_run_init(&r, m, ref, err, sizeof err), 0);
    if (opml_run_exec(&r, in, len, 1, err, sizeof err) == 0) {
        const void *y = opml_run_output(&r, &nb);
        *out = malloc(nb + 1);
        memcpy(*out, y, nb);
    } else {
        fprintf(stderr, "run: %s\n", err);
        CHECK(0);
    }
    opml_run_free(&r);
    opml_backend_free(ref);
    opml_model_free(m);
    return nb;
}

static void refused(ob_model *b, const char *word) {
    opml_model m;
    size_t len, olen;
    uint8_t *onnx = ob_pack(b, &len), *out = NULL;
    ob_free(b);
    opml_convert_opts o = {.batch = 1, .input_divisor = 255.0f};
    int r = opml_convert(onnx, len, &o, &out, &olen, err, sizeof err);
    free(onnx), free(out);
    CHECK_EQ_INT(r, -1);
    if (!strstr(err, word)) fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, word);
    CHECK(strstr(err, word) != NULL);
    (void)m;
    printf("refused: %s\n", err);
}

/* ids [1, 6] int64 -> table rows times the non-padding mask, and masked scores */
static void token_ids(void) {
    static const int64_t idd[2] = {1, 6}, td[2] = {10, 4}, yd[3] = {1, 6, 4}, one[1] = {1}, two[1] = {2};
    float table[40];
    for (int i = 0; i < 40; i++) table[i] = (float)i * 0.5f - 3.0f;
    ob_model *b = ob_new(14);
    ob_input(b, "ids", I64, 2, idd);
    ob_init_f32(b, "table", 2, td, table);
    static const int64_t zero = 0;
    ob_init_i64(b, "zero", 0, NULL, &zero);
    ob_init_i64(b, "ax2", 1, one, two);
    static const char *const g_in[] = {"table", "ids", NULL}, *const g_out[] = {"emb", NULL};
    ob_node(b, "Gather", g_in, g_out);
    static const char *const e_in[] = {"ids", "zero", NULL}, *const e_out[] = {"pad", NULL};
    ob_node(b, "Equal", e_in, e_out);
    static const char *const n_in[] = {"pad", NULL}, *const n_out[] = {"keep", NULL};
    ob_node(b, "Not", n_in, n_out);
    static const char *const c_in[] = {"keep", NULL}, *const c_out[] = {"keepf", NULL};
    ob_attr_i(b, ob_node(b, "Cast", c_in, c_out), "to", 1);
    static const char *const u_in[] = {"keepf", "ax2", NULL}, *const u_out[] = {"keep3", NULL};
    ob_node(b, "Unsqueeze", u_in, u_out);
    static const char *const m_in[] = {"emb", "keep3", NULL}, *const m_out[] = {"masked", NULL};
    ob_node(b, "Mul", m_in, m_out);
    /* Where(pad [1,6,1], -1e9, masked): the padding rows become -1e9 */
    static const char *const u2_in[] = {"pad", "ax2", NULL}, *const u2_out[] = {"pad3", NULL};
    ob_node(b, "Unsqueeze", u2_in, u2_out);
    static const float big = -1e9f;
    ob_init_f32(b, "big", 0, NULL, &big);
    static const char *const w_in[] = {"pad3", "big", "masked", NULL}, *const w_out[] = {"y", NULL};
    ob_node(b, "Where", w_in, w_out);
    ob_output(b, "y", F32, 3, yd);
    opml_model m;
    if (convert(b, &m)) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(m.nin, 1);
    CHECK_EQ_INT(m.inputs[0].dtype, KD_I64);
    int64_t ids[6] = {3, 0, 9, -1, 12, 0};
    const void *in[1] = {ids};
    uint8_t *out;
    size_t nb = run(&m, in, &out);
    CHECK_EQ_INT(nb, 24 * 4);
    if (!out) return;
    const float *y = (const float *)(void *)out;
    for (int t = 0; t < 6; t++)
        for (int i = 0; i < 4; i++) {
            float v = y[t * 4 + i];
            if (ids[t] == 0) CHECK(v == -1e9f);
            else if (ids[t] == 12) CHECK(v != v); /* past the table: NaN, never a read outside it */
            else CHECK(v == table[(ids[t] < 0 ? ids[t] + 10 : ids[t]) * 4 + i]);
        }
    free(out);
}

/* x [3, 8]: y1 by the exported chain, y2 by the operator; the two outputs concatenated */
static ob_model *chain_and_op(int gelu) {
    static const int64_t xd[2] = {3, 8}, yd[2] = {6, 8}, g8[1] = {8}, ax[1] = {-1};
    float gam[8], bet[8];
    for (int i = 0; i < 8; i++) gam[i] = 0.75f + (float)i / 8.0f, bet[i] = (float)i / 4.0f - 1.0f;
    ob_model *b = ob_new(20);
    ob_input(b, "x", F32, 2, xd);
    ob_init_f32(b, "gamma", 1, g8, gam);
    ob_init_f32(b, "beta", 1, g8, bet);
    static const float two = 2.0f, eps = 1e-5f, sqrt2 = 1.41421353816986083984375f, one = 1.0f, half = 0.5f;
    ob_init_f32(b, "two", 0, NULL, &two), ob_init_f32(b, "eps", 0, NULL, &eps);
    ob_init_f32(b, "sqrt2", 0, NULL, &sqrt2), ob_init_f32(b, "one", 0, NULL, &one), ob_init_f32(b, "half", 0, NULL, &half);
    if (gelu) {
        static const char *const s[][4] = {{"Div", "x", "sqrt2", "d"}, {"Erf", "d", NULL, "e"}, {"Add", "e", "one", "a"},
                                           {"Mul", "x", "a", "m"}, {"Mul", "m", "half", "y1"}};
        for (int i = 0; i < 5; i++) {
            const char *in[] = {s[i][1], s[i][2], NULL}, *out[] = {s[i][3], NULL};
            ob_node(b, s[i][0], in, out);
        }
        static const char *const in[] = {"x", NULL}, *const out[] = {"y2", NULL};
        ob_attr_s(b, ob_node(b, "Gelu", in, out), "approximate", "none");
    } else {
        static const char *const s[][4] = {{"ReduceMean", "x", NULL, "m"}, {"Sub", "x", "m", "c"}, {"Pow", "c", "two", "p"},
                                           {"ReduceMean", "p", NULL, "v"}, {"Add", "v", "eps", "ve"}, {"Sqrt", "ve", NULL, "sd"},
                                           {"Div", "c", "sd", "q"}, {"Mul", "q", "gamma", "g"}, {"Add", "g", "beta", "y1"}};
        for (int i = 0; i < 9; i++) {
            const char *in[] = {s[i][1], s[i][2], NULL}, *out[] = {s[i][3], NULL};
            Onnx__NodeProto *n = ob_node(b, s[i][0], in, out);
            if (!strcmp(s[i][0], "ReduceMean")) ob_attr_ints(b, n, "axes", 1, ax);
        }
        static const char *const in[] = {"x", "gamma", "beta", NULL}, *const out[] = {"y2", NULL};
        ob_attr_f(b, ob_node(b, "LayerNormalization", in, out), "epsilon", eps);
    }
    static const char *const in[] = {"y1", "y2", NULL}, *const out[] = {"y", NULL};
    ob_attr_i(b, ob_node(b, "Concat", in, out), "axis", 0);
    ob_output(b, "y", F32, 2, yd);
    return b;
}

/* Each chain lowered node by node (no_fuse) and fused into one node: both equal the operator. */
static void chains_equal_operators(void) {
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)((i * 37) % 23) / 3.0f - 3.5f + (i == 5 ? 100.0f : 0.0f);
    x[7] = -0.0f, x[11] = 1e-30f;
    for (int gelu = 0; gelu < 2; gelu++)
        for (int no_fuse = 0; no_fuse < 2; no_fuse++) {
            opml_model m;
            if (convert_with(chain_and_op(gelu), no_fuse, &m)) {
                CHECK(0);
                continue;
            }
            /* fused: the chain is one node beside the operator's and the Concat */
            CHECK_EQ_INT(m.n, no_fuse ? (gelu ? 7 : 11) : 3);
            CHECK_EQ_INT(m.nodes[0].d.op, no_fuse ? (gelu ? OP_DIV : OP_REDUCEMEAN) : (gelu ? OP_GELU : OP_LAYERNORM));
            const void *in[1] = {x};
            uint8_t *out;
            size_t nb = run(&m, in, &out);
            CHECK_EQ_INT(nb, 48 * 4);
            if (out) CHECK_MEM(out, out + 24 * 4, 24 * 4); /* the chain's rows == the operator's */
            free(out);
        }
}

/* Einsum `eq` of a [ad] (run-time) and b [bd] (constant when bconst): compared with a double
 * computation of the same contraction, given as out[i] = sum over k of a[ia(i,k)] * b[ib(i,k)]. */
typedef struct ein_case {
    const char *eq;
    int ar, br, yr, bconst;
    int64_t ad[4], bd[4], yd[4];
} ein_case;

/* The double reference: every output and contraction index walked by the letters. */
static void einsum_ref(const ein_case *e, const char *ta, const char *tb, const char *ty, const float *a, const float *b,
                       double *y) {
    char letters[16] = "";
    int64_t size[128] = {0};
    for (int j = 0; j < e->ar; j++) size[(int)ta[j]] = e->ad[j];
    for (int j = 0; j < e->br; j++) size[(int)tb[j]] = e->bd[j];
    int nl = 0;
    for (const char *p = ta; *p; p++) if (!strchr(letters, *p)) letters[nl++] = *p;
    for (const char *p = tb; *p; p++) if (!strchr(letters, *p)) letters[nl++] = *p;
    int64_t ny = 1, idx[128] = {0};
    for (int j = 0; j < e->yr; j++) ny *= e->yd[j];
    for (int64_t i = 0; i < ny; i++) y[i] = 0;
    for (;;) {
        int64_t ai = 0, bi = 0, yi = 0;
        for (int j = 0; j < e->ar; j++) ai = ai * e->ad[j] + idx[(int)ta[j]];
        for (int j = 0; j < e->br; j++) bi = bi * e->bd[j] + idx[(int)tb[j]];
        for (int j = 0; j < e->yr; j++) yi = yi * e->yd[j] + idx[(int)ty[j]];
        y[yi] += (double)a[ai] * b[bi];
        int l = nl - 1;
        for (; l >= 0; l--) {
            if (++idx[(int)letters[l]] < size[(int)letters[l]]) break;
            idx[(int)letters[l]] = 0;
        }
        if (l < 0) break;
    }
}

static void einsum_products(void) {
    static const ein_case cases[] = {
        {"bij,bjk->bik", 3, 3, 3, 0, {2, 3, 4}, {2, 4, 5}, {2, 3, 5}},
        {"bhid,bhjd->bhij", 4, 4, 4, 0, {1, 2, 3, 4}, {1, 2, 5, 4}, {1, 2, 3, 5}},
        {"ij,jk", 2, 2, 2, 1, {3, 6}, {6, 4}, {3, 4}},
        {"...ij,...jk->...ik", 3, 3, 3, 0, {2, 3, 4}, {2, 4, 5}, {2, 3, 5}},
        {"ik,jk->ji", 2, 2, 2, 1, {3, 5}, {4, 5}, {4, 3}},
    };
    /* the same subscripts spelled out for the reference */
    static const char *const spelled[][3] = {{"bij", "bjk", "bik"}, {"bhid", "bhjd", "bhij"}, {"ij", "jk", "ik"},
                                             {"Bij", "Bjk", "Bik"}, {"ik", "jk", "ji"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const ein_case *e = &cases[c];
        int64_t na = 1, nb = 1, ny = 1;
        for (int j = 0; j < e->ar; j++) na *= e->ad[j];
        for (int j = 0; j < e->br; j++) nb *= e->bd[j];
        for (int j = 0; j < e->yr; j++) ny *= e->yd[j];
        float *a = malloc((size_t)na * 4), *bv = malloc((size_t)nb * 4);
        double *want = malloc((size_t)ny * 8);
        for (int64_t i = 0; i < na; i++) a[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
        for (int64_t i = 0; i < nb; i++) bv[i] = (float)((i * 5) % 13) / 6.0f - 1.0f;
        einsum_ref(e, spelled[c][0], spelled[c][1], spelled[c][2], a, bv, want);
        ob_model *b = ob_new(13);
        ob_input(b, "a", F32, e->ar, e->ad);
        if (e->bconst) ob_init_f32(b, "b", e->br, e->bd, bv);
        else ob_input(b, "b", F32, e->br, e->bd);
        static const char *const in[] = {"a", "b", NULL}, *const out[] = {"y", NULL};
        ob_attr_s(b, ob_node(b, "Einsum", in, out), "equation", e->eq);
        ob_output(b, "y", F32, e->yr, e->yd);
        opml_model m;
        if (convert(b, &m)) {
            CHECK(0);
        } else {
            int quantized_linear = e->bconst && m.nodes[m.n - 1].d.op != OP_QMATMUL;
            const void *ins[2] = {a, bv};
            uint8_t *out;
            size_t n = run(&m, ins, &out);
            CHECK_EQ_INT(n, (size_t)ny * 4);
            double amax = 0, worst = 0;
            for (int64_t i = 0; i < ny; i++) amax = fmax(amax, fabs(want[i]));
            for (int64_t i = 0; out && i < ny; i++) worst = fmax(worst, fabs(((float *)(void *)out)[i] - want[i]));
            printf("einsum %-20s worst error %.4f of max|y| %.3f%s\n", e->eq, worst, amax, quantized_linear ? " (QLinear)" : "");
            CHECK(worst <= 0.03 * amax + 1e-5);
            free(out);
        }
        free(a), free(bv), free(want);
    }
    /* one input: a permutation is exact, a sum too */
    static const int64_t xd[2] = {2, 3}, td[2] = {3, 2}, sd[1] = {2};
    float x[6] = {1, 2, 3, 4, 5, 6};
    const char *eqs[2] = {"ij->ji", "ij->i"};
    for (int k = 0; k < 2; k++) {
        ob_model *b = ob_new(13);
        ob_input(b, "x", F32, 2, xd);
        static const char *const in[] = {"x", NULL}, *const outs[] = {"y", NULL};
        ob_attr_s(b, ob_node(b, "Einsum", in, outs), "equation", eqs[k]);
        ob_output(b, "y", F32, k ? 1 : 2, k ? sd : td);
        opml_model m;
        if (convert(b, &m)) {
            CHECK(0);
            continue;
        }
        const void *ins[1] = {x};
        uint8_t *out;
        run(&m, ins, &out);
        const float *y = (const float *)(void *)out;
        if (out && !k) CHECK(y[0] == 1 && y[1] == 4 && y[2] == 2 && y[5] == 6);
        if (out && k) CHECK(y[0] == 6 && y[1] == 15);
        free(out);
    }
    /* refused: a diagonal, three inputs, contracted sizes that differ */
    static const int64_t sq[2] = {3, 3}, v3[1] = {3}, ab[2] = {2, 4}, bb[2] = {5, 2};
    ob_model *b = ob_new(13);
    ob_input(b, "x", F32, 2, sq);
    static const char *const in1[] = {"x", NULL}, *const out1[] = {"y", NULL};
    ob_attr_s(b, ob_node(b, "Einsum", in1, out1), "equation", "ii->i");
    ob_output(b, "y", F32, 1, v3);
    refused(b, "diagonal");
    b = ob_new(13);
    ob_input(b, "x", F32, 2, sq);
    static const char *const in3[] = {"x", "x", "x", NULL};
    ob_attr_s(b, ob_node(b, "Einsum", in3, out1), "equation", "ij,jk,kl->il");
    ob_output(b, "y", F32, 2, sq);
    refused(b, "one or two inputs");
    b = ob_new(13);
    ob_input(b, "a", F32, 2, ab);
    ob_input(b, "b", F32, 2, bb);
    static const char *const in2[] = {"a", "b", NULL};
    ob_attr_s(b, ob_node(b, "Einsum", in2, out1), "equation", "ij,jk->ik");
    ob_output(b, "y", F32, -1, NULL);
    refused(b, "sizes 4 and 5");
}

/* Range and ConstantOfShape of constants are folded; a run-time Range and huge shapes refused */
static void shape_builders(void) {
    static const int64_t xd[1] = {6}, one[1] = {1}, start = 2, limit = 14, delta = 2, sh[1] = {6};
    ob_model *b = ob_new(13);
    ob_input(b, "x", F32, 1, xd);
    ob_init_i64(b, "start", 0, NULL, &start), ob_init_i64(b, "limit", 0, NULL, &limit), ob_init_i64(b, "delta", 0, NULL, &delta);
    ob_init_i64(b, "shape", 1, one, sh);
    static const char *const r_in[] = {"start", "limit", "delta", NULL}, *const r_out[] = {"r", NULL};
    ob_node(b, "Range", r_in, r_out); /* 2 4 6 8 10 12 */
    static const char *const c_in[] = {"r", NULL}, *const c_out[] = {"rf", NULL};
    ob_attr_i(b, ob_node(b, "Cast", c_in, c_out), "to", 1);
    static const char *const k_in[] = {"shape", NULL}, *const k_out[] = {"k", NULL};
    ob_node(b, "ConstantOfShape", k_in, k_out); /* six float zeros */
    static const char *const a_in[] = {"x", "rf", NULL}, *const a_out[] = {"s", NULL};
    ob_node(b, "Add", a_in, a_out);
    static const char *const a2_in[] = {"s", "k", NULL}, *const a2_out[] = {"y", NULL};
    ob_node(b, "Add", a2_in, a2_out);
    ob_output(b, "y", F32, 1, xd);
    opml_model m;
    if (convert(b, &m)) {
        CHECK(0);
    } else {
        CHECK_EQ_INT(m.n, 2); /* the two Adds: everything else was folded */
        float x[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
        const void *in[1] = {x};
        uint8_t *out;
        run(&m, in, &out);
        const float *y = (const float *)(void *)out;
        for (int i = 0; out && i < 6; i++) CHECK(y[i] == 2.5f + 2.0f * (float)i);
        free(out);
    }
    /* a Range of a run-time scalar */
    static const int64_t none[1] = {0};
    b = ob_new(13);
    ob_input(b, "n", I64, 0, none);
    ob_init_i64(b, "start", 0, NULL, &start), ob_init_i64(b, "delta", 0, NULL, &delta);
    static const char *const rr_in[] = {"start", "n", "delta", NULL}, *const rr_out[] = {"y", NULL};
    ob_node(b, "Range", rr_in, rr_out);
    ob_output(b, "y", I64, -1, NULL);
    refused(b, "run-time");
    /* shapes past what a tensor holds: a ConstantOfShape, an Expand, a Range */
    static const int64_t huge[2] = {1 << 20, 1 << 20}, two[1] = {2};
    b = ob_new(13);
    ob_input(b, "x", F32, 1, xd);
    ob_init_i64(b, "shape", 1, two, huge);
    static const char *const h_in[] = {"shape", NULL}, *const h_out[] = {"k", NULL};
    ob_node(b, "ConstantOfShape", h_in, h_out);
    static const char *const ha_in[] = {"x", "k", NULL}, *const ha_out[] = {"y", NULL};
    ob_node(b, "Add", ha_in, ha_out);
    ob_output(b, "y", F32, -1, NULL);
    refused(b, "more than");
    b = ob_new(13);
    ob_input(b, "x", F32, 1, xd);
    static const int64_t wide[2] = {1 << 24, 6};
    ob_init_i64(b, "shape", 1, two, wide);
    static const char *const e_in[] = {"x", "shape", NULL}, *const e_out[] = {"y", NULL};
    ob_node(b, "Expand", e_in, e_out);
    ob_output(b, "y", F32, -1, NULL);
    refused(b, "a tensor holds at most");
    static const int64_t big_limit = (int64_t)1 << 40;
    b = ob_new(13);
    ob_input(b, "x", F32, 1, xd);
    ob_init_i64(b, "start", 0, NULL, &start), ob_init_i64(b, "limit", 0, NULL, &big_limit), ob_init_i64(b, "delta", 0, NULL, &delta);
    ob_node(b, "Range", r_in, r_out);
    static const char *const rc_in[] = {"r", NULL}, *const rc_out[] = {"y", NULL};
    ob_attr_i(b, ob_node(b, "Cast", rc_in, rc_out), "to", 1);
    ob_output(b, "y", F32, -1, NULL);
    refused(b, "more than");
}

int main(void) {
    token_ids();
    chains_equal_operators();
    einsum_products();
    shape_builders();
    return check_summary("test_onnx_tx");
}
