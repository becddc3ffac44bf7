/* norm.c: ONNX's normalizations (onnx_lower.h): Softmax and LogSoftmax (the opset-13 change of
 * meaning of the axis included), BatchNormalization, folded into the quantized product before
 * it when nothing else reads that product, else lowered to Sub, Mul and Add nodes, and
 * LayerNormalization, a LayerNorm node. */
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
