/* reduce.c: ONNX's reductions and scans (onnx_lower.h): ReduceSum, ReduceMean, ReduceMax,
 * ReduceMin, ReduceProd over the axes of an attribute or a constant input, with keepdims and
 * noop_with_empty_axes; ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp as a map,
 * a ReduceSum and a map; CumSum. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reduced axes of the current Reduce* node (attribute or constant input 1) as a bit mask of
 * x's dims, all of them when none are given; *noop when noop_with_empty_axes leaves x as it is. */
static int reduce_axes(onnx_ctx *ox, int x, uint32_t *mask, int *noop) {
    conv *c = ox->c;
    int64_t axes[KD_MAX_RANK];
    int n = 0;
    if (onnx_ints_of(ox, 1, "axes", axes, &n)) return -1;
    const cv_sym *s = &c->syms[x];
    *noop = n <= 0 && onnx_attr_i(ox, "noop_with_empty_axes", 0);
    *mask = n <= 0 ? (1u << s->rank) - 1 : 0;
    for (int i = 0; i < n; i++) {
        int64_t a = 0;
        if (cv_norm_axis(c, axes[i], s->rank, &a)) return -1;
        *mask |= 1u << a;
    }
    return 0;
}

static const char *const reduce_known[] = {"axes", "keepdims", "noop_with_empty_axes", NULL};

int onnx_op_reduce(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    int x, noop;
    uint32_t mask;
    if (onnx_first_input(ox, reduce_known, &x) || reduce_axes(ox, x, &mask, &noop)) return -1;
    if (noop) return cv_alias(c, x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
    return cv_reduce(c, op, x, mask, (int)onnx_attr_i(ox, "keepdims", 1), onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* The reductions ONNX defines through a map before and after a sum (its reference's formulas):
 * ReduceL1 = sum |x|, ReduceL2 = sqrt(sum x*x), ReduceSumSquare = sum x*x, ReduceLogSum =
 * log(sum x), ReduceLogSumExp = log(sum exp x). With noop_with_empty_axes and no axes, only the
 * maps. */
int onnx_op_reduce_composite(onnx_ctx *ox, unsigned which) {
    static const struct {
        unsigned pre, post; /* 0: none; OP_MUL as pre: x * x */
    } forms[] = {[ONNX_REDUCE_L1] = {OP_ABS, 0},
                 [ONNX_REDUCE_L2] = {OP_MUL, OP_SQRT},
                 [ONNX_REDUCE_SUMSQUARE] = {OP_MUL, 0},
                 [ONNX_REDUCE_LOGSUM] = {0, OP_LOG},
                 [ONNX_REDUCE_LOGSUMEXP] = {OP_EXP, OP_LOG}};
    conv *c = ox->c;
    int x, noop;
    uint32_t mask;
    if (onnx_first_input(ox, reduce_known, &x) || reduce_axes(ox, x, &mask, &noop)) return -1;
    const char *name = onnx_out_name(ox, 0);
    char b1[CV_NAME], b2[CV_NAME];
    unsigned pre = forms[which].pre, post = forms[which].post;
    int last_pre = noop && !post;
    if (pre == OP_MUL) x = cv_binary(c, OP_MUL, x, x, last_pre ? name : cv_subname(b1, name, "squared"));
    else if (pre) x = cv_unary(c, pre, x, last_pre ? name : cv_subname(b1, name, "mapped"));
    if (x < 0) return -1;
    if (!noop && (x = cv_reduce(c, OP_REDUCESUM, x, mask, (int)onnx_attr_i(ox, "keepdims", 1),
                                post ? cv_subname(b2, name, "sum") : name)) < 0)
        return -1;
    if (post) return cv_unary(c, post, x, name) < 0 ? -1 : 0;
    return noop && !pre ? (cv_alias(c, x, name) < 0 ? -1 : 0) : 0;
}

/* CumSum: the axis from constant input 1, exclusive and reverse attributes. */
int onnx_op_cumsum(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"exclusive", "reverse", NULL};
    int x, ka;
    if (onnx_first_input(ox, known, &x) || onnx_in(ox, 1, &ka)) return -1;
    if (ka < 0 || !c->syms[ka].is_const || cv_numel(&c->syms[ka]) != 1) return cv_fail(c, "axis must be a constant scalar");
    int64_t axis = c->syms[ka].dtype == CV_I64 ? c->syms[ka].i[0] : KD_MAX_RANK; /* an integer tensor */
    if (cv_norm_axis(c, axis, c->syms[x].rank, &axis)) return -1;
    int64_t excl = onnx_attr_i(ox, "exclusive", 0), rev = onnx_attr_i(ox, "reverse", 0);
    if ((excl != 0 && excl != 1) || (rev != 0 && rev != 1)) return cv_fail(c, "exclusive and reverse must be 0 or 1");
    kd_desc d = {.op = OP_CUMSUM, .noperands = 1, .ia = {(int32_t)axis, (int32_t)excl, (int32_t)rev}};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}
