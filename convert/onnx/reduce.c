/* reduce.c: ONNX's reductions, scans and selections (onnx_lower.h): ReduceSum, ReduceMean,
 * ReduceMax, ReduceMin, ReduceProd over the axes of an attribute or a constant input, with keepdims
 * and noop_with_empty_axes; ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp as a
 * map, a ReduceSum and a map; CumSum; ArgMax, ArgMin, TopK (int32 indices); Det. */
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
    int64_t axis = c->syms[ka].dtype != KD_F32 ? c->syms[ka].i[0] : KD_MAX_RANK; /* an integer tensor */
    if (cv_norm_axis(c, axis, c->syms[x].rank, &axis)) return -1;
    int64_t excl = onnx_attr_i(ox, "exclusive", 0), rev = onnx_attr_i(ox, "reverse", 0);
    if ((excl != 0 && excl != 1) || (rev != 0 && rev != 1)) return cv_fail(c, "exclusive and reverse must be 0 or 1");
    kd_desc d = {.op = OP_CUMSUM, .noperands = 1, .ia = {(int32_t)axis, (int32_t)excl, (int32_t)rev}};
    cv_set_out(&d, c->syms[x].rank, c->syms[x].dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* ArgMax and ArgMin (axis, keepdims, select_last_index): int32 indices (ONNX's are int64; every
 * index fits). */
int onnx_op_argminmax(onnx_ctx *ox, unsigned min) {
    conv *c = ox->c;
    static const char *const known[] = {"axis", "keepdims", "select_last_index", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    const cv_sym *s = &c->syms[x];
    int64_t axis, dims[KD_MAX_RANK];
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", 0), s->rank, &axis)) return -1;
    int keep = onnx_attr_i(ox, "keepdims", 1) != 0, rank = 0;
    for (int i = 0; i < s->rank; i++)
        if (i != axis) dims[rank++] = s->dims[i];
        else if (keep) dims[rank++] = 1;
    kd_desc d = {.op = OP_ARGMINMAX, .noperands = 1,
                 .ia = {(int32_t)axis, (int32_t)min, onnx_attr_i(ox, "select_last_index", 0) != 0}};
    d.out.dtype = KD_I32;
    cv_set_out(&d, rank, dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}

/* TopK with a constant K: the values (output 0) and the int32 indices (output 1), each one TopK
 * node (sorted; an unsorted request gets them sorted, which ONNX allows). */
int onnx_op_topk(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const known[] = {"axis", "largest", "sorted", "k", NULL};
    int x, kk;
    if (onnx_first_input(ox, known, &x) || onnx_in(ox, 1, &kk)) return -1;
    int64_t k = onnx_attr_i(ox, "k", -1), axis, dims[KD_MAX_RANK];
    if (kk >= 0) {
        if (!c->syms[kk].is_const || c->syms[kk].dtype == KD_F32 || cv_numel(&c->syms[kk]) != 1)
            return cv_fail(c, "K must be a constant integer");
        k = c->syms[kk].i[0];
    }
    const cv_sym *s = &c->syms[x];
    if (cv_norm_axis(c, onnx_attr_i(ox, "axis", -1), s->rank, &axis)) return -1;
    if (k < 1 || k > s->dims[axis]) return cv_fail(c, "K %lld is out of range", (long long)k);
    memcpy(dims, s->dims, sizeof dims);
    dims[axis] = k;
    for (int which = 0; which < 2; which++) {
        const char *name = (size_t)which < ox->cur->n_output ? ox->cur->output[which] : "";
        if (!name[0]) continue;
        kd_desc d = {.op = OP_TOPK, .noperands = 1, .ia = {(int32_t)axis, onnx_attr_i(ox, "largest", 1) != 0, which}};
        d.out.dtype = which ? KD_I32 : KD_F32;
        cv_set_out(&d, s->rank, dims);
        if (cv_emit(c, &d, &x, name) < 0) return -1;
    }
    return 0;
}

/* Det: one Det node over the last two dimensions. */
int onnx_op_det(onnx_ctx *ox, unsigned arg) {
    (void)arg;
    conv *c = ox->c;
    static const char *const none[] = {NULL};
    int x;
    if (onnx_first_input(ox, none, &x)) return -1;
    const cv_sym *s = &c->syms[x];
    if (s->rank < 2 || s->dims[s->rank - 1] != s->dims[s->rank - 2]) return cv_fail(c, "input is not a stack of square matrices");
    kd_desc d = {.op = OP_DET, .noperands = 1};
    cv_set_out(&d, s->rank - 2, s->dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}
