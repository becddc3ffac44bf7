/* loss.c: ONNX's NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss with constant targets and
 * weights (onnx_lower.h), as ONNX's reference computes them: the target class's value of each
 * position (one Take; an ignored position reads zero), times minus its class weight (ones without
 * weights; zero where ignore_index), then for reduction "sum" a ReduceSum over everything and for
 * "mean" that sum divided by the sum of the weights used (computed here in double, rounded once).
 * SoftmaxCrossEntropyLoss is that loss of LogSoftmax over axis 1, whose result is its second
 * output (log_prob) when read. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loss of log-probabilities lp [N, C, d..] (a symbol) with constant targets (input ti) and
 * weights (input wi, optional), under the current node's attributes, as `name`. */
static int nll(onnx_ctx *ox, int lp, size_t ti, size_t wi, const char *name) {
    conv *c = ox->c;
    int kt, kw;
    if (onnx_in(ox, ti, &kt) || onnx_in(ox, wi, &kw)) return -1;
    const cv_sym *x = &c->syms[lp];
    if (kt < 0 || !c->syms[kt].is_const || c->syms[kt].dtype == KD_F32)
        return cv_fail(c, "the targets must be a constant integer tensor");
    const cv_sym *t = &c->syms[kt];
    if (x->rank < 2 || t->rank != x->rank - 1 || t->dims[0] != x->dims[0]) return cv_fail(c, "targets of shape [N, d..] for input [N, C, d..]");
    for (int i = 1; i < t->rank; i++)
        if (t->dims[i] != x->dims[i + 1]) return cv_fail(c, "targets of shape [N, d..] for input [N, C, d..]");
    int64_t ch = x->dims[1], n = cv_numel(t), inner = n / (t->dims[0] ? t->dims[0] : 1);
    if (kw >= 0 && (!c->syms[kw].is_const || c->syms[kw].dtype != KD_F32 || cv_numel(&c->syms[kw]) != ch))
        return cv_fail(c, "the weights must be a float32 constant of %lld values", (long long)ch);
    const float *w = kw >= 0 ? c->syms[kw].f : NULL;
    int has_ii = onnx_attr(ox, "ignore_index") != NULL;
    int64_t ii = onnx_attr_i(ox, "ignore_index", 0);
    const char *red = onnx_attr_s(ox, "reduction", "mean");
    int mode = !strcmp(red, "none") ? 0 : !strcmp(red, "sum") ? 1 : !strcmp(red, "mean") ? 2 : -1;
    if (mode < 0) return cv_fail(c, "reduction '%s' is not supported", red);
    int32_t *map = malloc((size_t)n * 4 + 4);
    float *negw = malloc((size_t)n * 4 + 4);
    if (!map || !negw) {
        free(map), free(negw);
        return cv_fail(c, "out of memory");
    }
    double wsum = 0;
    for (int64_t i = 0; i < n; i++) { /* position i = (b, e): input element [b, target, e] */
        int64_t cls = t->i[i], b = i / inner, e = i % inner;
        int ignored = has_ii && cls == ii;
        if (!ignored && (cls < 0 || cls >= ch)) {
            free(map), free(negw);
            return cv_fail(c, "target %lld out of range", (long long)cls);
        }
        float wv = ignored ? 0.0f : w ? w[cls] : 1.0f;
        map[i] = ignored ? -1 : (int32_t)((b * ch + cls) * inner + e);
        negw[i] = -wv;
        wsum += wv;
    }
    char b[4][CV_NAME];
    int g = onnx_take(c, lp, map, t->rank, t->dims, cv_subname(b[0], name, "picked"));
    int kn = g < 0 ? -1 : cv_new_const(c, cv_subname(b[1], name, "neg_weights"), KD_F32, t->rank, t->dims, negw);
    free(negw);
    if (kn < 0) return -1;
    if (mode == 0) return cv_binary(c, OP_MUL, g, kn, name);
    int l = cv_binary(c, OP_MUL, g, kn, cv_subname(b[2], name, "losses"));
    if (l < 0) return -1;
    uint32_t all = (1u << t->rank) - 1;
    if (mode == 1) return cv_reduce(c, OP_REDUCESUM, l, all, 0, name);
    int s = cv_reduce(c, OP_REDUCESUM, l, all, 0, cv_subname(b[3], name, "sum"));
    int kd = s < 0 ? -1 : cv_scalar(c, cv_subname(b[0], name, "weight_sum"), (float)wsum);
    return kd < 0 ? -1 : cv_binary(c, OP_DIV, s, kd, name);
}

int onnx_op_nll(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    static const char *const known[] = {"ignore_index", "reduction", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    return nll(ox, x, 1, 2, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

int onnx_op_sce(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"ignore_index", "reduction", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    if (c->syms[x].rank < 2) return cv_fail(c, "scores of rank %d have no class dimension", c->syms[x].rank);
    const char *loss = onnx_out_name(ox, 0), *lp_name = ox->cur->n_output > 1 ? ox->cur->output[1] : "";
    char b[CV_NAME];
    kd_desc d = {.op = OP_LOGSOFTMAX, .noperands = 1, .ia = {1, 0}};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    int lp = cv_emit(c, &d, &x, lp_name[0] ? lp_name : cv_subname(b, loss, "log_prob"));
    return lp < 0 || (loss[0] && nll(ox, lp, 1, 2, loss) < 0) ? -1 : 0;
}
