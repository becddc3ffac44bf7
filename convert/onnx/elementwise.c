/* elementwise.c: ONNX's elementwise operators (onnx_lower.h): the unary ones (Relu, LeakyRelu,
 * Sigmoid, Tanh, Exp, Log, Sqrt, Neg, Abs, Erf, the circular and hyperbolic functions and their
 * inverses, Ceil, Floor, Round, Sign, Softplus, Softsign, Elu, Selu, Celu, ThresholdedRelu,
 * Shrink), Gelu, Reciprocal as a Div, Clip, HardSigmoid and HardSwish as Mul/Add/Clip, the
 * broadcasting binary ones (Add, Sub, Mul, Div, Pow, PRelu, Mod), with shape arithmetic on int64
 * constants and an Add of a bias folded into the QLinear before it, and the variadic Sum, Mean,
 * Max, Min as chains of binary nodes. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmath.h"

/* The float attributes of the unary operators that have some: ONNX's names and defaults, into
 * fa[0] and fa[1] in this order. */
static const struct unary_attrs {
    unsigned op;
    const char *names[3];
    float defaults[2];
} unary_attrs[] = {
    {OP_LEAKYRELU, {"alpha", NULL, NULL}, {0.01f, 0}},
    {OP_ELU, {"alpha", NULL, NULL}, {1.0f, 0}},
    {OP_SELU, {"alpha", "gamma", NULL}, {1.67326319217681884765625f, 1.05070102214813232421875f}},
    {OP_CELU, {"alpha", NULL, NULL}, {1.0f, 0}},
    {OP_THRESHOLDEDRELU, {"alpha", NULL, NULL}, {1.0f, 0}},
    {OP_SHRINK, {"bias", "lambd", NULL}, {0.0f, 0.5f}},
};

int onnx_op_unary(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    const struct unary_attrs *ua = NULL;
    for (size_t i = 0; i < sizeof unary_attrs / sizeof *unary_attrs; i++)
        if (unary_attrs[i].op == op) ua = &unary_attrs[i];
    int x;
    if (onnx_first_input(ox, ua ? ua->names : none, &x)) return -1;
    cv_sym *s = &c->syms[x];
    if ((op == OP_NEG || op == OP_ABS) && s->is_const && s->dtype == CV_I64 && cv_numel(s) <= 64) { /* shape arithmetic */
        int64_t out[64];
        for (int64_t i = 0; i < cv_numel(s); i++) {
            uint64_t neg = 0 - (uint64_t)s->i[i]; /* wraps at INT64_MIN, as two's complement does */
            out[i] = op == OP_NEG || s->i[i] < 0 ? (int64_t)neg : s->i[i];
        }
        return cv_new_const(c, onnx_out_name(ox, 0), CV_I64, s->rank, s->dims, out) < 0 ? -1 : 0;
    }
    kd_desc d = {.op = (uint16_t)op, .noperands = 1};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    for (int i = 0; ua && i < 2 && ua->names[i]; i++) d.fa[i] = onnx_attr_f(ox, ua->names[i], ua->defaults[i]);
    if (op == OP_CELU && d.fa[0] == 0.0f) return cv_fail(c, "alpha 0 is not supported");
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* Sum, Mean, Max and Min of one or more inputs, broadcast: ((x0 op x1) op x2) .. in input order;
 * Mean is that Sum divided by the count (one Div). */
int onnx_op_variadic(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int mean = op == OP_DIV, y;
    if (onnx_first_input(ox, none, &y)) return -1;
    const char *name = onnx_out_name(ox, 0);
    size_t n = ox->cur->n_input;
    if (n == 1) return cv_alias(c, y, name) < 0 ? -1 : 0;
    char buf[CV_NAME], step[32];
    for (size_t i = 1; i < n; i++) {
        int b;
        if (onnx_in(ox, i, &b)) return -1;
        if (b < 0) return cv_fail(c, "missing input %zu", i);
        snprintf(step, sizeof step, "step%zu", i);
        const char *to = i + 1 == n && !mean ? name : cv_subname(buf, name, step);
        if ((y = cv_binary(c, mean ? OP_ADD : op, y, b, to)) < 0) return -1;
    }
    if (!mean) return 0;
    int k = cv_scalar(c, cv_subname(buf, name, "count"), (float)n);
    return k < 0 || cv_binary(c, OP_DIV, y, k, name) < 0 ? -1 : 0;
}

/* a scalar float constant named after the current node's output */
static int scalar_const(onnx_ctx *ox, const char *suffix, float v) {
    char name[CV_NAME];
    return cv_scalar(ox->c, cv_subname(name, onnx_out_name(ox, 0), suffix), v);
}

/* HardSigmoid: y = clip(alpha * x + beta, 0, 1); HardSwish: x * HardSigmoid(x) with alpha = 1/6,
 * beta = 1/2. As Mul, Add, Clip (and Mul) nodes. */
int onnx_op_hard(onnx_ctx *ox, unsigned swish) {
    conv *c = ox->c;
    static const char *const known[] = {"alpha", "beta", NULL}, *const none[] = {NULL};
    int x;
    if (onnx_first_input(ox, swish ? none : known, &x)) return -1;
    float alpha = swish ? 1.0f / 6.0f : onnx_attr_f(ox, "alpha", 0.2f), beta = swish ? 0.5f : onnx_attr_f(ox, "beta", 0.5f);
    int ka = scalar_const(ox, "alpha", alpha), kb = ka < 0 ? -1 : scalar_const(ox, "beta", beta);
    if (kb < 0) return -1;
    const char *name = onnx_out_name(ox, 0);
    char n1[300], n2[300], n3[300];
    snprintf(n1, sizeof n1, "%s/ax", name), snprintf(n2, sizeof n2, "%s/axb", name), snprintf(n3, sizeof n3, "%s/hs", name);
    kd_desc d = {.op = OP_MUL, .noperands = 2};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    int ops[2] = {x, ka}, y;
    if ((y = cv_emit(c, &d, ops, n1)) < 0) return -1;
    d.op = OP_ADD, ops[0] = y, ops[1] = kb;
    if ((y = cv_emit(c, &d, ops, n2)) < 0) return -1;
    kd_desc cl = {.op = OP_CLIP, .noperands = 1, .fa = {0.0f, 1.0f}};
    cv_set_out(&cl, c->syms[x].rank, c->syms[x].dims);
    if ((y = cv_emit(c, &cl, &y, swish ? n3 : name)) < 0) return -1;
    if (!swish) return 0;
    d.op = OP_MUL, ops[0] = x, ops[1] = y;
    return cv_emit(c, &d, ops, name) < 0 ? -1 : 0;
}

int onnx_op_clip(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"min", "max", NULL};
    if (onnx_only_attrs(ox, known)) return -1;
    int x, lo, hi;
    if (onnx_in(ox, 0, &x) || onnx_in(ox, 1, &lo) || onnx_in(ox, 2, &hi)) return -1;
    if (x < 0) return cv_fail(c, "missing input");
    kd_desc d = {.op = OP_CLIP, .noperands = 1};
    d.fa[0] = onnx_attr_f(ox, "min", kf_from_bits(0xFF800000u));
    d.fa[1] = onnx_attr_f(ox, "max", kf_from_bits(0x7F800000u));
    int b[2] = {lo, hi};
    for (int i = 0; i < 2; i++) {
        if (b[i] < 0) continue;
        cv_sym *s = &c->syms[b[i]];
        if (!s->is_const || cv_numel(s) != 1) return cv_fail(c, "a run-time %s bound is not supported", i ? "max" : "min");
        d.fa[i] = s->dtype != KD_F32 ? (float)s->i[0] : s->f[0];
    }
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* Add(y, b) with y a bias-less QLinear's output that nothing else reads and b a float constant of
 * its N output channels: b becomes the QLinear's bias (kq_output adds it with the same single IEEE
 * addition the Add node would make, so the bits are the same). Returns 1 when folded. */
static int fold_bias(onnx_ctx *ox, int y, int b) {
    conv *c = ox->c;
    cv_sym *sy = &c->syms[y], *sb = &c->syms[b];
    cv_node *nd = sy->producer >= 0 ? &c->nodes[sy->producer] : NULL;
    if (!nd || !nd->quant || nd->d.op != OP_QLINEAR || nd->bias || !sb->is_const || sb->dtype != KD_F32) return 0;
    if ((size_t)cv_numel(sb) != nd->rows || sb->rank > sy->rank || onnx_consumers(ox, sy->name) != 1) return 0;
    for (int i = 0; i + 1 < sb->rank; i++)
        if (sb->dims[i] != 1) return 0;
    if (sb->rank && (size_t)sb->dims[sb->rank - 1] != nd->rows) return 0;
    if (!(nd->bias = malloc(nd->rows * 4 + 4))) return 0;
    memcpy(nd->bias, sb->f, nd->rows * 4);
    nd->d.noperands = 4;
    nd->d.in[3] = nd->d.in[2];
    return 1;
}

int onnx_op_binary(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    if (onnx_only_attrs(ox, none)) return -1;
    int ab[2];
    if (onnx_in(ox, 0, &ab[0]) || onnx_in(ox, 1, &ab[1])) return -1;
    if (ab[0] < 0 || ab[1] < 0) return cv_fail(c, "missing input");
    /* Pow's exponent may be an integer tensor: a constant one becomes float32 */
    if (op == OP_POW && c->syms[ab[1]].dtype != KD_F32 && (ab[1] = cv_as_dtype(c, ab[1], KD_F32)) < 0) return -1;
    cv_sym *a = &c->syms[ab[0]], *b = &c->syms[ab[1]];
    int rank;
    int64_t dims[KD_MAX_RANK];
    if (cv_broadcast(c, a, b, &rank, dims)) return -1;
    int arith = op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_DIV;
    if (arith && a->is_const && b->is_const && (a->dtype == CV_I64 || b->dtype == CV_I64)) {
        /* shape arithmetic on int64 constants: same size or one scalar */
        if (a->dtype != CV_I64 || b->dtype != CV_I64) return cv_fail(c, "mixed int64/float constants");
        int64_t na = cv_numel(a), nb = cv_numel(b), n = na > nb ? na : nb;
        if ((na != n && na != 1) || (nb != n && nb != 1) || n > 64) return cv_fail(c, "int64 arithmetic beyond scalars");
        int64_t out[64];
        for (int64_t i = 0; i < n; i++) {
            int64_t x = a->i[na == 1 ? 0 : i], y = b->i[nb == 1 ? 0 : i];
            if (op == OP_DIV && y == 0) return cv_fail(c, "int64 division by zero");
            out[i] = op == OP_ADD ? x + y : op == OP_SUB ? x - y : op == OP_MUL ? x * y : x / y;
        }
        return cv_new_const(c, onnx_out_name(ox, 0), CV_I64, rank, dims, out) < 0 ? -1 : 0;
    }
    if (op == OP_ADD && fold_bias(ox, ab[0], ab[1]) == 1) return cv_alias(c, ab[0], onnx_out_name(ox, 0)) < 0 ? -1 : 0;
    if (op == OP_ADD && fold_bias(ox, ab[1], ab[0]) == 1) return cv_alias(c, ab[1], onnx_out_name(ox, 0)) < 0 ? -1 : 0;
    kd_desc d = {.op = (uint16_t)op, .noperands = 2};
    cv_set_out(&d, rank, dims);
    return cv_emit(c, &d, ab, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* Mod of floats: ONNX defines it with fmod = 1 only (C's fmod); fmod 0 is integer Mod. */
int onnx_op_mod(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"fmod", NULL};
    int a, b;
    if (onnx_first_input(ox, known, &a) || onnx_in(ox, 1, &b)) return -1;
    if (b < 0) return cv_fail(c, "missing input");
    if (onnx_attr_i(ox, "fmod", 0) != 1) return cv_fail(c, "fmod 0 (integer Mod) is not supported");
    return cv_binary(c, OP_MOD, a, b, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* Gelu (opset 20): approximate "none" (erf) or "tanh", the Gelu kernel's two forms. */
int onnx_op_gelu(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"approximate", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    const char *ap = onnx_attr_s(ox, "approximate", "none");
    if (strcmp(ap, "none") && strcmp(ap, "tanh")) return cv_fail(c, "approximate '%s' is not supported", ap);
    kd_desc d = {.op = OP_GELU, .noperands = 1, .ia = {!strcmp(ap, "tanh")}};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* Reciprocal: 1 / x, a Div by the constant 1 (one IEEE division, as the operator is defined). */
int onnx_op_reciprocal(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int ops[2];
    if (onnx_first_input(ox, none, &ops[1]) || (ops[0] = scalar_const(ox, "one", 1.0f)) < 0) return -1;
    kd_desc d = {.op = OP_DIV, .noperands = 2};
    cv_set_out(&d, c->syms[ops[1]].rank, c->syms[ops[1]].dims);
    return cv_emit(c, &d, ops, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}
