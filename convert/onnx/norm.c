/* norm.c: ONNX's normalizations (onnx_lower.h): Softmax, LogSoftmax and Hardmax (the opset-13
 * change of meaning of the axis included); BatchNormalization, folded into the quantized product
 * before it when nothing else reads that product, else lowered to Sub, Mul and Add nodes;
 * LayerNormalization, a LayerNorm node; InstanceNormalization, MeanVarianceNormalization and LRN
 * as their reference formulas in nodes. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmath.h"

int onnx_op_softmax(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    static const char *const known[] = {"axis", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    int64_t axis = 0;
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", ox->opset < 13 ? 1 : -1), c->syms[x].rank, &axis)) return -1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1, .ia = {(int32_t)axis, ox->opset < 13}};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* A BatchNormalization that cannot be folded: y = ((x - mean) * f) + beta per channel (dimension
 * 1), f = gamma / kf_sqrt(var + eps), as Sub, Mul and Add nodes with [C, 1, ..] constants. */
static int batchnorm_alone(onnx_ctx *ox, int x, const int *p, float eps) {
    conv *c = ox->c;
    const cv_sym *sx = &c->syms[x];
    if (sx->rank < 2) return cv_fail(c, "input of rank %d has no channel dimension", sx->rank);
    int64_t ch = sx->dims[1], dims[KD_MAX_RANK];
    for (int i = 0; i < 4; i++)
        if (cv_numel(&c->syms[p[i]]) != ch) return cv_fail(c, "parameters do not have %lld channels", (long long)ch);
    for (int i = 0; i < sx->rank - 1; i++) dims[i] = i == 0 ? ch : 1;
    float *f = malloc((size_t)ch * 4 + 4);
    if (!f) return cv_fail(c, "out of memory");
    for (int64_t o = 0; o < ch; o++) f[o] = c->syms[p[0]].f[o] / kf_sqrt(c->syms[p[3]].f[o] + eps);
    const char *name = onnx_out_name(ox, 0);
    char n1[300], n2[300], n3[300], n4[300], n5[300];
    snprintf(n1, sizeof n1, "%s/mean", name), snprintf(n2, sizeof n2, "%s/factor", name);
    snprintf(n3, sizeof n3, "%s/beta", name), snprintf(n4, sizeof n4, "%s/centred", name);
    snprintf(n5, sizeof n5, "%s/scaled", name);
    int km = cv_new_const(c, n1, KD_F32, sx->rank - 1, dims, c->syms[p[2]].f);
    int kf = km < 0 ? -1 : cv_new_const(c, n2, KD_F32, sx->rank - 1, dims, f);
    int kb = kf < 0 ? -1 : cv_new_const(c, n3, KD_F32, sx->rank - 1, dims, c->syms[p[1]].f);
    free(f);
    if (kb < 0) return -1;
    kd_desc d = {.op = OP_SUB, .noperands = 2};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    int ops[2] = {x, km};
    int y = cv_emit(c, &d, ops, n4);
    if (y < 0) return -1;
    d.op = OP_MUL, ops[0] = y, ops[1] = kf;
    if ((y = cv_emit(c, &d, ops, n5)) < 0) return -1;
    d.op = OP_ADD, ops[0] = y, ops[1] = kb;
    return cv_emit(c, &d, ops, name) < 0 ? -1 : 0;
}

int onnx_op_batchnorm(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"epsilon", "momentum", "training_mode", "spatial", NULL};
    if (onnx_only_attrs(ox, known) || onnx_single_output(ox)) return -1;
    if (onnx_attr_i(ox, "training_mode", 0)) return cv_fail(c, "training_mode is not supported");
    if (!onnx_attr_i(ox, "spatial", 1)) return cv_fail(c, "spatial=0 is not supported");
    int x, p[4];
    if (onnx_in(ox, 0, &x)) return -1;
    for (int i = 0; i < 4; i++)
        if (onnx_in(ox, (size_t)i + 1, &p[i]) || p[i] < 0 || !c->syms[p[i]].is_const || c->syms[p[i]].dtype != KD_F32)
            return cv_fail(c, "scale, bias, mean and variance must be float32 constants");
    if (x < 0) return cv_fail(c, "missing input");
    cv_sym *sx = &c->syms[x];
    int prod = sx->producer;
    cv_node *nd = prod >= 0 ? &c->nodes[prod] : NULL;
    float eps = onnx_attr_f(ox, "epsilon", 1e-5f);
    if (!nd || !nd->quant || onnx_consumers(ox, sx->name) != 1 || (nd->d.op == OP_QLINEAR && sx->rank != 2))
        return batchnorm_alone(ox, x, p, eps);
    size_t m = nd->rows;
    for (int i = 0; i < 4; i++)
        if ((size_t)cv_numel(&c->syms[p[i]]) != m) return cv_fail(c, "parameters do not have %zu channels", m);
    if (!nd->bias) {
        nd->bias = calloc(m, 4);
        if (!nd->bias) return cv_fail(c, "out of memory");
        nd->d.noperands = 4;
        nd->d.in[3] = nd->d.in[2];
    }
    const float *gamma = c->syms[p[0]].f, *beta = c->syms[p[1]].f, *mean = c->syms[p[2]].f, *var = c->syms[p[3]].f;
    for (size_t o = 0; o < m; o++) {
        float f = gamma[o] / kf_sqrt(var[o] + eps);
        for (size_t i = 0; i < nd->rowlen; i++) nd->wf[o * nd->rowlen + i] = nd->wf[o * nd->rowlen + i] * f;
        nd->bias[o] = (nd->bias[o] - mean[o]) * f + beta[o];
    }
    return cv_alias(c, x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* LayerNormalization's optional outputs, where something reads them: Mean (ReduceMean over the
 * normalized dims, kept as 1s) and InvStdDev (1 / kf_sqrt(mean of (x - Mean)^2 + eps), as
 * ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt and a Div of 1): the LayerNorm kernel's own
 * statistics, bit for bit (same sums in the same order). */
static int layernorm_stats(onnx_ctx *ox, int x, int64_t axis, float eps) {
    conv *c = ox->c;
    const char *mean_name = onnx_out_name(ox, 1), *inv_name = onnx_out_name(ox, 2), *y = onnx_out_name(ox, 0);
    int want_inv = inv_name[0] && onnx_consumers(ox, inv_name) > 0;
    if (!want_inv && !(mean_name[0] && onnx_consumers(ox, mean_name) > 0)) return 0;
    const cv_sym *s = &c->syms[x];
    int rank = s->rank;
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < rank; i++) dims[i] = i < axis ? s->dims[i] : 1;
    char nm[6][300];
    const char *suffix[6] = {"mean", "centred", "squared", "var", "var_eps", "std"};
    for (int i = 0; i < 6; i++) snprintf(nm[i], sizeof nm[i], "%s/%s", y, suffix[i]);
    kd_desc r = {.op = OP_REDUCEMEAN, .noperands = 1, .ia = {(int32_t)(((1u << rank) - 1) & ~((1u << axis) - 1))}};
    cv_set_out(&r, rank, dims);
    int m = cv_emit(c, &r, &x, mean_name[0] ? mean_name : nm[0]);
    if (m < 0 || !want_inv) return m < 0 ? -1 : 0;
    int ops[2] = {x, m}, v, e = cv_new_const(c, nm[4], KD_F32, 0, NULL, &eps);
    float one = 1.0f;
    kd_desc b = {.op = OP_SUB, .noperands = 2};
    cv_set_out(&b, rank, c->syms[x].dims);
    if (e < 0 || (ops[0] = cv_emit(c, &b, ops, nm[1])) < 0) return -1;
    b.op = OP_MUL, ops[1] = ops[0];
    if ((v = cv_emit(c, &b, ops, nm[2])) < 0 || (v = cv_emit(c, &r, &v, nm[3])) < 0) return -1;
    kd_desc a = {.op = OP_ADD, .noperands = 2};
    cv_set_out(&a, rank, dims);
    ops[0] = v, ops[1] = e;
    if ((v = cv_emit(c, &a, ops, nm[4])) < 0) return -1;
    kd_desc q = {.op = OP_SQRT, .noperands = 1};
    cv_set_out(&q, rank, dims);
    if ((ops[1] = cv_emit(c, &q, &v, nm[5])) < 0 || (ops[0] = cv_new_const(c, "", KD_F32, 0, NULL, &one)) < 0) return -1;
    a.op = OP_DIV;
    return cv_emit(c, &a, ops, inv_name) < 0 ? -1 : 0;
}

/* LayerNormalization (opset 17): a LayerNorm node over the dims from `axis` on. Its arithmetic
 * divides by the standard deviation where ONNX's reference multiplies by its reciprocal (within
 * an ulp or two; docs/numerics.md). A scale or bias of fewer elements is expanded to the
 * normalized shape first; only float32 statistics (stash_type 1). */
int onnx_op_layernorm(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", "epsilon", "stash_type", NULL};
    int k[3];
    if (onnx_first_input(ox, known, &k[0]) || onnx_in(ox, 1, &k[1]) || onnx_in(ox, 2, &k[2])) return -1;
    if (k[1] < 0) return cv_fail(c, "missing scale");
    if (onnx_attr_i(ox, "stash_type", 1) != 1) return cv_fail(c, "stash_type %lld is not supported (only 1, float32)",
                                                              (long long)onnx_attr_i(ox, "stash_type", 1));
    if (cv_need_f32(c, k[0])) return -1;
    int rank = c->syms[k[0]].rank;
    int64_t axis = 0, dims[KD_MAX_RANK];
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", -1), rank, &axis)) return -1;
    int nd = rank - (int)axis;
    memcpy(dims, c->syms[k[0]].dims + axis, (size_t)nd * sizeof *dims);
    int n = k[2] >= 0 ? 3 : 2;
    for (int j = 1; j < n; j++) {
        if ((k[j] = cv_as_dtype(c, k[j], KD_F32)) < 0) return -1;
        cv_sym *s = &c->syms[k[j]];
        if (s->rank == nd && !memcmp(s->dims, dims, (size_t)nd * sizeof *dims)) continue;
        char name[300];
        snprintf(name, sizeof name, "%s/%s", onnx_out_name(ox, 0), j == 1 ? "scale" : "bias");
        kd_desc e = {.op = OP_EXPAND, .noperands = 1};
        cv_set_out(&e, nd, dims);
        if ((k[j] = cv_emit(c, &e, &k[j], name)) < 0) return -1;
    }
    float eps = onnx_attr_f(ox, "epsilon", 1e-5f);
    kd_desc d = {.op = OP_LAYERNORM, .noperands = (uint8_t)n, .ia = {(int32_t)axis}, .fa = {eps}};
    cv_set_out(&d, rank, c->syms[k[0]].dims);
    if (cv_emit(c, &d, k, onnx_out_name(ox, 0)) < 0) return -1;
    return layernorm_stats(ox, k[0], axis, eps);
}

/* A constant of C values (input i, float32) as [C, 1, ..] for x of rank r. */
static int per_channel(onnx_ctx *ox, size_t i, int64_t ch, int rank, const char *suffix) {
    conv *c = ox->c;
    int k;
    if (onnx_in(ox, i, &k)) return -1;
    if (k < 0 || !c->syms[k].is_const || c->syms[k].dtype != KD_F32 || cv_numel(&c->syms[k]) != ch)
        return cv_fail(c, "input %zu must be a float32 constant of %lld values", i, (long long)ch);
    int64_t dims[KD_MAX_RANK];
    for (int d = 0; d < rank - 1; d++) dims[d] = d == 0 ? ch : 1;
    char name[CV_NAME];
    return cv_new_const(c, cv_subname(name, onnx_out_name(ox, 0), suffix), KD_F32, rank - 1, dims, c->syms[k].f);
}

/* InstanceNormalization, as ONNX's reference computes it: per image and channel over the spatial
 * axes, mean = ReduceMean(x), d = x - mean, var = ReduceMean(d * d), y = (d / sqrt(var + eps)) *
 * scale_c + B_c. */
int onnx_op_instancenorm(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"epsilon", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    int rank = c->syms[x].rank;
    if (rank < 3) return cv_fail(c, "input of rank %d has no spatial dimension", rank);
    int ks = per_channel(ox, 1, c->syms[x].dims[1], rank, "scale"), kb = ks < 0 ? -1 : per_channel(ox, 2, c->syms[x].dims[1], rank, "bias");
    char n[6][CV_NAME];
    const char *name = onnx_out_name(ox, 0);
    int ke = kb < 0 ? -1 : cv_scalar(c, cv_subname(n[0], name, "eps"), onnx_attr_f(ox, "epsilon", 1e-5f));
    if (ke < 0) return -1;
    uint32_t spatial = ((1u << rank) - 1) & ~3u;
    int m = cv_reduce(c, OP_REDUCEMEAN, x, spatial, 1, cv_subname(n[1], name, "mean"));
    int d = m < 0 ? -1 : cv_binary(c, OP_SUB, x, m, cv_subname(n[2], name, "centred"));
    int sq = d < 0 ? -1 : cv_binary(c, OP_MUL, d, d, cv_subname(n[3], name, "squared"));
    int v = sq < 0 ? -1 : cv_reduce(c, OP_REDUCEMEAN, sq, spatial, 1, cv_subname(n[4], name, "var"));
    int ve = v < 0 ? -1 : cv_binary(c, OP_ADD, v, ke, cv_subname(n[5], name, "var_eps"));
    int sd = ve < 0 ? -1 : cv_unary(c, OP_SQRT, ve, cv_subname(n[0], name, "std"));
    int t = sd < 0 ? -1 : cv_binary(c, OP_DIV, d, sd, cv_subname(n[1], name, "normed"));
    int u = t < 0 ? -1 : cv_binary(c, OP_MUL, t, ks, cv_subname(n[2], name, "scaled"));
    return u < 0 || cv_binary(c, OP_ADD, u, kb, name) < 0 ? -1 : 0;
}

/* MeanVarianceNormalization, as ONNX's reference computes it over the axes (default 0, 2, 3):
 * y = (x - mean) / (sqrt(mean(x * x) - mean * mean) + 1e-9). */
int onnx_op_mvn(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axes", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    int64_t axes[KD_MAX_RANK] = {0, 2, 3};
    int n = onnx_attr_ints(ox, "axes", axes, KD_MAX_RANK);
    if (n == -2) return cv_fail(c, "too many axes");
    if (n < 0) n = 3;
    uint32_t mask = 0;
    for (int i = 0; i < n; i++) {
        int64_t a;
        if (cv_norm_axis(c, axes[i], c->syms[x].rank, &a)) return -1;
        mask |= 1u << a;
    }
    char b[7][CV_NAME];
    const char *name = onnx_out_name(ox, 0);
    int m = cv_reduce(c, OP_REDUCEMEAN, x, mask, 1, cv_subname(b[0], name, "mean"));
    int x2 = m < 0 ? -1 : cv_binary(c, OP_MUL, x, x, cv_subname(b[1], name, "x2"));
    int mx2 = x2 < 0 ? -1 : cv_reduce(c, OP_REDUCEMEAN, x2, mask, 1, cv_subname(b[2], name, "mean_x2"));
    int m2 = mx2 < 0 ? -1 : cv_binary(c, OP_MUL, m, m, cv_subname(b[3], name, "mean2"));
    int var = m2 < 0 ? -1 : cv_binary(c, OP_SUB, mx2, m2, cv_subname(b[4], name, "var"));
    int sd = var < 0 ? -1 : cv_unary(c, OP_SQRT, var, cv_subname(b[5], name, "std"));
    int ke = sd < 0 ? -1 : cv_scalar(c, cv_subname(b[6], name, "eps"), 1e-9f);
    int den = ke < 0 ? -1 : cv_binary(c, OP_ADD, sd, ke, cv_subname(b[0], name, "den"));
    int num = den < 0 ? -1 : cv_binary(c, OP_SUB, x, m, cv_subname(b[1], name, "centred"));
    return num < 0 || cv_binary(c, OP_DIV, num, den, name) < 0 ? -1 : 0;
}

/* LRN across channels: the sum of squares over the window of `size` channels (floor((size-1)/2)
 * before, ceil((size-1)/2) after) is size times an AveragePool of x * x seen as [N, 1, C, rest]
 * with count_include_pad; y = x / exp(beta * log(bias + alpha * average)). */
int onnx_op_lrn(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"alpha", "beta", "bias", "size", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    const cv_sym *s = &c->syms[x];
    int64_t size = onnx_attr_i(ox, "size", 0);
    if (s->rank < 3) return cv_fail(c, "input of rank %d has no channel and spatial dimensions", s->rank);
    if (size < 1 || size > 65536) return cv_fail(c, "size %lld is not supported", (long long)size);
    int64_t nc = s->dims[0] * s->dims[1], rest = nc ? cv_numel(s) / nc : 0, orig[KD_MAX_RANK];
    int64_t v4[4] = {s->dims[0], 1, s->dims[1], rest};
    int rank = s->rank;
    memcpy(orig, s->dims, sizeof orig);
    char b[8][CV_NAME];
    const char *name = onnx_out_name(ox, 0);
    int sq = cv_binary(c, OP_MUL, x, x, cv_subname(b[0], name, "squared"));
    if (sq < 0 || cv_reshape_to(c, sq, 4, v4, cv_subname(b[1], name, "as_planes"))) return -1;
    int pl = cv_find(c, b[1]);
    int32_t before = (int32_t)((size - 1) / 2), after = (int32_t)(size / 2);
    kd_desc d = {.op = OP_AVGPOOL, .noperands = 1, .ia = {(int32_t)size, 1, 1, 1, before, 0, after, 0, 1, 1, 1}};
    cv_set_out(&d, 4, v4);
    int avg = cv_emit(c, &d, &pl, cv_subname(b[2], name, "window_mean"));
    if (avg < 0 || cv_reshape_to(c, avg, rank, orig, cv_subname(b[3], name, "window"))) return -1;
    int w = cv_find(c, b[3]);
    int ka = cv_scalar(c, cv_subname(b[4], name, "alpha"), onnx_attr_f(ox, "alpha", 1e-4f));
    int kb = ka < 0 ? -1 : cv_scalar(c, cv_subname(b[5], name, "bias"), onnx_attr_f(ox, "bias", 1.0f));
    int kbeta = kb < 0 ? -1 : cv_scalar(c, cv_subname(b[6], name, "beta"), onnx_attr_f(ox, "beta", 0.75f));
    int t = kbeta < 0 ? -1 : cv_binary(c, OP_MUL, w, ka, cv_subname(b[7], name, "alpha_mean"));
    t = t < 0 ? -1 : cv_binary(c, OP_ADD, t, kb, cv_subname(b[0], name, "base"));
    t = t < 0 ? -1 : cv_unary(c, OP_LOG, t, cv_subname(b[1], name, "log_base"));
    t = t < 0 ? -1 : cv_binary(c, OP_MUL, t, kbeta, cv_subname(b[2], name, "log_den"));
    t = t < 0 ? -1 : cv_unary(c, OP_EXP, t, cv_subname(b[3], name, "den"));
    return t < 0 || cv_binary(c, OP_DIV, x, t, name) < 0 ? -1 : 0;
}
