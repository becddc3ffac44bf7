/* relu.c: OP_RELU, y = x when x > 0, +0 otherwise (so relu(-0) = +0). One f32 operand, output of
 * the same shape, NaN canonical (docs/numerics.md). */
#include "fmath.h"
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++) y[i] = kf_canon(x[i] > 0.0f ? x[i] : (kf_isnan(x[i]) ? x[i] : 0.0f));
}

const kernel_op kop_relu = {"Relu", kd_check_unary_f32, NULL, run, 0, 0};
