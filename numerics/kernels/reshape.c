/* reshape.c: OP_RESHAPE (ONNX Flatten, Reshape, Squeeze, Unsqueeze, Identity): the operand's bytes
 * unchanged under the output's shape. Same dtype, same element count. */
#include "ops.h"

#include <string.h>

static int check(const kd_desc *d) {
    if (d->noperands != 1 || d->in[0].dtype != d->out.dtype || kd_numel(&d->in[0]) != kd_numel(&d->out))
        return KD_ESHAPE;
    return KD_OK;
}

static void run(const kd_desc *d, const void *const in[KD_MAX_OPERANDS], void *out, void *scratch) {
    (void)scratch;
    memcpy(out, in[0], (size_t)kd_nbytes(&d->out));
}

const kernel_op kop_reshape = {"Reshape", check, NULL, run, 0, 0};
