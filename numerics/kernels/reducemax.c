/* reducemax.c: OP_REDUCEMAX, the reduction of reduce.c in its "max" form. */
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_reduce_run(d, in[0], out, KD_REDUCE_MAX);
}

const kernel_op kop_reducemax = {"ReduceMax", kd_check_reduce, NULL, run, KD_IA(1), 0};
