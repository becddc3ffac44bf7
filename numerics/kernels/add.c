/* add.c: OP_ADD, y = a + b element-wise with numpy broadcasting (broadcast.c), NaN canonical. */
#include "ops.h"

static float f(float a, float b) { return a + b; }

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_broadcast_run(d, in[0], in[1], out, f);
}

const kernel_op kop_add = {"Add", kd_check_broadcast, NULL, run, 0, 0};
