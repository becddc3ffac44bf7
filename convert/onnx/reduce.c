/* reduce.c: ONNX's reductions (onnx_lower.h): ReduceSum, ReduceMean, ReduceMax over the axes of
 * an attribute or a constant input, with keepdims and noop_with_empty_axes. */
#include "onnx_lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int onnx_op_reduce(onnx_ctx *ox, unsigned op) {
    conv *c = ox->c;
    static const char *const known[] = {"axes", "keepdims", "noop_with_empty_axes", NULL};
    int x;
    if (onnx_first_input(ox, known, &x)) return -1;
    int64_t axes[KD_MAX_RANK];
    int n = 0;
    if (onnx_ints_of(ox, 1, "axes", axes, &n)) return -1;
    cv_sym *s = &c->syms[x];
    if (n <= 0 && onnx_attr_i(ox, "noop_with_empty_axes", 0)) return cv_alias(c, x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
    int32_t mask = 0;
    if (n <= 0) mask = (int32_t)((1u << s->rank) - 1);
    for (int i = 0; i < n; i++) {
        int64_t a = 0;
        if (cv_norm_axis(c, axes[i], s->rank, &a)) return -1;
        mask |= (int32_t)(1u << a);
    }
    int keep = (int)onnx_attr_i(ox, "keepdims", 1), rank = 0;
    int64_t dims[KD_MAX_RANK];
    for (int i = 0; i < s->rank; i++)
        if (!(mask >> i & 1)) dims[rank++] = s->dims[i];
        else if (keep) dims[rank++] = 1;
    kd_desc d = {.op = (uint16_t)op, .noperands = 1, .ia = {mask}};
    cv_set_out(&d, rank, dims);
    return cv_emit(c, &d, &x, onnx_out_name(ox, 0)) < 0 ? -1 : 0;
}
