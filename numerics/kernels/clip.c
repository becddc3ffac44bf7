/* clip.c: OP_CLIP, y = min if x < min, max if x > max, else x; min = fa[0], max = fa[1]. One f32
 * operand, output of the same shape, NaN canonical (docs/numerics.md). */
#include "fmath.h"
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    float lo = d->fa[0], hi = d->fa[1];
    for (size_t i = 0; i < n; i++) y[i] = kf_canon(x[i] < lo ? lo : (x[i] > hi ? hi : x[i]));
}

const kernel_op kop_clip = {"Clip", kd_check_unary_f32, NULL, run, 0, KD_FA(2)};
