/* mod.c: OP_MOD (132), ONNX's Mod of floats (fmod = 1): the broadcasting binary y = kf_fmod(a, b),
 * C's fmod, exact: the remainder of a / b truncated toward zero, with a's sign (docs/numerics.md). */
#include "fmath.h"
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_broadcast_run(d, in[0], in[1], out, kf_fmod);
}

const kernel_op kop_mod = {"Mod", kd_check_broadcast, NULL, run, 0, 0};
