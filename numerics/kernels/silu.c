/* silu.c: OP_SILU, y = x * kf_sigmoid(x) (one IEEE multiplication), NaN canonical: the gate of
 * LLaMA's MLP. */
#include "fmath.h"
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++) y[i] = kf_canon(x[i] * kf_sigmoid(x[i]));
}

const kernel_op kop_silu = {"SiLU", kd_check_unary_f32, NULL, run, 0, 0};
