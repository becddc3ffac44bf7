/* cumsum.c: OP_CUMSUM (123), the running sum along axis ia[0] of an f32 tensor (output of its
 * shape); ia[1] = 1 exclusive, ia[2] = 1 reverse (the sum runs from the last element down). Along
 * each line, in its running order j = 0, 1, ..: inclusive y_0 = x_0, y_j = y_{j-1} + x_j;
 * exclusive y_0 = +0, y_1 = x_0, y_j = y_{j-1} + x_{j-1}. NaN canonical. */
#include "fmath.h"
#include "ops.h"

static int check(const kd_desc *d) {
    if (kd_check_unary_f32(d)) return KD_ESHAPE;
    if (d->ia[0] < 0 || d->ia[0] >= (int32_t)d->out.rank || (uint32_t)d->ia[1] > 1 || (uint32_t)d->ia[2] > 1)
        return KD_EATTR;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const float *x = in[0];
    float *y = out;
    const kd_tensor *t = &d->out;
    size_t outer = 1, len = t->dims[d->ia[0]], inner = 1;
    for (int i = 0; i < d->ia[0]; i++) outer *= t->dims[i];
    for (unsigned i = (unsigned)d->ia[0] + 1; i < t->rank; i++) inner *= t->dims[i];
    for (size_t o = 0; o < outer; o++)
        for (size_t in_ = 0; in_ < inner; in_++) {
            size_t base = o * len * inner + in_;
            float s = 0.0f, prev = 0.0f;
            for (size_t j = 0; j < len; j++) {
                size_t at = base + (d->ia[2] ? len - 1 - j : j) * inner;
                if (d->ia[1]) s = j == 0 ? 0.0f : j == 1 ? prev : s + prev;
                else s = j == 0 ? x[at] : s + x[at];
                prev = x[at];
                y[at] = kf_canon(s);
            }
        }
}

const kernel_op kop_cumsum = {"CumSum", check, NULL, run, KD_IA(3), 0};
