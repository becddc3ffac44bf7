/* reducesum.c: OP_REDUCESUM, the reduction of reduce.c in its "sum" form. */
#include "ops.h"

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    kd_reduce_run(d, in[0], out, KD_REDUCE_SUM);
}

const kernel_op kop_reducesum = {"ReduceSum", kd_check_reduce, NULL, run, KD_IA(1), 0};
