/* not.c: OP_NOT, ONNX's Not: bool to bool of the same dims, y = 1 where x is 0, else 0. */
#include "ops.h"

static int check(const kd_desc *d) { return kd_check_unary(d, KD_BOOL, KD_BOOL); }

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    const uint8_t *x = in[0];
    uint8_t *y = out;
    size_t n = (size_t)kd_numel(&d->out);
    for (size_t i = 0; i < n; i++) y[i] = x[i] == 0;
}

const kernel_op kop_not = {"Not", check, NULL, run, 0, 0};
