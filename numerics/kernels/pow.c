/* pow.c: OP_POW, y = kf_pow(a, b) element-wise with numpy broadcasting (broadcast.c), NaN
 * canonical (docs/numerics.md: an integer exponent by repeated multiplication). */
#include "fmath.h"
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_broadcast_run(d, in[0], in[1], out, kf_pow);
}

const kernel_op kop_pow = {"Pow", kd_check_broadcast, NULL, run, 0, 0};
