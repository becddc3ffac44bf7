/* neg.c: OP_NEG, y = -x (the sign bit flipped), element-wise on one f32 operand, NaN canonical
 * (docs/numerics.md). */
#include "fmath.h"
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++) y[i] = kf_canon(-x[i]);
}

const kernel_op kop_neg = {"Neg", kd_check_unary_f32, NULL, run, 0, 0};
